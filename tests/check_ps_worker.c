/*  Tests of ps_worker on real sockets (inproc, ipc and tcp): the work API
    (flags, HTTP jobs, failures answered 500), cancellation, junk, bounded
    destruction, liveness beats and reconnection of its SUB. The fixtures
    are in stagetest.[ch]; dispatch by the proxy is tested in
    check_ps_proxy.c.
*/
#include "stagetest.h"
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
s_send_cancel (server_t *server, uint64_t id)
{
    ps_envelope_t envelope = {.type = PS_MSG_CANCEL, .id = id};
    ck_assert_int_eq (ps_envelope_send (&envelope, NULL, server->interrupt), 0);
}

//  "fail" returns -1, "silent" returns 0 without an answer, "nostage"
//  forwards without a next stage; anything else echoes.
static int
s_faulty (ps_work_t *work, void *arg)
{
    record_t *record = (record_t *) arg;
    zframe_t *first = zmsg_first (ps_work_payload (work));
    if (zframe_streq (first, "fail")) {
        record->calls++;
        return -1;
    }
    if (zframe_streq (first, "silent")) {
        record->calls++;
        return 0;
    }
    if (zframe_streq (first, "nostage")) {
        record->calls++;
        zmsg_t *next = zmsg_new ();
        zmsg_addstr (next, "x");
        //  Checked by the test thread: no ck_assert outside it
        if (ps_work_forward (work, &next) != -1 || next)
            record->oddities++;
        return -1;
    }
    return st_echo (work, arg);
}

//  "long": runs until cancelled (polling as a busy job would), then says so.
//  "long-forward": the same, then tries to forward (the next stage may be
//  gone) and fails. Anything else echoes.
static int
s_long (ps_work_t *work, void *arg)
{
    record_t *record = (record_t *) arg;
    zframe_t *first = zmsg_first (ps_work_payload (work));
    bool forward = zframe_streq (first, "long-forward");
    if (!forward && !zframe_streq (first, "long"))
        return st_echo (work, arg);
    record->calls++;
    if (record->started)
        zstr_sendf (record->started, "%" PRIu64, ps_work_id (work));
    int64_t deadline = zclock_mono () + 30000;
    while (!ps_work_cancelled (work) && zclock_mono () < deadline)
        zclock_sleep (1);  //  stands for a slice of real work
    if (!ps_work_cancelled (work))
        return st_reply_text (work, record, 200, "finished");
    record->cancels_seen++;
    if (forward) {
        zmsg_t *next = zmsg_new ();
        zmsg_addstr (next, "partial");
        ps_work_forward (work, &next);
        return -1;
    }
    return st_reply_text (work, record, 200, "cancelled");
}

//  A flag set on the job reaches the RESULT (the server needs HEAD back).
START_TEST (test_flags_and_frames)
{
    server_t *server = st_server_new (ST_INPROC);
    char downstream[256];
    ps_proxy_t *proxy = st_front_proxy_new (server, downstream, NULL, NULL);
    record_t record = {.name = "w"};
    ps_worker_t *worker = st_worker_new (server, downstream, NULL, st_echo, &record);

    ps_envelope_t envelope = {
        .type = PS_MSG_JOB, .kind = PS_KIND_NETSTRING, .flags = PS_FLAG_HEAD, .id = 99};
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "a");
    zmsg_addstr (msg, "");
    zmsg_addstr (msg, "c");
    ck_assert_int_eq (ps_envelope_send (&envelope, &msg, server->push), 0);
    //  and a job with no payload frames at all
    envelope.id = 100;
    envelope.flags = 0;
    ck_assert_int_eq (ps_envelope_send (&envelope, NULL, server->push), 0);

    result_t result;
    st_expect_result (server, &result);
    ck_assert (result.envelope.id == 99);
    ck_assert_uint_eq (result.envelope.flags, PS_FLAG_HEAD);
    ck_assert_uint_eq (result.envelope.kind, PS_KIND_NETSTRING);
    ck_assert_str_eq (result.body, "w|a||c");
    st_expect_result (server, &result);
    ck_assert (result.envelope.id == 100);
    ck_assert_str_eq (result.body, "w");

    ps_worker_destroy (&worker);
    ps_proxy_destroy (&proxy);
    st_server_destroy (&server);
}
END_TEST

