/*  check_ps_server: the server against real TCP clients, with the test
    itself playing the backend (a PULL bound as the proxy, a PUSH to the
    loopback, a SUB on the interrupt channel). That keeps these tests
    independent of proxies and workers, and lets them complete requests out
    of order, withhold answers, and throw junk at the loopback.

    Every read has a deadline; nothing sleeps for synchronisation.
*/
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define WAIT 5000  //  ms: generous deadline for anything that should happen

static const char *GET_HELLO = "GET /hello?x=1 HTTP/1.1\r\nHost: test\r\n\r\n";

typedef struct {
    tu_backend_t *backend;
    ps_server_config_t config;
    ps_server_t *server;
    tu_client_t *client;
} fixture_t;

static void
s_setup (fixture_t *fx)
{
    memset (fx, 0, sizeof (*fx));
    fx->backend = tu_backend_new ();
    tu_backend_config (fx->backend, &fx->config);
}

static void
s_start (fixture_t *fx)
{
    fx->server = ps_server_new (&fx->config);
    ck_assert_ptr_nonnull (fx->server);
    ck_assert_int_gt (ps_server_port (fx->server), 0);
    tu_backend_attach (fx->backend);
    fx->client = tu_client_new (ps_server_port (fx->server));
    ck_assert_ptr_nonnull (fx->client);
}

static void
s_teardown (fixture_t *fx)
{
    tu_client_destroy (&fx->client);
    ps_server_destroy (&fx->server);
    tu_backend_destroy (&fx->backend);
}

static tu_client_t *
s_client (fixture_t *fx)
{
    tu_client_t *client = tu_client_new (ps_server_port (fx->server));
    ck_assert_ptr_nonnull (client);
    return client;
}

//  Takes the next job, checks its path, returns its id.
static uint64_t
s_expect_job (fixture_t *fx, const char *path)
{
    uint64_t id = 0;
    ps_http_request_t *request = tu_backend_request (fx->backend, WAIT, &id);
    ck_assert_msg (request != NULL, "no job for %s", path);
    ck_assert_str_eq (ps_http_request_path (request), path);
    ps_http_request_destroy (&request);
    ck_assert (id != 0);
    return id;
}

static void
s_expect_response (tu_client_t *client, int status, const char *body)
{
    tu_response_t *response = tu_client_read (client, WAIT, false);
    ck_assert_msg (response != NULL, "no response (expected %d)", status);
    ck_assert_int_eq (response->status, status);
    if (body)
        ck_assert_str_eq (response->body, body);
    tu_response_destroy (&response);
}

//  ---------------------------------------------------------------------

START_TEST (test_single_request)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    ck_assert_int_eq (tu_client_sendstr (fx.client, GET_HELLO), 0);

    ps_envelope_t envelope;
    zmsg_t *job = tu_backend_job (fx.backend, WAIT, &envelope);
    ck_assert_ptr_nonnull (job);
    ck_assert_int_eq (envelope.kind, PS_KIND_HTTP);
    ck_assert_int_eq (envelope.flags & PS_FLAG_HEAD, 0);
    ps_http_request_t *request = ps_http_request_decode (job);
    ck_assert_ptr_nonnull (request);
    ck_assert_str_eq (ps_http_request_method (request), "GET");
    ck_assert_str_eq (ps_http_request_target (request), "/hello?x=1");
    ck_assert_str_eq (ps_pairs_get (ps_http_request_query (request), "x"), "1");
    ck_assert_str_eq (ps_pairs_get (ps_http_request_headers (request), "host"), "test");
    ps_http_request_destroy (&request);
    zmsg_destroy (&job);

    ck_assert_int_eq (tu_backend_reply (fx.backend, envelope.id, 201, "world", "X-Test", "yes"), 0);
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 201);
    ck_assert_int_eq (response->version, 11);
    ck_assert_str_eq (response->body, "world");
    ck_assert_str_eq (tu_response_header (response, "x-test"), "yes");
    ck_assert_str_eq (tu_response_header (response, "Content-Length"), "5");
    ck_assert_ptr_nonnull (tu_response_header (response, "Date"));
    ck_assert_ptr_null (tu_response_header (response, "Connection"));
    tu_response_destroy (&response);
    s_teardown (&fx);
}
END_TEST

START_TEST (test_head_request)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    tu_client_sendstr (fx.client, "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n");
    ps_envelope_t envelope;
    zmsg_t *job = tu_backend_job (fx.backend, WAIT, &envelope);
    ck_assert_ptr_nonnull (job);
    ck_assert_int_eq (envelope.flags & PS_FLAG_HEAD, PS_FLAG_HEAD);
    zmsg_destroy (&job);
    tu_backend_reply (fx.backend, envelope.id, 200, "twelve bytes", NULL, NULL);
    tu_response_t *response = tu_client_read (fx.client, WAIT, true);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (tu_response_header (response, "Content-Length"), "12");
    tu_response_destroy (&response);
    //  No body bytes follow: the next response starts right away.
    tu_client_sendstr (fx.client, GET_HELLO);
    uint64_t id = s_expect_job (&fx, "/hello");
    tu_backend_reply (fx.backend, id, 200, "next", NULL, NULL);
    s_expect_response (fx.client, 200, "next");
    s_teardown (&fx);
}
END_TEST

START_TEST (test_keep_alive)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    for (int i = 0; i < 5; i++) {
        char path[32], body[32];
        snprintf (path, sizeof (path), "/k%d", i);
        snprintf (body, sizeof (body), "answer %d", i);
        char *request = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path);
        tu_client_sendstr (fx.client, request);
        zstr_free (&request);
        uint64_t id = s_expect_job (&fx, path);
        tu_backend_reply (fx.backend, id, 200, body, NULL, NULL);
        s_expect_response (fx.client, 200, body);
    }
    s_teardown (&fx);
}
END_TEST

