/*  check_ps_pipeline: the pipeline class.

    One-process pipelines of one and two stages over every transport, with
    raw HTTP from a loopback TCP client; the endpoints they report (bound,
    no wildcard left, usable by another piece: a worker the test runs
    itself connects to them); drain; teardown of a busy pipeline; and
    descriptions that must be refused with a reason. Leaks are the
    sanitizer and valgrind builds' to find (make check-valgrind).
*/
#include "testutil.h"

#include <check.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#define WAIT 5000

static tu_response_t *
s_get (tu_client_t *client, const char *target)
{
    char *request = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: test\r\n\r\n", target);
    tu_response_t *response = tu_client_request (client, request, WAIT);
    zstr_free (&request);
    ck_assert_msg (response != NULL, "no response for %s", target);
    return response;
}

//  The endpoint is bound on the transport: its prefix, and for tcp a port
//  number, not a wildcard.
static void
s_check_endpoint (const char *endpoint, const char *transport)
{
    ck_assert_ptr_nonnull (endpoint);
    char *prefix = zsys_sprintf ("%s://", transport);
    ck_assert_msg (strncmp (endpoint, prefix, strlen (prefix)) == 0, "%s is not %s", endpoint,
                   prefix);
    zstr_free (&prefix);
    if (streq (transport, "tcp")) {
        const char *port = strrchr (endpoint, ':') + 1;
        ck_assert_msg (atoi (port) > 0, "%s has no port", endpoint);
    }
}

static ps_pipeline_t *
s_echo_pipeline (const char *transport, size_t stages)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    ck_assert_int_eq (ps_pipeline_set_transport (pipeline, transport), 0);
    if (stages == 2)
        ck_assert_int_eq (ps_pipeline_add_work (pipeline, tu_forward_work, 2, NULL), 0);
    ck_assert_int_eq (ps_pipeline_add_work (pipeline, tu_echo_work, 2, (void *) (intptr_t) stages),
                      (int) stages - 1);
    ck_assert_msg (ps_pipeline_start (pipeline) == 0, "%s", ps_pipeline_error (pipeline));
    ck_assert_str_eq (ps_pipeline_error (pipeline), "");
    return pipeline;
}

//  ---------------------------------------------------------------------
//  One process, 1 and 2 stages, every transport

static const char *TRANSPORTS[] = {"inproc", "ipc", "tcp"};

static void
s_check_pipeline (const char *transport, size_t stages)
{
    ps_pipeline_t *pipeline = s_echo_pipeline (transport, stages);
    ck_assert_uint_eq (ps_pipeline_stage_count (pipeline), stages);
    int port = ps_pipeline_port (pipeline);
    ck_assert_int_gt (port, 0);
    char *listen = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    ck_assert_str_eq (ps_pipeline_listen_endpoint (pipeline), listen);
    zstr_free (&listen);

    //  Every endpoint reported, on the transport, all different
    const char *endpoints[6] = {ps_pipeline_loopback_endpoint (pipeline),
                                ps_pipeline_interrupt_endpoint (pipeline)};
    size_t count = 2;
    for (size_t s = 0; s < stages; s++) {
        endpoints[count++] = ps_pipeline_upstream_endpoint (pipeline, s);
        endpoints[count++] = ps_pipeline_downstream_endpoint (pipeline, s);
        //  In one process a stage of its own workers needs no proxy
        if (streq (transport, "inproc"))
            ck_assert_ptr_null (ps_pipeline_proxy (pipeline, s));
        else
            ck_assert_ptr_nonnull (ps_pipeline_proxy (pipeline, s));
    }
    for (size_t i = 0; i < count; i++) {
        s_check_endpoint (endpoints[i], transport);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne (endpoints[i], endpoints[j]);
    }
    ck_assert_ptr_null (ps_pipeline_upstream_endpoint (pipeline, stages));
    ck_assert_ptr_null (ps_pipeline_proxy (pipeline, stages));
    //  Generated ipc files exist while the pipeline runs...
    char *ipc_path = NULL;
    if (streq (transport, "ipc")) {
        ipc_path = strdup (endpoints[2] + strlen ("ipc://"));
        struct stat info;
        ck_assert_int_eq (stat (ipc_path, &info), 0);
    }

    tu_client_t *client = tu_client_new (port);
    ck_assert_ptr_nonnull (client);
    for (int i = 0; i < 10; i++) {
        tu_response_t *response = s_get (client, "/hello");
        ck_assert_int_eq (response->status, 200);
        ck_assert_str_eq (response->body, "GET /hello ");
        ck_assert_int_eq (atoi (tu_response_header (response, "X-Stage")), (int) stages);
        tu_response_destroy (&response);
    }
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
    ck_assert_ptr_null (pipeline);
    //  ...and are gone after it
    if (ipc_path) {
        struct stat info;
        ck_assert_int_eq (stat (ipc_path, &info), -1);
        free (ipc_path);
    }
}