//  First-stage jobs carry a parsed HTTP request; the worker decodes it on
//  demand. Junk in an HTTP payload gives NULL, and the function decides.
static int
s_http (ps_work_t *work, void *arg)
{
    record_t *record = (record_t *) arg;
    record->calls++;
    const ps_http_request_t *request = ps_work_request (work);
    if (ps_work_request (work) != request)
        record->oddities++;  //  decoded once, then the same object
    if (!request)
        return st_reply_text (work, record, 400, "no request");
    char text[256];
    snprintf (text, sizeof text, "%s %s %s", ps_http_request_method (request),
              ps_http_request_path (request), ps_http_request_body (request));
    return st_reply_text (work, record, 200, text);
}

START_TEST (test_http_kind)
{
    server_t *server = st_server_new (ST_INPROC);
    char downstream[256];
    ps_proxy_t *proxy = st_front_proxy_new (server, downstream, NULL, NULL);
    record_t record = {.name = "w"};
    ps_worker_t *worker = st_worker_new (server, downstream, NULL, s_http, &record);

    ps_http_parser_t *parser = ps_http_parser_new (NULL);
    const char *raw = "POST /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi";
    ck_assert_int_eq (ps_http_parser_feed (parser, raw, strlen (raw)), 0);
    ps_http_request_t *request = ps_http_parser_next (parser);
    ck_assert_ptr_nonnull (request);
    zmsg_t *payload = ps_http_request_encode (request);
    ps_envelope_t envelope = {.type = PS_MSG_JOB, .kind = PS_KIND_HTTP, .id = 1};
    ck_assert_int_eq (ps_envelope_send (&envelope, &payload, server->push), 0);
    result_t result;
    st_expect_result (server, &result);
    ck_assert_uint_eq (result.envelope.status, 200);
    ck_assert_uint_eq (result.envelope.kind, PS_KIND_HTTP);
    ck_assert_str_eq (result.body, "POST /a b hi");

    //  A STAGE job has no request; nor has an HTTP job whose payload is junk
    st_send_job (server->push, 2, "not a request");
    envelope.id = 3;
    zmsg_t *junk = zmsg_new ();
    zmsg_addstr (junk, "not a request");
    ck_assert_int_eq (ps_envelope_send (&envelope, &junk, server->push), 0);
    for (uint64_t id = 2; id <= 3; id++) {
        st_expect_result (server, &result);
        ck_assert (result.envelope.id == id);
        ck_assert_uint_eq (result.envelope.status, 400);
        ck_assert_str_eq (result.body, "no request");
    }

    ps_worker_destroy (&worker);
    ck_assert_int_eq (record.calls, 3);
    ck_assert_int_eq (record.oddities, 0);
    ps_http_request_destroy (&request);
    ps_http_parser_destroy (&parser);
    ps_proxy_destroy (&proxy);
    st_server_destroy (&server);
}
END_TEST

//  --------------------------------------------------------------------------
//  Failing work functions still answer

