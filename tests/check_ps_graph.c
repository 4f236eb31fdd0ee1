/*  check_ps_graph: a ps_pipeline described as a graph.

    Three stages: a router (0) that forwards each request to the stage
    named by its path's last segment, and two echo pools A (1) and B (2).
    Routes: "/via" (prefix) to the router, "/direct" straight to B, so B
    is fed by the router and by the server (fan-in), and the router fans
    out to A and B. Real HTTP over every transport; then the same graph
    split, the router's worker run by the test from the endpoints the
    pipeline reports; then descriptions that must be refused, and one
    with a stage nothing leads to, which is named in a warning.
*/
#include "testutil.h"

#include <check.h>
#include <string.h>

#define WAIT 5000

static const char *TRANSPORTS[] = {"inproc", "ipc", "tcp"};

//  "/via/<name>": forward to <name>.
static int
s_router (ps_work_t *work, void *arg)
{
    (void) arg;
    const ps_http_request_t *request = ps_work_request (work);
    if (!request)
        return -1;
    const char *name = strrchr (ps_http_request_path (request), '/') + 1;
    zmsg_t *frames = zmsg_dup (ps_work_payload (work));
    return ps_work_forward_to (work, name, &frames);
}

//  The graph; router_workers 0 leaves the router's pool to the caller.
static ps_pipeline_t *
s_graph_new (const char *transport, size_t router_workers)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    ck_assert_int_eq (ps_pipeline_set_transport (pipeline, transport), 0);
    ps_pipeline_stage_t router = {.work = s_router, .workers = router_workers};
    ck_assert_int_eq (ps_pipeline_add_stage (pipeline, &router), 0);
    ck_assert_int_eq (ps_pipeline_add_work (pipeline, tu_echo_work, 2, (void *) 1), 1);
    ck_assert_int_eq (ps_pipeline_add_work (pipeline, tu_echo_work, 1, (void *) 2), 2);
    ck_assert_int_eq (ps_pipeline_add_edge (pipeline, 0, "a", 1), 0);
    ck_assert_int_eq (ps_pipeline_add_edge (pipeline, 0, "b", 2), 0);
    ck_assert_int_eq (
        ps_pipeline_add_route (pipeline, &(ps_route_t){.path = "/via", .prefix = true}, 0), 0);
    ck_assert_int_eq (ps_pipeline_add_route (pipeline, &(ps_route_t){.path = "/direct"}, 2), 0);
    ck_assert_msg (ps_pipeline_start (pipeline) == 0, "%s", ps_pipeline_error (pipeline));
    return pipeline;
}

static void
s_expect (tu_client_t *client, const char *target, int status, const char *body, int stage)
{
    char *request = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
    tu_response_t *response = tu_client_request (client, request, WAIT);
    zstr_free (&request);
    ck_assert_msg (response != NULL, "%s: no answer", target);
    ck_assert_msg (response->status == status, "%s: %d, expected %d (%s)", target, response->status,
                   status, response->body);
    ck_assert_msg (strstr (response->body, body) != NULL, "%s: '%s' has no '%s'", target,
                   response->body, body);
    if (stage) {
        const char *header = tu_response_header (response, "X-Stage");
        ck_assert_ptr_nonnull (header);
        ck_assert_int_eq (atoi (header), stage);
    }
    tu_response_destroy (&response);
}

static void
s_check_graph (ps_pipeline_t *pipeline)
{
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    for (int i = 0; i < 5; i++) {
        s_expect (client, "/via/a", 200, "GET /via/a ", 1);
        s_expect (client, "/via/b", 200, "GET /via/b ", 2);
        s_expect (client, "/direct", 200, "GET /direct ", 2);
        s_expect (client, "/via/c", 500, "no downstream named 'c'", 0);
        s_expect (client, "/elsewhere", 404, "404 Not Found", 0);
    }
    tu_client_destroy (&client);
}

