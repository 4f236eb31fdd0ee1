/*  check_e2e_pipeline: real pipelines end to end.

    Raw HTTP bytes go into a server over loopback TCP; behind it real
    proxies and workers (ps_pipeline) run over inproc, ipc (unique files
    under /tmp, removed afterwards) and tcp (wildcard ports, reported). Work functions that must be watched report
    to the test over an inproc PUSH, so the test waits on messages, never on
    sleeps, and every wait has a deadline.
*/
#include "testutil.h"

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define WAIT 5000

static const char *TRANSPORTS[] = {"inproc", "ipc", "tcp"};

static tu_response_t *
s_get (tu_client_t *client, const char *target)
{
    char *request = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: test\r\n\r\n", target);
    tu_response_t *response = tu_client_request (client, request, WAIT);
    zstr_free (&request);
    ck_assert_msg (response != NULL, "no response for %s", target);
    return response;
}

//  ---------------------------------------------------------------------
//  Echo pipelines on every transport

static void
s_check_echo (const char *transport, size_t stage_count)
{
    tu_stage_t stages[2];
    memset (stages, 0, sizeof (stages));
    if (stage_count == 1) {
        stages[0].work = tu_echo_work;
        stages[0].work_arg = (void *) 1;
        stages[0].workers = 2;
    }
    else {
        stages[0].work = tu_forward_work;
        stages[0].workers = 2;
        stages[1].work = tu_echo_work;
        stages[1].work_arg = (void *) 2;
        stages[1].workers = 2;
    }
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    ps_pipeline_t *pipeline = tu_pipeline_new (transport, &config, stages, stage_count);
    ck_assert_msg (pipeline != NULL, "pipeline over %s", transport);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);

    char stage[8];
    snprintf (stage, sizeof (stage), "%zu", stage_count);
    tu_response_t *response = s_get (client, "/echo%20me?q=1");
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (response->body, "GET /echo me ");
    ck_assert_str_eq (tu_response_header (response, "X-Stage"), stage);
    tu_response_destroy (&response);

    response = tu_client_request (client,
                                  "POST /post HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
                                  "\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                                  WAIT);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (response->body, "POST /post hello world");
    tu_response_destroy (&response);

    //  Pipelined: answers in order whichever worker finishes first.
    char batch[2048] = "";
    for (int i = 0; i < 20; i++) {
        char one[64];
        snprintf (one, sizeof (one), "GET /n%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
        strcat (batch, one);
    }
    tu_client_sendstr (client, batch);
    for (int i = 0; i < 20; i++) {
        char body[32];
        snprintf (body, sizeof (body), "GET /n%d ", i);
        response = tu_client_read (client, WAIT, false);
        ck_assert_ptr_nonnull (response);
        ck_assert_str_eq (response->body, body);
        tu_response_destroy (&response);
    }
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}

START_TEST (test_echo_one_stage)
{
    s_check_echo (TRANSPORTS[_i], 1);
}
END_TEST

START_TEST (test_echo_two_stages)
{
    s_check_echo (TRANSPORTS[_i], 2);
}
END_TEST

START_TEST (test_netstring_pipeline)
{
    tu_stage_t stage = {.work = tu_echo_work, .work_arg = (void *) 1, .workers = 1};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.protocol = PS_PROTOCOL_NETSTRING;
    ps_pipeline_t *pipeline = tu_pipeline_new ("inproc", &config, &stage, 1);
    ck_assert_ptr_nonnull (pipeline);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    tu_client_sendstr (client, "5:hello,0:,11:hello world,");
    char buf[64] = "";
    const char *expected = "5:hello,0:,11:hello world,";
    ck_assert_uint_eq (tu_client_read_bytes (client, buf, strlen (expected), WAIT),
                       strlen (expected));
    ck_assert_str_eq (buf, expected);
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  ---------------------------------------------------------------------
//  Error short-circuit from a middle stage

static atomic_int s_last_stage_calls;

static int
s_gate_work (ps_work_t *work, void *arg)
{
    //  A middle stage gets the first stage's frames: the encoded request.
    ps_http_request_t *request = ps_http_request_decode (ps_work_payload (work));
    ck_assert_ptr_nonnull (request);
    ck_assert_int_eq (ps_work_kind (work), PS_KIND_STAGE);
    int rc;
    if (streq (ps_http_request_path (request), "/deny")) {
        ps_pairs_t *headers = ps_pairs_new (true);
        ps_pairs_add (headers, "X-Denied-By", "gate");
        rc = ps_work_reply (work, 403, &headers, "denied", 6);
    }
    else if (streq (ps_http_request_path (request), "/fail"))
        rc = -1;  //  the worker must turn this into a 500
    else
        rc = tu_forward_work (work, arg);
    ps_http_request_destroy (&request);
    return rc;
}

static int
s_counting_echo (ps_work_t *work, void *arg)
{
    atomic_fetch_add (&s_last_stage_calls, 1);
    return tu_echo_work (work, arg);
}

START_TEST (test_short_circuit)
{
    atomic_store (&s_last_stage_calls, 0);
    tu_stage_t stages[3];
    memset (stages, 0, sizeof (stages));
    stages[0].work = tu_forward_work;
    stages[0].workers = 1;
    stages[1].work = s_gate_work;
    stages[1].workers = 1;
    stages[2].work = s_counting_echo;
    stages[2].work_arg = (void *) 3;
    stages[2].workers = 1;
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    ps_pipeline_t *pipeline = tu_pipeline_new ("inproc", &config, stages, 3);
    ck_assert_ptr_nonnull (pipeline);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);

    tu_response_t *response = s_get (client, "/deny");
    ck_assert_int_eq (response->status, 403);
    ck_assert_str_eq (response->body, "denied");
    ck_assert_str_eq (tu_response_header (response, "X-Denied-By"), "gate");
    tu_response_destroy (&response);
    response = s_get (client, "/fail");
    ck_assert_int_eq (response->status, 500);
    tu_response_destroy (&response);
    ck_assert_int_eq (atomic_load (&s_last_stage_calls), 0);

    response = s_get (client, "/allow");
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (response->body, "GET /allow ");
    ck_assert_str_eq (tu_response_header (response, "X-Stage"), "3");
    tu_response_destroy (&response);
    ck_assert_int_eq (atomic_load (&s_last_stage_calls), 1);
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  ---------------------------------------------------------------------
//  Chooser routing by heartbeat

//  Routes "/r?region=X" to the worker whose heartbeat is "X"; waits while
//  that worker is busy.
static int
s_region_choose (zmsg_t *job, zframe_t **heartbeats, size_t count, void *arg)
{
    (void) arg;
    ps_http_request_t *request = ps_http_request_decode (job);
    if (!request)
        return -1;
    const char *region = strstr (ps_http_request_target (request), "region=");
    int chosen = -1;
    for (size_t i = 0; region && i < count; i++)
        if (heartbeats[i] && zframe_size (heartbeats[i]) == 1
            && zframe_data (heartbeats[i])[0] == (byte) region[7])
            chosen = (int) i;
    ps_http_request_destroy (&request);
    return chosen;
}

START_TEST (test_chooser_routing)
{
    tu_stage_t stage;
    memset (&stage, 0, sizeof (stage));
    stage.work = tu_echo_work;
    stage.workers = 3;
    stage.choose = s_region_choose;
    const char *names[3] = {"A", "B", "C"};
    for (int i = 0; i < 3; i++) {
        stage.worker_args[i] = (void *) (intptr_t) (i + 1);
        stage.heartbeats[i] = names[i];
        stage.heartbeat_sizes[i] = 1;
    }
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    ps_pipeline_t *pipeline = tu_pipeline_new ("inproc", &config, &stage, 1);
    ck_assert_ptr_nonnull (pipeline);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);

    //  Batches of pipelined requests: every one lands on worker B (2).
    for (int round = 0; round < 10; round++) {
        char batch[4096] = "";
        for (int i = 0; i < 40; i++)
            strcat (batch, "GET /r?region=B HTTP/1.1\r\nHost: a\r\n\r\n");
        tu_client_sendstr (client, batch);
        for (int i = 0; i < 40; i++) {
            tu_response_t *response = tu_client_read (client, WAIT, false);
            ck_assert_ptr_nonnull (response);
            ck_assert_int_eq (response->status, 200);
            ck_assert_str_eq (tu_response_header (response, "X-Stage"), "2");
            tu_response_destroy (&response);
        }
    }
    tu_response_t *response = s_get (client, "/r?region=C");
    ck_assert_str_eq (tu_response_header (response, "X-Stage"), "3");
    tu_response_destroy (&response);
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  ---------------------------------------------------------------------
//  Cancellation seen by the work function

typedef struct {
    char *report;   //  inproc endpoint the test pulls reports from
    char *release;  //  inproc endpoint the test pushes "go" on, or NULL
} control_t;

static void
s_report (control_t *control, const char *text)
{
    zsock_t *push = zsock_new (ZMQ_PUSH);
    assert (push);
    zsock_connect (push, "%s", control->report);
    zsock_set_sndtimeo (push, 2000);
    zstr_send (push, text);
    zsock_destroy (&push);
}

//  Reports "started", then works until cancelled (reporting "cancelled"),
//  or until released by the test (answering 200), for at most 10 s.
static int
s_slow_work (ps_work_t *work, void *arg)
{
    control_t *control = (control_t *) arg;
    zsock_t *release = NULL;
    if (control->release) {
        release = zsock_new (ZMQ_PULL);
        assert (release);
        zsock_connect (release, "%s", control->release);
        zsock_set_rcvtimeo (release, 2);
    }
    s_report (control, "started");
    int64_t end = zclock_mono () + 10000;
    int rc = -1;
    while (zclock_mono () < end) {
        if (ps_work_cancelled (work)) {
            s_report (control, "cancelled");
            break;
        }
        char *go = NULL;
        if (release)
            go = zstr_recv (release);
        else
            zclock_sleep (2);  //  stands for a slice of real work
        if (go) {
            zstr_free (&go);
            rc = ps_work_reply (work, 200, NULL, "released", 8);
            break;
        }
    }
    zsock_destroy (&release);
    return rc;
}

static void
s_control_init (control_t *control, zsock_t **reports, zsock_t **releases, bool with_release)
{
    control->report = tu_endpoint ("inproc", "report");
    *reports = zsock_new_pull (NULL);
    ck_assert_ptr_nonnull (*reports);
    ck_assert_int_eq (zsock_bind (*reports, "%s", control->report), 0);
    zsock_set_rcvtimeo (*reports, WAIT);
    control->release = NULL;
    *releases = NULL;
    if (with_release) {
        control->release = tu_endpoint ("inproc", "release");
        *releases = zsock_new_push (NULL);
        ck_assert_ptr_nonnull (*releases);
        ck_assert_int_eq (zsock_bind (*releases, "%s", control->release), 0);
        zsock_set_sndtimeo (*releases, WAIT);
    }
}

static void
s_control_destroy (control_t *control, zsock_t **reports, zsock_t **releases)
{
    zsock_destroy (reports);
    zsock_destroy (releases);
    tu_endpoint_free (&control->report);
    tu_endpoint_free (&control->release);
}

static void
s_expect_report (zsock_t *reports, const char *text)
{
    char *got = zstr_recv (reports);
    ck_assert_msg (got != NULL, "no report (expected %s)", text);
    ck_assert_str_eq (got, text);
    zstr_free (&got);
}

START_TEST (test_timeout_cancels_worker)
{
    control_t control;
    zsock_t *reports, *releases;
    s_control_init (&control, &reports, &releases, false);
    tu_stage_t stage = {.work = s_slow_work, .work_arg = &control, .workers = 1};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.request_timeout_ms = 300;
    ps_pipeline_t *pipeline = tu_pipeline_new (TRANSPORTS[_i], &config, &stage, 1);
    ck_assert_ptr_nonnull (pipeline);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    tu_client_sendstr (client, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    s_expect_report (reports, "started");
    tu_response_t *response = tu_client_read (client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 504);
    tu_response_destroy (&response);
    s_expect_report (reports, "cancelled");
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
    s_control_destroy (&control, &reports, &releases);
}
END_TEST

START_TEST (test_disconnect_cancels_worker)
{
    control_t control;
    zsock_t *reports, *releases;
    s_control_init (&control, &reports, &releases, false);
    tu_stage_t stage = {.work = s_slow_work, .work_arg = &control, .workers = 1};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    ps_pipeline_t *pipeline = tu_pipeline_new ("inproc", &config, &stage, 1);
    ck_assert_ptr_nonnull (pipeline);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    tu_client_sendstr (client, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    s_expect_report (reports, "started");
    tu_client_destroy (&client);
    s_expect_report (reports, "cancelled");
    ps_pipeline_destroy (&pipeline);
    s_control_destroy (&control, &reports, &releases);
}
END_TEST

//  ---------------------------------------------------------------------
//  Shutdown

START_TEST (test_drain_completes_in_flight)
{
    control_t control;
    zsock_t *reports, *releases;
    s_control_init (&control, &reports, &releases, true);
    tu_stage_t stage = {.work = s_slow_work, .work_arg = &control, .workers = 1};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.health_check = "/health";
    ps_pipeline_t *pipeline = tu_pipeline_new ("inproc", &config, &stage, 1);
    ck_assert_ptr_nonnull (pipeline);
    ps_server_t *server = ps_pipeline_server (pipeline);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    tu_client_sendstr (client, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    s_expect_report (reports, "started");

    ps_server_drain (server, 10000);
    tu_client_t *probe = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (probe);
    tu_response_t *response = s_get (probe, "/health");
    ck_assert_int_eq (response->status, 503);
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (probe, WAIT));
    tu_client_destroy (&probe);

    ck_assert_int_eq (zstr_send (releases, "go"), 0);
    response = tu_client_read (client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (response->body, "released");
    ck_assert_str_eq (tu_response_header (response, "Connection"), "close");
    tu_response_destroy (&response);
    ck_assert (tu_client_closed (client, WAIT));
    ck_assert (ps_server_wait_drained (server, WAIT));
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
    s_control_destroy (&control, &reports, &releases);
}
END_TEST

START_TEST (test_destroy_busy_pipeline)
{
    control_t control;
    zsock_t *reports, *releases;
    s_control_init (&control, &reports, &releases, false);
    tu_stage_t stage = {.work = s_slow_work, .work_arg = &control, .workers = 1};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    ps_pipeline_t *pipeline = tu_pipeline_new (TRANSPORTS[_i], &config, &stage, 1);
    ck_assert_ptr_nonnull (pipeline);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    //  One job at the worker, more waiting in the proxy.
    tu_client_sendstr (client, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                               "GET /b HTTP/1.1\r\nHost: a\r\n\r\n"
                               "GET /c HTTP/1.1\r\nHost: a\r\n\r\n");
    s_expect_report (reports, "started");
    //  The server goes first: what is in flight is answered 503 at once and
    //  the job is cancelled, so the worker stops without waiting for it
    int64_t start = zclock_mono ();
    ps_pipeline_destroy (&pipeline);
    ck_assert_int_lt (zclock_mono () - start, 2000);
    for (int i = 0; i < 3; i++) {
        tu_response_t *response = tu_client_read (client, WAIT, false);
        ck_assert_ptr_nonnull (response);
        ck_assert_int_eq (response->status, 503);
        tu_response_destroy (&response);
    }
    s_expect_report (reports, "cancelled");
    tu_client_destroy (&client);
    s_control_destroy (&control, &reports, &releases);
}
END_TEST

//  ---------------------------------------------------------------------
//  Worker liveness: a worker dies holding a request; a proxy restarts

#define BEAT_MS   100
#define EXPIRY_MS 1000

//  A pipeline of one or two stages whose proxies watch their workers and
//  report lost jobs to the server's loopback. Workers are added one by one
//  (ps_pipeline_add_worker), so a test decides which registers first. With
//  own_proxy, the first stage's proxy is the test's (a split deployment:
//  the pipeline runs the rest), so that the test can restart it.
typedef struct {
    ps_pipeline_t *pipeline;
    size_t stages;
    char *loopback;
    char *interrupt;
    ps_proxy_t *proxy;  //  own_proxy: the first stage's
    char *up_asked;     //  its endpoints as asked for (tcp: a wildcard)
    char *down_asked;
    char *up;  //  and as first bound
    char *down;
} live_t;

static ps_proxy_t *
s_live_proxy (live_t *self, const char *up, const char *down)
{
    ps_proxy_config_t config;
    ps_proxy_config_defaults (&config);
    config.upstream = up;
    config.downstream = down;
    config.loopback = self->loopback;
    config.heartbeat_ms = BEAT_MS;
    config.expiry_ms = EXPIRY_MS;
    //  A restarted proxy's endpoints are released in the background
    ps_proxy_t *proxy = NULL;
    int64_t deadline = zclock_mono () + WAIT;
    while (!(proxy = ps_proxy_new (&config)) && zclock_mono () < deadline)
        zclock_sleep (20);
    ck_assert_ptr_nonnull (proxy);
    return proxy;
}

static live_t *
s_live_new (const char *transport, size_t stages, int request_timeout_ms, bool own_proxy)
{
    live_t *self = (live_t *) zmalloc (sizeof (live_t));
    self->stages = stages;
    //  Given, so that a proxy of the test's knows it before it starts. Over
    //  tcp they would be wildcards, unknown until the server binds them,
    //  after the first proxy (ps_pipeline.h): in-process, inproc serves;
    //  the transport under test is the one between workers and proxies.
    const char *server_transport = streq (transport, "tcp") ? "inproc" : transport;
    self->loopback = tu_endpoint (server_transport, "loopback");
    self->interrupt = tu_endpoint (server_transport, "interrupt");
    if (own_proxy) {
        //  Kept until the end: freeing an ipc endpoint removes its file
        self->up_asked = tu_endpoint (transport, "up");
        self->down_asked = tu_endpoint (transport, "down");
        self->proxy = s_live_proxy (self, self->up_asked, self->down_asked);
        self->up = strdup (ps_proxy_upstream_endpoint (self->proxy));
        self->down = strdup (ps_proxy_downstream_endpoint (self->proxy));
    }
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    config.loopback = self->loopback;
    config.interrupt = self->interrupt;
    config.request_timeout_ms = request_timeout_ms;
    self->pipeline = ps_pipeline_new (&config);
    ck_assert_int_eq (ps_pipeline_set_transport (self->pipeline, transport), 0);
    for (size_t s = 0; s < stages; s++) {
        ps_pipeline_stage_t stage;
        memset (&stage, 0, sizeof stage);
        bool last = s + 1 == stages;
        stage.work = last ? tu_echo_work : tu_forward_work;
        stage.arg = (void *) (intptr_t) (s + 1);
        stage.heartbeat_ms = BEAT_MS;
        stage.expiry_ms = EXPIRY_MS;
        if (own_proxy && s == 0) {
            stage.proxy_elsewhere = true;
            stage.upstream = self->up;
            stage.downstream = self->down;
        }
        ck_assert_int_eq (ps_pipeline_add_stage (self->pipeline, &stage), (int) s);
    }
    ck_assert_msg (ps_pipeline_start (self->pipeline) == 0, "%s",
                   ps_pipeline_error (self->pipeline));
    return self;
}

static void
s_live_worker (live_t *self, size_t stage)
{
    ck_assert_int_eq (ps_pipeline_add_worker (self->pipeline, stage, NULL), 0);
}

static void
s_live_destroy (live_t **self_p)
{
    live_t *self = *self_p;
    ps_pipeline_destroy (&self->pipeline);
    ps_proxy_destroy (&self->proxy);
    zstr_free (&self->up);
    zstr_free (&self->down);
    tu_endpoint_free (&self->up_asked);
    tu_endpoint_free (&self->down_asked);
    tu_endpoint_free (&self->loopback);
    tu_endpoint_free (&self->interrupt);
    free (self);
    *self_p = NULL;
}

//  A worker that will die holding a job: a raw DEALER that names itself,
//  says READY and beats once (so its proxy watches it), and is registered
//  once the proxy answers the beat.
static zsock_t *
s_doomed_new (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    ck_assert_ptr_nonnull (sock);
    zsock_set_linger (sock, 0);  //  as a killed process: nothing more leaves
    zsock_set_rcvtimeo (sock, WAIT);
    const byte id[16] = "doomed worker";
    zmq_setsockopt (zsock_resolve (sock), ZMQ_ROUTING_ID, id, sizeof id);
    ck_assert_int_eq (zsock_connect (sock, "%s", endpoint), 0);
    ps_envelope_t ready = {.type = PS_MSG_READY};
    ck_assert_int_eq (ps_envelope_send (&ready, NULL, zsock_resolve (sock)), 0);
    ps_envelope_t beat = {.type = PS_MSG_BEAT};
    ck_assert_int_eq (ps_envelope_send (&beat, NULL, zsock_resolve (sock)), 0);
    zmsg_t *ping = zmsg_recv (sock);
    ck_assert_msg (ping != NULL, "the proxy did not answer the beat");
    zmsg_destroy (&ping);
    return sock;
}

//  Wait for a job on the doomed worker; returns its envelope.
static ps_envelope_t
s_doomed_job (zsock_t *sock)
{
    ps_envelope_t envelope = {0};
    zmsg_t *job = zmsg_recv (sock);
    ck_assert_msg (job != NULL, "the doomed worker got no job");
    ck_assert_int_eq (ps_envelope_decode (zmsg_first (job), &envelope), 0);
    ck_assert_uint_eq (envelope.type, PS_MSG_JOB);
    zmsg_destroy (&job);
    return envelope;
}

//  The worker holding the request dies (in the last stage of stages): a GET
//  is retried from the start and answered 200 by another worker, a POST is
//  answered 502; both soon after the expiry, with no request timeout set.
//  Later requests all go to the live worker.
static void
s_check_lost (const char *transport, size_t stages, bool post)
{
    live_t *live = s_live_new (transport, stages, 0, false);
    size_t last = stages - 1;
    if (stages == 2)
        s_live_worker (live, 0);
    //  the longest idle
    zsock_t *doomed = s_doomed_new (ps_pipeline_downstream_endpoint (live->pipeline, last));
    s_live_worker (live, last);
    tu_client_t *client = tu_client_new (ps_pipeline_port (live->pipeline));
    ck_assert_ptr_nonnull (client);

    tu_client_sendstr (client, post
                                   ? "POST /lost HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
                                   : "GET /lost HTTP/1.1\r\nHost: a\r\n\r\n");
    ps_envelope_t job = s_doomed_job (doomed);
    ck_assert_uint_eq (job.kind, stages == 2 ? PS_KIND_STAGE : PS_KIND_HTTP);
    int64_t died = zclock_mono ();
    zsock_destroy (&doomed);
    tu_response_t *response = tu_client_read (client, EXPIRY_MS + WAIT, false);
    int64_t elapsed = zclock_mono () - died;
    ck_assert_ptr_nonnull (response);
    if (post) {
        ck_assert_int_eq (response->status, 502);
    }
    else {
        ck_assert_int_eq (response->status, 200);
        ck_assert_str_eq (response->body, "GET /lost ");
        ck_assert_str_eq (tu_response_header (response, "X-Stage"), stages == 2 ? "2" : "1");
    }
    tu_response_destroy (&response);
    ck_assert_msg (elapsed < EXPIRY_MS + 3000, "answered %" PRId64 " ms after the death", elapsed);

    for (int i = 0; i < 10; i++) {
        response = s_get (client, "/after");
        ck_assert_int_eq (response->status, 200);
        tu_response_destroy (&response);
    }
    tu_client_destroy (&client);
    s_live_destroy (&live);
}

START_TEST (test_lost_get_retried)
{
    s_check_lost (TRANSPORTS[_i], 1, false);
}
END_TEST

START_TEST (test_lost_get_stage2_retried)
{
    s_check_lost (TRANSPORTS[_i], 2, false);
}
END_TEST

START_TEST (test_lost_post_502)
{
    s_check_lost (TRANSPORTS[_i], 1, true);
}
END_TEST

//  The proxy restarted on the same endpoints (ipc, tcp: as another
//  process would be): the workers, left running, register with it and
//  service resumes. A request caught in the old proxy times out (504);
//  the test polls until answers come again.
START_TEST (test_proxy_restart_resumes)
{
    const char *transport = TRANSPORTS[1 + _i];
    live_t *live = s_live_new (transport, 1, 1000, true);
    s_live_worker (live, 0);
    s_live_worker (live, 0);
    tu_client_t *client = tu_client_new (ps_pipeline_port (live->pipeline));
    ck_assert_ptr_nonnull (client);
    tu_response_t *response = s_get (client, "/before");
    ck_assert_int_eq (response->status, 200);
    tu_response_destroy (&response);

    //  On the endpoints the first one bound, as a restarted process would
    ps_proxy_destroy (&live->proxy);
    live->proxy = s_live_proxy (live, live->up, live->down);
    int64_t restarted = zclock_mono ();
    int status = 0;
    while (status != 200 && zclock_mono () - restarted < 3 * WAIT) {
        response = s_get (client, "/after");
        status = response->status;
        ck_assert (status == 200 || status == 504);
        tu_response_destroy (&response);
    }
    ck_assert_int_eq (status, 200);
    for (int i = 0; i < 20; i++) {
        response = s_get (client, "/again");
        ck_assert_int_eq (response->status, 200);
        tu_response_destroy (&response);
    }
    tu_client_destroy (&client);
    s_live_destroy (&live);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("e2e_pipeline");
    TCase *tc = tcase_create ("pipeline");
    tcase_set_timeout (tc, 60);
    tcase_add_loop_test (tc, test_echo_one_stage, 0, 3);
    tcase_add_loop_test (tc, test_echo_two_stages, 0, 3);
    tcase_add_test (tc, test_netstring_pipeline);
    tcase_add_test (tc, test_short_circuit);
    tcase_add_test (tc, test_chooser_routing);
    tcase_add_loop_test (tc, test_timeout_cancels_worker, 0, 3);
    tcase_add_test (tc, test_disconnect_cancels_worker);
    tcase_add_test (tc, test_drain_completes_in_flight);
    tcase_add_loop_test (tc, test_destroy_busy_pipeline, 0, 3);
    tcase_add_loop_test (tc, test_lost_get_retried, 0, 3);
    tcase_add_loop_test (tc, test_lost_get_stage2_retried, 0, 3);
    tcase_add_loop_test (tc, test_lost_post_502, 0, 3);
    tcase_add_loop_test (tc, test_proxy_restart_resumes, 0, 2);
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
