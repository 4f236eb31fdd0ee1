/*  ps_worker: one worker of a pipeline stage, running the user's function.

    The actor connects a DEALER to its proxy (jobs in, READY out), a PUSH to
    the next stage's proxy (optional), a PUSH to the server's loopback (final
    answers) and a SUB to the server's interrupt PUB (cancellations). It
    announces itself with READY, then for each JOB calls the work function in
    its own thread, makes sure the client gets an answer (500, or 503 when
    stopping, if the function gave none), runs the cleanup callback and sends
    READY again with its current heartbeat. Every READY carries the
    worker's credit (config.credit, in the envelope's credit field): how many
    jobs the proxy may give it at once, the ones beyond the first waiting in
    the DEALER's queue, where CANCELs still reach them (a job whose id is in
    the ring is skipped).

    In one process a stage may have no proxy (ps_dispatch.h): when the
    upstream endpoint names a dispatch, the worker takes its jobs from it
    instead (the seat's eventfd in the loop in place of the DEALER), with
    no READY, beats or reconnection; a downstream, named or not, that
    names a dispatch is handed jobs the same way.

    Cancellation is cooperative and cheap: ps_work_cancelled only looks at
    the SUB and pipe sockets' ZMQ_EVENTS and reads what is already queued.
    CANCELs are remembered in a small ring, because one may overtake its job
    (the job can wait in the proxy while the CANCEL goes straight to every
    worker); a job whose id is in the ring is skipped.

    Every send has a timeout (send_timeout_ms) and every socket a short
    linger, so a worker never blocks for good on a peer that went away: it
    always notices "$TERM" and stops.

    Like the proxy, the worker runs on ps_loop (edge-triggered poll(2) on
    the ZMQ_FDs): every send on the job DEALER marks it dirty there, and
    the beats and the reconnection are the loop's timer.

    Liveness (docs/PROTOCOL.md): the job DEALER has a random routing id of
    our own. While idle, the loop sends a beat every heartbeat_ms and the
    proxy answers each; after expiry_ms without a word from the proxy, the
    worker recreates the DEALER and announces itself again, which is how a
    restarted proxy (or one behind a half-open connection) learns of it.
    The work function runs in this thread and may not come back for a long
    time, so busy beats come from a small actor of our own (the beater)
    with a second DEALER, naming our routing id; it learns that we are busy
    from two atomic variables, the only cost on the per-job path.
*/
#include "prime_server/prime_server.h"
#include "ps_actor.h"
#include "ps_envelope_private.h"
#include "ps_http_private.h"
#include "ps_loop.h"
#include "ps_socket.h"
#include "ps_dispatch.h"
#include "ps_downstream.h"
#include "ps_part_pool.h"
#include <errno.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <string.h>

//  Recently cancelled ids remembered for jobs that arrive after their CANCEL.
//  A fixed ring on purpose: the memory a flood of CANCELs can take is
//  bounded, and an id older than this many CANCELs belongs to a job that
//  has long been answered 504 or dropped.
#define S_CANCEL_RING 1024
//  At most this many CANCELs are read by one ps_work_cancelled call, so a
//  flood of interrupts cannot stall a work function
#define S_CANCEL_BATCH 1000
//  Linger on close: enough for a last answer to leave, short enough that
//  shutdown is never held up
#define S_LINGER_MS 200
//  Size of our job DEALER's routing id
#define S_ID_SIZE 16
//  Queue bound of the beater's DEALER: a stale beat is worth nothing
#define S_BEAT_HWM 4
//  Stream parts from this size go in pooled buffers of S_PART_POOL_SIZE
//  (larger ones are cut to it); smaller ones come from malloc's bins at
//  little cost. Enough buffers are kept for a full stream window (2 MiB by
//  default) in flight.
#define S_PART_POOLED_FROM (64 * 1024)
#define S_PART_POOL_SIZE   (256 * 1024)
#define S_PART_POOL_KEEP   12

//  What the worker thread shares with its beater: written by the worker
//  around each job, read by the beater at every tick.
typedef struct {
    char *endpoint;  //  the proxy's downstream
    byte id[S_ID_SIZE];
    int interval;  //  ms
    atomic_bool busy;
    atomic_uint_fast64_t job;
    ps_curve_keys_t *keys;  //  the worker's (read only), or NULL
} s_beat_t;

typedef struct _s_self_t s_self_t;

//  The frames of a job from the dispatch seen in place: its envelope and
//  as many as a request in its longest wire form has
#define S_FRAMES 10

struct _ps_work_t {
    s_self_t *self;
    uint64_t id;
    uint8_t kind;
    uint8_t flags;
    zmsg_t *payload;             //  frames after the envelope; owned (a job's: made on demand)
    ps_dispatch_job_t *job;      //  the job as our dispatch gave it, or NULL; owned
    ps_span_t frames[S_FRAMES];  //  its first frames, the envelope's first, in place
    size_t frame_count;          //  how many it has, the envelope's included
    ps_http_request_t *request;  //  decoded on demand
    bool request_tried;
    bool cancelled;           //  a CANCEL for this id arrived
    bool answered;            //  forwarded or replied
    const char *failure;      //  why no answer was sent, for the 500 body
    bool streaming;           //  a stream was started and is not yet ended or aborted
    uint64_t stream_sent;     //  body bytes of the stream sent
    uint64_t stream_granted;  //  body bytes the server lets us send in all
    bool returning;           //  said BUSY: the jobs queued behind this one go back
    char failure_text[160];   //  a failure that names something
};

struct _s_self_t {
    zsock_t *pipe;
    zsock_t *upstream;          //  DEALER to our proxy
    zsock_t *downstream;        //  PUSH to the next proxy, or NULL
    zsock_t *loopback;          //  PUSH to the server
    zsock_t *interrupt;         //  SUB from the server
    void *upstream_h;           //  raw handles
    ps_sink_t downstream_sink;  //  the PUSH's handle, or the next stage's dispatch
    ps_sink_t loopback_sink;    //  the PUSH's handle, or the server's dispatch (one process)
    ps_dispatch_t *dispatch;    //  our stage's, in this process: then no upstream
    ps_dispatch_seat_t *seat;   //  our place at it
    ps_loop_t *loop;
    int upstream_id;  //  in the loop
    int interrupt_id;
    ps_work_fn *work_fn;
    void *work_arg;
    ps_cleanup_fn *cleanup;
    zframe_t *heartbeat;          //  sent with every READY, or NULL
    ps_socket_options_t options;  //  of every socket, for recreating the job DEALER
    size_t credit;                //  jobs the proxy may give us at once, >= 1
    s_beat_t beat;                //  routing id and busy state, shared with the beater
    zactor_t *beater;             //  busy beats, or NULL when beats are off
    int heartbeat_ms;             //  0: no beats (resolved from the config)
    int expiry_ms;                //  0: never reconnect
    int64_t next_beat;            //  idle beat due
    int64_t last_heard;           //  last word from the proxy (or end of a job)
    bool heard;                   //  a message came since last_heard was set
    int64_t stop_deadline;        //  after "$TERM", every send together ends by then
    int stream_stall_ms;          //  a streamed answer waits this long for a grant
    bool verbose;
    bool upstream_version_warned;  //  said that a peer speaks another version
    bool interrupt_version_warned;
    bool terminated;  //  "$TERM" came, or the context is gone