START_TEST (test_failures_answer_500)
{
    server_t *server = st_server_new (_i);
    char downstream[256];
    ps_proxy_t *proxy = st_front_proxy_new (server, downstream, NULL, NULL);
    record_t record = {.name = "w"};
    ps_worker_t *worker = st_worker_new (server, downstream, NULL, s_faulty, &record);

    const char *payloads[] = {"fail", "silent", "nostage", "fine"};
    const char *bodies[] = {"work function failed", "work function gave no answer",
                            "no next stage to forward to", "w|fine"};
    const int statuses[] = {500, 500, 500, 200};
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 4; i++) {
            uint64_t id = (uint64_t) (round * 10 + i + 1);
            st_send_job (server->push, id, payloads[i]);
            result_t result;
            st_expect_result (server, &result);
            ck_assert (result.envelope.id == id);
            ck_assert_uint_eq (result.envelope.status, statuses[i]);
            ck_assert_str_eq (result.body, bodies[i]);
        }
    ps_worker_destroy (&worker);
    ck_assert_int_eq (record.calls, 12);
    ck_assert_int_eq (record.cleanups, 12);
    ck_assert_int_eq (record.oddities, 0);
    ps_proxy_destroy (&proxy);
    st_server_destroy (&server);
}
END_TEST

//  Publish CANCEL for id (and junk before it) until a result arrives: the
//  SUB may still be joining when the first ones go out.
static void
s_cancel_until_result (server_t *server, uint64_t id, result_t *result)
{
    int64_t deadline = zclock_mono () + ST_TIMEOUT;
    while (zclock_mono () < deadline) {
        zsock_send (server->interrupt, "s", "junk");
        ps_envelope_t job = {.type = PS_MSG_JOB, .id = id};
        ps_envelope_send (&job, NULL, server->interrupt);
        zmsg_t *extra = zmsg_new ();
        zmsg_addstr (extra, "extra");
        ps_envelope_t cancel = {.type = PS_MSG_CANCEL, .id = id};
        ps_envelope_send (&cancel, &extra, server->interrupt);
        s_send_cancel (server, id);
        if (st_recv_result (server, 20, result))
            return;
    }
    ck_abort_msg ("job %" PRIu64 " was not cancelled", id);
}

START_TEST (test_cancel)
{
    server_t *server = st_server_new (_i);
    char downstream[256];
    ps_proxy_t *proxy = st_front_proxy_new (server, downstream, NULL, NULL);
    zsock_t *started_pull;
    record_t record = {.name = "w"};
    record.started = st_started_pair (_i, &started_pull);
    ps_worker_t *worker = st_worker_new (server, downstream, NULL, s_long, &record);

    st_send_job (server->push, 77, "long");
    st_expect_started (started_pull, 77);
    result_t result;
    s_cancel_until_result (server, 77, &result);
    ck_assert (result.envelope.id == 77);
    ck_assert_str_eq (result.body, "cancelled");

    //  The worker serves the next job.
    st_send_job (server->push, 78, "next");
    st_expect_result (server, &result);
    ck_assert (result.envelope.id == 78);
    ck_assert_str_eq (result.body, "w|next");

    //  A CANCEL that overtakes its job: published before the job is sent.
    //  The SUB is joined by now, and CANCELs arrive in order, so once the
    //  running job 80 sees its own, the worker has also read the one for 79.
    st_send_job (server->push, 80, "long");
    st_expect_started (started_pull, 80);
    s_send_cancel (server, 79);
    s_send_cancel (server, 80);
    st_expect_result (server, &result);
    ck_assert (result.envelope.id == 80);
    ck_assert_str_eq (result.body, "cancelled");
    st_send_job (server->push, 79, "long");  //  skipped, no answer
    st_send_job (server->push, 81, "after");
    st_expect_result (server, &result);
    ck_assert (result.envelope.id == 81);
    ck_assert_str_eq (result.body, "w|after");

    ps_worker_destroy (&worker);
    ck_assert_int_eq (record.calls, 4);  //  77, 78, 80, 81: not 79
    ck_assert_int_eq (record.cancels_seen, 2);
    ps_proxy_destroy (&proxy);
    zsock_destroy (&record.started);
    zsock_destroy (&started_pull);
    st_server_destroy (&server);
}
END_TEST

