/*  ps_proxy: the load balancer between two pipeline stages.

    Jobs come in on a bound PULL (upstream) from the server or from the
    previous stage's workers; workers connect DEALERs to a bound ROUTER
    (downstream) and announce themselves with READY. The proxy keeps every
    known worker in a table keyed by its routing id, and the idle ones in an
    intrusive FIFO (longest idle first), so the hot path allocates nothing of
    its own: job frames are moved from one socket to the other.

    Upstream is only polled while a worker is idle and no job is held, so
    when every worker is busy jobs wait in the bounded zmq queues and the
    senders feel the back-pressure. At most one job is held by the proxy
    itself: the one the chooser declined, or the one whose idle workers all
    turned out unreachable. It is offered again whenever a worker joins the
    idle FIFO.

    Credit: a worker's READY carries, in a field of its own, how many jobs it may
    hold at once (0: 1). The table remembers the ids of the jobs each worker
    holds, oldest first; a READY answers the oldest, and a worker stays in
    the idle FIFO (going to its back after each job) while it holds fewer
    than its credit. Workers that hold nothing come first in that FIFO, so
    a job queues at a busy worker only when none is free. With credit 1 a
    worker is idle exactly when it holds no job.

    A job queued at a worker whose job in hand turned out long (a streamed
    answer, or ps_work_return_queued) comes back unstarted as a RETURN;
    that worker then counts as busy until its next READY, and the job goes
    to another worker before any new one (the returned list, beside the
    held job).

    Liveness: the table also remembers busy workers and the jobs each holds.
    Workers that beat (BEAT messages: idle beats from their job socket,
    busy beats naming them from a second socket) and then fall
    silent for expiry_ms are dropped; every job such a worker held is
    reported to the server's loopback as a RESULT 502 with PS_FLAG_LOST.
    Workers that never beat (written before beats existed) are never
    expired. Idle beats are answered with a PING, so workers can tell a
    dead or restarted proxy. The scan for silent workers runs every
    heartbeat_ms or so, off the hot path, which only notes the time of a
    READY.

    The loop is ps_loop (edge-triggered poll(2) on the ZMQ_FDs): every send
    on the ROUTER marks it dirty there, since a send may swallow the signal
    of a READY now waiting; upstream has a gate (read only while a job could
    leave at once) and the scan for silent workers is the loop's timer.

    One file over 800 lines on purpose: the worker table, the idle FIFO
    (with its free part), the jobs each worker holds and liveness are one
    state machine whose invariant (a worker is idle exactly when it may take
    a job and is reachable) every function here keeps; split, each half would
    reach into the other's state.
*/
#include "prime_server/prime_server.h"
#include "ps_actor.h"
#include "ps_dispatch.h"
#include "ps_envelope_private.h"
#include "ps_loop.h"
#include "ps_metrics.h"
#include "ps_proxy_private.h"
#include "ps_socket.h"
#include <errno.h>
#include <inttypes.h>
#include <string.h>

//  How many messages one socket may hand us per wake-up before the others get
//  a turn; keeps a flood on one side from starving the other and the pipe.
#define S_BATCH 256
//  Linger of the loopback PUSH: a last lost-job report may still leave
#define S_LINGER_MS 200

//  A job a worker holds: enough to report it lost
typedef struct {
    uint64_t id;
    uint8_t flags;  //  its envelope flags and kind
    uint8_t kind;
} s_job_t;

//  A worker may announce at most this credit (READY's credit field); more is
//  taken as this much
#define S_MAX_CREDIT 1024

typedef struct _s_worker_t s_worker_t;
struct _s_worker_t {
    zframe_t *identity;   //  ROUTER routing id; also the table key
    zframe_t *heartbeat;  //  last application heartbeat, or NULL
    int64_t last_seen;    //  zclock_mono of its last message
    zlistx_t *jobs;       //  s_job_t: the jobs it holds (given and not yet answered
                          //  by a READY), oldest first
    size_t credit;        //  jobs it may hold at once (announced in READY), >= 1
    int64_t job_since;    //  since when the oldest held job is its oldest
    bool busy;            //  said BUSY in a READY: no job until its next READY
    bool beats;           //  sent a BEAT: subject to expiry
    bool unreachable;     //  a send failed; it beats, so its next beat brings it back
    bool idle;            //  in the idle FIFO: fewer jobs than credit, not busy, reachable
    bool idle_free;       //  ... in its front part, for workers that hold no job
    s_worker_t *prev;     //  idle FIFO links, valid while idle
    s_worker_t *next;
    s_worker_t *silent_next;  //  list of the silent, built by the scan
};

typedef struct {
    zsock_t *pipe;
    zsock_t *upstream;    //  PULL, bound
    zsock_t *downstream;  //  ROUTER, bound
    zsock_t *loopback;    //  PUSH to the server's loopback, or NULL
    void *loopback_h;     //  raw handles
    void *upstream_h;
    void *downstream_h;
    ps_loop_t *loop;
    int downstream_id;     //  in the loop
    ps_dispatch_t *local;  //  workers of this process (config.local), or NULL
    ps_proxy_choose_fn *choose;
    void *choose_arg;
    bool verbose;
    bool upstream_version_warned;  //  said that a peer speaks another version
    bool downstream_version_warned;

    zhashx_t *workers;      //  identity frame -> s_worker_t, all known workers
    s_worker_t *idle_head;  //  longest idle
    s_worker_t *idle_tail;
    s_worker_t *free_tail;  //  the last idle worker that holds no job, or NULL
    size_t idle_count;
    ps_proxy_stats_t stats;  //  the counters; sizes are filled in when asked
    ps_curve_keys_t *keys;   //  NULL: plaintext

    zframe_t *held_envelope;  //  the job waiting for a worker, or NULL
    zmsg_t *held_payload;
    ps_envelope_t held;  //  its envelope, decoded
    zlistx_t *returned;  //  zmsg_t [envelope JOB][payload...]: jobs workers gave
                         //  back, to go before any new one, oldest first

    int heartbeat_ms;  //  scan period for silent workers
    int expiry_ms;     //  0: never expire
    int64_t next_scan;
    int64_t now;  //  zclock_mono at the last wake-up or READY: a clock for the hot path
    char *stage;  //  name in the server's metrics, or NULL: no reports
    int report_ms;
    int64_t next_report;

    //  Scratch arrays handed to the chooser, grown on demand, never shrunk
    zframe_t **choose_heartbeats;
    s_worker_t **choose_workers;
    size_t choose_capacity;
    char *loopback_endpoint;  //  for s_renew_refused_loopback
    int hwm;                  //  of every socket
} self_t;

