/*  check_ps_cors: a server given an origin puts it in
    Access-Control-Allow-Origin on every response: a worker's result, the
    server's own answers (health check, 404 for no route, 503 when no
    proxy, 504), the parser's errors; a worker's own header is kept, not
    doubled. Raw TCP in, the header read back by the test's own parser.
*/
#include "testutil.h"

#include <check.h>
#include <string.h>

#define WAIT   5000
#define ORIGIN "https://app.example.org"

static size_t
s_count (const tu_response_t *response, const char *name)
{
    size_t count = 0;
    for (size_t i = 0; i < response->header_count; i++)
        if (strcasecmp (response->names[i], name) == 0)
            count++;
    return count;
}

#define s_expect(response, status, origin) s_expect_at (response, status, origin, __LINE__)

static void
s_expect_at (tu_response_t *response, int status, const char *origin, int line)
{
    ck_assert_msg (response != NULL, "line %d: no response", line);
    ck_assert_msg (response->status == status, "line %d: %d, expected %d", line, response->status,
                   status);
    ck_assert_uint_eq (s_count (response, "Access-Control-Allow-Origin"), 1);
    ck_assert_str_eq (tu_response_header (response, "Access-Control-Allow-Origin"), origin);
}

START_TEST (test_every_answer)
{
    tu_backend_t *backend = tu_backend_new ();
    ps_server_config_t config;
    tu_backend_config (backend, &config);
    config.cors_origin = ORIGIN;
    config.health_check = "/health";
    config.request_timeout_ms = 300;
    ps_server_t *server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    tu_backend_attach (backend);
    tu_client_t *client = tu_client_new (ps_server_port (server));

    //  A worker's result
    ck_assert_int_eq (tu_client_sendstr (client, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    uint64_t id;
    ps_http_request_t *job = tu_backend_request (backend, WAIT, &id);
    ck_assert_ptr_nonnull (job);
    ps_http_request_destroy (&job);
    tu_backend_reply (backend, id, 200, "hello", "Content-Type", "text/plain");
    tu_response_t *response = tu_client_read (client, WAIT, false);
    s_expect (response, 200, ORIGIN);
    ck_assert_str_eq (response->body, "hello");
    ck_assert_str_eq (tu_response_header (response, "Content-Type"), "text/plain");
    tu_response_destroy (&response);

    //  A worker that sets its own keeps it, once
    ck_assert_int_eq (tu_client_sendstr (client, "GET /y HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    job = tu_backend_request (backend, WAIT, &id);
    ps_http_request_destroy (&job);
    tu_backend_reply (backend, id, 200, "own", "Access-Control-Allow-Origin", "*");
    response = tu_client_read (client, WAIT, false);
    s_expect (response, 200, "*");
    tu_response_destroy (&response);

    //  The server's own: health check, and 504
    response = tu_client_request (client, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", WAIT);
    s_expect (response, 200, ORIGIN);
    tu_response_destroy (&response);
    ck_assert_int_eq (tu_client_sendstr (client, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    job = tu_backend_request (backend, WAIT, &id);  //  and never answered
    ck_assert_ptr_nonnull (job);
    ps_http_request_destroy (&job);
    response = tu_client_read (client, WAIT, false);
    s_expect (response, 504, ORIGIN);
    tu_response_destroy (&response);

    //  A HEAD answer carries it too, with no body
    ck_assert_int_eq (tu_client_sendstr (client, "HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    job = tu_backend_request (backend, WAIT, &id);
    ck_assert_ptr_nonnull (job);
    ps_http_request_destroy (&job);
    tu_backend_reply (backend, id, 200, "body", NULL, NULL);
    response = tu_client_read (client, WAIT, true);
    s_expect (response, 200, ORIGIN);
    ck_assert_uint_eq (response->body_size, 0);
    tu_response_destroy (&response);

    //  A parse error, which closes the connection
    response = tu_client_request (client, "GET /x HTTP/1.1\r\nHost t\r\n\r\n", WAIT);
    s_expect (response, 400, ORIGIN);
    tu_response_destroy (&response);
    tu_client_destroy (&client);
    ps_server_destroy (&server);
    tu_backend_destroy (&backend);
}
END_TEST

//  No proxy: the server answers 503; with routes, 404 for an unknown path.
START_TEST (test_server_only)
{
    tu_backend_t *backend = tu_backend_new ();
    ps_server_config_t config;
    tu_backend_config (backend, &config);
    config.cors_origin = ORIGIN;
    config.proxy = NULL;     //  nor the backend's loopback and interrupt: not needed, and
    config.loopback = NULL;  //  bound again by every server of this test
    config.interrupt = NULL;
    ps_server_t *server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    tu_client_t *client = tu_client_new (ps_server_port (server));
    tu_response_t *response = tu_client_request (client, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n",
                                                 WAIT);
    s_expect (response, 503, ORIGIN);
    tu_response_destroy (&response);
    tu_client_destroy (&client);
    ps_server_destroy (&server);

    ps_route_t route = {.path = "/only", .proxy = backend->proxy};
    config.routes = &route;
    config.route_count = 1;
    server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    client = tu_client_new (ps_server_port (server));
    response = tu_client_request (client, "GET /other HTTP/1.1\r\nHost: t\r\n\r\n", WAIT);
    s_expect (response, 404, ORIGIN);
    tu_response_destroy (&response);
    tu_client_destroy (&client);
    ps_server_destroy (&server);

    //  Without an origin, no header
    config.cors_origin = NULL;
    server = ps_server_new (&config);
    client = tu_client_new (ps_server_port (server));
    response = tu_client_request (client, "GET /other HTTP/1.1\r\nHost: t\r\n\r\n", WAIT);
    ck_assert_int_eq (response->status, 404);
    ck_assert_uint_eq (s_count (response, "Access-Control-Allow-Origin"), 0);
    tu_response_destroy (&response);
    tu_client_destroy (&client);
    ps_server_destroy (&server);

    //  An origin that would split the header is refused
    config.cors_origin = "x\r\nSet-Cookie: a=b";
    ck_assert_ptr_null (ps_server_new (&config));
    tu_backend_destroy (&backend);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_cors");
    TCase *tc = tcase_create ("cors");
    tcase_add_test (tc, test_every_answer);
    tcase_add_test (tc, test_server_only);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? 0 : 1;
}