    uint64_t cancel_ring[S_CANCEL_RING];
    size_t cancel_next;   //  next slot to overwrite
    size_t cancel_count;  //  slots in use

    ps_work_t work;  //  the job in hand; reused, so a job costs no allocation of ours
    bool busy;       //  work is valid
    ps_downstream_set_t *downstreams;  //  named downstreams, or NULL
    ps_part_pool_t *part_pool;         //  buffers of large stream parts, from the first
    char *loopback_endpoint;           //  for s_renew_refused
    char *downstream_endpoint;         //  or NULL
    char *interrupt_endpoint;
};

//  The object returned by ps_worker_new: the actor (ps_actor.h).
struct _ps_worker_t {
    zactor_t *actor;
};

void
ps_worker_config_defaults (ps_worker_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof (*config));
    config->send_timeout_ms = 1000;
    config->hwm = 10000;
    config->credit = 1;
    config->heartbeat_ms = 1000;
    config->expiry_ms = 3000;
    config->stream_stall_ms = 120000;
}

//  --------------------------------------------------------------------------
//  Cancellation

static bool
s_cancel_known (s_self_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->cancel_count; i++)
        if (self->cancel_ring[i] == id)
            return true;
    return false;
}

static void
s_cancel_remember (s_self_t *self, uint64_t id)
{
    if (s_cancel_known (self, id))
        return;  //  the server may repeat a CANCEL; one slot is enough
    self->cancel_ring[self->cancel_next] = id;
    self->cancel_next = (self->cancel_next + 1) % S_CANCEL_RING;
    if (self->cancel_count < S_CANCEL_RING)
        self->cancel_count++;
}

//  A GRANT for our stream: the server lets us send up to that many body
//  bytes in all. Grants for other workers' streams come too (the PUB
//  goes to all) and are passed over.
static void
s_handle_grant (s_self_t *self, const ps_envelope_t *envelope, zframe_t *frame)
{
    if (!self->busy || envelope->id != self->work.id)
        return;
    if (zframe_size (frame) != 8) {
        if (self->verbose)
            zsys_warning ("ps_worker: dropped a malformed GRANT");
        return;
    }
    uint64_t granted = ps_get_u64 (zframe_data (frame));
    self->work.stream_granted = MAX (self->work.stream_granted, granted);
}

//  Read the CANCELs (and GRANTs) already queued on the SUB socket, without
//  blocking.
static bool
s_handle_interrupts (ps_loop_t *loop, void *handle, void *arg)
{
    (void) loop;
    s_self_t *self = (s_self_t *) arg;
    for (int count = 0; count < S_CANCEL_BATCH; count++) {
        zmsg_t *msg = zmsg_recv (handle);
        if (!msg)
            return errno == EAGAIN;
        zframe_t *frame = zmsg_first (msg);
        ps_envelope_t envelope;
        if (zmsg_size (msg) == 2 && ps_envelope_decode (frame, &envelope) == 0
            && envelope.type == PS_MSG_GRANT) {
            s_handle_grant (self, &envelope, zmsg_next (msg));
            zmsg_destroy (&msg);
            continue;
        }
        if (zmsg_size (msg) != 1 || ps_envelope_decode (frame, &envelope) == -1
            || envelope.type != PS_MSG_CANCEL)
            ps_envelope_log_junk ("ps_worker", "interrupt", frame, zmsg_size (msg), self->verbose,
                                  &self->interrupt_version_warned);
        else {
            s_cancel_remember (self, envelope.id);
            if (self->busy && envelope.id == self->work.id)
                self->work.cancelled = true;
        }
        zmsg_destroy (&msg);
    }
    return false;
}

//  Commands on the pipe; only "$TERM" is known. The sends still to come
//  (the answer for the job in hand) share one send timeout from now.
static int
s_handle_command (ps_loop_t *loop, const char *command, zmsg_t *msg, void *arg)
{
    (void) loop;
    (void) msg;
    s_self_t *self = (s_self_t *) arg;
    if (!streq (command, "$TERM"))
        return -1;
    self->stop_deadline = zclock_mono () + MAX (self->options.send_timeout_ms, 0);
    return 0;
}

//  "$TERM" came, or the context is gone (then with no time left to send).
static bool
s_stopping (s_self_t *self)
{
    if (!self->terminated && ps_loop_stopped (self->loop)) {
        self->terminated = true;
        if (!self->stop_deadline)
            self->stop_deadline = zclock_mono ();
    }
    return self->terminated;
}

//  --------------------------------------------------------------------------
//  Sends