//  The object returned by ps_proxy_new: the actor and what it reported at
//  start (ps_actor.h).
struct _ps_proxy_t {
    zactor_t *actor;
    char *bound[2];  //  upstream, downstream
};

void
ps_proxy_config_defaults (ps_proxy_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof (*config));
    config->hwm = 10000;
    config->heartbeat_ms = 1000;
    config->expiry_ms = 3000;
}

//  --------------------------------------------------------------------------
//  Worker table: identities are binary, so hash and compare frame bytes.

static size_t
s_identity_hash (const void *key)
{
    zframe_t *frame = (zframe_t *) key;
    const byte *data = zframe_data (frame);
    size_t size = zframe_size (frame);
    uint64_t hash = 14695981039346656037ULL;  //  FNV-1a
    for (size_t i = 0; i < size; i++) {
        hash ^= data[i];
        hash *= 1099511628211ULL;
    }
    return (size_t) hash;
}

static int
s_identity_compare (const void *a, const void *b)
{
    return zframe_eq ((zframe_t *) a, (zframe_t *) b) ? 0 : 1;
}

static void
s_job_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_msg_destroy (void **item_p)
{
    zmsg_destroy ((zmsg_t **) item_p);
}

static void
s_worker_destroy (void **item_p)
{
    s_worker_t *worker = (s_worker_t *) *item_p;
    if (worker) {
        zframe_destroy (&worker->identity);
        zframe_destroy (&worker->heartbeat);
        zlistx_destroy (&worker->jobs);
        free (worker);
        *item_p = NULL;
    }
}

//  The idle FIFO has two parts: first the workers that hold no job,
//  longest idle first, then those that hold some but fewer than their
//  credit, in turn. A job goes to a worker with nothing to do while there
//  is one, so it waits behind another job only when every worker is busy.
static void
s_idle_append (self_t *self, s_worker_t *worker)
{
    assert (!worker->idle);
    worker->idle = true;
    worker->idle_free = zlistx_size (worker->jobs) == 0;
    //  A free worker goes after the last free one, any other at the end.
    s_worker_t *prev = worker->idle_free ? self->free_tail : self->idle_tail;
    s_worker_t *next = prev ? prev->next : self->idle_head;
    worker->prev = prev;
    worker->next = next;
    if (prev)
        prev->next = worker;
    else
        self->idle_head = worker;
    if (next)
        next->prev = worker;
    else
        self->idle_tail = worker;
    if (worker->idle_free)
        self->free_tail = worker;
    self->idle_count++;
}

static void
s_idle_remove (self_t *self, s_worker_t *worker)
{
    assert (worker->idle);
    if (worker == self->free_tail)
        self->free_tail = worker->prev;  //  free too, or NULL
    if (worker->prev)
        worker->prev->next = worker->next;
    else
        self->idle_head = worker->next;
    if (worker->next)
        worker->next->prev = worker->prev;
    else
        self->idle_tail = worker->prev;
    worker->prev = worker->next = NULL;
    worker->idle = false;
    self->idle_count--;
}

static void
s_log_worker (self_t *self, s_worker_t *worker, const char *what)
{
    if (self->verbose) {
        char *hex = zframe_strhex (worker->identity);
        zsys_info ("ps_proxy: worker %s %s (%zu known, %zu idle)", hex, what,
                   zhashx_size (self->workers), self->idle_count);
        free (hex);
    }
}

//  The job a lost worker held will never be answered by it: tell the
//  server, which retries or answers 502 at once instead of at its timeout.
//  [envelope RESULT status=502 flags=LOST|job's][headers: none][body]
static void
s_report_lost (self_t *self, const s_job_t *job)
{
    self->stats.lost++;
    zsys_warning ("ps_proxy: job %" PRIu64 " lost with its worker%s", job->id,
                  self->loopback ? "" : " (no loopback to report it to)");
    if (!self->loopback)
        return;
    ps_envelope_t envelope = {.type = PS_MSG_RESULT,
                              .flags = (uint8_t) (job->flags | PS_FLAG_LOST),
                              .kind = job->kind,
                              .status = 502,
                              .id = job->id};
    zframe_t *head = ps_envelope_encode (&envelope);
    static const char body[] = "worker lost\n";
    //  Never block the proxy: a report that does not fit is only logged.
    //  Once the first part is in, PUSH takes the rest of the message.
    int rc = zmq_send (self->loopback_h, zframe_data (head), zframe_size (head),
                       ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc != -1)
        rc = zmq_send (self->loopback_h, "", 0, ZMQ_SNDMORE);
    if (rc != -1)
        rc = zmq_send (self->loopback_h, body, sizeof body - 1, 0);
    if (rc == -1)
        zsys_warning ("ps_proxy: could not report lost job %" PRIu64 ": %s", job->id,
                      zmq_strerror (errno));
    zframe_destroy (&head);
}

//  Held jobs. Workers do their jobs in order and send one READY after
//  each, so a READY answers the oldest.
static void
s_jobs_push (self_t *self, s_worker_t *worker, const ps_envelope_t *envelope)
{
    s_job_t *job = (s_job_t *) malloc (sizeof (s_job_t));
    assert (job);
    job->id = envelope->id;
    job->flags = envelope->flags;
    job->kind = envelope->kind;
    zlistx_add_end (worker->jobs, job);
    if (zlistx_size (worker->jobs) == 1)
        worker->job_since = self->now;
}

