/*  stagetest: what the proxy and worker suites share (stagetest.h).
*/
#include "stagetest.h"
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int st_sequence;

//  Bind sock on tcp to a port the kernel picks, writing the endpoint to buf.
//  (czmq's own "*" scans ports upwards from 49152, which hands the same port
//  out again as soon as a probe is closed; libzmq's wildcard asks the kernel.)
void
st_bind_tcp (zsock_t *sock, char *buf, size_t size)
{
    ck_assert_int_eq (zmq_bind (zsock_resolve (sock), "tcp://127.0.0.1:*"), 0);
    char *endpoint = zsock_last_endpoint (sock);
    ck_assert_ptr_nonnull (endpoint);
    snprintf (buf, size, "%s", endpoint);
    free (endpoint);
}

//  ipc endpoints live in one directory per run, removed at the end: libzmq
//  does not unlink ipc files when a socket closes.
char st_ipc_dir[64];

//  A fresh endpoint a component can bind. For tcp, a random port below the
//  kernel's ephemeral range (so no connecting socket can be sitting on it);
//  components that bind it retry with another one if it is taken. Each
//  test is a forked child: seeded per process, or every test of a suite
//  would draw the same ports.
void
st_endpoint (int transport, char *buf, size_t size)
{
    static pid_t s_seeded;
    if (s_seeded != getpid ()) {
        s_seeded = getpid ();
        srandom ((unsigned) s_seeded ^ (unsigned) zclock_usecs ());
    }
    if (transport == ST_INPROC)
        snprintf (buf, size, "inproc://check-ps-proxy-%d-%d", (int) getpid (), ++st_sequence);
    else if (transport == ST_IPC)
        snprintf (buf, size, "ipc://%s/%d-%d", st_ipc_dir, (int) getpid (), ++st_sequence);
    else
        snprintf (buf, size, "tcp://127.0.0.1:%d", 20000 + randof (12000));
}

//  Bind sock to a fresh endpoint of transport, writing it to buf.
void
st_bind (zsock_t *sock, int transport, char *buf, size_t size)
{
    if (transport == ST_TCP)
        st_bind_tcp (sock, buf, size);
    else {
        st_endpoint (transport, buf, size);
        ck_assert_int_eq (zsock_bind (sock, "%s", buf), 0);
    }
}

server_t *
st_server_new (int transport)
{
    server_t *self = (server_t *) zmalloc (sizeof (server_t));
    self->transport = transport;
    self->loopback = zsock_new (ZMQ_PULL);
    self->interrupt = zsock_new (ZMQ_PUB);
    self->push = zsock_new (ZMQ_PUSH);
    zsock_set_sndtimeo (self->push, ST_TIMEOUT);
    zsock_set_sndtimeo (self->interrupt, ST_TIMEOUT);
    st_bind (self->loopback, transport, self->loopback_ep, sizeof self->loopback_ep);
    st_bind (self->interrupt, transport, self->interrupt_ep, sizeof self->interrupt_ep);
    return self;
}

void
st_server_destroy (server_t **self_p)
{
    server_t *self = *self_p;
    zsock_destroy (&self->push);
    zsock_destroy (&self->loopback);
    zsock_destroy (&self->interrupt);
    free (self);
    *self_p = NULL;
}

void
st_send_job (zsock_t *sock, uint64_t id, const char *payload)
{
    ps_envelope_t envelope = {.type = PS_MSG_JOB, .kind = PS_KIND_STAGE, .id = id};
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, payload);
    ck_assert_int_eq (ps_envelope_send (&envelope, &msg, sock), 0);
}

bool
st_wait_readable (zsock_t *sock, int timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve (sock), 0, ZMQ_POLLIN, 0};
    return zmq_poll (&item, 1, timeout_ms) == 1;
}

//  Receive one RESULT within timeout_ms; false if none came.
bool
st_recv_result (server_t *server, int timeout_ms, result_t *result)
{
    if (!st_wait_readable (server->loopback, timeout_ms))
        return false;
    zmsg_t *msg = zmsg_recv (server->loopback);
    ck_assert_ptr_nonnull (msg);
    ck_assert_uint_eq (zmsg_size (msg), 3);
    zframe_t *envelope = zmsg_first (msg);
    ck_assert_int_eq (ps_envelope_decode (envelope, &result->envelope), 0);
    ck_assert_uint_eq (result->envelope.type, PS_MSG_RESULT);
    zframe_t *headers_frame = zmsg_next (msg);
    ps_pairs_t *headers = ps_pairs_decode (zframe_data (headers_frame), zframe_size (headers_frame),
                                           true);
    ck_assert_ptr_nonnull (headers);
    const char *worker = ps_pairs_get (headers, "X-Worker");
    snprintf (result->worker, sizeof result->worker, "%s", worker ? worker : "");
    ps_pairs_destroy (&headers);
    zframe_t *body = zmsg_next (msg);
    ck_assert_uint_lt (zframe_size (body), sizeof result->body);
    memcpy (result->body, zframe_data (body), zframe_size (body));
    result->body[zframe_size (body)] = 0;
    zmsg_destroy (&msg);
    return true;
}