//  Receive a READY from the worker on a raw ROUTER, skipping its liveness
//  beats; returns its identity.
static zframe_t *
s_expect_ready (zsock_t *router)
{
    while (true) {
        zmsg_t *msg = zmsg_recv (router);
        ck_assert_ptr_nonnull (msg);
        ck_assert_uint_ge (zmsg_size (msg), 2);
        zframe_t *identity = zmsg_pop (msg);
        ps_envelope_t envelope;
        ck_assert_int_eq (ps_envelope_decode (zmsg_first (msg), &envelope), 0);
        ck_assert (envelope.type == PS_MSG_READY || envelope.type == PS_MSG_BEAT);
        zmsg_destroy (&msg);
        if (envelope.type == PS_MSG_READY)
            return identity;
        zframe_destroy (&identity);
    }
}

START_TEST (test_junk_worker)
{
    server_t *server = st_server_new (_i);
    //  A raw ROUTER posing as the proxy
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_rcvtimeo (router, ST_TIMEOUT);
    char downstream[256];
    st_bind (router, _i, downstream, sizeof downstream);
    zsock_t *started_pull;
    //  This "proxy" never answers beats: the worker must not give up on it
    //  (and reconnect) during the test.
    record_t record = {.name = "w", .expiry_ms = 600000};
    record.started = st_started_pair (_i, &started_pull);
    ps_worker_t *worker = st_worker_new (server, downstream, NULL, s_long, &record);
    zframe_t *identity = s_expect_ready (router);

    //  Each junk message is dropped and answered with READY (the worker is
    //  still free), which tells us it was read.
    const char *junk[][3] = {{"garbage"}, {""}, {"", "x"}};
    for (int i = 0; i < 3; i++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_append (msg, &(zframe_t *){zframe_dup (identity)});
        for (int j = 0; j < 3 && junk[i][j]; j++)
            zmsg_addstr (msg, junk[i][j]);
        ck_assert_int_eq (zmsg_send (&msg, router), 0);
        zframe_t *again = s_expect_ready (router);
        ck_assert (zframe_eq (again, identity));
        zframe_destroy (&again);
    }
    const byte types[][2] = {{1, PS_MSG_JOB},
                             {PS_PROTOCOL_VERSION, PS_MSG_RESULT},
                             {PS_PROTOCOL_VERSION, PS_MSG_READY},
                             {PS_PROTOCOL_VERSION, 0}};
    for (int i = 0; i < 4; i++) {
        byte data[PS_ENVELOPE_SIZE] = {types[i][0], types[i][1]};
        zmsg_t *msg = zmsg_new ();
        zmsg_append (msg, &(zframe_t *){zframe_dup (identity)});
        zmsg_addmem (msg, data, sizeof data);
        ck_assert_int_eq (zmsg_send (&msg, router), 0);
        zframe_t *again = s_expect_ready (router);
        zframe_destroy (&again);
    }

    //  A real job, then cancellation through an interrupt channel that also
    //  carries junk
    ps_envelope_t envelope = {.type = PS_MSG_JOB, .kind = PS_KIND_STAGE, .id = 11};
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "long");
    zmsg_prepend (msg, &(zframe_t *){ps_envelope_encode (&envelope)});
    zmsg_prepend (msg, &(zframe_t *){zframe_dup (identity)});
    ck_assert_int_eq (zmsg_send (&msg, router), 0);
    st_expect_started (started_pull, 11);
    result_t result;
    s_cancel_until_result (server, 11, &result);
    ck_assert (result.envelope.id == 11);
    ck_assert_str_eq (result.body, "cancelled");
    zframe_t *again = s_expect_ready (router);
    zframe_destroy (&again);

    ps_worker_destroy (&worker);
    ck_assert_int_eq (record.calls, 1);
    zframe_destroy (&identity);
    zsock_destroy (&router);
    zsock_destroy (&record.started);
    zsock_destroy (&started_pull);
    st_server_destroy (&server);
}
END_TEST

//  --------------------------------------------------------------------------
//  Shutdown is bounded