static void
s_jobs_pop (self_t *self, s_worker_t *worker, int64_t now)
{
    (void) self;
    s_job_t *job = (s_job_t *) zlistx_detach (worker->jobs, NULL);
    if (!job)
        return;
    free (job);
    //  The next one is the worker's oldest only from now on: it may have
    //  waited behind the one just done for any time.
    worker->job_since = now;
}

//  Report every job the worker holds as lost and forget them.
static void
s_jobs_lost (self_t *self, s_worker_t *worker)
{
    for (s_job_t *job = (s_job_t *) zlistx_first (worker->jobs); job;
         job = (s_job_t *) zlistx_next (worker->jobs))
        s_report_lost (self, job);
    zlistx_purge (worker->jobs);
}

//  Put the worker in the idle FIFO (at the back) if it may take a job, or
//  take it out if not.
static void
s_idle_update (self_t *self, s_worker_t *worker)
{
    size_t jobs = zlistx_size (worker->jobs);
    bool free_slot = !worker->busy && !worker->unreachable && jobs < worker->credit;
    //  Leaving, or moving between the parts of the FIFO (it has just
    //  finished its last job): out first.
    if (worker->idle && (!free_slot || worker->idle_free != (jobs == 0)))
        s_idle_remove (self, worker);
    if (free_slot && !worker->idle)
        s_idle_append (self, worker);
}

//  Forget a worker for good (unreachable or silent), reporting the jobs it
//  held; frees it.
static void
s_worker_drop (self_t *self, s_worker_t *worker, const char *why)
{
    if (worker->idle)
        s_idle_remove (self, worker);
    s_jobs_lost (self, worker);
    self->stats.dropped++;
    s_log_worker (self, worker, why);
    //  The key is the worker's own identity frame: look it up before the
    //  item destructor frees it.
    zhashx_delete (self->workers, worker->identity);
}

//  A worker we cannot reach now (its connection is gone). One that beats
//  may be between two connections: it gives a silent proxy up and connects
//  anew after its expiry, and a proxy that comes back just then can hear it
//  on the old connection first. So it only leaves the idle FIFO, and its
//  next beat (on the new connection) brings it back; if none comes, its
//  expiry drops it and reports its jobs. One that never beats would never
//  come back by itself: forgotten now.
static void
s_worker_unreachable (self_t *self, s_worker_t *worker)
{
    if (worker->beats && self->expiry_ms > 0) {
        worker->unreachable = true;
        self->stats.unreachable++;
        s_idle_update (self, worker);
        s_log_worker (self, worker, "unreachable, set aside until its next beat");
    }
    else
        s_worker_drop (self, worker, "unreachable, dropped");
}

//  --------------------------------------------------------------------------
//  Actor state

static void
s_self_destroy (self_t **self_p)
{
    assert (self_p);
    self_t *self = *self_p;
    if (self) {
        ps_loop_destroy (&self->loop);
        zhashx_destroy (&self->workers);
        zframe_destroy (&self->held_envelope);
        zmsg_destroy (&self->held_payload);
        zlistx_destroy (&self->returned);
        free (self->choose_heartbeats);
        free (self->choose_workers);
        ps_socket_destroy (&self->upstream);
        ps_socket_destroy (&self->downstream);
        ps_socket_destroy (&self->loopback);
        ps_dispatch_destroy (&self->local);
        ps_curve_keys_destroy (&self->keys);
        free (self->stage);
        free (self->loopback_endpoint);
        free (self);
        *self_p = NULL;
    }
}

//  Jobs still queued at shutdown are answered by the server's drain, so
//  there is no point lingering on them.
static zsock_t *
s_socket_bind (int type, const char *role, const char *endpoint, int hwm, ps_curve_keys_t *keys)
{
    zsock_t *sock = ps_socket_new (type, &(ps_socket_options_t){hwm, 0, -1, keys}, "ps_proxy",
                                   role);
    if (sock && type == ZMQ_ROUTER) {
        zsock_set_router_mandatory (sock, 1);
        //  Workers name themselves (ZMQ_ROUTING_ID): when one reconnects
        //  (after a network hiccup, or to re-register) its new connection
        //  replaces the old one instead of being refused while the old is
        //  still around.
        zsock_set_router_handover (sock, 1);
    }
    //  A list binds each endpoint, the first last: libzmq reports the last
    //  bound (a wildcard port as the kernel's pick), and the first is the
    //  one ps_proxy_upstream_endpoint and the like report.
    char *list = strdup (endpoint);
    assert (list);
    for (char *comma = strrchr (list, ','); sock; comma = strrchr (list, ',')) {
        const char *item = comma ? comma + 1 : list;
        if (ps_socket_attach (sock, true, item, "ps_proxy", role) != 0)
            ps_socket_destroy (&sock);
        if (!comma)
            break;
        *comma = '\0';
    }
    free (list);
    return sock;
}

//  The PUSH to the server's loopback, for lost-job and stage reports; a
//  last report may still leave at close. Returns 0, or -1 (logged).
static ps_socket_options_t
s_loopback_options (self_t *self)
{
    return (ps_socket_options_t){self->hwm, S_LINGER_MS, -1, self->keys};
}

static int
s_loopback_connect (self_t *self, const char *endpoint)
{
    ps_socket_options_t options = s_loopback_options (self);
    zsock_t *sock = ps_socket_new (ZMQ_PUSH, &options, "ps_proxy", "loopback");
    if (sock && ps_socket_attach (sock, false, endpoint, "ps_proxy", "loopback") != 0)
        ps_socket_destroy (&sock);
    if (!sock)
        return -1;
    self->loopback = sock;
    self->loopback_h = zsock_resolve (sock);
    self->loopback_endpoint = strdup (endpoint);
    assert (self->loopback_endpoint);
    return 0;
}