START_TEST (test_one_stage)
{
    s_check_pipeline (TRANSPORTS[_i], 1);
}
END_TEST

START_TEST (test_two_stages)
{
    s_check_pipeline (TRANSPORTS[_i], 2);
}
END_TEST

//  A work function may take the payload as a zmsg, and change it, before
//  it asks for the decoded request: the request is then read from the
//  payload as it is now, on every transport (inproc: the job's block, its
//  large body moved into the payload).
static int
s_payload_work (ps_work_t *work, void *arg)
{
    bool empty_it = arg != NULL;
    zmsg_t *payload = ps_work_payload (work);
    size_t frames = zmsg_size (payload);
    size_t bytes = zmsg_content_size (payload);
    if (empty_it) {
        zframe_t *frame;
        while ((frame = zmsg_pop (payload)))
            zframe_destroy (&frame);
    }
    const ps_http_request_t *request = ps_work_request (work);
    size_t body_size = request ? ps_http_request_body_size (request) : 0;
    const char *body = request ? ps_http_request_body (request) : "";
    char text[128];
    snprintf (text, sizeof text, "%zu %zu %s %zu %c", frames, bytes, request ? "request" : "none",
              body_size, body_size ? body[body_size - 1] : '-');
    return ps_work_reply (work, 200, NULL, text, strlen (text));
}

START_TEST (test_payload_then_request)
{
    for (int empty_it = 0; empty_it < 2; empty_it++) {
        ps_server_config_t config;
        ps_server_config_defaults (&config);
        config.listen = "tcp://127.0.0.1:*";
        ps_pipeline_t *pipeline = ps_pipeline_new (&config);
        ck_assert_int_eq (ps_pipeline_set_transport (pipeline, TRANSPORTS[_i]), 0);
        ck_assert_int_eq (
            ps_pipeline_add_work (pipeline, s_payload_work, 1, empty_it ? (void *) 1 : NULL), 0);
        ck_assert_msg (ps_pipeline_start (pipeline) == 0, "%s", ps_pipeline_error (pipeline));
        tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
        //  A body over the size a job carries inline
        size_t size = 10000;
        char *body = (char *) malloc (size + 1);
        memset (body, 'b', size - 1);
        body[size - 1] = 'z';
        body[size] = 0;
        char *request = zsys_sprintf (
            "POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: %zu\r\n\r\n%s", size, body);
        tu_response_t *response = tu_client_request (client, request, WAIT);
        ck_assert_ptr_nonnull (response);
        ck_assert_int_eq (response->status, 200);
        size_t frames, bytes, body_size;
        char decoded[16], last;
        ck_assert_int_eq (
            sscanf (response->body, "%zu %zu %15s %zu %c", &frames, &bytes, decoded, &body_size, &last),
            5);
        ck_assert_uint_eq (frames, 1);  //  the request in its one-frame wire form
        ck_assert_uint_gt (bytes, size);
        if (empty_it) {
            ck_assert_str_eq (decoded, "none");
            ck_assert_uint_eq (body_size, 0);
        }
        else {
            ck_assert_str_eq (decoded, "request");
            ck_assert_uint_eq (body_size, size);
            ck_assert_int_eq (last, 'z');
        }
        tu_response_destroy (&response);
        zstr_free (&request);
        free (body);
        tu_client_destroy (&client);
        ps_pipeline_destroy (&pipeline);
    }
}
END_TEST