//  Once stopping, the sends still to come (the answer for the job in hand)
//  share one send timeout, so a stop never waits longer than that in all.
static void
s_before_send (s_self_t *self, void *handle)
{
    if (s_stopping (self)) {
        int64_t remaining = self->stop_deadline - zclock_mono ();
        int timeout = remaining > 0 ? (int) remaining : 0;
        zmq_setsockopt (handle, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    }
}

//  The timeout of a send to sink now: a socket has its own (shortened
//  once stopping, s_before_send); a dispatch is given the configured one,
//  or what is left of it once stopping.
static int
s_sink_timeout (s_self_t *self, const ps_sink_t *sink)
{
    if (sink->handle)
        s_before_send (self, sink->handle);
    else if (s_stopping (self))
        return (int) MAX (self->stop_deadline - zclock_mono (), 0);
    return self->options.send_timeout_ms;
}

//  [envelope type=RESULT][headers][body] to the loopback, headers (or
//  NULL: none) encoded into a buffer of ours: no zmsg, no frames.
static int
s_send_result (s_self_t *self, int status, const ps_pairs_t *headers, const void *body,
               size_t body_size)
{
    ps_work_t *work = &self->work;
    ps_envelope_t envelope = {.type = PS_MSG_RESULT,
                              .flags = work->flags,
                              .kind = work->kind,
                              .status = (uint16_t) status,
                              .id = work->id};
    char stack[512];
    size_t headers_size = headers ? ps_pairs_encoded_size (headers) : 0;
    char *encoded = headers_size <= sizeof stack ? stack : (char *) malloc (headers_size);
    assert (encoded);
    if (headers_size)
        ps_pairs_write (headers, encoded);
    ps_span_t frames[2] = {{encoded, headers_size}, {body, body_size}};
    const ps_sink_t *sink = &self->loopback_sink;
    int rc = ps_sink_send_spans (sink, &envelope, frames, 2, s_sink_timeout (self, sink));
    if (encoded != stack)
        free (encoded);
    if (rc != 0 && self->verbose)
        zsys_warning ("ps_worker: result %" PRIu64 " not sent to loopback: %s", work->id,
                      zmq_strerror (errno));
    return rc == 0 ? 0 : -1;
}

//  READY, or with PS_FLAG_BUSY a READY that answers no job and asks for
//  none until the next plain one.
static void
s_send_ready (s_self_t *self, uint8_t flags)
{
    //  A send may swallow the signal of a job now waiting on the socket.
    ps_loop_dirty (self->loop, self->upstream_id);
    //  The proxy keeps our credit's worth of jobs with us, and counts one
    //  done per READY.
    ps_envelope_t envelope = {
        .type = PS_MSG_READY, .flags = flags, .credit = (uint16_t) self->credit};
    zframe_t *envelope_frame = ps_envelope_encode (&envelope);
    bool heartbeat = self->heartbeat && !(flags & PS_FLAG_BUSY);
    int rc = zframe_send (&envelope_frame, self->upstream_h, heartbeat ? ZFRAME_MORE : 0);
    if (rc == 0 && heartbeat)
        rc = zframe_send (&self->heartbeat, self->upstream_h, ZFRAME_REUSE);
    if (rc != 0) {
        zframe_destroy (&envelope_frame);
        if (self->verbose)
            zsys_warning ("ps_worker: READY not sent to proxy: %s", zmq_strerror (errno));
    }
}

//  An idle beat: [envelope BEAT][heartbeat]?. Never waits: a beat that
//  cannot leave now is worth nothing later.
static void
s_send_beat (s_self_t *self)
{
    ps_loop_dirty (self->loop, self->upstream_id);
    byte envelope[PS_ENVELOPE_SIZE];
    ps_envelope_pack (&(ps_envelope_t){.type = PS_MSG_BEAT}, envelope);
    if (zmq_send (self->upstream_h, envelope, sizeof envelope,
                  ZMQ_DONTWAIT | (self->heartbeat ? ZMQ_SNDMORE : 0))
            != -1
        && self->heartbeat)
        zmq_send (self->upstream_h, zframe_data (self->heartbeat), zframe_size (self->heartbeat),
                  0);
}

//  --------------------------------------------------------------------------
//  The beater: busy beats while the work function holds the worker thread

static zsock_t *
s_beater_socket (s_beat_t *beat)
{
    //  The proxy never writes to it; a beat never waits nor lingers.
    zsock_t *sock = ps_socket_new (
        ZMQ_DEALER, &(ps_socket_options_t){S_BEAT_HWM, 0, -1, beat->keys}, "ps_worker", "beater");
    if (sock && ps_socket_attach (sock, false, beat->endpoint, "ps_worker", "beater") != 0)
        ps_socket_destroy (&sock);
    return sock;
}

//  [envelope BEAT flags=BUSY id=job][our job socket's routing id]
static void
s_beater_send (zsock_t *sock, s_beat_t *beat)
{
    ps_envelope_t envelope = {
        .type = PS_MSG_BEAT, .flags = PS_FLAG_BUSY, .id = (uint64_t) atomic_load (&beat->job)};
    byte head[PS_ENVELOPE_SIZE];
    ps_envelope_pack (&envelope, head);
    void *handle = zsock_resolve (sock);
    if (zmq_send (handle, head, sizeof head, ZMQ_SNDMORE | ZMQ_DONTWAIT) != -1)
        zmq_send (handle, beat->id, sizeof beat->id, 0);
}

//  The beater's actor body: ticks every interval and beats if the worker is
//  busy. Commands: "$TERM", "RECONNECT" (a fresh socket, as the worker's).
static void
s_beater (zsock_t *pipe, void *arg)
{
    s_beat_t *beat = (s_beat_t *) arg;
    zsock_t *sock = s_beater_socket (beat);
    zsock_signal (pipe, 0);
    int64_t next = zclock_mono () + beat->interval;
    bool terminated = false;
    while (!terminated) {
        int64_t now = zclock_mono ();
        zmq_pollitem_t item = {zsock_resolve (pipe), 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll (&item, 1, next > now ? (long) (next - now) : 0);
        if (rc == -1 && errno != EINTR)
            break;  //  context gone
        if (rc > 0) {
            char *command = zstr_recv (pipe);
            if (!command || streq (command, "$TERM"))
                terminated = true;
            else if (streq (command, "RECONNECT")) {
                ps_socket_destroy (&sock);
                sock = s_beater_socket (beat);
            }
            zstr_free (&command);
            continue;
        }
        now = zclock_mono ();
        if (now < next)
            continue;
        //  A fixed rate, but never a burst to catch up after a stall
        next = MAX (next + beat->interval, now + beat->interval / 2);
        if (sock && atomic_load_explicit (&beat->busy, memory_order_acquire))
            s_beater_send (sock, beat);
    }
    ps_socket_destroy (&sock);
}

//  --------------------------------------------------------------------------
//  The job API for work functions

uint64_t
ps_work_id (ps_work_t *work)
{
    assert (work);
    return work->id;
}

ps_kind_t
ps_work_kind (ps_work_t *work)
{
    assert (work);
    return (ps_kind_t) work->kind;
}

zmsg_t *
ps_work_payload (ps_work_t *work)
{
    assert (work);
    if (!work->payload && work->job)
        work->payload = ps_dispatch_job_msg (work->job, 1);
    return work->payload;
}

const ps_http_request_t *
ps_work_request (ps_work_t *work)
{
    assert (work);
    if (!work->request_tried && work->kind == PS_KIND_HTTP) {
        work->request_tried = true;
        //  Once the payload is made, its frames are the work function's
        //  (and the job's large ones moved into it): read from there
        work->request = work->payload
                            ? ps_http_request_decode (work->payload)
                            : ps_http_request_decode_spans (work->frames + 1,
                                                            work->frame_count - 1);
        if (!work->request && work->self->verbose)
            zsys_warning ("ps_worker: job %" PRIu64 " has a malformed request", work->id);
    }
    return work->request;
}

bool
ps_work_cancelled (ps_work_t *work)
{
    assert (work);
    s_self_t *self = work->self;
    if (!work->cancelled && !s_stopping (self)) {
        ps_loop_peek (self->loop, PS_LOOP_PIPE);
        ps_loop_peek (self->loop, self->interrupt_id);
    }
    return work->cancelled || s_stopping (self);
}

//  Sends frames (taken) to the next stage at sink; NULL or empty: none, for
//  the reason failure gives.
static int
s_forward (ps_work_t *work, const ps_sink_t *sink, const char *failure, zmsg_t **frames_p)
{
    s_self_t *self = work->self;
    zmsg_t *frames = *frames_p;
    *frames_p = NULL;
    if (work->answered) {
        zsys_error ("ps_worker: job %" PRIu64 " already answered; forward ignored", work->id);
        zmsg_destroy (&frames);
        return -1;
    }
    if (!sink || !(sink->handle || sink->dispatch)) {
        work->failure = failure;
        zmsg_destroy (&frames);
        return -1;
    }
    ps_envelope_t envelope = {
        .type = PS_MSG_JOB, .flags = work->flags, .kind = PS_KIND_STAGE, .id = work->id};
    int rc = ps_sink_send (sink, &envelope, &frames, s_sink_timeout (self, sink));
    if (rc != 0) {
        work->failure = "next stage unreachable";
        if (self->verbose)
            zsys_warning ("ps_worker: job %" PRIu64 " not forwarded: %s", work->id,
                          zmq_strerror (errno));
        return -1;
    }
    work->answered = true;
    return 0;
}

int
ps_work_forward (ps_work_t *work, zmsg_t **frames_p)
{
    assert (work);
    assert (frames_p);
    s_self_t *self = work->self;
    const ps_sink_t *sink = &self->downstream_sink;
    if (!sink->handle && !sink->dispatch && self->downstreams)
        sink = ps_downstream_set_only (self->downstreams);
    return s_forward (work, sink,
                      self->downstreams ? "several next stages: forward names one"
                                        : "no next stage to forward to",
                      frames_p);
}

int
ps_work_forward_to (ps_work_t *work, const char *name, zmsg_t **frames_p)
{
    assert (work);
    assert (name);
    assert (frames_p);
    s_self_t *self = work->self;
    const ps_sink_t *sink = self->downstreams ? ps_downstream_set_find (self->downstreams, name)
                                              : NULL;
    if (!sink && !work->answered) {
        //  The work function's mistake, not the client's: said every time
        snprintf (work->failure_text, sizeof work->failure_text, "no downstream named '%s'", name);
        zsys_error ("ps_worker: job %" PRIu64 ": %s", work->id, work->failure_text);
    }
    return s_forward (work, sink, work->failure_text, frames_p);
}

int
ps_work_reply (ps_work_t *work, int status, ps_pairs_t **headers_p, const void *body,
               size_t body_size)
{
    assert (work);
    assert (status >= 100 && status <= 999);
    assert (body || body_size == 0);
    ps_pairs_t *headers = headers_p ? *headers_p : NULL;
    if (headers_p)
        *headers_p = NULL;
    int rc = -1;
    if (work->answered)
        zsys_error ("ps_worker: job %" PRIu64 " already answered; reply ignored", work->id);
    else if (s_send_result (work->self, status, headers, body, body_size) == -1)
        work->failure = "loopback unreachable";
    else {
        work->answered = true;
        rc = 0;
    }
    ps_pairs_destroy (&headers);
    return rc;
}

//  --------------------------------------------------------------------------
//  Jobs given back

//  With credit above 1 jobs queue in our socket behind the one in hand;
//  once that one turns out long they would wait for all of it. So they go
//  back to the proxy, unstarted, as RETURNs, and run at a free worker. The
//  first time in a job we also say BUSY, so the proxy queues no more with
//  us until our next READY; any that crossed that word on the way are
//  given back as they come (every stream part and grant wait looks).
static void
s_return_queued (s_self_t *self)
{
    if (self->dispatch || self->credit <= 1 || !self->busy || s_stopping (self))
        return;  //  in one process no job ever waits at a worker
    ps_work_t *work = &self->work;
    if (!work->returning) {
        work->returning = true;
        s_send_ready (self, PS_FLAG_BUSY);
    }
    while (zsock_events (self->upstream) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv (self->upstream);
        if (!msg)
            break;
        self->heard = true;
        zframe_t *envelope_frame = zmsg_pop (msg);
        ps_envelope_t envelope;
        int rc = envelope_frame ? ps_envelope_decode (envelope_frame, &envelope) : -1;
        if (rc == 0 && envelope.type == PS_MSG_JOB) {
            //  Cancelled or not, it goes back: the proxy counts it as ours
            //  until then, and the worker it goes to knows the CANCEL too.
            zframe_data (envelope_frame)[1] = PS_MSG_RETURN;
            zmsg_prepend (msg, &envelope_frame);
            s_before_send (self, self->upstream_h);
            if (zmsg_send (&msg, self->upstream_h) != 0)
                zsys_warning ("ps_worker: job %" PRIu64 " could not be given back: %s", envelope.id,
                              zmq_strerror (errno));
        }
        else if (rc == -1 || envelope.type != PS_MSG_PING)
            ps_envelope_log_junk ("ps_worker", "upstream", envelope_frame,
                                  zmsg_size (msg) + (envelope_frame ? 1 : 0), self->verbose,
                                  &self->upstream_version_warned);
        zframe_destroy (&envelope_frame);
        zmsg_destroy (&msg);
    }
    //  What we read and sent may have taken the socket's signal
    ps_loop_dirty (self->loop, self->upstream_id);
}

void
ps_work_return_queued (ps_work_t *work)
{
    assert (work);
    s_return_queued (work->self);
}

//  --------------------------------------------------------------------------
//  Streamed answers

//  [envelope type][frames...] to the loopback; frames may be NULL.
static int
s_send_stream (ps_work_t *work, ps_msg_type_t type, int status, zmsg_t **frames_p)
{
    s_self_t *self = work->self;
    ps_envelope_t envelope = {.type = (uint8_t) type,
                              .flags = work->flags,
                              .kind = work->kind,
                              .status = (uint16_t) status,
                              .id = work->id};
    const ps_sink_t *sink = &self->loopback_sink;
    int rc = ps_sink_send (sink, &envelope, frames_p, s_sink_timeout (self, sink));
    if (rc != 0 && self->verbose)
        zsys_warning ("ps_worker: job %" PRIu64 ": stream message lost: %s", work->id,
                      zmq_strerror (errno));
    return rc;
}

int
ps_work_stream_start (ps_work_t *work, int status, ps_pairs_t **headers_p, int64_t size)
{
    assert (work);
    assert (status >= 100 && status <= 599);
    zmsg_t *frames = zmsg_new ();
    if (headers_p && *headers_p) {
        zframe_t *headers = ps_pairs_encode (*headers_p);
        zmsg_append (frames, &headers);
        ps_pairs_destroy (headers_p);
    }
    else
        zmsg_addmem (frames, NULL, 0);
    if (size >= 0) {
        byte data[8];
        ps_put_u64 (data, (uint64_t) size);
        zmsg_addmem (frames, data, sizeof data);
    }
    else
        zmsg_addmem (frames, NULL, 0);
    if (work->answered) {
        zsys_error ("ps_worker: job %" PRIu64 " already answered; stream ignored", work->id);
        zmsg_destroy (&frames);
        return -1;
    }
    work->stream_sent = 0;
    work->stream_granted = PS_STREAM_INITIAL_GRANT;
    if (s_send_stream (work, PS_MSG_START, status, &frames) != 0) {
        work->failure = "loopback unreachable";
        return -1;
    }
    work->answered = true;
    work->streaming = true;
    //  A stream lasts as long as its client reads: nothing waits behind it
    s_return_queued (work->self);
    return 0;
}

bool
ps_work_head (ps_work_t *work)
{
    assert (work);
    return (work->flags & PS_FLAG_HEAD) != 0;
}

uint64_t
ps_work_stream_sent (ps_work_t *work)
{
    assert (work);
    return work->stream_sent;
}

//  Waits until the server's grant lets a part go. 0, or -1 when cancelled,
//  stopping, or no grant came in time.
static int
s_wait_grant (ps_work_t *work)
{
    s_self_t *self = work->self;
    int64_t deadline = 0;
    while (work->stream_sent >= work->stream_granted) {
        if (ps_work_cancelled (work))
            return -1;  //  ps_work_cancelled read what the SUB had, GRANTs too
        if (work->stream_sent < work->stream_granted)
            break;
        int64_t now = zclock_mono ();
        if (!deadline)
            deadline = now + self->stream_stall_ms;
        if (now >= deadline) {
            zsys_warning ("ps_worker: job %" PRIu64 ": no grant from the server for %d ms, "
                          "giving up its stream",
                          work->id, self->stream_stall_ms);
            return -1;
        }
        //  The job socket too: a job that reaches us meanwhile goes back
        zmq_pollitem_t items[3] = {{zsock_resolve (self->interrupt), 0, ZMQ_POLLIN, 0},
                                   {zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0},
                                   {self->upstream_h, 0, ZMQ_POLLIN, 0}};
        int count = self->upstream_h ? 3 : 2;
        if (zmq_poll (items, count, (long) MIN (deadline - now, 1000)) == -1 && errno == ETERM)
            return -1;
        s_return_queued (self);
    }
    return 0;
}

//  Whether a part may go now: 1 yes, 0 no but that is no error (HEAD), -1
//  stop (no stream, cancelled, no grant).
static int
s_stream_part_ready (ps_work_t *work)
{
    if (!work->streaming) {
        zsys_error ("ps_worker: job %" PRIu64 " has no stream started; part ignored", work->id);
        return -1;
    }
    //  A client gone mid-stream: stop at the next part, not at the grant
    if (ps_work_cancelled (work))
        return -1;
    s_return_queued (work->self);
    if (work->flags & PS_FLAG_HEAD)
        return 0;
    if (s_wait_grant (work) != 0)
        return -1;
    return 1;
}

//  [envelope PART][data] to the loopback; takes data (a message whose bytes
//  libzmq moves on without a copy).
static int
s_send_part (ps_work_t *work, zmq_msg_t *data)
{
    s_self_t *self = work->self;
    ps_envelope_t envelope = {.type = PS_MSG_PART, .kind = work->kind, .id = work->id};
    size_t size = zmq_msg_size (data);
    const ps_sink_t *sink = &self->loopback_sink;
    if (ps_sink_send_msg (sink, &envelope, data, s_sink_timeout (self, sink)) != 0) {
        if (self->verbose)
            zsys_warning ("ps_worker: job %" PRIu64 ": part lost: %s", work->id,
                          zmq_strerror (errno));
        return -1;
    }
    work->stream_sent += size;
    return 0;
}

int
ps_work_stream_part (ps_work_t *work, const void *data, size_t size)
{
    assert (work);
    assert (data && size > 0);
    int ready = s_stream_part_ready (work);
    if (ready != 1)
        return ready;
    //  A large part goes in pooled buffers (ps_part_pool.h), as several
    //  PARTs if it is larger than one; a small one is copied into a
    //  message of its own.
    s_self_t *self = work->self;
    bool pooled = size >= S_PART_POOLED_FROM;
    if (pooled && !self->part_pool)
        self->part_pool = ps_part_pool_new (S_PART_POOL_SIZE, S_PART_POOL_KEEP);
    for (size_t done = 0; done < size;) {
        size_t piece = pooled ? MIN (size - done, S_PART_POOL_SIZE) : size;
        zmq_msg_t msg;
        if (pooled) {
            if (ps_part_pool_msg (self->part_pool, &msg, (const byte *) data + done, piece) != 0)
                return -1;
        }
        else {
            zmq_msg_init_size (&msg, piece);
            memcpy (zmq_msg_data (&msg), (const byte *) data + done, piece);
        }
        if (s_send_part (work, &msg) != 0)
            return -1;
        done += piece;
    }
    return 0;
}

static void
s_frame_free (void *data, void *hint)
{
    (void) data;
    zframe_t *frame = (zframe_t *) hint;
    zframe_destroy (&frame);
}

int
ps_work_stream_part_frame (ps_work_t *work, zframe_t **frame_p)
{
    assert (work);
    assert (frame_p && *frame_p && zframe_size (*frame_p) > 0);
    zframe_t *frame = *frame_p;
    *frame_p = NULL;
    //  The same checks as a copied part, in the same order
    int rc = s_stream_part_ready (work);
    if (rc != 1) {
        zframe_destroy (&frame);
        return rc;
    }
    //  The frame's bytes go as they are; libzmq frees the frame when it is
    //  done with them (inproc passes the message on to the server)
    zmq_msg_t msg;
    zmq_msg_init_data (&msg, zframe_data (frame), zframe_size (frame), s_frame_free, frame);
    return s_send_part (work, &msg);
}

int
ps_work_stream_end (ps_work_t *work)
{
    assert (work);
    if (!work->streaming) {
        zsys_error ("ps_worker: job %" PRIu64 " has no stream started; end ignored", work->id);
        return -1;
    }
    work->streaming = false;
    return s_send_stream (work, PS_MSG_END, 0, NULL);
}

int
ps_work_stream_abort (ps_work_t *work)
{
    assert (work);
    if (!work->streaming)
        return -1;
    work->streaming = false;
    return s_send_stream (work, PS_MSG_ABORT, 0, NULL);
}

void
ps_work_set_heartbeat (ps_work_t *work, const void *data, size_t size)
{
    assert (work);
    s_self_t *self = work->self;
    zframe_destroy (&self->heartbeat);
    if (data)
        self->heartbeat = zframe_new (data, size);
}

//  --------------------------------------------------------------------------
//  The actor

static void s_run_job (s_self_t *self, zmsg_t *msg);

static bool
s_handle_job (ps_loop_t *loop, void *handle, void *arg)
{
    (void) loop;
    s_self_t *self = (s_self_t *) arg;
    zmsg_t *msg = zmsg_recv (handle);
    if (!msg)
        return errno == EAGAIN;
    //  Any message is a word from the proxy; the time is taken by the loop,
    //  so a job costs no clock read here.
    self->heard = true;
    s_run_job (self, msg);
    return false;
}

static void s_work (s_self_t *self, const ps_envelope_t *envelope);

//  Our stage's dispatch: the job handed to us, else the next one queued.
//  Drained (the seat idle) when there is none. Its frames are read where
//  the sender put them, in the job's block.
static bool
s_handle_seat (ps_loop_t *loop, void *handle, void *arg)
{
    (void) loop;
    (void) handle;
    s_self_t *self = (s_self_t *) arg;
    ps_dispatch_job_t *job = ps_dispatch_next_job (self->seat);
    if (!job)
        return true;
    ps_work_t *work = &self->work;
    memset (work, 0, sizeof (*work));
    work->job = job;
    work->frame_count = ps_dispatch_job_frames (job, work->frames, S_FRAMES);
    ps_envelope_t envelope;
    //  The senders are ours, in this process: only a job is ever queued
    if (work->frame_count == 0
        || ps_envelope_unpack (work->frames[0].data, work->frames[0].size, &envelope) == -1
        || envelope.type != PS_MSG_JOB) {
        zsys_error ("ps_worker: a job from the dispatch without a job envelope, dropped");
        ps_dispatch_job_destroy (&work->job);
        return false;
    }
    s_work (self, &envelope);
    return false;
}

//  A job as the proxy gave it: [envelope][payload...] (taken).
static void
s_run_job (s_self_t *self, zmsg_t *msg)
{
    zframe_t *envelope_frame = zmsg_pop (msg);
    ps_envelope_t envelope;
    int rc = envelope_frame ? ps_envelope_decode (envelope_frame, &envelope) : -1;
    if (rc == 0 && envelope.type == PS_MSG_PING && zmsg_size (msg) == 0) {
        //  The proxy's answer to a beat: it is alive, nothing to do.
        zframe_destroy (&envelope_frame);
        zmsg_destroy (&msg);
        return;
    }
    if (rc == -1 || envelope.type != PS_MSG_JOB) {
        ps_envelope_log_junk ("ps_worker", "upstream", envelope_frame,
                              zmsg_size (msg) + (envelope_frame ? 1 : 0), self->verbose,
                              &self->upstream_version_warned);
        zframe_destroy (&envelope_frame);
        zmsg_destroy (&msg);
        //  Whatever it was, we are still free: say so, in case a proxy of
        //  another version counts this as a job given to us.
        s_send_ready (self, 0);
        return;
    }
    zframe_destroy (&envelope_frame);
    ps_work_t *work = &self->work;
    memset (work, 0, sizeof (*work));
    work->payload = msg;
    s_work (self, &envelope);
}

//  Runs the job set up in self->work (its payload or its block), whose
//  envelope is envelope; answers it one way or another, then says we are
//  free.
static void
s_work (s_self_t *self, const ps_envelope_t *envelope)
{
    ps_loop_t *loop = self->loop;
    ps_work_t *work = &self->work;
    work->self = self;
    work->id = envelope->id;
    work->kind = envelope->kind;
    work->flags = envelope->flags;
    self->busy = true;

    //  A CANCEL may have overtaken its job: the server has answered already
    //  and drops any result, so do not spend time on it. (The main loop
    //  drains the SUB before reading a job whenever it has news.)
    ps_loop_drain (loop, self->interrupt_id);
    if (s_cancel_known (self, work->id)) {
        if (self->verbose)
            zsys_info ("ps_worker: job %" PRIu64 " cancelled before it started", work->id);
    }
    else {
        if (self->beater) {
            atomic_store_explicit (&self->beat.job, work->id, memory_order_relaxed);
            atomic_store_explicit (&self->beat.busy, true, memory_order_release);
        }
        int rc = self->work_fn (work, self->work_arg);
        //  A stream left open cannot be completed now
        if (work->streaming && !work->cancelled)
            ps_work_stream_abort (work);
        if (!work->answered && !work->cancelled) {
            //  Never leave the client without an answer; a cancelled job
            //  needs none (the server answered it and drops results).
            int status = s_stopping (self) ? 503 : 500;
            const char *text = self->terminated ? "worker stopping"
                               : work->failure  ? work->failure
                               : rc != 0        ? "work function failed"
                                                : "work function gave no answer";
            s_send_result (self, status, NULL, text, strlen (text));
        }
        if (self->cleanup)
            self->cleanup (self->work_arg);
        if (self->beater)
            atomic_store_explicit (&self->beat.busy, false, memory_order_release);
    }
    ps_http_request_destroy (&work->request);
    zmsg_destroy (&work->payload);
    ps_dispatch_job_destroy (&work->job);
    self->busy = false;
    if (!s_stopping (self) && !self->dispatch)
        s_send_ready (self, 0);
}

//  A socket with our options, connected to endpoint; id, if given, is its
//  routing id.
static zsock_t *
s_socket_connect (s_self_t *self, int type, const char *role, const char *endpoint, const byte *id)
{
    zsock_t *sock = ps_socket_new (type, &self->options, "ps_worker", role);
    if (!sock)
        return NULL;
    if (id)
        zmq_setsockopt (zsock_resolve (sock), ZMQ_ROUTING_ID, id, S_ID_SIZE);
    if (type == ZMQ_SUB)
        zsock_set_subscribe (sock, "");
    //  A PUSH queues for a peer that is not there (not yet connected, or
    //  gone and being reconnected), so a job or an answer would vanish
    //  quietly; with IMMEDIATE the send times out and the client is told.
    //  The DEALER keeps queueing: its READY must reach a proxy that starts
    //  late.
    if (type == ZMQ_PUSH)
        zsock_set_immediate (sock, 1);
    if (ps_socket_attach (sock, false, endpoint, "ps_worker", role) != 0)
        ps_socket_destroy (&sock);
    return sock;
}

//  The proxy has been silent too long while we were idle: it may have
//  restarted (and not know us), or the connection may be half-open. A fresh
//  DEALER (same routing id) connects anew, on every transport, and a beat
//  announces us: a new proxy takes us in as idle, the old one (if it was
//  only slow) changes nothing, unless it thinks we hold a job, which then
//  must have been lost in the old connection (it reports it). A READY here
//  would tell it we finished that job. The beater renews its socket too.
//
//  The old socket goes first, with nothing left to send: were it to linger
//  with its queued beats, it could reach a proxy that comes back at that
//  moment alongside the fresh one, and the two connections with one routing
//  id would take the id from each other (the proxy sees us registered, then
//  unreachable once the old one closes).
static void
s_reconnect (s_self_t *self)
{
    if (self->verbose)
        zsys_info ("ps_worker: no word from the proxy for %d ms, reconnecting", self->expiry_ms);
    zsock_set_linger (self->upstream, 0);
    ps_socket_destroy (&self->upstream);
    //  It connected before, so a failure is only a name that no longer
    //  resolves (logged): the next expiry tries again. Only a terminated
    //  context refuses a socket.
    zsock_t *sock = ps_socket_new (ZMQ_DEALER, &self->options, "ps_worker", "upstream");
    assert (sock);
    zmq_setsockopt (zsock_resolve (sock), ZMQ_ROUTING_ID, self->beat.id, S_ID_SIZE);
    ps_socket_attach (sock, false, self->beat.endpoint, "ps_worker", "upstream");
    self->upstream = sock;
    self->upstream_h = zsock_resolve (self->upstream);
    ps_loop_replace (self->loop, self->upstream_id, self->upstream);
    s_send_beat (self);
    if (self->beater)
        zstr_send (self->beater, "RECONNECT");
}

//  A peer that refused our key at the CURVE handshake may trust it now (its
//  trusted directory is reloaded while it runs), but libzmq (4.3) treats
//  the refusal as final and never connects that socket again: the worker
//  would take jobs whose answers go nowhere, or miss every cancellation.
//  A socket told it was refused is made anew (ps_socket_renew_refused),
//  named downstreams included; a refused job DEALER is renewed by
//  s_reconnect anyway (the proxy stays silent), and the beater with it.
static void
s_renew_refused (s_self_t *self)
{
    if (ps_socket_renew_refused (&self->loopback, &self->options, "ps_worker", "loopback",
                                 self->loopback_endpoint))
        self->loopback_sink.handle = zsock_resolve (self->loopback);
    if (ps_socket_renew_refused (&self->downstream, &self->options, "ps_worker", "downstream",
                                 self->downstream_endpoint))
        self->downstream_sink.handle = zsock_resolve (self->downstream);
    if (ps_socket_renew_refused (&self->interrupt, &self->options, "ps_worker", "interrupt",
                                 self->interrupt_endpoint)) {
        zsock_set_subscribe (self->interrupt, "");
        ps_loop_replace (self->loop, self->interrupt_id, self->interrupt);
    }
    if (self->downstreams)
        ps_downstream_set_renew_refused (self->downstreams);
}

//  The loop's timer: idle beats every heartbeat_ms, and a reconnection
//  after expiry_ms without a word from the proxy.
static int64_t
s_handle_timer (ps_loop_t *loop, int64_t now, void *arg)
{
    s_self_t *self = (s_self_t *) arg;
    if (self->heard) {
        self->heard = false;
        self->last_heard = now;
    }
    if (now >= self->next_beat) {
        s_renew_refused (self);
        s_send_beat (self);
        self->next_beat = now + self->heartbeat_ms;
    }
    if (self->expiry_ms > 0 && now - self->last_heard >= self->expiry_ms) {
        //  A last look: a PING that came since the poll saves a
        //  reconnection (and the proxy the sight of us leaving it)
        if (zsock_events (self->upstream) & ZMQ_POLLIN) {
            ps_loop_dirty (loop, self->upstream_id);
            return now;
        }
        s_reconnect (self);
        self->last_heard = now;
    }
    int64_t deadline = self->next_beat;
    if (self->expiry_ms > 0)
        deadline = MIN (deadline, self->last_heard + self->expiry_ms);
    return deadline;
}

static void
s_self_destroy (s_self_t **self_p)
{
    assert (self_p);
    s_self_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->beater);
        ps_loop_destroy (&self->loop);
        free (self->beat.endpoint);
        zframe_destroy (&self->heartbeat);
        ps_socket_destroy (&self->upstream);
        ps_socket_destroy (&self->downstream);
        ps_socket_destroy (&self->loopback);
        ps_socket_destroy (&self->interrupt);
        ps_dispatch_seat_destroy (&self->seat);
        ps_dispatch_destroy (&self->dispatch);
        ps_dispatch_destroy (&self->downstream_sink.dispatch);
        ps_dispatch_destroy (&self->loopback_sink.dispatch);
        ps_curve_keys_destroy (&self->beat.keys);
        ps_downstream_set_destroy (&self->downstreams);
        ps_part_pool_destroy (&self->part_pool);
        free (self->loopback_endpoint);
        free (self->downstream_endpoint);
        free (self->interrupt_endpoint);
        free (self);
        *self_p = NULL;
    }
}