//  The dispatch through which this process's workers take jobs from us
//  (ps_dispatch.h), under config->local. Returns 0, or -1 (logged).
static int
s_local_new (self_t *self, const ps_proxy_config_t *config)
{
    char *feed = zsys_sprintf ("%s-feed", config->local);
    self->local = ps_dispatch_new (feed, config->local, (size_t) self->hwm, NULL, NULL);
    zstr_free (&feed);
    if (!self->local) {
        zsys_error ("ps_proxy: the local endpoint %s is taken", config->local);
        return -1;
    }
    if (ps_dispatch_watch_fd (self->local) == -1) {
        zsys_error ("ps_proxy: no eventfd for the local workers: %s", strerror (errno));
        return -1;
    }
    return 0;
}

static self_t *
s_self_new (zsock_t *pipe, const ps_proxy_config_t *config)
{
    if (!config->upstream || !config->downstream) {
        zsys_error ("ps_proxy: upstream and downstream endpoints are required");
        return NULL;
    }
    //  Refused before anything is bound, so a corrected config can bind the
    //  same endpoints at once (an inproc name is freed only when libzmq
    //  has closed the socket)
    if (config->choose && config->local) {
        zsys_error ("ps_proxy: a chooser picks from the workers' heartbeats, which local workers "
                    "do not send: use a chooser or local, not both");
        return NULL;
    }
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->choose = config->choose;
    self->choose_arg = config->choose_arg;
    self->verbose = config->verbose;
    self->workers = zhashx_new ();
    assert (self->workers);
    zhashx_set_key_hasher (self->workers, s_identity_hash);
    zhashx_set_key_comparator (self->workers, s_identity_compare);
    zhashx_set_key_duplicator (self->workers, NULL);
    zhashx_set_key_destructor (self->workers, NULL);
    zhashx_set_destructor (self->workers, s_worker_destroy);
    self->returned = zlistx_new ();
    assert (self->returned);
    zlistx_set_destructor (self->returned, s_msg_destroy);

    //  A zero field means its default (ps_proxy.h); a negative interval, off
    ps_proxy_config_t defaults;
    ps_proxy_config_defaults (&defaults);
    int hwm = config->hwm > 0 ? config->hwm : defaults.hwm;
    int heartbeat_ms = config->heartbeat_ms ? config->heartbeat_ms : defaults.heartbeat_ms;
    int expiry_ms = config->expiry_ms ? config->expiry_ms : defaults.expiry_ms;

    if (config->curve.cert && !(self->keys = ps_curve_keys_new (&config->curve, "ps_proxy"))) {
        s_self_destroy (&self);
        return NULL;
    }
    self->upstream = s_socket_bind (ZMQ_PULL, "upstream", config->upstream, hwm, self->keys);
    if (self->upstream)
        self->downstream = s_socket_bind (ZMQ_ROUTER, "downstream", config->downstream, hwm,
                                          self->keys);
    self->hwm = hwm;
    if (self->downstream && config->loopback && s_loopback_connect (self, config->loopback) != 0) {
        s_self_destroy (&self);
        return NULL;
    }
    if (!self->upstream || !self->downstream || (config->local && s_local_new (self, config))) {
        s_self_destroy (&self);
        return NULL;
    }
    self->expiry_ms = heartbeat_ms > 0 && expiry_ms > 0 ? expiry_ms : 0;
    self->heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : defaults.heartbeat_ms;
    //  Scan often enough that a silent worker goes soon after its expiry
    self->heartbeat_ms = MIN (self->heartbeat_ms, MAX (self->expiry_ms / 4, 10));
    self->now = zclock_mono ();
    self->next_scan = self->now + self->heartbeat_ms;
    self->upstream_h = zsock_resolve (self->upstream);
    self->downstream_h = zsock_resolve (self->downstream);
    //  Reports go out once there is a loopback (it may come later,
    //  ps_proxy_set_loopback)
    if (config->stage) {
        self->stage = strndup (config->stage, PS_METRICS_STAGE_NAME_MAX);
        self->report_ms = config->report_ms > 0 ? config->report_ms : 1000;
        self->next_report = self->now;  //  the first at once
    }
    return self;
}

//  --------------------------------------------------------------------------
//  Dispatch

//  Send the held job to worker. Returns 0, or -1 if the worker cannot take
//  it (gone, or its queue full); then nothing of the job has left and the
//  job is still held.
static int
s_send_job (self_t *self, s_worker_t *worker)
{
    //  A send may process the socket's commands, swallowing the signal of
    //  a READY that is now waiting: the socket needs draining again.
    ps_loop_dirty (self->loop, self->downstream_id);

    //  The routing frame goes first and alone: with ROUTER_MANDATORY an
    //  unknown peer fails here (EHOSTUNREACH), a full one with EAGAIN, before
    //  any frame of the job is committed.
    if (zmq_send (self->downstream_h, zframe_data (worker->identity),
                  zframe_size (worker->identity), ZMQ_SNDMORE | ZMQ_DONTWAIT)
        == -1)
        return -1;

    //  Once the routing frame is accepted the remaining parts cannot fail
    //  on a ROUTER; check anyway so a surprise is at least logged.
    bool more = zmsg_size (self->held_payload) > 0;
    int rc = zframe_send (&self->held_envelope, self->downstream_h, more ? ZFRAME_MORE : 0);
    if (rc == 0 && more)
        rc = zmsg_send (&self->held_payload, self->downstream_h);
    if (rc != 0)
        zsys_error ("ps_proxy: job %" PRIu64 " lost while sending to a worker: %s", self->held.id,
                    zmq_strerror (errno));
    zframe_destroy (&self->held_envelope);
    zmsg_destroy (&self->held_payload);
    self->stats.jobs++;
    return 0;
}

