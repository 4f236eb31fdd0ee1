/*  check_ps_downstream: workers with named downstreams, the stages of a
    graph.

    The test plays the server (stagetest). Two router pools, each fed by
    the test on its own proxy, forward by name: R1 to "upper" or "lower" (or
    "absent", whose pool is not there), R2 only to "upper", so the upper
    pool is fed by two stages (fan-in) and R1's jobs fan out to two pools. A forward to a name that does not exist
    is answered 500 naming it, and the same lone R1 worker takes the next
    job. Over inproc, tcp and ipc.
*/
#include "stagetest.h"

#include <string.h>

//  Payload "upper:x", "lower:x" or "nope:x": forwarded to that name with
//  this router's name as a second frame; "plain:x": ps_work_forward.
static int
s_router (ps_work_t *work, void *arg)
{
    record_t *record = (record_t *) arg;
    record->calls++;
    zmsg_t *frames = zmsg_dup (ps_work_payload (work));
    zmsg_addstr (frames, record->name);
    char *first = zframe_strdup (zmsg_first (frames));
    char *colon = strchr (first, ':');
    int rc;
    if (!colon)
        rc = -1;
    else {
        *colon = '\0';
        rc = streq (first, "plain") ? ps_work_forward (work, &frames)
                                    : ps_work_forward_to (work, first, &frames);
    }
    zmsg_destroy (&frames);
    free (first);
    return rc;
}

typedef struct {
    server_t *server;
    zsock_t *push2;  //  the test's second entry, into R2's proxy
    ps_proxy_t *proxies[4];
    char up[4][256];
    char down[4][256];
    char absent[256];     //  R1's third name: an endpoint nobody binds
    record_t records[4];  //  R1, R2, upper, lower
    ps_worker_t *workers[4];
} s_graph_t;

static ps_worker_t *
s_router_new (s_graph_t *self, size_t index, const ps_downstream_t *downstreams, size_t count)
{
    ps_worker_config_t config;
    ps_worker_config_defaults (&config);
    config.upstream = self->down[index];
    config.loopback = self->server->loopback_ep;
    config.interrupt = self->server->interrupt_ep;
    config.work = s_router;
    config.work_arg = &self->records[index];
    config.send_timeout_ms = 500;
    config.downstreams = downstreams;
    config.downstream_count = count;
    return ps_worker_new (&config);
}

static s_graph_t *
s_graph_new (int transport)
{
    s_graph_t *self = (s_graph_t *) zmalloc (sizeof (s_graph_t));
    self->server = st_server_new (transport);
    const char *names[4] = {"R1", "R2", "upper", "lower"};
    for (size_t i = 0; i < 4; i++)
        snprintf (self->records[i].name, sizeof self->records[i].name, "%s", names[i]);
    self->proxies[0] = st_front_proxy_new (self->server, self->down[0], NULL, NULL);
    for (size_t i = 1; i < 4; i++) {
        self->proxies[i] = st_proxy_new (transport, self->up[i], self->down[i], NULL, NULL);
        ck_assert_ptr_nonnull (self->proxies[i]);
    }
    self->push2 = zsock_new (ZMQ_PUSH);
    ck_assert_int_eq (zsock_connect (self->push2, "%s", self->up[1]), 0);
    st_endpoint (transport, self->absent, sizeof self->absent);
    ps_downstream_t both[] = {
        {"upper", self->up[2]}, {"lower", self->up[3]}, {"absent", self->absent}};
    ps_downstream_t one[] = {{"upper", self->up[2]}};
    self->workers[0] = s_router_new (self, 0, both, 3);
    self->workers[1] = s_router_new (self, 1, one, 1);
    ck_assert_ptr_nonnull (self->workers[0]);
    ck_assert_ptr_nonnull (self->workers[1]);
    for (size_t i = 2; i < 4; i++)
        self->workers[i] = st_worker_new (self->server, self->down[i], NULL, st_echo,
                                          &self->records[i]);
    return self;
}

//  Stops the workers, after which their records may be read.
static void
s_graph_stop (s_graph_t *self)
{
    for (size_t i = 0; i < 4; i++)
        ps_worker_destroy (&self->workers[i]);
}

static void
s_graph_destroy (s_graph_t **self_p)
{
    s_graph_t *self = *self_p;
    s_graph_stop (self);
    for (size_t i = 0; i < 4; i++)
        ps_proxy_destroy (&self->proxies[i]);
    zsock_destroy (&self->push2);
    st_server_destroy (&self->server);
    free (self);
    *self_p = NULL;
}