//  With wildcard ports (tcp) the first stage's proxy starts before the
//  server has bound the loopback; it is told the loopback once bound, so
//  its reports reach the server as the second stage's do (and a lost job's
//  report would: the same socket).
START_TEST (test_late_loopback)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    config.metrics = "/metrics";
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    ck_assert_int_eq (ps_pipeline_set_transport (pipeline, "tcp"), 0);
    ck_assert_int_eq (ps_pipeline_add_work (pipeline, tu_forward_work, 1, NULL), 0);
    ck_assert_int_eq (ps_pipeline_add_work (pipeline, tu_echo_work, 1, NULL), 1);
    ck_assert_msg (ps_pipeline_start (pipeline) == 0, "%s", ps_pipeline_error (pipeline));
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    bool both = false;
    int64_t deadline = zclock_mono () + 10000;
    while (!both && zclock_mono () < deadline) {
        tu_response_t *response = s_get (client, "/metrics");
        both = response->status == 200
               && strstr (response->body, "prime_server_stage_up{stage=\"1\"} 1")
               && strstr (response->body, "prime_server_stage_up{stage=\"2\"} 1");
        tu_response_destroy (&response);
        if (!both)
            zclock_sleep (50);  //  a proxy reports at once, then every second
    }
    ck_assert_msg (both, "both stages' proxies did not report within 10 s");
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  The value of sample (a whole metric name with labels, then a space) in
//  a metrics exposition, or -1 if absent.
static double
s_sample (const char *text, const char *sample)
{
    const char *at = strstr (text, sample);
    return at ? atof (at + strlen (sample)) : -1;
}

//  Over inproc, stages of their own workers run without proxies: the
//  server and the workers hand jobs to each other. Jobs still reach every
//  worker (one added while running too), and the stages' figures are in
//  the metrics as proxies would report them.
START_TEST (test_inproc_without_proxy)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    config.metrics = "/metrics";
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    ps_pipeline_stage_t first = {
        .work = tu_forward_work, .workers = 2, .arg = (void *) 1, .name = "parse"};
    ps_pipeline_stage_t second = {
        .work = tu_echo_work, .workers = 1, .arg = (void *) 2, .name = "echo"};
    ck_assert_int_eq (ps_pipeline_add_stage (pipeline, &first), 0);
    ck_assert_int_eq (ps_pipeline_add_stage (pipeline, &second), 1);
    ck_assert_msg (ps_pipeline_start (pipeline) == 0, "%s", ps_pipeline_error (pipeline));
    ck_assert_ptr_null (ps_pipeline_proxy (pipeline, 0));
    ck_assert_ptr_null (ps_pipeline_proxy (pipeline, 1));
    ck_assert_int_eq (ps_pipeline_add_worker (pipeline, 1, NULL), 0);

    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    for (int i = 0; i < 20; i++) {
        tu_response_t *response = s_get (client, "/hello");
        ck_assert_int_eq (response->status, 200);
        ck_assert_str_eq (response->body, "GET /hello ");
        ck_assert_str_eq (tu_response_header (response, "X-Stage"), "2");
        tu_response_destroy (&response);
    }
    //  Once every worker is back at its stage: all idle, 20 jobs each
    bool settled = false;
    char *text = NULL;
    int64_t deadline = zclock_mono () + 10000;
    while (!settled && zclock_mono () < deadline) {
        zstr_free (&text);
        tu_response_t *response = s_get (client, "/metrics");
        ck_assert_int_eq (response->status, 200);
        text = strdup (response->body);
        tu_response_destroy (&response);
        settled = s_sample (text, "prime_server_stage_workers{stage=\"parse\",state=\"idle\"} ")
                      == 2
                  && s_sample (text, "prime_server_stage_workers{stage=\"echo\",state=\"idle\"} ")
                         == 2;
        if (!settled)
            zclock_sleep (20);  //  a worker goes back to its stage after its answer
    }
    ck_assert_msg (settled, "the workers did not all come back idle:\n%s", text);
    ck_assert_double_eq (s_sample (text, "prime_server_stage_up{stage=\"parse\"} "), 1);
    ck_assert_double_eq (s_sample (text, "prime_server_stage_up{stage=\"echo\"} "), 1);
    ck_assert_double_eq (
        s_sample (text, "prime_server_stage_workers{stage=\"echo\",state=\"busy\"} "), 0);
    ck_assert_double_eq (s_sample (text, "prime_server_stage_queued_jobs{stage=\"parse\"} "), 0);
    ck_assert_double_eq (s_sample (text, "prime_server_stage_jobs_total{stage=\"parse\"} "), 20);
    ck_assert_double_eq (s_sample (text, "prime_server_stage_jobs_total{stage=\"echo\"} "), 20);
    zstr_free (&text);
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  ---------------------------------------------------------------------
//  Split: the pipeline runs the server and the proxy; the test runs the
//  stage's worker, from the reported endpoints alone