//  Pick a worker with the chooser; NULL to keep the job waiting.
static s_worker_t *
s_choose (self_t *self)
{
    if (self->choose_capacity < self->idle_count) {
        size_t capacity = self->choose_capacity ? self->choose_capacity : 16;
        while (capacity < self->idle_count)
            capacity *= 2;
        self->choose_heartbeats = (zframe_t **) realloc (self->choose_heartbeats,
                                                         capacity * sizeof (zframe_t *));
        self->choose_workers = (s_worker_t **) realloc (self->choose_workers,
                                                        capacity * sizeof (s_worker_t *));
        assert (self->choose_heartbeats && self->choose_workers);
        self->choose_capacity = capacity;
    }
    size_t count = 0;
    for (s_worker_t *worker = self->idle_head; worker; worker = worker->next) {
        self->choose_heartbeats[count] = worker->heartbeat;
        self->choose_workers[count] = worker;
        count++;
    }
    int index = self->choose (self->held_payload, self->choose_heartbeats, count, self->choose_arg);
    if (index < 0)
        return NULL;
    if ((size_t) index >= count) {
        zsys_error ("ps_proxy: chooser returned %d for %zu idle workers; job waits", index, count);
        return NULL;
    }
    return self->choose_workers[index];
}

//  Hold the oldest job a worker gave back, if none is held. Returns true
//  if a job is held.
static bool
s_hold_returned (self_t *self)
{
    if (!self->held_envelope && zlistx_size (self->returned) > 0) {
        zmsg_t *msg = (zmsg_t *) zlistx_detach (self->returned, NULL);
        self->held_envelope = zmsg_pop (msg);
        self->held_payload = msg;
        int rc = ps_envelope_decode (self->held_envelope, &self->held);
        assert (rc == 0);  //  checked when it came back
    }
    return self->held_envelope != NULL;
}

//  Jobs are waiting for a worker: one held, or given back.
static bool
s_waiting (self_t *self)
{
    return self->held_envelope || zlistx_size (self->returned) > 0;
}

//  Whether jobs may wait for the workers of this process: only while no
//  worker of the socket is known (then a worker that finishes takes its
//  next job itself, waking nobody); else a job waits here, for whichever
//  worker is free first.
static bool
s_local_queue (self_t *self)
{
    return zhashx_size (self->workers) == 0;
}

//  Hand the held job, then those given back, to idle workers while there
//  are some.
static void
s_dispatch_held (self_t *self)
{
    while (s_hold_returned (self)) {
        //  A worker of this process first: no socket, no READY
        int rc = self->local ? ps_dispatch_hand (self->local, &self->held, &self->held_payload,
                                                 s_local_queue (self))
                             : -1;
        if (rc != -1) {
            if (rc == 0)
                self->stats.jobs++;
            else
                s_report_lost (self, &(s_job_t){self->held.id, self->held.flags, self->held.kind});
            zframe_destroy (&self->held_envelope);
            zmsg_destroy (&self->held_payload);
            continue;
        }
        if (self->idle_count == 0)
            return;
        s_worker_t *worker = self->choose ? s_choose (self) : self->idle_head;
        if (!worker)
            return;  //  the chooser wants it to wait
        if (s_send_job (self, worker) == 0) {
            //  Round robin: if it may take more, it goes to the back.
            s_idle_remove (self, worker);
            s_jobs_push (self, worker, &self->held);
            s_idle_update (self, worker);
            continue;
        }
        //  Gone, or (against protocol) not reading; the job goes to the
        //  next one.
        if (errno == EHOSTUNREACH)
            s_worker_unreachable (self, worker);
        else
            s_worker_drop (self, worker, "not accepting, dropped");
    }
}

//  --------------------------------------------------------------------------
//  Socket handlers

//  The workers we know and how many of them are idle, local ones included,
//  and how many jobs wait for a local one.
static void
s_count_workers (self_t *self, size_t *workers, size_t *idle, size_t *queued)
{
    *workers = zhashx_size (self->workers);
    *idle = self->idle_count;
    *queued = 0;
    if (self->local) {
        ps_dispatch_stats_t stats;
        ps_dispatch_stats (self->local, &stats);
        *workers += stats.workers;
        *idle += stats.idle;
        *queued = stats.queued;
    }
}

//  Commands on the pipe besides "$TERM": "STATS", "LOOPBACK" + endpoint.
static int
s_handle_command (ps_loop_t *loop, const char *command, zmsg_t *msg, void *arg)
{
    (void) loop;
    (void) msg;
    self_t *self = (self_t *) arg;
    if (streq (command, "$TERM"))
        return 0;
    if (streq (command, "LOOPBACK")) {
        char *endpoint = zmsg_popstr (msg);
        bool done = endpoint && (self->loopback || s_loopback_connect (self, endpoint) == 0);
        if (done && self->stage)
            self->next_report = self->now;  //  the first at once
        zstr_free (&endpoint);
        zsock_signal (self->pipe, done ? 0 : 1);
        return 0;
    }
    if (!streq (command, "STATS"))
        return -1;
    size_t queued;
    s_count_workers (self, &self->stats.workers, &self->stats.idle, &queued);
    zmq_send (zsock_resolve (self->pipe), &self->stats, sizeof self->stats, 0);
    return 0;
}

//  Upstream is read only while a job can leave at once: back-pressure.
static bool
s_upstream_gate (void *arg)
{
    self_t *self = (self_t *) arg;
    return !s_waiting (self)
           && (self->idle_count > 0
               || (self->local && ps_dispatch_room_or_watch (self->local, s_local_queue (self))));
}

//  A local worker went idle, or took a queued job, after we found no room:
//  a job may leave now.
static bool
s_handle_local (ps_loop_t *loop, void *handle, void *arg)
{
    (void) loop;
    (void) handle;
    self_t *self = (self_t *) arg;
    ps_dispatch_watch_clear (self->local);
    s_dispatch_held (self);
    return true;
}