START_TEST (test_destroy_bounded)
{
    server_t *server = st_server_new (_i);
    char down1[256], up2[256], down2[256];
    ps_proxy_t *proxy1 = st_front_proxy_new (server, down1, NULL, NULL);
    ps_proxy_t *proxy2 = st_proxy_new (_i, up2, down2, NULL, NULL);
    zsock_t *started_pull;
    record_t record = {.name = "w", .send_timeout_ms = 1000};
    record.started = st_started_pair (_i, &started_pull);
    ps_worker_t *worker = st_worker_new (server, down1, up2, s_long, &record);

    st_send_job (server->push, 1, "long-forward");
    st_expect_started (started_pull, 1);
    //  Everything around the worker goes: the next stage, its own proxy,
    //  and the server's loopback. The job, told to stop, still tries to
    //  forward and then to answer: neither may block the stop for long.
    ps_proxy_destroy (&proxy2);
    ps_proxy_destroy (&proxy1);
    zsock_destroy (&server->loopback);

    int64_t start = zclock_mono ();
    ps_worker_destroy (&worker);
    int64_t elapsed = zclock_mono () - start;
    ck_assert_msg (elapsed < 2000, "worker destroy took %" PRId64 " ms", elapsed);
    ck_assert_int_eq (record.cancels_seen, 1);
    ck_assert_int_eq (record.cleanups, 1);

    zsock_destroy (&record.started);
    zsock_destroy (&started_pull);
    st_server_destroy (&server);
}
END_TEST

//  A next stage that was never there: the forward times out and the client
//  gets a 500 instead of silence. (inproc queues for a binder that may come
//  later, so this is about connection-oriented transports.)
START_TEST (test_forward_unreachable)
{
    int transport = _i == 0 ? ST_TCP : ST_IPC;
    server_t *server = st_server_new (transport);
    char downstream[256], nowhere[256];
    ps_proxy_t *proxy = st_front_proxy_new (server, downstream, NULL, NULL);
    st_endpoint (transport, nowhere, sizeof nowhere);
    record_t record = {.name = "s1"};
    ps_worker_t *worker = st_worker_new (server, downstream, nowhere, st_stage1, &record);
    for (uint64_t id = 1; id <= 3; id++) {
        st_send_job (server->push, id, "good");
        result_t result;
        st_expect_result (server, &result);
        ck_assert (result.envelope.id == id);
        ck_assert_uint_eq (result.envelope.status, 500);
        ck_assert_str_eq (result.body, "next stage unreachable");
    }
    ps_worker_destroy (&worker);
    ps_proxy_destroy (&proxy);
    st_server_destroy (&server);
}
END_TEST

//  Destroy with jobs queued, a job held by the chooser and workers mid-job.
START_TEST (test_destroy_busy)
{
    server_t *server = st_server_new (_i);
    char downstream[256];
    ps_proxy_t *proxy = st_front_proxy_new (server, downstream, st_choose_match, NULL);
    record_t record = {.name = "A", .heartbeat = "region A"};
    ps_worker_t *worker = st_worker_new (server, downstream, NULL, st_echo, &record);
    for (uint64_t id = 1; id <= 100; id++)
        st_send_job (server->push, id, id == 50 ? "region Z" : "region A");
    result_t result;
    for (uint64_t id = 1; id < 50; id++)
        st_expect_result (server, &result);
    //  Job 50 is held for ever; the rest wait behind it
    int64_t start = zclock_mono ();
    ps_worker_destroy (&worker);
    ps_proxy_destroy (&proxy);
    ck_assert_int_lt (zclock_mono () - start, 2000);
    ck_assert_int_eq (record.calls, 49);
    st_server_destroy (&server);
}
END_TEST