START_TEST (test_reported_endpoints_serve_a_split)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    ck_assert_int_eq (ps_pipeline_set_transport (pipeline, "tcp"), 0);
    ps_pipeline_stage_t stage = {.work = tu_echo_work, .workers = 0};
    ck_assert_int_eq (ps_pipeline_add_stage (pipeline, &stage), 0);
    ck_assert_int_eq (ps_pipeline_start (pipeline), 0);

    ps_worker_config_t worker_config;
    ps_worker_config_defaults (&worker_config);
    worker_config.upstream = ps_pipeline_downstream_endpoint (pipeline, 0);
    worker_config.loopback = ps_pipeline_loopback_endpoint (pipeline);
    worker_config.interrupt = ps_pipeline_interrupt_endpoint (pipeline);
    worker_config.work = tu_echo_work;
    worker_config.work_arg = (void *) 7;
    ps_worker_t *worker = ps_worker_new (&worker_config);
    ck_assert_ptr_nonnull (worker);

    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    tu_response_t *response = s_get (client, "/split");
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (tu_response_header (response, "X-Stage"), "7");
    tu_response_destroy (&response);
    tu_client_destroy (&client);
    ps_worker_destroy (&worker);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  ---------------------------------------------------------------------
//  Drain and teardown

static atomic_int s_slow_state;  //  0 idle, 1 working, 2 cancelled, 3 released

//  Works until cancelled or released (s_slow_state set to 3 by the test),
//  for at most 10 s.
static int
s_slow_work (ps_work_t *work, void *arg)
{
    (void) arg;
    atomic_store (&s_slow_state, 1);
    int64_t end = zclock_mono () + 10000;
    while (zclock_mono () < end) {
        if (ps_work_cancelled (work)) {
            atomic_store (&s_slow_state, 2);
            return -1;
        }
        if (atomic_load (&s_slow_state) == 3)
            return ps_work_reply (work, 200, NULL, "done", 4);
        zclock_sleep (1);  //  stands for a slice of real work
    }
    return -1;
}

static void
s_wait_state (int state)
{
    int64_t end = zclock_mono () + WAIT;
    while (atomic_load (&s_slow_state) != state && zclock_mono () < end)
        zclock_sleep (1);  //  polls a state the worker thread sets
    ck_assert_int_eq (atomic_load (&s_slow_state), state);
}

static ps_pipeline_t *
s_slow_pipeline (void)
{
    atomic_store (&s_slow_state, 0);
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    config.health_check = "/health";
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    ck_assert_int_eq (ps_pipeline_add_work (pipeline, s_slow_work, 1, NULL), 0);
    ck_assert_int_eq (ps_pipeline_start (pipeline), 0);
    return pipeline;
}