//  Jobs from upstream: [envelope type=JOB][payload...].
static bool
s_handle_upstream (ps_loop_t *loop, void *handle, void *arg)
{
    self_t *self = (self_t *) arg;
    self->now = MAX (self->now, ps_loop_now (loop));
    for (int count = 0; count < S_BATCH; count++) {
        if (!s_upstream_gate (self))
            return false;
        zmsg_t *msg = zmsg_recv (handle);
        if (!msg)
            return errno == EAGAIN;
        zframe_t *envelope_frame = zmsg_pop (msg);
        ps_envelope_t envelope;
        if (!envelope_frame || ps_envelope_decode (envelope_frame, &envelope) == -1
            || envelope.type != PS_MSG_JOB) {
            ps_envelope_log_junk ("ps_proxy", "upstream", envelope_frame,
                                  zmsg_size (msg) + (envelope_frame ? 1 : 0), self->verbose,
                                  &self->upstream_version_warned);
            zframe_destroy (&envelope_frame);
            zmsg_destroy (&msg);
            continue;
        }
        self->held_envelope = envelope_frame;
        self->held_payload = msg;
        self->held = envelope;
        s_dispatch_held (self);
    }
    return false;
}

//  A new worker, idle or not; takes identity. The caller logs it once its
//  state is set, so the line reports the counts with it.
static s_worker_t *
s_worker_register (self_t *self, zframe_t **identity_p)
{
    s_worker_t *worker = (s_worker_t *) zmalloc (sizeof (s_worker_t));
    assert (worker);
    worker->identity = *identity_p;
    worker->jobs = zlistx_new ();
    assert (worker->jobs);
    zlistx_set_destructor (worker->jobs, s_job_destroy);
    worker->credit = 1;
    *identity_p = NULL;
    int rc = zhashx_insert (self->workers, worker->identity, worker);
    assert (rc == 0);
    self->stats.registered++;
    return worker;
}

//  Answer an idle beat, so the worker knows we are alive:
//  [identity][envelope PING]. Never blocks. Returns true if it left; a
//  worker we cannot reach is set aside (or, if it is not beating, dropped:
//  then it is freed).
static bool
s_send_ping (self_t *self, s_worker_t *worker)
{
    byte ping[PS_ENVELOPE_SIZE];
    ps_envelope_pack (&(ps_envelope_t){.type = PS_MSG_PING}, ping);
    ps_loop_dirty (self->loop, self->downstream_id);  //  a send may swallow an input signal
    if (zmq_send (self->downstream_h, zframe_data (worker->identity),
                  zframe_size (worker->identity), ZMQ_SNDMORE | ZMQ_DONTWAIT)
        == -1) {
        //  Gone, at least for now. If it holds a job, its answer (and
        //  READY) may still be waiting to be read, and its expiry reports
        //  the job only if no READY came by then.
        if (errno == EHOSTUNREACH)
            s_worker_unreachable (self, worker);
        return false;  //  EAGAIN: its queue is full of jobs; it hears from us anyway
    }
    zmq_send (self->downstream_h, ping, sizeof ping, 0);
    return true;
}

//  A BEAT. It refreshes the worker's liveness and
//  never changes its idle or busy state here, because it may cross a job
//  on the way. A busy beat comes from the worker's second socket and names
//  the worker in its second frame; an idle beat comes from the worker's job
//  socket, may carry its application heartbeat, and is answered. Takes the
//  frames. Returns true if the idle workers changed (one joined, or its
//  heartbeat changed), so a held job is worth offering again.
static bool
s_handle_beat (self_t *self, zframe_t **identity_p, const ps_envelope_t *envelope,
               zframe_t **extra_p, int64_t now)
{
    if (envelope->flags & PS_FLAG_BUSY) {
        s_worker_t *worker = *extra_p ? (s_worker_t *) zhashx_lookup (self->workers, *extra_p)
                                      : NULL;
        //  Unknown: dropped already, or a proxy that restarted; its READY
        //  after the job will tell us about it.
        if (worker) {
            worker->last_seen = now;
            worker->beats = true;
        }
        zframe_destroy (identity_p);
        zframe_destroy (extra_p);
        return false;
    }
    bool changed = false;
    s_worker_t *worker = (s_worker_t *) zhashx_lookup (self->workers, *identity_p);
    if (worker)
        zframe_destroy (identity_p);
    else if (zframe_size (*identity_p) == 0 || zframe_data (*identity_p)[0] == 0) {
        //  Not a name a worker chose: the ROUTER's own, which is what the
        //  old connection of a worker that reconnected is called once the
        //  new one has taken its name over. Beats still queued on it are
        //  stale.
        zframe_destroy (identity_p);
        zframe_destroy (extra_p);
        return false;
    }
    else {
        //  An idle worker we do not know (we restarted, or dropped it
        //  while it was only slow): it is free, so take it in. Its credit
        //  is unknown until its next READY: 1 until then.
        worker = s_worker_register (self, identity_p);
        s_idle_append (self, worker);
        s_log_worker (self, worker, "registered");
        changed = true;
    }
    worker->last_seen = now;
    worker->beats = true;
    if (zlistx_size (worker->jobs) > 0 && self->expiry_ms > 0
        && now - worker->job_since > self->expiry_ms) {
        //  Idle for longer than a beat could take to cross its oldest job
        //  (a worker beats only between jobs, and its READY for the one
        //  before came long ago): the job never reached it (lost in a
        //  connection it has given up on), nor did the ones after it.
        s_jobs_lost (self, worker);
        bool was_idle = worker->idle;
        s_idle_update (self, worker);
        changed = changed || worker->idle != was_idle;
    }
    if (*extra_p) {
        if (!worker->heartbeat || !zframe_eq (worker->heartbeat, *extra_p)) {
            zframe_destroy (&worker->heartbeat);
            worker->heartbeat = *extra_p;
            *extra_p = NULL;
            changed = changed || worker->idle;
        }
        zframe_destroy (extra_p);
    }
    if (s_send_ping (self, worker) && worker->unreachable) {
        //  Heard, and answered, on a connection that works
        worker->unreachable = false;
        s_idle_update (self, worker);
        s_log_worker (self, worker, "reachable again");
        changed = changed || worker->idle;
    }
    return changed;
}