START_TEST (test_close_http11)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    tu_client_sendstr (fx.client, "GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                                  "GET /never HTTP/1.1\r\nHost: a\r\n\r\n");
    uint64_t id = s_expect_job (&fx, "/c");
    tu_backend_reply (fx.backend, id, 200, "bye", NULL, NULL);
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_str_eq (tu_response_header (response, "Connection"), "close");
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (fx.client, WAIT));
    //  The request after "close" was not processed.
    ps_envelope_t envelope;
    zmsg_t *job = tu_backend_job (fx.backend, 200, &envelope);
    ck_assert_ptr_null (job);
    s_teardown (&fx);
}
END_TEST

START_TEST (test_close_http10)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    //  1.0 with keep-alive stays open and says so.
    tu_client_sendstr (fx.client, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    uint64_t id = s_expect_job (&fx, "/a");
    tu_backend_reply (fx.backend, id, 200, "one", NULL, NULL);
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->version, 10);
    ck_assert_str_eq (tu_response_header (response, "Connection"), "keep-alive");
    tu_response_destroy (&response);
    //  1.0 by default closes.
    tu_client_sendstr (fx.client, "GET /b HTTP/1.0\r\n\r\n");
    id = s_expect_job (&fx, "/b");
    tu_backend_reply (fx.backend, id, 200, "two", NULL, NULL);
    response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_str_eq (response->body, "two");
    ck_assert_str_eq (tu_response_header (response, "Connection"), "close");
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (fx.client, WAIT));
    s_teardown (&fx);
}
END_TEST

START_TEST (test_pipelined_out_of_order)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    const int count = 6;
    char batch[1024] = "";
    for (int i = 0; i < count; i++) {
        char one[64];
        snprintf (one, sizeof (one), "GET /p%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
        strcat (batch, one);
    }
    tu_client_sendstr (fx.client, batch);
    uint64_t ids[6];
    for (int i = 0; i < count; i++) {
        char path[16];
        snprintf (path, sizeof (path), "/p%d", i);
        ids[i] = s_expect_job (&fx, path);
    }
    //  Complete them last first; nothing may be written before /p0's turn.
    for (int i = count - 1; i >= 1; i--) {
        char body[16];
        snprintf (body, sizeof (body), "r%d", i);
        tu_backend_reply (fx.backend, ids[i], 200, body, NULL, NULL);
    }
    char byte;
    ck_assert_uint_eq (tu_client_read_bytes (fx.client, &byte, 1, 200), 0);
    tu_backend_reply (fx.backend, ids[0], 200, "r0", NULL, NULL);
    for (int i = 0; i < count; i++) {
        char body[16];
        snprintf (body, sizeof (body), "r%d", i);
        s_expect_response (fx.client, 200, body);
    }
    s_teardown (&fx);
}
END_TEST

//  Many clients pipelining requests sent in random slices; the backend
//  answers in a shuffled order. Every client must read its own answers in
//  its own order.
START_TEST (test_shuffled_stress)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    enum { CLIENTS = 8, REQUESTS = 25 };
    unsigned int seed = 12345;
    tu_client_t *clients[CLIENTS];
    for (int c = 0; c < CLIENTS; c++) {
        clients[c] = s_client (&fx);
        char batch[REQUESTS * 64] = "";
        for (int r = 0; r < REQUESTS; r++) {
            char one[64];
            snprintf (one, sizeof (one), "GET /s/%d/%d HTTP/1.1\r\nHost: a\r\n\r\n", c, r);
            strcat (batch, one);
        }
        size_t size = strlen (batch);
        for (size_t sent = 0; sent < size;) {
            size_t slice = 1 + (size_t) rand_r (&seed) % 97;
            if (slice > size - sent)
                slice = size - sent;
            tu_client_send (clients[c], batch + sent, slice);
            sent += slice;
        }
    }
    //  Collect every job, then answer them in a random order.
    enum { TOTAL = CLIENTS * REQUESTS };
    uint64_t ids[TOTAL];
    char *paths[TOTAL];
    for (int i = 0; i < TOTAL; i++) {
        ps_http_request_t *request = tu_backend_request (fx.backend, WAIT, &ids[i]);
        ck_assert_ptr_nonnull (request);
        paths[i] = strdup (ps_http_request_path (request));
        ps_http_request_destroy (&request);
    }
    for (int i = TOTAL - 1; i > 0; i--) {
        int j = rand_r (&seed) % (i + 1);
        uint64_t id = ids[i];
        ids[i] = ids[j];
        ids[j] = id;
        char *path = paths[i];
        paths[i] = paths[j];
        paths[j] = path;
    }
    for (int i = 0; i < TOTAL; i++) {
        ck_assert_int_eq (tu_backend_reply (fx.backend, ids[i], 200, paths[i], NULL, NULL), 0);
        free (paths[i]);
    }
    for (int c = 0; c < CLIENTS; c++) {
        for (int r = 0; r < REQUESTS; r++) {
            char path[32];
            snprintf (path, sizeof (path), "/s/%d/%d", c, r);
            s_expect_response (clients[c], 200, path);
        }
        tu_client_destroy (&clients[c]);
    }
    s_teardown (&fx);
}
END_TEST

START_TEST (test_split_writes)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    const char *request = "POST /split HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"
                          "hello world"
                          "GET /after HTTP/1.1\r\nHost: a\r\n\r\n";
    for (size_t i = 0; request[i]; i++)
        ck_assert_int_eq (tu_client_send (fx.client, request + i, 1), 0);
    uint64_t id = 0;
    ps_http_request_t *parsed = tu_backend_request (fx.backend, WAIT, &id);
    ck_assert_ptr_nonnull (parsed);
    ck_assert_str_eq (ps_http_request_method (parsed), "POST");
    ck_assert_uint_eq (ps_http_request_body_size (parsed), 11);
    ck_assert_mem_eq (ps_http_request_body (parsed), "hello world", 11);
    ps_http_request_destroy (&parsed);
    uint64_t id2 = s_expect_job (&fx, "/after");
    tu_backend_reply (fx.backend, id, 200, "posted", NULL, NULL);
    tu_backend_reply (fx.backend, id2, 200, "after", NULL, NULL);
    s_expect_response (fx.client, 200, "posted");
    s_expect_response (fx.client, 200, "after");
    s_teardown (&fx);
}
END_TEST

