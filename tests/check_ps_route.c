/*  check_ps_route: routes by path.

    The table alone (exact paths, prefixes on a segment boundary, the
    longest match, an exact route before a prefix of the same length,
    refused routes), then a server with routes over real sockets: a raw
    TCP client on one side, one fake first proxy per route on the other
    (the test plays them), so it sees which proxy got which job, that an
    unmatched path is answered 404 with no job sent anywhere, and each
    route's own request timeout and body limit.
*/
#include "../src/ps_route.h"
#include "testutil.h"

#include <check.h>
#include <string.h>

#define WAIT 5000

//  ---------------------------------------------------------------------
//  The table

START_TEST (test_table_match)
{
    ps_route_table_t *table = ps_route_table_new ();
    ps_route_t routes[] = {
        {.path = "/a", .proxy = "inproc://a"},
        {.path = "/b", .prefix = true, .proxy = "inproc://b"},
        {.path = "/b/deep", .prefix = true, .proxy = "inproc://c"},
        {.path = "/b/deep", .proxy = "inproc://d"},  //  exact beats the prefix of the same path
        {.path = "/files/", .prefix = true, .proxy = "inproc://e"},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        ck_assert_int_eq (ps_route_table_add (table, &routes[i]), (int) i);
    ck_assert_uint_eq (ps_route_table_size (table), 5);
    struct {
        const char *path;
        int route;
    } cases[] = {
        {"/a", 0},       {"/a/", -1},        {"/a/x", -1},     {"/ab", -1},    {"/b", 1},
        {"/b/", 1},      {"/b/x", 1},        {"/bx", -1},      {"/b/dee", 1},  {"/b/deep", 3},
        {"/b/deep/", 2}, {"/b/deep/x/y", 2}, {"/b/deeper", 1}, {"/files/", 4}, {"/files/x", 4},
        {"/files", -1},  {"/", -1},          {"", -1},         {"a", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg (ps_route_table_match (table, cases[i].path) == cases[i].route,
                       "%s: route %d, expected %d", cases[i].path,
                       ps_route_table_match (table, cases[i].path), cases[i].route);
    ck_assert_int_eq (ps_route_table_match (table, NULL), -1);
    //  The copies are the table's
    ck_assert_str_eq (ps_route_table_get (table, 2)->proxy, "inproc://c");
    ck_assert (ps_route_table_get (table, 2)->prefix);

    //  A catch-all takes what nothing longer does
    ps_route_t all = {.path = "/", .prefix = true, .proxy = "inproc://all"};
    ck_assert_int_eq (ps_route_table_add (table, &all), 5);
    ck_assert_int_eq (ps_route_table_match (table, "/ab"), 5);
    ck_assert_int_eq (ps_route_table_match (table, "/"), 5);
    ck_assert_int_eq (ps_route_table_match (table, "/a"), 0);
    ps_route_table_destroy (&table);
    ck_assert_ptr_null (table);
    ps_route_table_destroy (&table);
}
END_TEST

START_TEST (test_table_refuses)
{
    ps_route_table_t *table = ps_route_table_new ();
    ps_route_t bad[] = {
        {.path = NULL, .proxy = "inproc://a"},
        {.path = "a", .proxy = "inproc://a"},
        {.path = "/a", .proxy = NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq (ps_route_table_add (table, &bad[i]), -1);
    ps_route_t route = {.path = "/a", .proxy = "inproc://a"};
    ck_assert_int_eq (ps_route_table_add (table, &route), 0);
    ck_assert_int_eq (ps_route_table_add (table, &route), -1);  //  twice
    route.prefix = true;                                        //  a prefix of it is another
    ck_assert_int_eq (ps_route_table_add (table, &route), 1);
    ck_assert_uint_eq (ps_route_table_size (table), 2);
    ps_route_table_destroy (&table);
}
END_TEST

//  ---------------------------------------------------------------------
//  A server with routes

//  Three fake first proxies; the first one's loopback and interrupt are
//  the server's.
typedef struct {
    tu_backend_t *backends[3];
    ps_server_t *server;
    tu_client_t *client;
} s_routed_t;

static s_routed_t *
s_routed_new (ps_server_config_t *config, ps_route_t *routes, size_t count)
{
    s_routed_t *self = (s_routed_t *) zmalloc (sizeof (s_routed_t));
    for (size_t i = 0; i < 3; i++)
        self->backends[i] = tu_backend_new ();
    ps_server_config_t defaults;
    tu_backend_config (self->backends[0], &defaults);
    config->listen = defaults.listen;
    config->loopback = defaults.loopback;
    config->interrupt = defaults.interrupt;
    config->proxy = NULL;
    for (size_t i = 0; i < count; i++)
        routes[i].proxy = self->backends[(size_t) (uintptr_t) routes[i].proxy]->proxy;
    config->routes = routes;
    config->route_count = count;
    self->server = ps_server_new (config);
    ck_assert_ptr_nonnull (self->server);
    tu_backend_attach (self->backends[0]);
    self->client = tu_client_new (ps_server_port (self->server));
    ck_assert_ptr_nonnull (self->client);
    return self;
}

static void
s_routed_destroy (s_routed_t **self_p)
{
    s_routed_t *self = *self_p;
    tu_client_destroy (&self->client);
    ps_server_destroy (&self->server);
    for (size_t i = 0; i < 3; i++)
        tu_backend_destroy (&self->backends[i]);
    free (self);
    *self_p = NULL;
}

//  Sends a request for target; the next job on backend must be it. Its id
//  goes to *id.
static void
s_expect_job (s_routed_t *self, size_t backend, const char *target, uint64_t *id)
{
    char *request = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
    ck_assert_int_eq (tu_client_sendstr (self->client, request), 0);
    zstr_free (&request);
    ps_http_request_t *job = tu_backend_request (self->backends[backend], WAIT, id);
    ck_assert_msg (job != NULL, "%s: no job at proxy %zu", target, backend);
    ck_assert_str_eq (ps_http_request_target (job), target);
    ps_http_request_destroy (&job);
}

static void
s_expect_answer (s_routed_t *self, int status, const char *body)
{
    tu_response_t *response = tu_client_read (self->client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, status);
    if (body)
        ck_assert_str_eq (response->body, body);
    tu_response_destroy (&response);
}

//  Route proxies are given as backend indexes, made endpoints by s_routed_new.
#define BACKEND(i) ((const char *) (uintptr_t) (i))

START_TEST (test_server_routes)
{
    ps_route_t routes[] = {
        {.path = "/a", .proxy = BACKEND (0)},
        {.path = "/b", .prefix = true, .proxy = BACKEND (1)},
        {.path = "/b/deep", .prefix = true, .proxy = BACKEND (2)},
    };
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.health_check = "/health";
    s_routed_t *self = s_routed_new (&config, routes, 3);

    //  Unmatched paths: 404 from the server, in order, and no job anywhere
    //  (each proxy's next job below is the request meant for it)
    const char *unmatched[] = {"/", "/a/x", "/bx", "/nothing", "/a%2Fx"};
    for (size_t i = 0; i < sizeof unmatched / sizeof unmatched[0]; i++) {
        char *request = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: t\r\n\r\n", unmatched[i]);
        tu_response_t *response = tu_client_request (self->client, request, WAIT);
        zstr_free (&request);
        ck_assert_msg (response != NULL, "%s: no answer", unmatched[i]);
        ck_assert_msg (response->status == 404, "%s: %d", unmatched[i], response->status);
        ck_assert_str_eq (response->body, "404 Not Found\n");
        tu_response_destroy (&response);
    }
    //  The health check is the server's own still
    tu_response_t *health = tu_client_request (self->client,
                                               "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", WAIT);
    ck_assert_int_eq (health->status, 200);
    tu_response_destroy (&health);

    uint64_t id;
    s_expect_job (self, 0, "/a?x=1", &id);
    tu_backend_reply (self->backends[0], id, 200, "A", NULL, NULL);
    s_expect_answer (self, 200, "A");
    s_expect_job (self, 1, "/b", &id);
    tu_backend_reply (self->backends[0], id, 200, "B", NULL, NULL);
    s_expect_answer (self, 200, "B");
    s_expect_job (self, 1, "/b/deeper", &id);  //  not below /b/deep: the shorter prefix
    tu_backend_reply (self->backends[0], id, 200, "B2", NULL, NULL);
    s_expect_answer (self, 200, "B2");
    s_expect_job (self, 2, "/b/deep/x", &id);  //  the longest match
    tu_backend_reply (self->backends[0], id, 200, "C", NULL, NULL);
    s_expect_answer (self, 200, "C");
    s_expect_job (self, 2, "/b/deep", &id);
    tu_backend_reply (self->backends[0], id, 200, "C2", NULL, NULL);
    s_expect_answer (self, 200, "C2");
    s_routed_destroy (&self);
}
END_TEST

//  Each route's own timeout, in deadline order rather than send order: the
//  long one sent first, the short one times out first, and a route with
//  none outlives both.
START_TEST (test_route_timeouts)
{
    ps_route_t routes[] = {
        {.path = "/long", .proxy = BACKEND (0), .request_timeout_ms = 30000},
        {.path = "/short", .proxy = BACKEND (1), .request_timeout_ms = 200},
        {.path = "/never", .proxy = BACKEND (2), .request_timeout_ms = -1},
    };
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.request_timeout_ms = 400;  //  the server's, for routes without their own
    s_routed_t *self = s_routed_new (&config, routes, 3);
    tu_client_t *clients[3] = {self->client, tu_client_new (ps_server_port (self->server)),
                               tu_client_new (ps_server_port (self->server))};
    const char *targets[3] = {"/long", "/short", "/never"};
    uint64_t ids[3];
    int64_t start = zclock_mono ();
    for (size_t i = 0; i < 3; i++) {
        char *request = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: t\r\n\r\n", targets[i]);
        ck_assert_int_eq (tu_client_sendstr (clients[i], request), 0);
        zstr_free (&request);
        ps_http_request_t *job = tu_backend_request (self->backends[i], WAIT, &ids[i]);
        ck_assert_ptr_nonnull (job);
        ps_http_request_destroy (&job);
    }
    //  /short: 504 after its 200 ms, long before the server's 400 would
    //  matter to /long; its proxy is told to cancel it
    tu_response_t *response = tu_client_read (clients[1], WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 504);
    int64_t elapsed = zclock_mono () - start;
    ck_assert_msg (elapsed >= 190, "504 after %d ms", (int) elapsed);
    tu_response_destroy (&response);
    uint64_t cancelled;
    ck_assert (tu_backend_cancel (self->backends[0], WAIT, &cancelled));
    ck_assert_uint_eq (cancelled, ids[1]);
    //  /long and /never still pending: past the server's 400 ms, answered
    //  by their workers
    tu_client_t *probe = tu_client_new (ps_server_port (self->server));
    ps_route_t *unused = NULL;
    (void) unused;
    ck_assert_int_eq (tu_client_sendstr (probe, "GET /none HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    response = tu_client_read (probe, WAIT, false);
    ck_assert_int_eq (response->status, 404);
    tu_response_destroy (&response);
    tu_client_destroy (&probe);
    //  Wait out the server's timeout on a socket read that must stay empty
    ck_assert (!tu_backend_cancel (self->backends[0], 600, &cancelled));
    tu_backend_reply (self->backends[0], ids[0], 200, "long", NULL, NULL);
    tu_backend_reply (self->backends[0], ids[2], 200, "never", NULL, NULL);
    response = tu_client_read (clients[0], WAIT, false);
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (response->body, "long");
    tu_response_destroy (&response);
    response = tu_client_read (clients[2], WAIT, false);
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (response->body, "never");
    tu_response_destroy (&response);
    tu_client_destroy (&clients[1]);
    tu_client_destroy (&clients[2]);
    s_routed_destroy (&self);
}
END_TEST

//  A route without its own timeout takes the server's.
START_TEST (test_route_server_timeout)
{
    ps_route_t routes[] = {{.path = "/x", .proxy = BACKEND (0)}};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.request_timeout_ms = 150;
    s_routed_t *self = s_routed_new (&config, routes, 1);
    uint64_t id;
    int64_t start = zclock_mono ();
    s_expect_job (self, 0, "/x", &id);
    s_expect_answer (self, 504, NULL);
    ck_assert_int_ge (zclock_mono () - start, 140);
    s_routed_destroy (&self);
}
END_TEST

static void
s_post (s_routed_t *self, const char *path, size_t size)
{
    char *head = zsys_sprintf ("POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", path,
                               size);
    ck_assert_int_eq (tu_client_sendstr (self->client, head), 0);
    zstr_free (&head);
    char *body = (char *) malloc (size + 1);
    memset (body, 'x', size);
    ck_assert_int_eq (tu_client_send (self->client, body, size), 0);
    free (body);
}

//  Each route's body limit; a route without one has the server's, even
//  though the parser admits the largest route's; a 413 of ours leaves the
//  connection usable (the body was read).
START_TEST (test_route_body_limits)
{
    ps_route_t routes[] = {
        {.path = "/small", .proxy = BACKEND (0), .max_body = 10},
        {.path = "/big", .proxy = BACKEND (1), .max_body = 100000},
        {.path = "/plain", .proxy = BACKEND (2)},
    };
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.limits.max_body = 1000;
    s_routed_t *self = s_routed_new (&config, routes, 3);
    uint64_t id;

    s_post (self, "/small", 11);
    s_expect_answer (self, 413, NULL);
    s_post (self, "/plain", 1001);
    s_expect_answer (self, 413, NULL);
    s_post (self, "/small", 10);
    ps_http_request_t *job = tu_backend_request (self->backends[0], WAIT, &id);
    ck_assert_ptr_nonnull (job);
    ck_assert_uint_eq (ps_http_request_body_size (job), 10);
    ps_http_request_destroy (&job);
    tu_backend_reply (self->backends[0], id, 200, "small", NULL, NULL);
    s_expect_answer (self, 200, "small");
    s_post (self, "/big", 50000);
    job = tu_backend_request (self->backends[1], WAIT, &id);
    ck_assert_ptr_nonnull (job);
    ck_assert_uint_eq (ps_http_request_body_size (job), 50000);
    ps_http_request_destroy (&job);
    tu_backend_reply (self->backends[0], id, 200, "big", NULL, NULL);
    s_expect_answer (self, 200, "big");
    s_post (self, "/plain", 1000);
    job = tu_backend_request (self->backends[2], WAIT, &id);
    ck_assert_ptr_nonnull (job);
    ps_http_request_destroy (&job);
    tu_backend_reply (self->backends[0], id, 200, "plain", NULL, NULL);
    s_expect_answer (self, 200, "plain");
    //  Beyond the largest limit the parser refuses, and closes
    s_post (self, "/big", 100001);
    s_expect_answer (self, 413, NULL);
    s_routed_destroy (&self);
}
END_TEST

START_TEST (test_routes_refused)
{
    tu_backend_t *backend = tu_backend_new ();
    ps_route_t route = {.path = "/x", .proxy = backend->proxy};
    ps_server_config_t config;
    tu_backend_config (backend, &config);  //  with a proxy: refused
    config.routes = &route;
    config.route_count = 1;
    ck_assert_ptr_null (ps_server_new (&config));
    config.proxy = NULL;
    config.protocol = PS_PROTOCOL_NETSTRING;  //  no paths to route by
    ck_assert_ptr_null (ps_server_new (&config));
    config.protocol = PS_PROTOCOL_HTTP;
    route.path = "x";
    ck_assert_ptr_null (ps_server_new (&config));
    route.path = "/x";
    ps_server_t *server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    ps_server_destroy (&server);
    tu_backend_destroy (&backend);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_route");
    TCase *tc = tcase_create ("table");
    tcase_add_test (tc, test_table_match);
    tcase_add_test (tc, test_table_refuses);
    suite_add_tcase (suite, tc);
    tc = tcase_create ("server");
    tcase_add_test (tc, test_server_routes);
    tcase_add_test (tc, test_route_timeouts);
    tcase_add_test (tc, test_route_server_timeout);
    tcase_add_test (tc, test_route_body_limits);
    tcase_add_test (tc, test_routes_refused);
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
