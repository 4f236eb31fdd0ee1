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

    Cancellation is cooperative and cheap: ps_work_cancelled only looks at
    the SUB and pipe sockets' ZMQ_EVENTS and reads what is already queued.
    CANCELs are remembered in a small ring, because one may overtake its job
    (the job can wait in the proxy while the CANCEL goes straight to every
    worker); a job whose id is in the ring is skipped.

    Every send has a timeout (send_timeout_ms) and every socket a short
    linger, so a worker never blocks for good on a peer that went away: it
    always notices "$TERM" and stops.

    Like the proxy, the loop polls the sockets' ZMQ_FDs with poll(2) and
    blocks only once each socket it listens to has been drained to EAGAIN
    since the last operation on it (a ZMQ_FD only signals changes).

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
#include "ps_envelope_private.h"
#include <errno.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>

//  Recently cancelled ids remembered for jobs that arrive after their CANCEL
#define S_CANCEL_RING 1024
//  At most this many CANCELs are read by one ps_work_cancelled call, so a
//  flood of interrupts cannot stall a work function
#define S_CANCEL_BATCH 1000
//  Linger on close: enough for a last answer to leave, short enough that
//  shutdown is never held up
#define S_LINGER_MS 200
//  While busy, the loop looks at the fds (a syscall) once every this many
//  rounds
#define S_BUSY_ROUNDS 16
//  ... or once this many ms have passed, whichever comes first (a round may
//  be one long job)
#define S_BUSY_LOOK_MS 10
//  Size of our job DEALER's routing id
#define S_ID_SIZE 16
//  Queue bound of the beater's DEALER: a stale beat is worth nothing
#define S_BEAT_HWM 4

//  What the worker thread shares with its beater: written by the worker
//  around each job, read by the beater at every tick.
typedef struct {
    char *endpoint;  //  the proxy's downstream
    byte id[S_ID_SIZE];
    int interval;  //  ms
    atomic_bool busy;
    atomic_uint_fast64_t job;
} s_beat_t;

typedef struct _s_self_t s_self_t;

struct _ps_work_t {
    s_self_t *self;
    uint64_t id;
    uint8_t kind;
    uint8_t flags;
    zmsg_t *payload;             //  frames after the envelope; owned
    ps_http_request_t *request;  //  decoded on demand
    bool request_tried;
    bool cancelled;       //  a CANCEL for this id arrived
    bool answered;        //  forwarded or replied
    const char *failure;  //  why no answer was sent, for the 500 body
};

struct _s_self_t {
    zsock_t *pipe;
    zsock_t *upstream;    //  DEALER to our proxy
    zsock_t *downstream;  //  PUSH to the next proxy, or NULL
    zsock_t *loopback;    //  PUSH to the server
    zsock_t *interrupt;   //  SUB from the server
    void *pipe_h;         //  raw handles
    void *upstream_h;
    void *downstream_h;
    void *loopback_h;
    void *interrupt_h;
    int pipe_fd;  //  ZMQ_FDs of the sockets we read, for poll(2)
    int upstream_fd;
    int interrupt_fd;
    bool pipe_clean;  //  drained to EAGAIN since the last operation on it
    bool upstream_clean;
    bool interrupt_clean;
    ps_work_fn *work_fn;
    void *work_arg;
    ps_cleanup_fn *cleanup;
    zframe_t *heartbeat;    //  sent with every READY, or NULL
    int hwm;                //  for recreating the job DEALER
    size_t credit;          //  jobs the proxy may give us at once, >= 1
    s_beat_t beat;          //  routing id and busy state, shared with the beater
    zactor_t *beater;       //  busy beats, or NULL when beats are off
    int heartbeat_ms;       //  0: no beats
    int expiry_ms;          //  0: never reconnect
    int64_t next_beat;      //  idle beat due
    int64_t last_heard;     //  last word from the proxy (or end of a job)
    bool heard;             //  a message came since last_heard was set
    int send_timeout;       //  ms
    int64_t stop_deadline;  //  after "$TERM", every send together ends by then
    bool verbose;
    bool upstream_version_warned;  //  said that a peer speaks another version
    bool interrupt_version_warned;
    bool terminated;