START_TEST (test_bad_request)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    //  A good request, then junk: the first is answered, then 400, close.
    tu_client_sendstr (fx.client, "GET /good HTTP/1.1\r\nHost: a\r\n\r\n"
                                  "GARBAGE\r\n\r\n");
    uint64_t id = s_expect_job (&fx, "/good");
    tu_backend_reply (fx.backend, id, 200, "good", NULL, NULL);
    s_expect_response (fx.client, 200, "good");
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 400);
    ck_assert_str_eq (tu_response_header (response, "Connection"), "close");
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (fx.client, WAIT));
    //  The server is fine for others.
    tu_client_t *other = s_client (&fx);
    tu_client_sendstr (other, GET_HELLO);
    id = s_expect_job (&fx, "/hello");
    tu_backend_reply (fx.backend, id, 200, "fine", NULL, NULL);
    s_expect_response (other, 200, "fine");
    tu_client_destroy (&other);
    s_teardown (&fx);
}
END_TEST

//  Every request of the malformed corpus, over a real connection: the
//  status named by the file, then the connection closes; no job is made.
START_TEST (test_bad_request_corpus)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    zdir_t *dir = zdir_new (TEST_DATA_DIR "/bad_requests", NULL);
    ck_assert_ptr_nonnull (dir);
    zlist_t *files = zdir_list (dir);
    size_t checked = 0;
    for (zfile_t *file = (zfile_t *) zlist_first (files); file;
         file = (zfile_t *) zlist_next (files)) {
        const char *name = strrchr (zfile_filename (file, NULL), '/') + 1;
        int expected = atoi (name);
        if (expected < 400 || !strstr (name, ".http"))
            continue;
        ck_assert_int_eq (zfile_input (file), 0);
        zchunk_t *bytes = zfile_read (file, zfile_cursize (file), 0);
        zfile_close (file);
        ck_assert_ptr_nonnull (bytes);
        tu_client_t *client = s_client (&fx);
        tu_client_send (client, zchunk_data (bytes), zchunk_size (bytes));
        tu_response_t *response = tu_client_read (client, WAIT, false);
        ck_assert_msg (response != NULL, "no response for %s", name);
        ck_assert_msg (response->status == expected, "%s: got %d", name, response->status);
        ck_assert_str_eq (tu_response_header (response, "Connection"), "close");
        tu_response_destroy (&response);
        size_t size = 0;
        char *rest = tu_client_read_all (client, WAIT, &size);
        ck_assert_msg (rest != NULL, "%s: connection not closed", name);
        free (rest);
        tu_client_destroy (&client);
        zchunk_destroy (&bytes);
        checked++;
    }
    ck_assert_uint_ge (checked, 50);
    ps_envelope_t envelope;
    ck_assert_ptr_null (tu_backend_job (fx.backend, 0, &envelope));
    zlist_destroy (&files);
    zdir_destroy (&dir);
    s_teardown (&fx);
}
END_TEST

START_TEST (test_body_too_large)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.limits.max_body = 100;
    s_start (&fx);
    //  The body is never sent: 413 is decided from Content-Length.
    tu_client_sendstr (fx.client, "POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n");
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 413);
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (fx.client, WAIT));
    s_teardown (&fx);
}
END_TEST

START_TEST (test_expect_continue)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.limits.max_body = 100;
    s_start (&fx);
    tu_client_sendstr (fx.client, "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                                  "Expect: 100-continue\r\n\r\n");
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 100);
    ck_assert_str_eq (response->head, "HTTP/1.1 100 Continue\r\n");
    tu_response_destroy (&response);
    tu_client_sendstr (fx.client, "12345");
    uint64_t id = 0;
    ps_http_request_t *parsed = tu_backend_request (fx.backend, WAIT, &id);
    ck_assert_ptr_nonnull (parsed);
    ck_assert_mem_eq (ps_http_request_body (parsed), "12345", 5);
    ps_http_request_destroy (&parsed);
    tu_backend_reply (fx.backend, id, 200, "got it", NULL, NULL);
    s_expect_response (fx.client, 200, "got it");

    //  Too big: the final 413 comes at once, no 100.
    tu_client_sendstr (fx.client, "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 500\r\n"
                                  "Expect: 100-continue\r\n\r\n");
    response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 413);
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (fx.client, WAIT));
    s_teardown (&fx);
}
END_TEST

START_TEST (test_timeout)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.request_timeout_ms = 200;
    fx.config.access_log = true;
    fx.config.verbose = true;
    s_start (&fx);
    tu_client_sendstr (fx.client, GET_HELLO);
    uint64_t id = s_expect_job (&fx, "/hello");
    int64_t start = zclock_mono ();
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 504);
    ck_assert_int_ge (zclock_mono () - start, 150);
    tu_response_destroy (&response);
    uint64_t cancelled = 0;
    ck_assert (tu_backend_cancel (fx.backend, WAIT, &cancelled));
    ck_assert (cancelled == id);
    //  The late result is dropped; the connection carries on.
    tu_backend_reply (fx.backend, id, 200, "late", NULL, NULL);
    tu_client_sendstr (fx.client, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    uint64_t id2 = s_expect_job (&fx, "/next");
    ck_assert (id2 != id);
    tu_backend_reply (fx.backend, id2, 200, "next", NULL, NULL);
    s_expect_response (fx.client, 200, "next");
    s_teardown (&fx);
}
END_TEST

START_TEST (test_disconnect_cancels)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    tu_client_sendstr (fx.client, "GET /d1 HTTP/1.1\r\nHost: a\r\n\r\n"
                                  "GET /d2 HTTP/1.1\r\nHost: a\r\n\r\n");
    uint64_t id1 = s_expect_job (&fx, "/d1");
    uint64_t id2 = s_expect_job (&fx, "/d2");
    tu_client_destroy (&fx.client);
    uint64_t a = 0, b = 0;
    ck_assert (tu_backend_cancel (fx.backend, WAIT, &a));
    ck_assert (tu_backend_cancel (fx.backend, WAIT, &b));
    ck_assert ((a == id1 && b == id2) || (a == id2 && b == id1));
    //  Late results for the gone client are dropped quietly.
    tu_backend_reply (fx.backend, id1, 200, "late", NULL, NULL);
    tu_backend_reply (fx.backend, id2, 200, "late", NULL, NULL);
    fx.client = s_client (&fx);
    tu_client_sendstr (fx.client, GET_HELLO);
    uint64_t id = s_expect_job (&fx, "/hello");
    tu_backend_reply (fx.backend, id, 200, "alive", NULL, NULL);
    s_expect_response (fx.client, 200, "alive");
    s_teardown (&fx);
}
END_TEST