START_TEST (test_graph)
{
    ps_pipeline_t *pipeline = s_graph_new (TRANSPORTS[_i], 1);
    s_check_graph (pipeline);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  The router's pool runs elsewhere (here: a worker the test makes from
//  the reported endpoints alone), the rest in the pipeline.
START_TEST (test_split_router)
{
    ps_pipeline_t *pipeline = s_graph_new (TRANSPORTS[_i], 0);
    ps_downstream_t edges[] = {{"a", ps_pipeline_upstream_endpoint (pipeline, 1)},
                               {"b", ps_pipeline_upstream_endpoint (pipeline, 2)}};
    ps_worker_config_t config;
    ps_worker_config_defaults (&config);
    config.upstream = ps_pipeline_downstream_endpoint (pipeline, 0);
    config.loopback = ps_pipeline_loopback_endpoint (pipeline);
    config.interrupt = ps_pipeline_interrupt_endpoint (pipeline);
    config.work = s_router;
    config.downstreams = edges;
    config.downstream_count = 2;
    ps_worker_t *router = ps_worker_new (&config);
    ck_assert_ptr_nonnull (router);
    s_check_graph (pipeline);
    ps_worker_destroy (&router);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  A line-less pipeline on tcp://127.0.0.1:*: the router (stage 0, one
//  worker), then echo_pools echo pools of one worker (stage i answers
//  X-Stage: i). The caller adds edges and routes, and starts it.
static ps_pipeline_t *
s_router_pipeline (size_t echo_pools)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    ck_assert_int_eq (ps_pipeline_add_work (pipeline, s_router, 1, NULL), 0);
    for (size_t i = 1; i <= echo_pools; i++)
        ck_assert_int_eq (ps_pipeline_add_work (pipeline, tu_echo_work, 1, (void *) i), (int) i);
    return pipeline;
}

//  Edges only: the server sends to stage 0, which forwards by name.
START_TEST (test_edges_without_routes)
{
    ps_pipeline_t *pipeline = s_router_pipeline (2);
    ck_assert_int_eq (ps_pipeline_add_edge (pipeline, 0, "two", 2), 0);
    ck_assert_int_eq (ps_pipeline_start (pipeline), 0);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    //  No implicit link 0 -> 1 any more: only the edge
    s_expect (client, "/x/two", 200, "GET /x/two ", 2);
    s_expect (client, "/x/one", 500, "no downstream named 'one'", 0);
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

START_TEST (test_refused)
{
    ps_pipeline_t *pipeline = s_router_pipeline (1);
    ck_assert_int_eq (ps_pipeline_add_edge (pipeline, 0, "x", 2), -1);
    ck_assert_ptr_nonnull (strstr (ps_pipeline_error (pipeline), "no stage 2"));
    ck_assert_int_eq (ps_pipeline_add_edge (pipeline, 0, "", 1), -1);
    ck_assert_int_eq (ps_pipeline_add_edge (pipeline, 0, "x", 1), 0);
    ck_assert_int_eq (ps_pipeline_add_edge (pipeline, 0, "x", 1), -1);
    ck_assert_ptr_nonnull (strstr (ps_pipeline_error (pipeline), "two edges named 'x'"));
    ck_assert_int_eq (ps_pipeline_add_route (pipeline, &(ps_route_t){.path = "x"}, 0), -1);
    ck_assert_int_eq (ps_pipeline_add_route (pipeline, &(ps_route_t){.path = "/x"}, 5), -1);
    ck_assert_int_eq (ps_pipeline_add_route (pipeline, &(ps_route_t){.path = "/x"}, 0), 0);
    ck_assert_int_eq (ps_pipeline_add_route (pipeline, &(ps_route_t){.path = "/x"}, 1), -1);
    ck_assert_int_eq (ps_pipeline_start (pipeline), 0);
    ck_assert_int_eq (ps_pipeline_add_edge (pipeline, 1, "y", 0), -1);
    ck_assert_int_eq (ps_pipeline_add_route (pipeline, &(ps_route_t){.path = "/y"}, 0), -1);
    ps_pipeline_destroy (&pipeline);

    //  Routes in the server config: the pipeline would not know their stages
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    ps_route_t route = {.path = "/z", .proxy = "inproc://somewhere"};
    config.routes = &route;
    config.route_count = 1;
    pipeline = ps_pipeline_new (&config);
    ck_assert_int_eq (ps_pipeline_add_work (pipeline, tu_echo_work, 1, NULL), 0);
    ck_assert_int_eq (ps_pipeline_start (pipeline), -1);
    ck_assert_ptr_nonnull (strstr (ps_pipeline_error (pipeline), "routes"));
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  A stage no route or edge leads to is named in a warning at start (it
//  may still be fed from elsewhere, so it is not refused); the stages a
//  route or an edge reaches are not.
START_TEST (test_unreached_stage_named)
{
    zsock_t *logs = tu_logs_new ("inproc://graph-logs");
    ck_assert_ptr_nonnull (logs);
    ps_pipeline_t *pipeline = s_router_pipeline (3);
    ck_assert_int_eq (ps_pipeline_add_route (pipeline, &(ps_route_t){.path = "/via"}, 0), 0);
    ck_assert_int_eq (ps_pipeline_add_route (pipeline, &(ps_route_t){.path = "/b"}, 2), 0);
    ck_assert_int_eq (ps_pipeline_add_edge (pipeline, 0, "c", 3), 0);
    ck_assert_int_eq (ps_pipeline_start (pipeline), 0);
    //  Said before start returned: what is there now is all there is
    int warned[4] = {0};
    zsock_set_rcvtimeo (logs, 500);
    char *line;
    while ((line = zstr_recv (logs))) {
        for (int s = 0; s < 4; s++) {
            char *name = zsys_sprintf ("stage %d: no route or edge leads to it", s + 1);
            warned[s] += strstr (line, name) != NULL;
            zstr_free (&name);
        }
        zstr_free (&line);
    }
    ck_assert_msg (warned[0] == 0 && warned[1] == 1 && warned[2] == 0 && warned[3] == 0,
                   "warnings by stage: %d %d %d %d", warned[0], warned[1], warned[2], warned[3]);
    ps_pipeline_destroy (&pipeline);
    tu_logs_destroy (&logs);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_graph");
    TCase *tc = tcase_create ("graph");
    tcase_set_timeout (tc, 60);
    tcase_add_loop_test (tc, test_graph, 0, 3);
    tcase_add_loop_test (tc, test_split_router, 0, 3);
    tcase_add_test (tc, test_edges_without_routes);
    tcase_add_test (tc, test_refused);
    tcase_add_test (tc, test_unreached_stage_named);
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