void
st_expect_result (server_t *server, result_t *result)
{
    ck_assert_msg (st_recv_result (server, ST_TIMEOUT, result), "no result within %d ms",
                   ST_TIMEOUT);
}

void
st_cleanup (void *arg)
{
    ((record_t *) arg)->cleanups++;
}

//  Body: "name|frame|frame..." over all payload frames.
char *
st_join (record_t *record, zmsg_t *payload)
{
    char *text = (char *) zmalloc (512);
    snprintf (text, 512, "%s", record->name);
    for (zframe_t *frame = zmsg_first (payload); frame; frame = zmsg_next (payload)) {
        size_t length = strlen (text);
        snprintf (text + length, 512 - length, "|%.*s", (int) zframe_size (frame),
                  (const char *) zframe_data (frame));
    }
    return text;
}

int
st_reply_text (ps_work_t *work, record_t *record, int status, const char *text)
{
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "X-Worker", record->name);
    return ps_work_reply (work, status, &headers, text, strlen (text));
}

int
st_echo (ps_work_t *work, void *arg)
{
    record_t *record = (record_t *) arg;
    record->calls++;
    char *text = st_join (record, ps_work_payload (work));
    int rc = st_reply_text (work, record, 200, text);
    free (text);
    return rc;
}

//  Stage 1: "bad" is answered here with 400; anything else goes on with
//  this worker's name appended.
int
st_stage1 (ps_work_t *work, void *arg)
{
    record_t *record = (record_t *) arg;
    record->calls++;
    zframe_t *first = zmsg_first (ps_work_payload (work));
    if (first && zframe_streq (first, "bad"))
        return st_reply_text (work, record, 400, "rejected by stage 1");
    zmsg_t *next = zmsg_dup (ps_work_payload (work));
    zmsg_addstr (next, record->name);
    return ps_work_forward (work, &next);
}

ps_worker_t *
st_worker_new (server_t *server, const char *upstream, const char *downstream, ps_work_fn *work,
               record_t *record)
{
    ps_worker_config_t config;
    ps_worker_config_defaults (&config);
    config.upstream = upstream;
    config.downstream = downstream;
    config.loopback = server->loopback_ep;
    config.interrupt = server->interrupt_ep;
    config.work = work;
    config.work_arg = record;
    config.cleanup = st_cleanup;
    config.send_timeout_ms = record->send_timeout_ms ? record->send_timeout_ms : 500;
    if (record->heartbeat_ms)
        config.heartbeat_ms = record->heartbeat_ms;  //  negative: none
    if (record->expiry_ms)
        config.expiry_ms = record->expiry_ms;
    if (record->credit)
        config.credit = record->credit;
    config.verbose = getenv ("PS_TEST_VERBOSE") != NULL;
    if (record->heartbeat[0]) {
        config.heartbeat = record->heartbeat;
        config.heartbeat_size = strlen (record->heartbeat);
    }
    ps_worker_t *worker = ps_worker_new (&config);
    ck_assert_ptr_nonnull (worker);
    return worker;
}

//  Start a proxy like config (its endpoints ignored) on fresh endpoints of
//  transport, written to upstream and downstream (each at least 256 bytes).
//  On tcp the kernel picks the ports: a random pick can land on a port that
//  a socket of another suite running beside us still reconnects to, and
//  its jobs then reach our workers (and its ids our results).
ps_proxy_t *
st_proxy_new_config (int transport, char *upstream, char *downstream,
                     const ps_proxy_config_t *model)
{
    ps_proxy_config_t config = *model;
    config.upstream = upstream;
    config.downstream = downstream;
    if (transport == ST_TCP) {
        snprintf (upstream, 256, "tcp://127.0.0.1:*");
        snprintf (downstream, 256, "tcp://127.0.0.1:*");
        ps_proxy_t *proxy = ps_proxy_new (&config);
        ck_assert_ptr_nonnull (proxy);
        snprintf (upstream, 256, "%s", ps_proxy_upstream_endpoint (proxy));
        snprintf (downstream, 256, "%s", ps_proxy_downstream_endpoint (proxy));
        return proxy;
    }
    for (int attempt = 0; attempt < 20; attempt++) {
        st_endpoint (transport, upstream, 256);
        st_endpoint (transport, downstream, 256);
        ps_proxy_t *proxy = ps_proxy_new (&config);
        if (proxy)
            return proxy;
    }
    ck_abort_msg ("no proxy could bind");
    return NULL;
}