//  Every socket bound on a wildcard port reports the port it got, and a
//  peer that connects there reaches it: a result pushed to the reported
//  loopback answers the client; a socket not asked for has no endpoint.
START_TEST (test_bound_endpoints)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    config.loopback = "tcp://127.0.0.1:*";
    config.interrupt = "tcp://127.0.0.1:*";
    zsock_t *jobs = zsock_new (ZMQ_PULL);
    ck_assert_int_eq (zmq_bind (zsock_resolve (jobs), "tcp://127.0.0.1:*"), 0);
    char *jobs_endpoint = zsock_last_endpoint (jobs);
    config.proxy = jobs_endpoint;
    ps_server_t *server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    char want[64];
    snprintf (want, sizeof want, "tcp://127.0.0.1:%d", ps_server_port (server));
    ck_assert_str_eq (ps_server_listen_endpoint (server), want);
    const char *loopback = ps_server_loopback_endpoint (server);
    const char *interrupt = ps_server_interrupt_endpoint (server);
    ck_assert_ptr_nonnull (loopback);
    ck_assert_ptr_nonnull (interrupt);
    ck_assert (strncmp (loopback, "tcp://127.0.0.1:", 16) == 0 && atoi (loopback + 16) > 0);
    ck_assert (strncmp (interrupt, "tcp://127.0.0.1:", 16) == 0 && atoi (interrupt + 16) > 0);
    ck_assert_str_ne (loopback, interrupt);

    tu_client_t *client = tu_client_new (ps_server_port (server));
    ck_assert_int_eq (tu_client_sendstr (client, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    zsock_set_rcvtimeo (jobs, WAIT);
    zmsg_t *job = zmsg_recv (jobs);
    ck_assert_ptr_nonnull (job);
    ps_envelope_t envelope;
    ck_assert_int_eq (ps_envelope_decode (zmsg_first (job), &envelope), 0);
    zmsg_destroy (&job);
    zsock_t *results = zsock_new (ZMQ_PUSH);
    ck_assert_int_eq (zsock_connect (results, "%s", loopback), 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "", 0);
    zmsg_addstr (msg, "through the reported loopback");
    ps_envelope_send (
        &(ps_envelope_t){
            .type = PS_MSG_RESULT, .kind = PS_KIND_HTTP, .status = 200, .id = envelope.id},
        &msg, results);
    tu_response_t *response = tu_client_read (client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (response->body, "through the reported loopback");
    tu_response_destroy (&response);
    tu_client_destroy (&client);
    zsock_destroy (&results);
    ps_server_destroy (&server);

    //  Only a listen socket: no loopback, no interrupt
    ps_server_config_defaults (&config);
    config.listen = "inproc://check-ps-server-endpoints";
    server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    ck_assert_str_eq (ps_server_listen_endpoint (server), "inproc://check-ps-server-endpoints");
    ck_assert_ptr_null (ps_server_loopback_endpoint (server));
    ck_assert_ptr_null (ps_server_interrupt_endpoint (server));
    ps_server_destroy (&server);
    zsock_destroy (&jobs);
    free (jobs_endpoint);
}
END_TEST

START_TEST (test_health_check_without_backend)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    config.health_check = "/health";
    ps_server_t *server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    tu_client_t *client = tu_client_new (ps_server_port (server));
    ck_assert_ptr_nonnull (client);
    tu_response_t *response = tu_client_request (client, "GET /health HTTP/1.1\r\nHost: a\r\n\r\n",
                                                 WAIT);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (response->body, "OK\n");
    tu_response_destroy (&response);
    response = tu_client_request (client, "HEAD /health HTTP/1.1\r\nHost: a\r\n\r\n", WAIT);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 200);
    ck_assert_uint_eq (response->body_size, 0);
    tu_response_destroy (&response);
    //  Anything else has nowhere to go: 503, not silence.
    response = tu_client_request (client, "GET /work HTTP/1.1\r\nHost: a\r\n\r\n", WAIT);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 503);
    tu_response_destroy (&response);
    tu_client_destroy (&client);
    ps_server_destroy (&server);
}
END_TEST

START_TEST (test_in_flight_limit)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.max_in_flight = 2;
    s_start (&fx);
    tu_client_sendstr (fx.client, "GET /f1 HTTP/1.1\r\nHost: a\r\n\r\n"
                                  "GET /f2 HTTP/1.1\r\nHost: a\r\n\r\n"
                                  "GET /f3 HTTP/1.1\r\nHost: a\r\n\r\n");
    uint64_t id1 = s_expect_job (&fx, "/f1");
    uint64_t id2 = s_expect_job (&fx, "/f2");
    ps_envelope_t envelope;
    zmsg_t *job = tu_backend_job (fx.backend, 200, &envelope);
    ck_assert_ptr_null (job);
    tu_backend_reply (fx.backend, id2, 200, "two", NULL, NULL);
    tu_backend_reply (fx.backend, id1, 200, "one", NULL, NULL);
    s_expect_response (fx.client, 200, "one");
    s_expect_response (fx.client, 200, "two");
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 503);
    ck_assert_str_eq (tu_response_header (response, "Retry-After"), "1");
    tu_response_destroy (&response);
    //  Below the limit again, requests flow.
    tu_client_sendstr (fx.client, GET_HELLO);
    uint64_t id = s_expect_job (&fx, "/hello");
    tu_backend_reply (fx.backend, id, 200, "ok", NULL, NULL);
    s_expect_response (fx.client, 200, "ok");
    s_teardown (&fx);
}
END_TEST