static s_self_t *
s_self_new (zsock_t *pipe, const ps_worker_config_t *config)
{
    if (!config->upstream || !config->loopback || !config->interrupt || !config->work) {
        zsys_error ("ps_worker: upstream, loopback, interrupt and work are required");
        return NULL;
    }
    s_self_t *self = (s_self_t *) zmalloc (sizeof (s_self_t));
    assert (self);
    self->pipe = pipe;
    self->work_fn = config->work;
    self->work_arg = config->work_arg;
    self->cleanup = config->cleanup;
    self->verbose = config->verbose;
    //  A zero field means its default (ps_worker.h); a negative one, what
    //  0 meant before defaults: no waiting, no beats, no reconnection.
    ps_worker_config_t defaults;
    ps_worker_config_defaults (&defaults);
    int send_timeout = config->send_timeout_ms ? config->send_timeout_ms : defaults.send_timeout_ms;
    int heartbeat_ms = config->heartbeat_ms ? config->heartbeat_ms : defaults.heartbeat_ms;
    int expiry_ms = config->expiry_ms ? config->expiry_ms : defaults.expiry_ms;
    self->stream_stall_ms = config->stream_stall_ms > 0 ? config->stream_stall_ms
                                                        : defaults.stream_stall_ms;
    //  Enough linger for a last answer to leave, short enough that shutdown
    //  is never held up
    self->options = (ps_socket_options_t){.hwm = config->hwm > 0 ? config->hwm : defaults.hwm,
                                          .linger_ms = S_LINGER_MS,
                                          .send_timeout_ms = MAX (send_timeout, 0)};
    self->credit = config->credit > 0 ? config->credit : defaults.credit;
    //  Copied: the caller's config may go once we have signalled
    if (config->heartbeat)
        self->heartbeat = zframe_new (config->heartbeat, config->heartbeat_size);
    self->heartbeat_ms = MAX (heartbeat_ms, 0);
    self->expiry_ms = self->heartbeat_ms > 0 ? MAX (expiry_ms, 0) : 0;

    //  Our routing id: random, so the proxy can tell us from every other
    //  worker, and the beater can name us. A first byte of 0 is reserved
    //  by libzmq.
    zuuid_t *uuid = zuuid_new ();
    assert (uuid);
    memcpy (self->beat.id, zuuid_data (uuid), S_ID_SIZE);
    zuuid_destroy (&uuid);
    if (self->beat.id[0] == 0)
        self->beat.id[0] = 1;
    self->beat.endpoint = strdup (config->upstream);
    if (config->curve.cert
        && !(self->beat.keys = ps_curve_keys_new (&config->curve, "ps_worker"))) {
        s_self_destroy (&self);
        return NULL;
    }
    self->options.keys = self->beat.keys;
    self->beat.interval = self->heartbeat_ms;
    atomic_init (&self->beat.busy, false);
    atomic_init (&self->beat.job, 0);

    self->loopback_endpoint = strdup (config->loopback);
    self->interrupt_endpoint = strdup (config->interrupt);
    self->downstream_endpoint = config->downstream ? strdup (config->downstream) : NULL;
    assert (self->loopback_endpoint && self->interrupt_endpoint);
    //  The SUB first, so it is subscribed as early as possible.
    self->interrupt = s_socket_connect (self, ZMQ_SUB, "interrupt", config->interrupt, NULL);
    //  The server's loopback, and a stage, may be a dispatch (ps_dispatch.h)
    //  in this process: found by endpoint, in place of the socket.
    self->loopback_sink.dispatch = ps_dispatch_find (config->loopback);
    if (self->interrupt && !self->loopback_sink.dispatch)
        self->loopback = s_socket_connect (self, ZMQ_PUSH, "loopback", config->loopback, NULL);
    bool loopback_ok = self->interrupt && (self->loopback || self->loopback_sink.dispatch);
    self->downstream_sink.dispatch = ps_dispatch_find (config->downstream);
    if (loopback_ok && config->downstream && !self->downstream_sink.dispatch)
        self->downstream = s_socket_connect (self, ZMQ_PUSH, "downstream", config->downstream,
                                             NULL);
    bool downstream_ok = self->downstream || self->downstream_sink.dispatch || !config->downstream;
    bool named = config->downstream_count > 0;
    if (named && loopback_ok && downstream_ok)
        self->downstreams = ps_downstream_set_new (config->downstreams, config->downstream_count,
                                                   &self->options);
    bool upstream_ok = false;
    if (loopback_ok && downstream_ok && (self->downstreams || !named)) {
        self->dispatch = ps_dispatch_find (config->upstream);
        if (self->dispatch) {
            //  Nobody to beat to or to hear from: the dispatch is in this
            //  process and goes only with it.
            self->seat = ps_dispatch_seat_new (self->dispatch);
            self->heartbeat_ms = self->expiry_ms = 0;
            upstream_ok = self->seat != NULL;
        }
        else {
            self->upstream = s_socket_connect (self, ZMQ_DEALER, "upstream", config->upstream,
                                               self->beat.id);
            upstream_ok = self->upstream != NULL;
        }
    }
    if (self->upstream && self->heartbeat_ms > 0) {
        self->beater = zactor_new (s_beater, &self->beat);
        assert (self->beater);
    }
    if (!upstream_ok) {
        s_self_destroy (&self);
        return NULL;
    }
    self->upstream_h = self->upstream ? zsock_resolve (self->upstream) : NULL;
    self->downstream_sink.handle = self->downstream ? zsock_resolve (self->downstream) : NULL;
    self->loopback_sink.handle = self->loopback ? zsock_resolve (self->loopback) : NULL;
    //  Cancels before jobs, so a job whose CANCEL overtook it is skipped;
    //  reading them while idle also keeps the SUB queue short.
    self->loop = ps_loop_new (pipe, "ps_worker", s_handle_command, self);
    self->interrupt_id = ps_loop_add (self->loop, self->interrupt, s_handle_interrupts, self);
    self->upstream_id = self->seat ? ps_loop_add_fd (self->loop, ps_dispatch_seat_fd (self->seat),
                                                     s_handle_seat, self)
                                   : ps_loop_add (self->loop, self->upstream, s_handle_job, self);
    if (self->heartbeat_ms > 0)
        ps_loop_set_timer (self->loop, s_handle_timer, self);
    return self;
}