ps_proxy_t *
st_proxy_new (int transport, char *upstream, char *downstream, ps_proxy_choose_fn *choose,
              void *choose_arg)
{
    ps_proxy_config_t config;
    ps_proxy_config_defaults (&config);
    config.choose = choose;
    config.choose_arg = choose_arg;
    return st_proxy_new_config (transport, upstream, downstream, &config);
}

//  The first proxy, into which the server pushes.
ps_proxy_t *
st_front_proxy_new (server_t *server, char *downstream, ps_proxy_choose_fn *choose,
                    void *choose_arg)
{
    ps_proxy_t *proxy = st_proxy_new (server->transport, server->upstream_ep, downstream, choose,
                                      choose_arg);
    ck_assert_int_eq (zsock_connect (server->push, "%s", server->upstream_ep), 0);
    return proxy;
}

//  --------------------------------------------------------------------------
//  Chooser

//  Send the job to the idle worker whose heartbeat equals the payload.
int
st_choose_match (zmsg_t *job, zframe_t **heartbeats, size_t count, void *arg)
{
    (void) arg;
    zframe_t *wanted = zmsg_first (job);
    for (size_t i = 0; i < count; i++)
        if (heartbeats[i] && zframe_eq (heartbeats[i], wanted))
            return (int) i;
    return -1;
}

//  --------------------------------------------------------------------------
//  Cancellation

zsock_t *
st_started_pair (int transport, zsock_t **pull_p)
{
    char endpoint[256];
    *pull_p = zsock_new (ZMQ_PULL);
    zsock_set_rcvtimeo (*pull_p, ST_TIMEOUT);
    st_bind (*pull_p, transport, endpoint, sizeof endpoint);
    zsock_t *push = zsock_new (ZMQ_PUSH);
    zsock_set_sndtimeo (push, ST_TIMEOUT);
    ck_assert_int_eq (zsock_connect (push, "%s", endpoint), 0);
    return push;
}

void
st_expect_started (zsock_t *started, uint64_t id)
{
    char *line = zstr_recv (started);
    ck_assert_ptr_nonnull (line);
    ck_assert_uint_eq (strtoull (line, NULL, 10), id);
    zstr_free (&line);
}

//  Keeps the worker thread for compute_ms without ever asking whether the
//  job was cancelled, as a long computation would.
int
st_compute (ps_work_t *work, void *arg)
{
    record_t *record = (record_t *) arg;
    record->calls++;
    int64_t end = zclock_mono () + record->compute_ms;
    volatile uint64_t sum = 0;
    while (zclock_mono () < end) {
        for (int i = 0; i < 10000; i++)
            sum += (uint64_t) i * (uint64_t) i;
        //  The kernel preempts a computing thread; valgrind's scheduler
        //  does not, unless the thread makes a system call now and then.
        sched_yield ();
    }
    return st_reply_text (work, record, 200, sum ? "computed" : "computed nothing");
}

void
st_add_from (Suite *suite, const char *name, const TTest *test, int first, int transports)
{
    TCase *tc = tcase_create (name);
    //  Check's own default (4 s) is short for the tcp cases on a loaded
    //  machine; an explicit CK_DEFAULT_TIMEOUT (valgrind runs) wins.
    if (!getenv ("CK_DEFAULT_TIMEOUT"))
        tcase_set_timeout (tc, 60);
    tcase_add_loop_test (tc, test, first, transports);
    suite_add_tcase (suite, tc);
}

void
st_add (Suite *suite, const char *name, const TTest *test, int transports)
{
    st_add_from (suite, name, test, 0, transports);
}

static void
s_remove_ipc_dir (void)
{
    DIR *dir = opendir (st_ipc_dir);
    if (!dir)
        return;
    struct dirent *entry;
    char path[sizeof st_ipc_dir + 300];
    while ((entry = readdir (dir)))
        if (entry->d_name[0] != '.') {
            snprintf (path, sizeof path, "%s/%s", st_ipc_dir, entry->d_name);
            unlink (path);
        }
    closedir (dir);
    rmdir (st_ipc_dir);
}

int
st_run (Suite *suite)
{
    srandom ((unsigned) getpid () ^ (unsigned) zclock_time ());
    snprintf (st_ipc_dir, sizeof st_ipc_dir, "/tmp/check-stages-%d", (int) getpid ());
    mkdir (st_ipc_dir, 0700);
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    s_remove_ipc_dir ();
    return failed == 0 ? 0 : 1;
}