START_TEST (test_max_connections)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.max_connections = 1;
    s_start (&fx);
    //  The first connection is served; make sure the server has seen it.
    tu_client_sendstr (fx.client, GET_HELLO);
    uint64_t id = s_expect_job (&fx, "/hello");
    tu_client_t *second = s_client (&fx);
    ck_assert (tu_client_closed (second, WAIT));
    tu_client_destroy (&second);
    tu_backend_reply (fx.backend, id, 200, "first", NULL, NULL);
    s_expect_response (fx.client, 200, "first");
    s_teardown (&fx);
}
END_TEST

START_TEST (test_slow_header)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.header_timeout_ms = 200;
    s_start (&fx);
    int64_t start = zclock_mono ();
    tu_client_sendstr (fx.client, "GET /slow HTTP/1.1\r\nHost: a\r\n");
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 408);
    ck_assert_int_ge (zclock_mono () - start, 150);
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (fx.client, WAIT));
    //  Silent clients too.
    tu_client_t *silent = s_client (&fx);
    response = tu_client_read (silent, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 408);
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (silent, WAIT));
    tu_client_destroy (&silent);
    s_teardown (&fx);
}
END_TEST

START_TEST (test_slow_header_not_reset)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.header_timeout_ms = 300;
    s_start (&fx);
    //  Dribbling bytes does not extend the header deadline: with a byte
    //  every 20 ms for 2 s, the 408 must still come after about 300 ms.
    int64_t start = zclock_mono ();
    bool answered = false;
    tu_client_sendstr (fx.client, "GET /slow HTTP/1.1\r\nX-Long: ");
    for (int i = 0; i < 100 && !answered; i++) {
        tu_client_send (fx.client, "a", 1);
        char byte;
        //  The 20 ms read deadline paces the client.
        if (tu_client_read_bytes (fx.client, &byte, 1, 20) == 1) {
            ck_assert_int_eq (byte, 'H');
            answered = true;
        }
    }
    ck_assert (answered);
    ck_assert_int_lt (zclock_mono () - start, 1500);
    s_teardown (&fx);
}
END_TEST

START_TEST (test_max_pipelined)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.max_pipelined = 2;
    fx.config.access_log = true;  //  the access log runs through every path here
    fx.config.verbose = true;
    s_start (&fx);
    tu_client_sendstr (fx.client, "GET /q1 HTTP/1.1\r\nHost: a\r\n\r\n"
                                  "GET /q2 HTTP/1.1\r\nHost: a\r\n\r\n"
                                  "GET /q3 HTTP/1.1\r\nHost: a\r\n\r\n"
                                  "GET /q4 HTTP/1.1\r\nHost: a\r\n\r\n");
    uint64_t id1 = s_expect_job (&fx, "/q1");
    uint64_t id2 = s_expect_job (&fx, "/q2");
    tu_backend_reply (fx.backend, id1, 200, "one", NULL, NULL);
    tu_backend_reply (fx.backend, id2, 200, "two", NULL, NULL);
    s_expect_response (fx.client, 200, "one");
    s_expect_response (fx.client, 200, "two");
    //  The third is one too many: 503, and the connection ends there.
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 503);
    ck_assert_str_eq (tu_response_header (response, "Connection"), "close");
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (fx.client, WAIT));
    ps_envelope_t envelope;
    ck_assert_ptr_null (tu_backend_job (fx.backend, 200, &envelope));
    s_teardown (&fx);
}
END_TEST

//  A zeroed config means the defaults: before, a zero max_in_flight
//  answered everything 503, a zero max_pipelined allowed one request per
//  connection and zero HTTP limits refused every target (414).
START_TEST (test_zeroed_config)
{
    fixture_t fx;
    s_setup (&fx);
    ps_server_config_t endpoints = fx.config;
    memset (&fx.config, 0, sizeof (fx.config));
    fx.config.listen = endpoints.listen;
    fx.config.proxy = endpoints.proxy;
    fx.config.loopback = endpoints.loopback;
    fx.config.interrupt = endpoints.interrupt;
    s_start (&fx);
    tu_client_sendstr (fx.client, "GET /z1 HTTP/1.1\r\nHost: a\r\n\r\n"
                                  "GET /z2 HTTP/1.1\r\nHost: a\r\n\r\n"
                                  "GET /z3 HTTP/1.1\r\nHost: a\r\n\r\n");
    uint64_t id1 = s_expect_job (&fx, "/z1");
    uint64_t id2 = s_expect_job (&fx, "/z2");
    uint64_t id3 = s_expect_job (&fx, "/z3");
    tu_backend_reply (fx.backend, id3, 200, "three", NULL, NULL);
    tu_backend_reply (fx.backend, id2, 200, "two", NULL, NULL);
    tu_backend_reply (fx.backend, id1, 200, "one", NULL, NULL);
    s_expect_response (fx.client, 200, "one");
    s_expect_response (fx.client, 200, "two");
    s_expect_response (fx.client, 200, "three");
    s_teardown (&fx);
}
END_TEST

//  A negative header or idle timeout turns it off (0 now means the
//  default). Taken as a deadline it would already have passed: the partial
//  header section would get 408 and the idle connection be closed at once.
START_TEST (test_negative_timeouts_off)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.header_timeout_ms = -1;
    fx.config.idle_timeout_ms = -1;
    s_start (&fx);
    tu_client_sendstr (fx.client, "GET /late HTTP/1.1\r\nHost: a\r\n");
    char byte;
    ck_assert_uint_eq (tu_client_read_bytes (fx.client, &byte, 1, 400), 0);
    tu_client_sendstr (fx.client, "\r\n");
    uint64_t id = s_expect_job (&fx, "/late");
    tu_backend_reply (fx.backend, id, 200, "late", NULL, NULL);
    s_expect_response (fx.client, 200, "late");
    ck_assert (!tu_client_closed (fx.client, 400));
    tu_client_sendstr (fx.client, GET_HELLO);
    id = s_expect_job (&fx, "/hello");
    tu_backend_reply (fx.backend, id, 200, "still here", NULL, NULL);
    s_expect_response (fx.client, 200, "still here");
    s_teardown (&fx);
}
END_TEST