//  Sends payload as job id into entry, and expects status and body back.
static void
s_ask (s_graph_t *self, zsock_t *entry, uint64_t id, const char *payload, int status,
       const char *body)
{
    st_send_job (entry, id, payload);
    result_t result;
    st_expect_result (self->server, &result);
    ck_assert_uint_eq (result.envelope.id, id);
    ck_assert_msg (result.envelope.status == status, "%s: status %d, expected %d (%s)", payload,
                   result.envelope.status, status, result.body);
    ck_assert_msg (strstr (result.body, body) != NULL, "%s: '%s' has no '%s'", payload, result.body,
                   body);
}

START_TEST (test_fan_out_and_in)
{
    s_graph_t *self = s_graph_new (_i);
    zsock_t *entry1 = self->server->push;
    for (uint64_t id = 1; id <= 20; id += 4) {
        s_ask (self, entry1, id, "upper:a", 200, "upper|upper:a|R1");
        s_ask (self, entry1, id + 1, "lower:b", 200, "lower|lower:b|R1");
        //  The upper pool fed by a second stage
        s_ask (self, self->push2, id + 2, "upper:c", 200, "upper|upper:c|R2");
        //  One named downstream: the plain forward takes it
        s_ask (self, self->push2, id + 3, "plain:d", 200, "upper|plain:d|R2");
    }
    s_graph_stop (self);
    ck_assert_int_eq (self->records[0].calls, 10);
    ck_assert_int_eq (self->records[1].calls, 10);
    ck_assert_int_eq (self->records[2].calls, 15);
    ck_assert_int_eq (self->records[3].calls, 5);
    s_graph_destroy (&self);
}
END_TEST

//  A name that does not exist: 500 naming it, and the worker (R1 is alone
//  in its pool) takes the next job; a plain forward from a worker with
//  several names is refused the same way.
START_TEST (test_unknown_name)
{
    s_graph_t *self = s_graph_new (_i);
    zsock_t *entry1 = self->server->push;
    for (uint64_t id = 1; id <= 6; id += 3) {
        s_ask (self, entry1, id, "nope:x", 500, "no downstream named 'nope'");
        s_ask (self, entry1, id + 1, "plain:x", 500, "several next stages");
        s_ask (self, entry1, id + 2, "lower:y", 200, "lower|lower:y|R1");
    }
    s_graph_stop (self);
    ck_assert_int_eq (self->records[0].calls, 6);
    ck_assert_int_eq (self->records[3].calls, 2);
    s_graph_destroy (&self);
}
END_TEST

//  A name whose pool is not there (nobody binds its endpoint): the forward
//  fails within the send timeout and the client is told, and the worker
//  takes the next job. Without IMMEDIATE the job would wait in a queue for
//  a peer that may never come, and no answer would arrive (so it does over
//  inproc, see main).
START_TEST (test_absent_name)
{
    s_graph_t *self = s_graph_new (_i);
    zsock_t *entry1 = self->server->push;
    for (uint64_t id = 1; id <= 4; id += 2) {
        s_ask (self, entry1, id, "absent:x", 500, "next stage unreachable");
        s_ask (self, entry1, id + 1, "lower:y", 200, "lower|lower:y|R1");
    }
    s_graph_destroy (&self);
}
END_TEST

//  Names that cannot be told apart, or missing, are refused at start.
START_TEST (test_refused)
{
    server_t *server = st_server_new (ST_INPROC);
    ps_worker_config_t config;
    ps_worker_config_defaults (&config);
    config.upstream = "inproc://nobody-down";
    config.loopback = server->loopback_ep;
    config.interrupt = server->interrupt_ep;
    config.work = s_router;
    ps_downstream_t twice[] = {{"a", "inproc://x1"}, {"a", "inproc://x2"}};
    config.downstreams = twice;
    config.downstream_count = 2;
    ck_assert_ptr_null (ps_worker_new (&config));
    ps_downstream_t unnamed[] = {{NULL, "inproc://x1"}};
    config.downstreams = unnamed;
    config.downstream_count = 1;
    ck_assert_ptr_null (ps_worker_new (&config));
    ps_downstream_t fine[] = {{"a", "inproc://x1"}, {"b", "inproc://x2"}};
    config.downstreams = fine;
    config.downstream_count = 2;
    ps_worker_t *worker = ps_worker_new (&config);
    ck_assert_ptr_nonnull (worker);
    ps_worker_destroy (&worker);
    st_server_destroy (&server);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("ps_downstream");
    st_add (suite, "test_fan_out_and_in", test_fan_out_and_in, ST_TRANSPORTS);
    st_add (suite, "test_unknown_name", test_unknown_name, ST_TRANSPORTS);
    //  tcp and ipc: libzmq attaches an inproc pipe before its peer binds,
    //  IMMEDIATE or not, so over inproc such a job waits for the bind
    st_add_from (suite, "test_absent_name", test_absent_name, ST_TCP, ST_TRANSPORTS);
    st_add (suite, "test_refused", test_refused, 1);
    return st_run (suite);
}