void
ps_worker_actor (zsock_t *pipe, void *config)
{
    assert (pipe);
    assert (config);
    s_self_t *self = s_self_new (pipe, (const ps_worker_config_t *) config);
    ps_actor_started (pipe, self != NULL, NULL, 0);
    if (!self)
        return;
    if (!self->dispatch)
        s_send_ready (self, 0);
    //  A first beat at once tells the proxy that we beat, so it may expire
    //  us if we fall silent.
    if (self->heartbeat_ms > 0)
        s_send_beat (self);
    self->last_heard = zclock_mono ();
    self->next_beat = self->last_heard + self->heartbeat_ms;
    ps_loop_run (self->loop);
    s_self_destroy (&self);
}

//  --------------------------------------------------------------------------
//  Public object

ps_worker_t *
ps_worker_new (const ps_worker_config_t *config)
{
    assert (config);
    assert (config->work);
    ps_worker_t *self = (ps_worker_t *) zmalloc (sizeof (ps_worker_t));
    assert (self);
    self->actor = ps_actor_new (ps_worker_actor, (void *) config, NULL, 0);
    if (!self->actor)
        ps_worker_destroy (&self);
    return self;
}

void
ps_worker_destroy (ps_worker_t **self_p)
{
    assert (self_p);
    ps_worker_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->actor);
        free (self);
        *self_p = NULL;
    }
}