START_TEST (test_stalled_body)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.idle_timeout_ms = 200;
    s_start (&fx);
    tu_client_sendstr (fx.client, "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 408);
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (fx.client, WAIT));
    s_teardown (&fx);
}
END_TEST

START_TEST (test_idle_close)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.idle_timeout_ms = 200;
    s_start (&fx);
    tu_client_sendstr (fx.client, GET_HELLO);
    uint64_t id = s_expect_job (&fx, "/hello");
    tu_backend_reply (fx.backend, id, 200, "x", NULL, NULL);
    s_expect_response (fx.client, 200, "x");
    int64_t start = zclock_mono ();
    ck_assert (tu_client_closed (fx.client, WAIT));
    ck_assert_int_ge (zclock_mono () - start, 150);
    s_teardown (&fx);
}
END_TEST

START_TEST (test_loopback_junk)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    tu_client_sendstr (fx.client, GET_HELLO);
    uint64_t id = s_expect_job (&fx, "/hello");
    void *results = zsock_resolve (fx.backend->results);

    //  One frame of junk.
    zstr_send (fx.backend->results, "hello");
    //  An envelope of the wrong version and of the wrong size.
    zframe_t *frame = ps_envelope_encode (
        &(ps_envelope_t){.type = PS_MSG_RESULT, .kind = PS_KIND_HTTP, .status = 200, .id = id});
    zframe_data (frame)[0] = 9;
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &frame);
    zmsg_addstr (msg, "");
    zmsg_addstr (msg, "bad version");
    zmsg_send (&msg, results);
    zsock_send (fx.backend->results, "bss", "0123456789", (size_t) 10, "", "short envelope");
    //  Wrong type (a JOB) for our id.
    msg = zmsg_new ();
    zmsg_addstr (msg, "payload");
    ps_envelope_send (&(ps_envelope_t){.type = PS_MSG_JOB, .kind = PS_KIND_HTTP, .id = id}, &msg,
                      results);
    //  A well-formed RESULT for an unknown id.
    tu_backend_reply (fx.backend, id + 1000, 200, "unknown", NULL, NULL);
    //  An empty message part list after a good envelope, unknown id.
    ps_envelope_send (
        &(ps_envelope_t){
            .type = PS_MSG_RESULT, .kind = PS_KIND_HTTP, .status = 200, .id = id + 2000},
        NULL, results);
    //  Nothing reached the client so far.
    char byte;
    ck_assert_uint_eq (tu_client_read_bytes (fx.client, &byte, 1, 200), 0);

    tu_backend_reply (fx.backend, id, 200, "real", NULL, NULL);
    s_expect_response (fx.client, 200, "real");

    //  A known id with a malformed answer gets 502 rather than silence.
    tu_client_sendstr (fx.client, GET_HELLO);
    id = s_expect_job (&fx, "/hello");
    msg = zmsg_new ();
    zmsg_addstr (msg, "3:odd,");
    zmsg_addstr (msg, "body");
    ps_envelope_send (
        &(ps_envelope_t){.type = PS_MSG_RESULT, .kind = PS_KIND_HTTP, .status = 200, .id = id},
        &msg, results);
    s_expect_response (fx.client, 502, NULL);
    //  And a status out of range as well.
    tu_client_sendstr (fx.client, GET_HELLO);
    id = s_expect_job (&fx, "/hello");
    tu_backend_reply (fx.backend, id, 999, "odd", NULL, NULL);
    s_expect_response (fx.client, 502, NULL);
    s_teardown (&fx);
}
END_TEST

START_TEST (test_netstring)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.protocol = PS_PROTOCOL_NETSTRING;
    s_start (&fx);
    tu_client_sendstr (fx.client, "5:hello,3:");
    tu_client_sendstr (fx.client, "abc,");
    ps_envelope_t envelope, envelope2;
    zmsg_t *job = tu_backend_job (fx.backend, WAIT, &envelope);
    ck_assert_ptr_nonnull (job);
    ck_assert_int_eq (envelope.kind, PS_KIND_NETSTRING);
    ck_assert_uint_eq (zmsg_size (job), 1);
    ck_assert (zframe_streq (zmsg_first (job), "hello"));
    zmsg_destroy (&job);
    job = tu_backend_job (fx.backend, WAIT, &envelope2);
    ck_assert_ptr_nonnull (job);
    ck_assert (zframe_streq (zmsg_first (job), "abc"));
    zmsg_destroy (&job);
    tu_backend_reply (fx.backend, envelope2.id, 200, "ABC", NULL, NULL);
    tu_backend_reply (fx.backend, envelope.id, 200, "HELLO", NULL, NULL);
    char buf[32] = "";
    ck_assert_uint_eq (tu_client_read_bytes (fx.client, buf, 14, WAIT), 14);
    ck_assert_str_eq (buf, "5:HELLO,3:ABC,");
    //  Junk: an error netstring, then close.
    tu_client_sendstr (fx.client, "x:junk,");
    size_t size = 0;
    char *rest = tu_client_read_all (fx.client, WAIT, &size);
    ck_assert_ptr_nonnull (rest);
    const char *payload = NULL;
    size_t payload_size = 0;
    ck_assert_int_eq (ps_netstring_parse (rest, size, 1000, &payload, &payload_size, NULL),
                      (ssize_t) size);
    ck_assert_int_eq (strncmp (payload, "error: ", 7), 0);
    free (rest);
    s_teardown (&fx);
}
END_TEST

