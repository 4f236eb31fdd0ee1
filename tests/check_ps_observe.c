/*  check_ps_observe: the server's operator hooks in one process, the test
    playing the backend: the metrics path (counts, refusals, a stage's
    STATS on the loopback, junk STATS ignored), the client's address in
    the job (the connection's; with trust_forwarded the reverse proxy's),
    and the access log file (lines, 499, reopen). Runs the hooks under
    valgrind and the sanitizers; the reference parser and the daemons are
    in tests/test_metrics.sh and tests/test_access_log.sh.
*/
#include "testutil.h"
#include "../src/ps_metrics.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WAIT 5000

//  The body of GET /metrics on client (caller frees).
static char *
s_scrape (tu_client_t *client)
{
    tu_response_t *response = tu_client_request (client, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n",
                                                 WAIT);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (tu_response_header (response, "Content-Type"), PS_METRICS_CONTENT_TYPE);
    char *body = strdup (response->body);
    tu_response_destroy (&response);
    return body;
}

static char *
s_slurp (const char *path)
{
    FILE *file = fopen (path, "r");
    char *text = (char *) calloc (1, 65536);
    if (file) {
        size_t size = fread (text, 1, 65535, file);
        text[size] = 0;
        fclose (file);
    }
    return text;
}

START_TEST (test_metrics_and_log)
{
    char path[] = "/tmp/ps_observe_XXXXXX";
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    close (fd);
    tu_backend_t *backend = tu_backend_new ();
    ps_server_config_t config;
    tu_backend_config (backend, &config);
    config.metrics = "/metrics";
    config.access_file = path;
    ps_server_t *server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    tu_backend_attach (backend);
    tu_client_t *client = tu_client_new (ps_server_port (server));

    //  A job carries the connection's address
    tu_client_sendstr (client, "GET /hello?x=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: ua\r\n\r\n");
    uint64_t id = 0;
    ps_http_request_t *request = tu_backend_request (backend, WAIT, &id);
    ck_assert_ptr_nonnull (request);
    ck_assert_str_eq (ps_http_request_client (request), "127.0.0.1");
    ps_http_request_destroy (&request);
    tu_backend_reply (backend, id, 201, "made", NULL, NULL);
    tu_response_t *response = tu_client_read (client, WAIT, false);
    ck_assert_int_eq (response->status, 201);
    tu_response_destroy (&response);

    char *text = s_scrape (client);
    ck_assert_ptr_nonnull (
        strstr (text, "\nprime_server_requests_total{code=\"201\",method=\"GET\"} 1\n"));
    ck_assert_ptr_nonnull (strstr (text, "\nprime_server_connections 1\n"));
    ck_assert_ptr_nonnull (strstr (text, "\nprime_server_requests_in_flight 0\n"));
    ck_assert_ptr_null (strstr (text, "prime_server_stage_up"));  //  no stage reported
    free (text);

    //  A stage's report on the loopback, and junk beside it
    zsock_t *push = zsock_new_push (ps_server_loopback_endpoint (server));
    ck_assert_ptr_nonnull (push);
    ps_metrics_stage_t figures = {3, 1, 0, 42, 2, 60000};
    byte frame[PS_METRICS_STAGE_SIZE];
    ps_metrics_stage_encode (&figures, frame);
    zmsg_t *junk = zmsg_new ();
    zmsg_append (junk, &(zframe_t *){ps_envelope_encode (&(ps_envelope_t){.type = PS_MSG_STATS})});
    zmsg_addstr (junk, "bad");
    zmsg_addmem (junk, frame, 10);  //  too short
    zmsg_send (&junk, push);
    zmsg_t *stats = zmsg_new ();
    zmsg_append (stats, &(zframe_t *){ps_envelope_encode (&(ps_envelope_t){.type = PS_MSG_STATS})});
    zmsg_addstr (stats, "parse");
    zmsg_addmem (stats, frame, sizeof frame);
    zmsg_send (&stats, push);
    int64_t deadline = zclock_mono () + WAIT;
    while (true) {
        text = s_scrape (client);
        if (strstr (text, "prime_server_stage_up{stage=\"parse\"} 1") || zclock_mono () > deadline)
            break;
        free (text);
        zclock_sleep (10);  //  polling a state the server shows, not synchronising
    }
    ck_assert_ptr_nonnull (strstr (text, "prime_server_stage_up{stage=\"parse\"} 1\n"));
    ck_assert_ptr_null (strstr (text, "stage=\"bad\""));
    ck_assert_ptr_nonnull (
        strstr (text, "prime_server_stage_workers{stage=\"parse\",state=\"busy\"} 2\n"));
    ck_assert_ptr_nonnull (strstr (text, "prime_server_stage_jobs_total{stage=\"parse\"} 42\n"));
    free (text);
    zsock_destroy (&push);

    //  Rotation: the next lines go to a new file
    char rotated[64];
    snprintf (rotated, sizeof rotated, "%s.1", path);
    ck_assert_int_eq (rename (path, rotated), 0);
    ps_server_reopen_logs (server);

    //  A client that leaves before its answer: 499
    tu_client_t *leaver = tu_client_new (ps_server_port (server));
    tu_client_sendstr (leaver, "GET /gone HTTP/1.1\r\nHost: t\r\n\r\n");
    request = tu_backend_request (backend, WAIT, &id);
    ck_assert_ptr_nonnull (request);
    ps_http_request_destroy (&request);
    tu_client_destroy (&leaver);
    ck_assert (tu_backend_cancel (backend, WAIT, &id));  //  the server saw it leave
    text = s_scrape (client);
    ck_assert_ptr_nonnull (
        strstr (text, "prime_server_requests_total{code=\"499\",method=\"GET\"} 1\n"));
    ck_assert_ptr_nonnull (
        strstr (text, "prime_server_rejected_total{reason=\"client_gone\"} 1\n"));
    free (text);

    tu_client_destroy (&client);
    ps_server_destroy (&server);  //  writes what the log holds
    tu_backend_destroy (&backend);
    text = s_slurp (rotated);
    ck_assert_ptr_nonnull (strstr (text, "127.0.0.1 - - ["));
    ck_assert_ptr_nonnull (strstr (text, "] \"GET /hello?x=1 HTTP/1.1\" 201 "));
    ck_assert_ptr_nonnull (strstr (text, " \"-\" \"ua\" 0."));
    ck_assert_ptr_null (strstr (text, "/gone"));
    free (text);
    text = s_slurp (path);
    ck_assert_ptr_nonnull (strstr (text, "] \"GET /gone HTTP/1.1\" 499 0 \"-\" \"-\" "));
    free (text);
    unlink (path);
    unlink (rotated);
}
END_TEST