//  A job given back unstarted by the worker it was queued at, whose job in
//  hand turned out long: [identity][envelope RETURN][payload...]. It goes
//  to another worker before any new job, and that worker gets none until
//  its next READY. A worker we do not know (we restarted) gave back a job
//  all the same. Takes the frames.
static void
s_handle_return (self_t *self, zframe_t **identity_p, zframe_t **envelope_p,
                 const ps_envelope_t *envelope, zmsg_t **payload_p, int64_t now)
{
    s_worker_t *worker = (s_worker_t *) zhashx_lookup (self->workers, *identity_p);
    zframe_destroy (identity_p);
    if (worker) {
        worker->last_seen = now;
        //  Given back, it is no longer one of the worker's; the newest first
        for (s_job_t *job = (s_job_t *) zlistx_last (worker->jobs); job;
             job = (s_job_t *) zlistx_prev (worker->jobs))
            if (job->id == envelope->id) {
                zlistx_delete (worker->jobs, zlistx_cursor (worker->jobs));
                break;
            }
        worker->busy = true;
        if (worker->idle)
            s_idle_remove (self, worker);
    }
    zframe_data (*envelope_p)[1] = PS_MSG_JOB;
    zmsg_prepend (*payload_p, envelope_p);
    zlistx_add_end (self->returned, *payload_p);
    *payload_p = NULL;
    self->stats.returned++;
}

//  Worker messages: [identity][envelope type=READY][heartbeat]?, BEATs and
//  RETURNs
static bool
s_handle_downstream (ps_loop_t *loop, void *handle, void *arg)
{
    (void) loop;
    self_t *self = (self_t *) arg;
    int64_t now = self->now = zclock_mono ();
    for (int count = 0; count < S_BATCH; count++) {
        zmsg_t *msg = zmsg_recv (handle);
        if (!msg)
            return errno == EAGAIN;
        size_t frames = zmsg_size (msg);
        zframe_t *identity = zmsg_pop (msg);
        zframe_t *envelope_frame = zmsg_pop (msg);
        ps_envelope_t envelope;
        bool valid = frames >= 2 && ps_envelope_decode (envelope_frame, &envelope) == 0;
        if (valid && envelope.type == PS_MSG_RETURN) {
            s_handle_return (self, &identity, &envelope_frame, &envelope, &msg, now);
            s_dispatch_held (self);
            continue;
        }
        zframe_t *heartbeat = zmsg_pop (msg);
        if (!valid || frames > 3
            || (envelope.type != PS_MSG_READY && envelope.type != PS_MSG_BEAT)) {
            ps_envelope_log_junk ("ps_proxy", "downstream", envelope_frame, frames, self->verbose,
                                  &self->downstream_version_warned);
            zframe_destroy (&identity);
            zframe_destroy (&envelope_frame);
            zframe_destroy (&heartbeat);
            zmsg_destroy (&msg);
            continue;
        }
        zframe_destroy (&envelope_frame);
        zmsg_destroy (&msg);
        if (envelope.type == PS_MSG_BEAT) {
            if (s_handle_beat (self, &identity, &envelope, &heartbeat, now) && s_waiting (self))
                s_dispatch_held (self);
            continue;
        }

        s_worker_t *worker = (s_worker_t *) zhashx_lookup (self->workers, identity);
        bool joined = !worker;
        if (worker)
            zframe_destroy (&identity);
        else
            worker = s_worker_register (self, &identity);
        worker->last_seen = now;
        worker->unreachable = false;  //  it has a connection again
        if (heartbeat || !(envelope.flags & PS_FLAG_BUSY)) {
            zframe_destroy (&worker->heartbeat);
            worker->heartbeat = heartbeat;
        }
        if (envelope.flags & PS_FLAG_BUSY) {
            //  A worker that says it is still on its job: alive, but it
            //  must not be given another job.
            worker->busy = true;
            if (worker->idle)
                s_idle_remove (self, worker);
        }
        else {
            //  Done with its oldest job, if it held one, and its credit as
            //  of now (0 counts as 1). A repeated READY from an idle worker
            //  only refreshes its heartbeat and keeps its place in the FIFO.
            worker->busy = false;
            s_jobs_pop (self, worker, now);
            worker->credit = envelope.credit == 0             ? 1
                             : envelope.credit > S_MAX_CREDIT ? S_MAX_CREDIT
                                                              : (size_t) envelope.credit;
            s_idle_update (self, worker);
        }
        if (joined)
            s_log_worker (self, worker, "registered");
        if (s_waiting (self))
            s_dispatch_held (self);
    }
    return false;
}

//  Drop the workers that beat and then fell silent, reporting their jobs.
//  Runs every heartbeat_ms or so: a walk over the table, off the hot path.
static void
s_expire_silent (self_t *self, int64_t now)
{
    s_worker_t *silent = NULL;
    for (s_worker_t *worker = (s_worker_t *) zhashx_first (self->workers); worker;
         worker = (s_worker_t *) zhashx_next (self->workers))
        if (worker->beats && now - worker->last_seen > self->expiry_ms) {
            worker->silent_next = silent;
            silent = worker;
        }
    while (silent) {
        s_worker_t *worker = silent;
        silent = worker->silent_next;
        s_worker_drop (self, worker, "silent, dropped");
    }
}

//  --------------------------------------------------------------------------
//  The actor