START_TEST (test_drain)
{
    ps_pipeline_t *pipeline = s_slow_pipeline ();
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    tu_client_sendstr (client, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    s_wait_state (1);

    ps_pipeline_drain (pipeline, 10000);
    ck_assert (!ps_pipeline_wait_drained (pipeline, 100));
    tu_client_t *probe = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (probe);
    tu_response_t *response = s_get (probe, "/health");
    ck_assert_int_eq (response->status, 503);
    tu_response_destroy (&response);
    tu_client_destroy (&probe);

    //  What was in flight completes, with "Connection: close"
    atomic_store (&s_slow_state, 3);
    response = tu_client_read (client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (response->body, "done");
    ck_assert_str_eq (tu_response_header (response, "Connection"), "close");
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (client, WAIT));
    ck_assert (ps_pipeline_wait_drained (pipeline, WAIT));
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

START_TEST (test_destroy_busy)
{
    ps_pipeline_t *pipeline = s_slow_pipeline ();
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    tu_client_sendstr (client, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                               "GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
    s_wait_state (1);
    int64_t start = zclock_mono ();
    ps_pipeline_destroy (&pipeline);
    ck_assert_int_lt (zclock_mono () - start, 2000);
    //  The worker saw its job cancelled; both clients' requests got 503
    ck_assert_int_eq (atomic_load (&s_slow_state), 2);
    for (int i = 0; i < 2; i++) {
        tu_response_t *response = tu_client_read (client, WAIT, false);
        ck_assert_ptr_nonnull (response);
        ck_assert_int_eq (response->status, 503);
        tu_response_destroy (&response);
    }
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);  //  NULL: accepted
}
END_TEST

//  ---------------------------------------------------------------------
//  Descriptions refused, with a reason

static void
s_expect_error (ps_pipeline_t *pipeline, const char *words)
{
    const char *error = ps_pipeline_error (pipeline);
    ck_assert_msg (strstr (error, words) != NULL, "error '%s' does not say '%s'", error, words);
}

START_TEST (test_bad_descriptions)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);

    ck_assert_int_eq (ps_pipeline_start (pipeline), -1);
    s_expect_error (pipeline, "no stages");
    ck_assert_int_eq (ps_pipeline_set_transport (pipeline, "udp"), -1);
    s_expect_error (pipeline, "'udp' is none of inproc, ipc, tcp");
    ps_pipeline_stage_t stage = {.workers = 1};
    ck_assert_int_eq (ps_pipeline_add_stage (pipeline, &stage), -1);
    s_expect_error (pipeline, "stage 1: no work function");
    stage.work = tu_echo_work;
    stage.upstream = "localhost:5000";
    ck_assert_int_eq (ps_pipeline_add_stage (pipeline, &stage), -1);
    s_expect_error (pipeline, "upstream 'localhost:5000' is not an inproc://, ipc:// or tcp://");
    stage.upstream = NULL;
    stage.proxy_elsewhere = true;
    ck_assert_int_eq (ps_pipeline_add_stage (pipeline, &stage), -1);
    s_expect_error (pipeline, "its proxy runs elsewhere, so its upstream must be given");
    stage.upstream = "tcp://127.0.0.1:*";
    stage.downstream = "tcp://127.0.0.1:5001";
    ck_assert_int_eq (ps_pipeline_add_stage (pipeline, &stage), -1);
    s_expect_error (pipeline, "a proxy elsewhere has a port, not a wildcard");
    stage.workers = 100000;
    stage.proxy_elsewhere = false;
    stage.upstream = stage.downstream = NULL;
    ck_assert_int_eq (ps_pipeline_add_stage (pipeline, &stage), -1);
    s_expect_error (pipeline, "100000 workers");
    ck_assert_int_eq (ps_pipeline_stage_count (pipeline), 0);
    //  Nothing was started by any of it
    ck_assert_ptr_null (ps_pipeline_server (pipeline));
    ck_assert_ptr_null (ps_pipeline_listen_endpoint (pipeline));
    ck_assert_int_eq (ps_pipeline_port (pipeline), -1);
    ck_assert_int_eq (ps_pipeline_add_worker (pipeline, 0, NULL), -1);
    s_expect_error (pipeline, "before a successful start");
    ps_pipeline_destroy (&pipeline);

    //  The server config: a listen endpoint, and no proxy of its own
    config.listen = NULL;
    pipeline = ps_pipeline_new (&config);
    ps_pipeline_add_work (pipeline, tu_echo_work, 1, NULL);
    ck_assert_int_eq (ps_pipeline_start (pipeline), -1);
    s_expect_error (pipeline, "no listen endpoint");
    ps_pipeline_destroy (&pipeline);
    config.listen = "tcp://127.0.0.1:*";
    config.proxy = "inproc://mine";
    pipeline = ps_pipeline_new (&config);
    ps_pipeline_add_work (pipeline, tu_echo_work, 1, NULL);
    ck_assert_int_eq (ps_pipeline_start (pipeline), -1);
    s_expect_error (pipeline, "proxy must be NULL");
    ps_pipeline_destroy (&pipeline);

    //  Called twice; stages and workers at the wrong time
    config.proxy = NULL;
    pipeline = ps_pipeline_new (&config);
    ps_pipeline_add_work (pipeline, tu_echo_work, 1, NULL);
    ck_assert_int_eq (ps_pipeline_start (pipeline), 0);
    ck_assert_int_eq (ps_pipeline_start (pipeline), -1);
    s_expect_error (pipeline, "start called twice");
    ck_assert_int_eq (ps_pipeline_add_work (pipeline, tu_echo_work, 1, NULL), -1);
    s_expect_error (pipeline, "before start");
    ck_assert_int_eq (ps_pipeline_add_worker (pipeline, 1, NULL), -1);
    s_expect_error (pipeline, "no stage 1");
    ck_assert_int_eq (ps_pipeline_add_worker (pipeline, 0, NULL), 0);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  A bind that fails: start says so, and leaves nothing running.
START_TEST (test_bind_failure)
{
    ps_pipeline_t *first = s_echo_pipeline ("tcp", 1);
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = ps_pipeline_listen_endpoint (first);  //  taken
    ps_pipeline_t *second = ps_pipeline_new (&config);
    ps_pipeline_add_work (second, tu_echo_work, 1, NULL);
    ck_assert_int_eq (ps_pipeline_start (second), -1);
    s_expect_error (second, "the server cannot bind");
    ck_assert_ptr_null (ps_pipeline_server (second));
    ck_assert_ptr_null (ps_pipeline_proxy (second, 0));
    ps_pipeline_destroy (&second);

    //  A stage's endpoint taken
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    second = ps_pipeline_new (&config);
    ps_pipeline_stage_t stage = {
        .work = tu_echo_work, .workers = 1, .upstream = ps_pipeline_upstream_endpoint (first, 0)};
    ck_assert_int_eq (ps_pipeline_add_stage (second, &stage), 0);
    ck_assert_int_eq (ps_pipeline_start (second), -1);
    s_expect_error (second, "stage 1: the proxy cannot bind");
    ck_assert_ptr_null (ps_pipeline_server (second));
    ps_pipeline_destroy (&second);

    //  The first still serves
    tu_client_t *client = tu_client_new (ps_pipeline_port (first));
    ck_assert_ptr_nonnull (client);
    tu_response_t *response = s_get (client, "/still");
    ck_assert_int_eq (response->status, 200);
    tu_response_destroy (&response);
    tu_client_destroy (&client);
    ps_pipeline_destroy (&first);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_pipeline");
    TCase *tc = tcase_create ("pipeline");
    tcase_set_timeout (tc, 30);
    tcase_add_loop_test (tc, test_one_stage, 0, 3);
    tcase_add_loop_test (tc, test_two_stages, 0, 3);
    tcase_add_loop_test (tc, test_payload_then_request, 0, 3);
    tcase_add_test (tc, test_late_loopback);
    tcase_add_test (tc, test_inproc_without_proxy);
    tcase_add_test (tc, test_reported_endpoints_serve_a_split);
    tcase_add_test (tc, test_drain);
    tcase_add_test (tc, test_destroy_busy);
    tcase_add_test (tc, test_bad_descriptions);
    tcase_add_test (tc, test_bind_failure);
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