START_TEST (test_forwarded_client)
{
    tu_backend_t *backend = tu_backend_new ();
    ps_server_config_t config;
    tu_backend_config (backend, &config);
    config.trust_forwarded = true;
    ps_server_t *server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    tu_backend_attach (backend);
    tu_client_t *client = tu_client_new (ps_server_port (server));
    const char *requests[] = {
        "GET /a HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 6.6.6.6, 192.0.2.1\r\n\r\n",
        "GET /b HTTP/1.1\r\nHost: t\r\nForwarded: for=\"[2001:db8::2]:80\"\r\n\r\n",
        "GET /c HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: unknown\r\n\r\n",
    };
    const char *expected[] = {"192.0.2.1", "2001:db8::2", "127.0.0.1"};
    for (size_t i = 0; i < 3; i++) {
        tu_client_sendstr (client, requests[i]);
        uint64_t id = 0;
        ps_http_request_t *request = tu_backend_request (backend, WAIT, &id);
        ck_assert_ptr_nonnull (request);
        ck_assert_str_eq (ps_http_request_client (request), expected[i]);
        ps_http_request_destroy (&request);
        tu_backend_reply (backend, id, 200, "", NULL, NULL);
        tu_response_t *response = tu_client_read (client, WAIT, false);
        ck_assert_ptr_nonnull (response);
        tu_response_destroy (&response);
    }
    //  Off (the default): the headers are not believed. A fresh backend,
    //  so fresh endpoints: an inproc name is free again only some time after
    //  its socket closed.
    tu_client_destroy (&client);
    ps_server_destroy (&server);
    tu_backend_destroy (&backend);
    backend = tu_backend_new ();
    tu_backend_config (backend, &config);
    server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    tu_backend_attach (backend);
    client = tu_client_new (ps_server_port (server));
    tu_client_sendstr (client, requests[0]);
    uint64_t id = 0;
    ps_http_request_t *request = tu_backend_request (backend, WAIT, &id);
    ck_assert_ptr_nonnull (request);
    ck_assert_str_eq (ps_http_request_client (request), "127.0.0.1");
    ps_http_request_destroy (&request);
    tu_client_destroy (&client);
    ps_server_destroy (&server);
    tu_backend_destroy (&backend);
}
END_TEST

START_TEST (test_bad_log_file)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    config.access_file = "/nonexistent-dir/access.log";
    ck_assert_ptr_null (ps_server_new (&config));
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_observe");
    TCase *tcase = tcase_create ("server");
    tcase_add_test (tcase, test_metrics_and_log);
    tcase_add_test (tcase, test_forwarded_client);
    tcase_add_test (tcase, test_bad_log_file);
    suite_add_tcase (suite, tcase);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? 1 : 0;
}