//  The stage's figures to the server: [envelope STATS][stage][figures].
//  Jobs waiting for a worker to start them are the one the proxy holds
//  and those queued at a worker behind the one it is on, or waiting for a
//  local worker; jobs still in
//  the ZeroMQ queue before the proxy cannot be seen (libzmq shows no queue
//  depths). Never blocks: a report that does not fit is skipped.
static void
s_report_stats (self_t *self)
{
    size_t workers, idle, queued;
    s_count_workers (self, &workers, &idle, &queued);
    ps_metrics_stage_t figures = {.workers = workers,
                                  .idle = idle,
                                  .queued = queued + (self->held_envelope ? 1 : 0)
                                            + zlistx_size (self->returned),
                                  .jobs = self->stats.jobs,
                                  .lost = self->stats.lost,
                                  .interval_ms = (uint32_t) self->report_ms};
    for (s_worker_t *worker = (s_worker_t *) zhashx_first (self->workers); worker;
         worker = (s_worker_t *) zhashx_next (self->workers))
        if (zlistx_size (worker->jobs) > 1)
            figures.queued += zlistx_size (worker->jobs) - 1;
    byte envelope[PS_ENVELOPE_SIZE];
    ps_envelope_pack (&(ps_envelope_t){.type = PS_MSG_STATS}, envelope);
    byte frame[PS_METRICS_STAGE_SIZE];
    ps_metrics_stage_encode (&figures, frame);
    //  Once the first part is in, PUSH takes the rest of the message.
    if (zmq_send (self->loopback_h, envelope, sizeof envelope, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
        return;
    zmq_send (self->loopback_h, self->stage, strlen (self->stage), ZMQ_SNDMORE);
    zmq_send (self->loopback_h, frame, sizeof frame, 0);
}

//  A server that refused our key at the CURVE handshake may trust it now
//  (its trusted directory is reloaded while it runs), but libzmq (4.3)
//  never connects a socket refused so again: our lost-job reports and
//  stage reports would go nowhere. A loopback told it was refused is made
//  anew (ps_socket_renew_refused).
static void
s_renew_refused_loopback (self_t *self)
{
    ps_socket_options_t options = s_loopback_options (self);
    if (ps_socket_renew_refused (&self->loopback, &options, "ps_proxy", "loopback",
                                 self->loopback_endpoint))
        self->loopback_h = zsock_resolve (self->loopback);
}

//  The loop's timer: the scan for silent workers, every heartbeat_ms, and
//  the stage's reports, every report_ms.
static int64_t
s_handle_timer (ps_loop_t *loop, int64_t now, void *arg)
{
    (void) loop;
    self_t *self = (self_t *) arg;
    self->now = now;
    int64_t deadline = INT64_MAX;
    if (self->stage && self->loopback) {
        if (now >= self->next_report) {
            s_report_stats (self);
            self->next_report = now + self->report_ms;
        }
        deadline = self->next_report;
    }
    if (self->expiry_ms <= 0)
        return deadline;
    if (now >= self->next_scan) {
        s_renew_refused_loopback (self);
        s_expire_silent (self, now);
        self->next_scan = now + self->heartbeat_ms;
    }
    return MIN (deadline, self->next_scan);
}

void
ps_proxy_actor (zsock_t *pipe, void *config)
{
    assert (pipe);
    assert (config);
    self_t *self = s_self_new (pipe, (const ps_proxy_config_t *) config);
    zsock_t *bound[2] = {self ? self->upstream : NULL, self ? self->downstream : NULL};
    ps_actor_started (pipe, self != NULL, bound, 2);
    if (!self)
        return;
    self->loop = ps_loop_new (pipe, "ps_proxy", s_handle_command, self);
    //  The pipe first, then workers (a READY frees a worker for a job),
    //  then jobs
    self->downstream_id = ps_loop_add (self->loop, self->downstream, s_handle_downstream, self);
    int upstream_id = ps_loop_add (self->loop, self->upstream, s_handle_upstream, self);
    ps_loop_set_gate (self->loop, upstream_id, s_upstream_gate);
    if (self->local)
        ps_loop_add_fd (self->loop, ps_dispatch_watch_fd (self->local), s_handle_local, self);
    ps_loop_set_timer (self->loop, s_handle_timer, self);
    ps_loop_run (self->loop);
    s_self_destroy (&self);
}

//  --------------------------------------------------------------------------
//  Public object

ps_proxy_t *
ps_proxy_new (const ps_proxy_config_t *config)
{
    assert (config);
    ps_proxy_t *self = (ps_proxy_t *) zmalloc (sizeof (ps_proxy_t));
    assert (self);
    self->actor = ps_actor_new (ps_proxy_actor, (void *) config, self->bound, 2);
    if (!self->actor)
        ps_proxy_destroy (&self);
    return self;
}

const char *
ps_proxy_upstream_endpoint (ps_proxy_t *self)
{
    assert (self);
    return self->bound[0];
}

const char *
ps_proxy_downstream_endpoint (ps_proxy_t *self)
{
    assert (self);
    return self->bound[1];
}

int
ps_proxy_stats (ps_proxy_t *self, ps_proxy_stats_t *stats)
{
    assert (self);
    assert (stats);
    if (zstr_send (self->actor, "STATS") != 0)
        return -1;
    zsock_t *pipe = zactor_sock (self->actor);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    assert (poller);
    bool ready = zpoller_wait (poller, 1000) == pipe;
    zpoller_destroy (&poller);
    zframe_t *frame = ready ? zframe_recv (pipe) : NULL;
    int rc = frame && zframe_size (frame) == sizeof *stats ? 0 : -1;
    if (rc == 0)
        memcpy (stats, zframe_data (frame), sizeof *stats);
    zframe_destroy (&frame);
    return rc;
}

int
ps_proxy_set_loopback (ps_proxy_t *self, const char *loopback)
{
    assert (self);
    assert (loopback);
    if (zstr_sendx (self->actor, "LOOPBACK", loopback, NULL) != 0)
        return -1;
    return zsock_wait (self->actor) == 0 ? 0 : -1;
}

void
ps_proxy_destroy (ps_proxy_t **self_p)
{
    assert (self_p);
    ps_proxy_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->actor);
        zstr_free (&self->bound[0]);
        zstr_free (&self->bound[1]);
        free (self);
        *self_p = NULL;
    }
}