//  The same on a ROUTER: the routing id goes to *from.
static zmsg_t *
s_recv_routed (zsock_t *router, int timeout_ms, zframe_t **from, ps_envelope_t *envelope)
{
    if (!st_wait_readable (router, timeout_ms))
        return NULL;
    zmsg_t *msg = zmsg_recv (router);
    ck_assert_ptr_nonnull (msg);
    *from = zmsg_pop (msg);
    ck_assert_int_eq (ps_envelope_decode (zmsg_first (msg), envelope), 0);
    return msg;
}

//  Connections closed by peers of a monitored socket, read within
//  timeout_ms (or until the first one, if until_one).
static int
s_disconnected (zactor_t *monitor, int timeout_ms, bool until_one)
{
    int count = 0;
    int64_t deadline = zclock_mono () + timeout_ms;
    do {
        int64_t left = deadline - zclock_mono ();
        if (!st_wait_readable ((zsock_t *) monitor, left > 0 ? (int) left : 0))
            break;
        zmsg_t *event = zmsg_recv (monitor);
        if (event && zframe_streq (zmsg_first (event), "DISCONNECTED"))
            count++;
        zmsg_destroy (&event);
    } while (zclock_mono () < deadline && !(until_one && count > 0));
    return count;
}

//  Play the proxy for ms: answer every idle beat of the worker, which must
//  come from its job socket (identity). Returns how many came.
static int
s_answer_beats (zsock_t *router, zframe_t *identity, int ms)
{
    int beats = 0;
    int64_t until = zclock_mono () + ms;
    while (zclock_mono () < until) {
        zframe_t *from;
        ps_envelope_t envelope;
        zmsg_t *beat = s_recv_routed (router, 20, &from, &envelope);
        if (!beat)
            continue;
        if (!zframe_eq (from, identity)) {
            //  Only an old connection, renamed by the ROUTER, may say more
            ck_assert (zframe_size (from) > 0 && zframe_data (from)[0] == 0);
            zframe_destroy (&from);
            zmsg_destroy (&beat);
            continue;
        }
        ck_assert_uint_eq (envelope.type, PS_MSG_BEAT);
        ck_assert_uint_eq (envelope.flags, 0);
        zmsg_destroy (&beat);
        beats++;
        ps_envelope_t answer = {.type = PS_MSG_PING};
        zmsg_t *ping = zmsg_new ();
        zmsg_append (ping, &from);
        zmsg_append (ping, &(zframe_t *){ps_envelope_encode (&answer)});
        if (zmsg_send (&ping, router) != 0) {
            ck_assert_int_eq (zmq_errno (), EHOSTUNREACH);  //  between two connections
            zmsg_destroy (&ping);
        }
    }
    return beats;
}