START_TEST (test_drain)
{
    fixture_t fx;
    s_setup (&fx);
    fx.config.health_check = "/health";
    s_start (&fx);
    //  A request in flight when the drain starts.
    tu_client_sendstr (fx.client, GET_HELLO);
    uint64_t id = s_expect_job (&fx, "/hello");
    ps_server_drain (fx.server, 10000);

    //  The health check turns 503 and the connection closes after it.
    tu_client_t *probe = s_client (&fx);
    tu_response_t *response = tu_client_request (probe, "GET /health HTTP/1.1\r\nHost: a\r\n\r\n",
                                                 WAIT);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 503);
    ck_assert_str_eq (tu_response_header (response, "Connection"), "close");
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (probe, WAIT));
    tu_client_destroy (&probe);

    //  New requests are still served, with Connection: close.
    tu_client_t *late = s_client (&fx);
    tu_client_sendstr (late, "GET /new HTTP/1.1\r\nHost: a\r\n\r\n");
    uint64_t id2 = s_expect_job (&fx, "/new");
    tu_backend_reply (fx.backend, id2, 200, "new", NULL, NULL);
    response = tu_client_read (late, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_str_eq (response->body, "new");
    ck_assert_str_eq (tu_response_header (response, "Connection"), "close");
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (late, WAIT));
    tu_client_destroy (&late);
    ck_assert (!ps_server_wait_drained (fx.server, 0));

    //  The request in flight completes; its client is the last one.
    tu_backend_reply (fx.backend, id, 200, "done", NULL, NULL);
    response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_str_eq (response->body, "done");
    ck_assert_str_eq (tu_response_header (response, "Connection"), "close");
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (fx.client, WAIT));
    ck_assert (ps_server_wait_drained (fx.server, WAIT));
    ck_assert (ps_server_wait_drained (fx.server, 0));
    s_teardown (&fx);
}
END_TEST

START_TEST (test_drain_deadline)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    tu_client_sendstr (fx.client, GET_HELLO);
    uint64_t id = s_expect_job (&fx, "/hello");
    int64_t start = zclock_mono ();
    ps_server_drain (fx.server, 300);
    ck_assert (ps_server_wait_drained (fx.server, WAIT));
    ck_assert_int_ge (zclock_mono () - start, 250);
    tu_response_t *response = tu_client_read (fx.client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 503);
    ck_assert_str_eq (tu_response_header (response, "Connection"), "close");
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (fx.client, WAIT));
    uint64_t cancelled = 0;
    ck_assert (tu_backend_cancel (fx.backend, WAIT, &cancelled));
    ck_assert (cancelled == id);
    s_teardown (&fx);
}
END_TEST

START_TEST (test_drain_no_clients)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    tu_client_destroy (&fx.client);
    //  The server may not have seen the disconnect yet; the drain still
    //  ends well before its 20 s deadline.
    ps_server_drain (fx.server, 20000);
    ck_assert (ps_server_wait_drained (fx.server, WAIT));
    s_teardown (&fx);
}
END_TEST

START_TEST (test_destroy_in_flight)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    tu_client_sendstr (fx.client, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                                  "GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
    uint64_t id = s_expect_job (&fx, "/a");
    s_expect_job (&fx, "/b");
    int64_t start = zclock_mono ();
    ps_server_destroy (&fx.server);
    ck_assert_int_lt (zclock_mono () - start, 1000);
    uint64_t cancelled = 0;
    ck_assert (tu_backend_cancel (fx.backend, WAIT, &cancelled));
    ck_assert (cancelled == id);
    s_expect_response (fx.client, 503, NULL);
    s_expect_response (fx.client, 503, NULL);
    ck_assert (tu_client_closed (fx.client, WAIT));
    s_teardown (&fx);
}
END_TEST

START_TEST (test_bad_endpoint)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "bogus://nowhere";
    ck_assert_ptr_null (ps_server_new (&config));
    //  Fresh names: a closed socket's inproc name is released asynchronously.
    char *first = tu_endpoint ("inproc", "listen");
    char *second = tu_endpoint ("inproc", "listen");
    config.listen = first;
    config.loopback = "tcp://256.1.1.1:1";
    ck_assert_ptr_null (ps_server_new (&config));
    config.listen = second;
    config.loopback = NULL;
    ps_server_t *server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    ck_assert_int_eq (ps_server_port (server), -1);
    ps_server_destroy (&server);
    ps_server_destroy (&server);
    tu_endpoint_free (&first);
    tu_endpoint_free (&second);
}
END_TEST