    uint64_t cancel_ring[S_CANCEL_RING];
    size_t cancel_next;   //  next slot to overwrite
    size_t cancel_count;  //  slots in use

    ps_work_t work;  //  the job in hand; reused, so a job costs no allocation of ours
    bool busy;       //  work is valid
};

//  The object returned by ps_worker_new: the actor plus private copies.
struct _ps_worker_t {
    zactor_t *actor;
    ps_worker_config_t config;
    char *upstream;
    char *downstream;
    char *loopback;
    char *interrupt;
    void *heartbeat;
    int status;  //  written by the actor before its start signal
};

typedef struct {
    const ps_worker_config_t *config;
    int *status;
} s_start_t;

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

//  Read the CANCELs already queued on the SUB socket, without blocking.
static void
s_drain_interrupts (s_self_t *self)
{
    for (int count = 0; count < S_CANCEL_BATCH; count++) {
        zmsg_t *msg = zmsg_recv (self->interrupt_h);
        if (!msg) {
            self->interrupt_clean = errno == EAGAIN;
            return;
        }
        zframe_t *frame = zmsg_first (msg);
        ps_envelope_t envelope;
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
}

//  Commands on the pipe; only "$TERM" is known.
static void
s_handle_pipe (s_self_t *self)
{
    zmsg_t *msg;
    while (!self->terminated && (msg = zmsg_recv (self->pipe_h))) {
        char *command = zmsg_popstr (msg);
        if (command && streq (command, "$TERM")) {
            self->terminated = true;
            self->stop_deadline = zclock_mono () + self->send_timeout;
        }
        else
            zsys_warning ("ps_worker: unknown pipe command '%s'", command ? command : "");
        zstr_free (&command);
        zmsg_destroy (&msg);
    }
    if (!self->terminated) {
        if (errno == EAGAIN)
            self->pipe_clean = true;
        else if (errno != EINTR) {
            self->terminated = true;  //  context gone
            self->stop_deadline = zclock_mono ();
        }
    }
}

//  True if handle has input, asking it (ZMQ_EVENTS) without blocking.
static bool
s_readable (void *handle)
{
    int events = 0;
    size_t size = sizeof (events);
    if (zmq_getsockopt (handle, ZMQ_EVENTS, &events, &size) == -1)
        return false;
    return (events & ZMQ_POLLIN) != 0;
}

//  --------------------------------------------------------------------------
//  Sends

//  Once stopping, the sends still to come (the answer for the job in hand)
//  share one send timeout, so a stop never waits longer than that in all.
static void
s_before_send (s_self_t *self, void *handle)
{
    if (self->terminated) {
        int64_t remaining = self->stop_deadline - zclock_mono ();
        int timeout = remaining > 0 ? (int) remaining : 0;
        zmq_setsockopt (handle, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    }
}

//  [envelope type=RESULT][headers][body] to the loopback.
static int
s_send_result (s_self_t *self, int status, zframe_t *headers, const void *body, size_t body_size)
{
    ps_work_t *work = &self->work;
    ps_envelope_t envelope = {.type = PS_MSG_RESULT,
                              .flags = work->flags,
                              .kind = work->kind,
                              .status = (uint16_t) status,
                              .id = work->id};
    zframe_t *envelope_frame = ps_envelope_encode (&envelope);
    zframe_t *body_frame = zframe_new (body, body_size);
    if (!headers)
        headers = zframe_new_empty ();
    s_before_send (self, self->loopback_h);
    int rc = zframe_send (&envelope_frame, self->loopback_h, ZFRAME_MORE);
    //  PUSH queues the rest of a message once its first frame is in.
    if (rc == 0)
        rc = zframe_send (&headers, self->loopback_h, ZFRAME_MORE);
    if (rc == 0)
        rc = zframe_send (&body_frame, self->loopback_h, 0);
    if (rc != 0 && self->verbose)
        zsys_warning ("ps_worker: result %" PRIu64 " not sent to loopback: %s", work->id,
                      zmq_strerror (errno));
    zframe_destroy (&envelope_frame);
    zframe_destroy (&headers);
    zframe_destroy (&body_frame);
    return rc == 0 ? 0 : -1;
}

static void
s_send_ready (s_self_t *self)
{
    //  A send may swallow the signal of a job now waiting on the socket.
    self->upstream_clean = false;
    //  The proxy keeps our credit's worth of jobs with us, and counts one
    //  done per READY.
    ps_envelope_t envelope = {.type = PS_MSG_READY, .credit = (uint16_t) self->credit};
    zframe_t *envelope_frame = ps_envelope_encode (&envelope);
    int rc = zframe_send (&envelope_frame, self->upstream_h, self->heartbeat ? ZFRAME_MORE : 0);
    if (rc == 0 && self->heartbeat)
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
    self->upstream_clean = false;
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
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return NULL;
    zsock_set_sndhwm (sock, S_BEAT_HWM);
    zsock_set_rcvhwm (sock, S_BEAT_HWM);  //  the proxy never writes to it
    zsock_set_linger (sock, 0);
    zsock_set_ipv6 (sock, 1);
    if (zsock_connect (sock, "%s", beat->endpoint) == -1)
        zsock_destroy (&sock);
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
                zsock_destroy (&sock);
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
    zsock_destroy (&sock);
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
    return work->payload;
}

const ps_http_request_t *
ps_work_request (ps_work_t *work)
{
    assert (work);
    if (!work->request_tried && work->kind == PS_KIND_HTTP) {
        work->request_tried = true;
        work->request = ps_http_request_decode (work->payload);
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
    if (!work->cancelled && !self->terminated) {
        //  ZMQ_EVENTS first: a receive on an empty socket costs more. Both
        //  sockets are left for the main loop to drain again afterwards.
        if (s_readable (self->pipe_h))
            s_handle_pipe (self);
        self->pipe_clean = false;
        if (s_readable (self->interrupt_h))
            s_drain_interrupts (self);
        self->interrupt_clean = false;
    }
    return work->cancelled || self->terminated;
}

int
ps_work_forward (ps_work_t *work, zmsg_t **frames_p)
{
    assert (work);
    assert (frames_p);
    s_self_t *self = work->self;
    zmsg_t *frames = *frames_p;
    *frames_p = NULL;
    if (work->answered) {
        zsys_error ("ps_worker: job %" PRIu64 " already answered; forward ignored", work->id);
        zmsg_destroy (&frames);
        return -1;
    }
    if (!self->downstream) {
        work->failure = "no next stage to forward to";
        zmsg_destroy (&frames);
        return -1;
    }
    ps_envelope_t envelope = {
        .type = PS_MSG_JOB, .flags = work->flags, .kind = PS_KIND_STAGE, .id = work->id};
    zframe_t *envelope_frame = ps_envelope_encode (&envelope);
    bool more = frames && zmsg_size (frames) > 0;
    s_before_send (self, self->downstream_h);
    int rc = zframe_send (&envelope_frame, self->downstream_h, more ? ZFRAME_MORE : 0);
    if (rc == 0 && more)
        rc = zmsg_send (&frames, self->downstream_h);
    zframe_destroy (&envelope_frame);
    zmsg_destroy (&frames);
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
ps_work_reply (ps_work_t *work, int status, ps_pairs_t **headers_p, const void *body,
               size_t body_size)
{
    assert (work);
    assert (status >= 100 && status <= 999);
    assert (body || body_size == 0);
    zframe_t *headers = NULL;
    if (headers_p && *headers_p) {
        headers = ps_pairs_encode (*headers_p);
        ps_pairs_destroy (headers_p);
    }
    if (work->answered) {
        zsys_error ("ps_worker: job %" PRIu64 " already answered; reply ignored", work->id);
        zframe_destroy (&headers);
        return -1;
    }
    if (s_send_result (work->self, status, headers, body, body_size) == -1) {
        work->failure = "loopback unreachable";
        return -1;
    }
    work->answered = true;
    return 0;
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

static void
s_handle_job (s_self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->upstream_h);
    if (!msg) {
        self->upstream_clean = errno == EAGAIN;
        return;
    }
    //  Any message is a word from the proxy; the time is taken by the loop,
    //  so a job costs no clock read here.
    self->heard = true;
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
        s_send_ready (self);
        return;
    }
    zframe_destroy (&envelope_frame);

    ps_work_t *work = &self->work;
    memset (work, 0, sizeof (*work));
    work->self = self;
    work->id = envelope.id;
    work->kind = envelope.kind;
    work->flags = envelope.flags;
    work->payload = msg;
    self->busy = true;

    //  A CANCEL may have overtaken its job: the server has answered already
    //  and drops any result, so do not spend time on it. (The main loop
    //  drains the SUB before reading a job whenever it has news.)
    if (!self->interrupt_clean)
        s_drain_interrupts (self);
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
        if (!work->answered && !work->cancelled) {
            //  Never leave the client without an answer; a cancelled job
            //  needs none (the server answered it and drops results).
            int status = self->terminated ? 503 : 500;
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
    self->busy = false;
    if (!self->terminated)
        s_send_ready (self);
}

//  A socket with our options; id, if given, is its routing id.
static zsock_t *
s_socket_new (s_self_t *self, int type, const char *name, const byte *id)
{
    zsock_t *sock = zsock_new (type);
    if (!sock) {
        zsys_error ("ps_worker: cannot create %s socket", name);
        return NULL;
    }
    zsock_set_sndhwm (sock, self->hwm);
    zsock_set_rcvhwm (sock, self->hwm);
    zsock_set_sndtimeo (sock, self->send_timeout);
    if (id)
        zmq_setsockopt (zsock_resolve (sock), ZMQ_ROUTING_ID, id, S_ID_SIZE);
    zsock_set_linger (sock, S_LINGER_MS);
    zsock_set_rcvtimeo (sock, 0);  //  we only read what is there
    zsock_set_ipv6 (sock, 1);
    if (type == ZMQ_SUB)
        zsock_set_subscribe (sock, "");
    //  A PUSH queues for a peer that is not there (not yet connected, or
    //  gone and being reconnected), so a job or an answer would vanish
    //  quietly; with IMMEDIATE the send times out and the client is told.
    //  The DEALER keeps queueing: its READY must reach a proxy that starts
    //  late.
    if (type == ZMQ_PUSH)
        zsock_set_immediate (sock, 1);
    return sock;
}

//  A socket connected to endpoint; id, if given, is its routing id.
static zsock_t *
s_socket_connect (s_self_t *self, int type, const char *name, const char *endpoint, const byte *id)
{
    zsock_t *sock = s_socket_new (self, type, name, id);
    if (sock && zsock_connect (sock, "%s", endpoint) == -1) {
        zsys_error ("ps_worker: cannot connect %s to %s: %s", name, endpoint, zmq_strerror (errno));
        zsock_destroy (&sock);
    }
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
    zsock_destroy (&self->upstream);
    self->upstream = s_socket_new (self, ZMQ_DEALER, "upstream", self->beat.id);
    assert (self->upstream);  //  only a terminated context refuses a socket
    if (zsock_connect (self->upstream, "%s", self->beat.endpoint) == -1)
        //  It connected before, so only a name that no longer resolves:
        //  the next expiry tries again
        zsys_warning ("ps_worker: cannot reconnect to %s: %s", self->beat.endpoint,
                      zmq_strerror (errno));
    self->upstream_h = zsock_resolve (self->upstream);
    self->upstream_fd = zsock_fd (self->upstream);
    self->upstream_clean = false;
    s_send_beat (self);
    if (self->beater)
        zstr_send (self->beater, "RECONNECT");
}

static void
s_self_destroy (s_self_t **self_p)
{
    assert (self_p);
    s_self_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->beater);
        free (self->beat.endpoint);
        zframe_destroy (&self->heartbeat);
        zsock_destroy (&self->upstream);
        zsock_destroy (&self->downstream);
        zsock_destroy (&self->loopback);
        zsock_destroy (&self->interrupt);
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
    self->pipe_h = zsock_resolve (pipe);
    self->work_fn = config->work;
    self->work_arg = config->work_arg;
    self->cleanup = config->cleanup;
    self->verbose = config->verbose;
    self->send_timeout = config->send_timeout_ms >= 0 ? config->send_timeout_ms : 1000;
    self->hwm = config->hwm > 0 ? config->hwm : 10000;
    self->credit = config->credit > 0 ? config->credit : 1;
    if (config->heartbeat)
        self->heartbeat = zframe_new (config->heartbeat, config->heartbeat_size);
    self->heartbeat_ms = MAX (config->heartbeat_ms, 0);
    self->expiry_ms = self->heartbeat_ms > 0 ? MAX (config->expiry_ms, 0) : 0;

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
    self->beat.interval = self->heartbeat_ms;
    atomic_init (&self->beat.busy, false);
    atomic_init (&self->beat.job, 0);

    //  The SUB first, so it is subscribed as early as possible.
    self->interrupt = s_socket_connect (self, ZMQ_SUB, "interrupt", config->interrupt, NULL);
    if (self->interrupt)
        self->loopback = s_socket_connect (self, ZMQ_PUSH, "loopback", config->loopback, NULL);
    if (self->loopback && config->downstream)
        self->downstream = s_socket_connect (self, ZMQ_PUSH, "downstream", config->downstream,
                                             NULL);
    if (self->loopback && (self->downstream || !config->downstream))
        self->upstream = s_socket_connect (self, ZMQ_DEALER, "upstream", config->upstream,
                                           self->beat.id);
    if (self->upstream && self->heartbeat_ms > 0) {
        self->beater = zactor_new (s_beater, &self->beat);
        assert (self->beater);
    }
    if (!self->upstream) {
        s_self_destroy (&self);
        return NULL;
    }
    self->upstream_h = zsock_resolve (self->upstream);
    self->downstream_h = self->downstream ? zsock_resolve (self->downstream) : NULL;
    self->loopback_h = zsock_resolve (self->loopback);
    self->interrupt_h = zsock_resolve (self->interrupt);
    zsock_set_rcvtimeo (pipe, 0);
    self->pipe_fd = zsock_fd (pipe);
    self->upstream_fd = zsock_fd (self->upstream);
    self->interrupt_fd = zsock_fd (self->interrupt);
    return self;
}

static void
s_run (zsock_t *pipe, const ps_worker_config_t *config, int *status)
{
    s_self_t *self = s_self_new (pipe, config);
    if (status)
        *status = self ? 0 : -1;
    if (!self) {
        zsock_signal (pipe, (byte) -1);
        return;
    }
    zsock_signal (pipe, 0);
    s_send_ready (self);
    //  A first beat at once tells the proxy that we beat, so it may expire
    //  us if we fall silent.
    if (self->heartbeat_ms > 0)
        s_send_beat (self);
    self->last_heard = zclock_mono ();
    self->next_beat = self->last_heard + self->heartbeat_ms;

    int busy_rounds = 0;
    int64_t last_look = zclock_mono ();
    while (!self->terminated) {
        if (!self->pipe_clean)
            s_handle_pipe (self);
        if (self->terminated)
            break;
        //  Cancels before jobs, so a job whose CANCEL overtook it is skipped;
        //  reading them while idle also keeps the SUB queue short.
        if (!self->interrupt_clean)
            s_drain_interrupts (self);
        if (!self->upstream_clean)
            s_handle_job (self);

        //  Block only when every socket is drained. While busy, go on, and
        //  only now and then look (timeout 0) which fds have news.
        bool clean = self->pipe_clean && self->interrupt_clean && self->upstream_clean;
        if (!clean && ++busy_rounds < S_BUSY_ROUNDS && zclock_mono () - last_look < S_BUSY_LOOK_MS)
            continue;
        busy_rounds = 0;
        last_look = zclock_mono ();
        int timeout = clean ? -1 : 0;
        if (self->heartbeat_ms > 0) {
            int64_t now = last_look;
            if (self->heard) {
                self->heard = false;
                self->last_heard = now;
            }
            if (now >= self->next_beat) {
                s_send_beat (self);
                self->next_beat = now + self->heartbeat_ms;
                continue;  //  the send may have swallowed an input signal
            }
            if (self->expiry_ms > 0 && now - self->last_heard >= self->expiry_ms) {
                //  A last look: a PING that came since the poll saves a
                //  reconnection (and the proxy the sight of us leaving it)
                if (zsock_events (self->upstream) & ZMQ_POLLIN) {
                    self->upstream_clean = false;
                    continue;
                }
                s_reconnect (self);
                self->last_heard = now;
                continue;
            }
            if (clean) {
                int64_t deadline = self->next_beat;
                if (self->expiry_ms > 0)
                    deadline = MIN (deadline, self->last_heard + self->expiry_ms);
                timeout = (int) (deadline - now);
            }
        }
        struct pollfd fds[3] = {{self->pipe_fd, POLLIN, 0},
                                {self->interrupt_fd, POLLIN, 0},
                                {self->upstream_fd, POLLIN, 0}};
        int rc = poll (fds, 3, timeout);
        if (rc == -1 && errno != EINTR) {
            zsys_error ("ps_worker: poll failed: %s", strerror (errno));
            break;
        }
        if (rc > 0) {
            if (fds[0].revents)
                self->pipe_clean = false;
            if (fds[1].revents)
                self->interrupt_clean = false;
            if (fds[2].revents)
                self->upstream_clean = false;
        }
    }
    s_self_destroy (&self);
}

void
ps_worker_actor (zsock_t *pipe, void *config)
{
    assert (pipe);
    assert (config);
    s_run (pipe, (const ps_worker_config_t *) config, NULL);
}

static void
s_actor_from_new (zsock_t *pipe, void *args)
{
    s_start_t *start = (s_start_t *) args;
    s_run (pipe, start->config, start->status);
}

//  --------------------------------------------------------------------------
//  Public object

static char *
s_strdup (const char *string)
{
    return string ? strdup (string) : NULL;
}

ps_worker_t *
ps_worker_new (const ps_worker_config_t *config)
{
    assert (config);
    assert (config->work);
    ps_worker_t *self = (ps_worker_t *) zmalloc (sizeof (ps_worker_t));
    assert (self);
    self->config = *config;
    self->config.upstream = self->upstream = s_strdup (config->upstream);
    self->config.downstream = self->downstream = s_strdup (config->downstream);
    self->config.loopback = self->loopback = s_strdup (config->loopback);
    self->config.interrupt = self->interrupt = s_strdup (config->interrupt);
    if (config->heartbeat) {
        self->heartbeat = malloc (config->heartbeat_size ? config->heartbeat_size : 1);
        assert (self->heartbeat);
        memcpy (self->heartbeat, config->heartbeat, config->heartbeat_size);
        self->config.heartbeat = self->heartbeat;
    }
    self->status = -1;

    //  zactor_new swallows the start signal's value, so the actor also
    //  writes it here; the signal orders that write before our read.
    s_start_t start = {&self->config, &self->status};
    self->actor = zactor_new (s_actor_from_new, &start);
    if (!self->actor || self->status != 0)
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
        free (self->upstream);
        free (self->downstream);
        free (self->loopback);
        free (self->interrupt);
        free (self->heartbeat);
        free (self);
        *self_p = NULL;
    }
}