//  What a worker says to its proxy, seen from a raw ROUTER: READY, idle
//  beats (each answered here) and no new connection while they are
//  answered; once the answers stop, new connections (it gives the proxy up
//  for dead and reconnects) within its expiry; and busy beats from its
//  second socket naming it, while a job runs.
START_TEST (test_worker_beats)
{
    int transport = _i == 0 ? ST_TCP : ST_IPC;
    server_t *server = st_server_new (transport);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_router_handover (router, 1);  //  as a proxy does
    zsock_set_router_mandatory (router, 1);
    zsock_set_sndtimeo (router, ST_TIMEOUT);
    zactor_t *monitor = zactor_new (zmonitor, router);
    zstr_sendx (monitor, "LISTEN", "DISCONNECTED", NULL);
    zstr_sendx (monitor, "START", NULL);
    zsock_wait (monitor);
    char downstream[256];
    st_bind (router, transport, downstream, sizeof downstream);
    zsock_t *started_pull;
    record_t record = {.name = "w", .heartbeat_ms = ST_BEAT_MS, .expiry_ms = 5 * ST_BEAT_MS};
    record.started = st_started_pair (transport, &started_pull);
    ps_worker_t *worker = st_worker_new (server, downstream, NULL, s_long, &record);

    //  READY from the job socket, which has a 16-byte routing id
    ps_envelope_t envelope;
    zframe_t *identity, *from;
    zmsg_t *msg = s_recv_routed (router, ST_TIMEOUT, &identity, &envelope);
    ck_assert_ptr_nonnull (msg);
    ck_assert_uint_eq (zframe_size (identity), 16);
    ck_assert_uint_eq (envelope.flags, 0);
    zmsg_destroy (&msg);

    //  Answered beats for four expiry periods: only beats come, from the
    //  job socket, and the two connections (job socket, beater) stay.
    int beats = s_answer_beats (router, identity, 4 * record.expiry_ms);
    ck_assert_int_ge (beats, 4 * record.expiry_ms / ST_BEAT_MS / 2);
    ck_assert_int_eq (s_disconnected (monitor, 0, false), 0);

    //  A job: busy beats come from another connection, name the worker and
    //  the job
    ps_envelope_t job = {.type = PS_MSG_JOB, .kind = PS_KIND_STAGE, .id = 9};
    msg = zmsg_new ();
    zmsg_addstr (msg, "long");
    zmsg_prepend (msg, &(zframe_t *){ps_envelope_encode (&job)});
    zmsg_prepend (msg, &(zframe_t *){zframe_dup (identity)});
    ck_assert_int_eq (zmsg_send (&msg, router), 0);
    st_expect_started (started_pull, 9);
    int64_t deadline = zclock_mono () + ST_TIMEOUT;
    bool busy_beat = false;
    while (!busy_beat && zclock_mono () < deadline) {
        msg = s_recv_routed (router, 100, &from, &envelope);
        if (!msg)
            continue;
        if (envelope.flags & PS_FLAG_BUSY) {
            ck_assert_uint_eq (envelope.type, PS_MSG_BEAT);
            ck_assert_uint_eq (envelope.flags, PS_FLAG_BUSY);
            ck_assert (envelope.id == 9);
            ck_assert (!zframe_eq (from, identity));
            ck_assert_uint_eq (zmsg_size (msg), 2);
            ck_assert (zframe_eq (zmsg_last (msg), identity));
            busy_beat = true;
        }
        zframe_destroy (&from);
        zmsg_destroy (&msg);
    }
    ck_assert_msg (busy_beat, "no busy beat");
    result_t result;
    s_cancel_until_result (server, 9, &result);
    ck_assert_str_eq (result.body, "cancelled");
    s_disconnected (monitor, 0, false);  //  (only the silence below is timed)

    //  No answers any more: within its expiry the worker gives the proxy
    //  up for dead and connects anew (both sockets, the same routing id):
    //  its old connections close
    int64_t silent = zclock_mono ();
    ck_assert_int_eq (s_disconnected (monitor, record.expiry_ms / 2, false), 0);
    ck_assert_int_ge (s_disconnected (monitor, record.expiry_ms + 2000, true), 1);
    int64_t waited = zclock_mono () - silent;
    ck_assert_msg (waited < record.expiry_ms + 2000, "reconnected after %" PRId64 " ms", waited);

    ps_worker_destroy (&worker);
    zframe_destroy (&identity);
    zactor_destroy (&monitor);
    zsock_destroy (&router);
    zsock_destroy (&record.started);
    zsock_destroy (&started_pull);
    st_server_destroy (&server);
}
END_TEST