//  A client that connects with a 4 KiB receive buffer, pipelines count
//  GETs of /big and never reads; the ids of their jobs go to ids.
static tu_client_t *
s_stuck_client (fixture_t *fx, int count, uint64_t *ids)
{
    tu_client_t *stuck = tu_client_new_rcvbuf (ps_server_port (fx->server), 4096);
    ck_assert_ptr_nonnull (stuck);
    for (int i = 0; i < count; i++)
        ck_assert_int_eq (tu_client_sendstr (stuck, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    for (int i = 0; i < count; i++)
        ids[i] = s_expect_job (fx, "/big");
    return stuck;
}

//  A body of size 'x' bytes, as a string (caller frees).
static char *
s_big_body (size_t size)
{
    char *body = (char *) malloc (size + 1);
    memset (body, 'x', size);
    body[size] = 0;
    return body;
}

//  A client whose queue in libzmq fills up (it stopped reading; HWM 4
//  here) loses its state at once: the jobs it still has in the pipeline
//  are cancelled, others are served, and the server closes it as soon as
//  libzmq lets it (here once the client reads again).
START_TEST (test_stuck_client_dropped)
{
    enum { REQUESTS = 40, ANSWERED = 30, BODY = 256 * 1024 };
    fixture_t fx;
    s_setup (&fx);
    fx.config.hwm = 4;
    s_start (&fx);
    uint64_t ids[REQUESTS];
    tu_client_t *stuck = s_stuck_client (&fx, REQUESTS, ids);
    char *body = s_big_body (BODY);
    for (int i = 0; i < ANSWERED; i++)
        tu_backend_reply (fx.backend, ids[i], 200, body, NULL, NULL);
    free (body);

    //  Every job still pending when its state went is cancelled: all that
    //  were never answered, and those whose answers had not been read yet.
    bool cancelled[REQUESTS] = {false};
    int unanswered_cancelled = 0;
    while (unanswered_cancelled < REQUESTS - ANSWERED) {
        uint64_t id = 0;
        ck_assert_msg (tu_backend_cancel (fx.backend, WAIT, &id),
                       "only %d of the unanswered jobs cancelled", unanswered_cancelled);
        int index = 0;
        while (index < REQUESTS && ids[index] != id)
            index++;
        ck_assert_int_lt (index, REQUESTS);
        ck_assert (!cancelled[index]);
        cancelled[index] = true;
        if (index >= ANSWERED)
            unanswered_cancelled++;
    }
    //  Others are served meanwhile.
    tu_client_sendstr (fx.client, GET_HELLO);
    tu_backend_reply (fx.backend, s_expect_job (&fx, "/hello"), 200, "alive", NULL, NULL);
    s_expect_response (fx.client, 200, "alive");

    //  Reading again lets libzmq take the close: what arrives ends early.
    size_t got = 0;
    char *bytes = tu_client_read_all (stuck, 4 * WAIT, &got);
    ck_assert_msg (bytes != NULL, "the dropped client was not closed");
    ck_assert_uint_lt (got, (size_t) ANSWERED * BODY);
    free (bytes);
    tu_client_destroy (&stuck);
    s_teardown (&fx);
}
END_TEST

//  A client that stops reading is cut off once the send timeout passes,
//  others are served meanwhile, and its place is free again afterwards.
START_TEST (test_send_timeout)
{
    enum { REQUESTS = 32, BODY = 128 * 1024 };
    fixture_t fx;
    s_setup (&fx);
    fx.config.send_timeout_ms = 500;
    fx.config.max_connections = 2;
    s_start (&fx);
    uint64_t ids[REQUESTS];
    tu_client_t *stuck = s_stuck_client (&fx, REQUESTS, ids);
    char *body = s_big_body (BODY);
    for (int i = 0; i < REQUESTS; i++)
        tu_backend_reply (fx.backend, ids[i], 200, body, NULL, NULL);
    free (body);

    //  The reading client is unaffected.
    tu_client_sendstr (fx.client, GET_HELLO);
    tu_backend_reply (fx.backend, s_expect_job (&fx, "/hello"), 200, "alive", NULL, NULL);
    s_expect_response (fx.client, 200, "alive");

    //  With max_connections 2 a third client is refused until the server
    //  has let go of the stuck one.
    bool served = false;
    int64_t deadline = zclock_mono () + 4 * WAIT;
    while (!served && zclock_mono () < deadline) {
        tu_client_t *third = s_client (&fx);
        tu_client_sendstr (third, GET_HELLO);
        uint64_t id = 0;
        ps_http_request_t *job = tu_backend_request (fx.backend, 200, &id);
        if (job) {
            ps_http_request_destroy (&job);
            tu_backend_reply (fx.backend, id, 200, "third", NULL, NULL);
            s_expect_response (third, 200, "third");
            served = true;
        }
        tu_client_destroy (&third);
    }
    ck_assert_msg (served, "the client that does not read was never let go");

    //  What the stuck client can still read ends early, in a reset.
    size_t got = 0;
    char *bytes = tu_client_read_all (stuck, WAIT, &got);
    ck_assert_msg (bytes != NULL, "the connection of the client that did not read is still open");
    ck_assert_uint_lt (got, (size_t) REQUESTS * BODY);
    free (bytes);
    tu_client_destroy (&stuck);
    s_teardown (&fx);
}
END_TEST

START_TEST (test_many_clients)
{
    fixture_t fx;
    s_setup (&fx);
    s_start (&fx);
    enum { N = 20 };
    tu_client_t *clients[N];
    for (int i = 0; i < N; i++) {
        clients[i] = s_client (&fx);
        char *request = zsys_sprintf ("GET /m%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
        tu_client_sendstr (clients[i], request);
        zstr_free (&request);
    }
    //  Answer each job with its own path; every client gets its own.
    for (int i = 0; i < N; i++) {
        uint64_t id = 0;
        ps_http_request_t *request = tu_backend_request (fx.backend, WAIT, &id);
        ck_assert_ptr_nonnull (request);
        tu_backend_reply (fx.backend, id, 200, ps_http_request_path (request), NULL, NULL);
        ps_http_request_destroy (&request);
    }
    for (int i = 0; i < N; i++) {
        char path[16];
        snprintf (path, sizeof (path), "/m%d", i);
        s_expect_response (clients[i], 200, path);
        tu_client_destroy (&clients[i]);
    }
    s_teardown (&fx);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_server");
    TCase *tc = tcase_create ("server");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, test_single_request);
    tcase_add_test (tc, test_head_request);
    tcase_add_test (tc, test_keep_alive);
    tcase_add_test (tc, test_close_http11);
    tcase_add_test (tc, test_close_http10);
    tcase_add_test (tc, test_pipelined_out_of_order);
    tcase_add_test (tc, test_split_writes);
    tcase_add_test (tc, test_shuffled_stress);
    tcase_add_test (tc, test_bad_request);
    tcase_add_test (tc, test_bad_request_corpus);
    tcase_add_test (tc, test_body_too_large);
    tcase_add_test (tc, test_expect_continue);
    tcase_add_test (tc, test_timeout);
    tcase_add_test (tc, test_disconnect_cancels);
    tcase_add_test (tc, test_health_check_without_backend);
    tcase_add_test (tc, test_bound_endpoints);
    tcase_add_test (tc, test_in_flight_limit);
    tcase_add_test (tc, test_max_connections);
    tcase_add_test (tc, test_slow_header);
    tcase_add_test (tc, test_slow_header_not_reset);
    tcase_add_test (tc, test_idle_close);
    tcase_add_test (tc, test_max_pipelined);
    tcase_add_test (tc, test_zeroed_config);
    tcase_add_test (tc, test_negative_timeouts_off);
    tcase_add_test (tc, test_stalled_body);
    tcase_add_test (tc, test_loopback_junk);
    tcase_add_test (tc, test_netstring);
    tcase_add_test (tc, test_drain);
    tcase_add_test (tc, test_drain_deadline);
    tcase_add_test (tc, test_drain_no_clients);
    tcase_add_test (tc, test_destroy_in_flight);
    tcase_add_test (tc, test_bad_endpoint);
    tcase_add_test (tc, test_many_clients);
    tcase_add_test (tc, test_send_timeout);
    tcase_add_test (tc, test_stuck_client_dropped);
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