//  The server's interrupt PUB restarted on the same endpoint (ipc or tcp,
//  as between processes): the worker's SUB reconnects and cancellations
//  still reach a running job.
START_TEST (test_interrupt_reconnect)
{
    int transport = _i == 0 ? ST_IPC : ST_TCP;
    server_t *server = st_server_new (transport);
    char downstream[256];
    ps_proxy_t *proxy = st_front_proxy_new (server, downstream, NULL, NULL);
    zsock_t *started_pull;
    record_t record = {.name = "w"};
    record.started = st_started_pair (transport, &started_pull);
    ps_worker_t *worker = st_worker_new (server, downstream, NULL, s_long, &record);
    st_send_job (server->push, 1, "long");
    st_expect_started (started_pull, 1);
    result_t result;
    s_cancel_until_result (server, 1, &result);
    ck_assert_str_eq (result.body, "cancelled");

    zsock_destroy (&server->interrupt);
    server->interrupt = zsock_new (ZMQ_PUB);
    zsock_set_sndtimeo (server->interrupt, ST_TIMEOUT);
    int64_t deadline = zclock_mono () + ST_TIMEOUT;
    while (zsock_bind (server->interrupt, "%s", server->interrupt_ep) == -1
           && zclock_mono () < deadline)
        zclock_sleep (20);
    st_send_job (server->push, 2, "long");
    st_expect_started (started_pull, 2);
    s_cancel_until_result (server, 2, &result);
    ck_assert (result.envelope.id == 2);
    ck_assert_str_eq (result.body, "cancelled");

    ps_worker_destroy (&worker);
    ck_assert_int_eq (record.cancels_seen, 2);
    ps_proxy_destroy (&proxy);
    zsock_destroy (&record.started);
    zsock_destroy (&started_pull);
    st_server_destroy (&server);
}
END_TEST

//  A zeroed worker config means the defaults (before defaults it meant no
//  beats): the worker beats at once and then every second.
START_TEST (test_zeroed_config)
{
    server_t *server = st_server_new (ST_INPROC);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    char proxy_ep[256];
    st_bind (router, ST_INPROC, proxy_ep, sizeof proxy_ep);
    record_t record = {.name = "w"};
    ps_worker_config_t worker_config;
    memset (&worker_config, 0, sizeof worker_config);
    worker_config.upstream = proxy_ep;
    worker_config.loopback = server->loopback_ep;
    worker_config.interrupt = server->interrupt_ep;
    worker_config.work = st_echo;
    worker_config.work_arg = &record;
    ps_worker_t *worker = ps_worker_new (&worker_config);
    ck_assert_ptr_nonnull (worker);
    int64_t beats[2] = {0, 0};
    int count = 0;
    int64_t deadline = zclock_mono () + 5000;
    while (count < 2 && zclock_mono () < deadline) {
        zframe_t *from = NULL;
        ps_envelope_t envelope;
        zmsg_t *msg = s_recv_routed (router, (int) (deadline - zclock_mono ()), &from, &envelope);
        if (!msg)
            break;
        if (envelope.type == PS_MSG_BEAT)
            beats[count++] = zclock_mono ();
        else
            ck_assert_uint_eq (envelope.type, PS_MSG_READY);
        zframe_destroy (&from);
        zmsg_destroy (&msg);
    }
    ck_assert_msg (count == 2, "%d beats from a worker with a zeroed config", count);
    ck_assert_msg (beats[1] - beats[0] >= 500 && beats[1] - beats[0] <= 2500,
                   "beats %" PRId64 " ms apart (want about 1000)", beats[1] - beats[0]);
    ps_worker_destroy (&worker);
    zsock_destroy (&router);
    st_server_destroy (&server);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("ps_worker");
    st_add (suite, "test_flags_and_frames", test_flags_and_frames, 1);
    st_add (suite, "test_http_kind", test_http_kind, 1);
    st_add (suite, "test_failures_answer_500", test_failures_answer_500, 2);
    st_add (suite, "test_cancel", test_cancel, 2);
    st_add (suite, "test_junk_worker", test_junk_worker, 2);
    st_add (suite, "test_destroy_bounded", test_destroy_bounded, 2);
    st_add (suite, "test_forward_unreachable", test_forward_unreachable, 2);
    st_add (suite, "test_destroy_busy", test_destroy_busy, 2);
    st_add (suite, "test_worker_beats", test_worker_beats, 2);
    st_add (suite, "test_interrupt_reconnect", test_interrupt_reconnect, 2);
    st_add (suite, "test_zeroed_config", test_zeroed_config, 1);
    return st_run (suite);
}
