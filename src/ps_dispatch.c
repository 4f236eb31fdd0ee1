/*  ps_dispatch: a stage's jobs handed between threads of one process (see
    ps_dispatch.h).

    One mutex per dispatch guards the queue (a ring of hwm jobs), the idle
    seats and the figures; no syscall is made while holding it, or the
    threads would queue on it. A job handed to an idle seat is followed by
    one write to the seat's eventfd, after the unlock; the worker, once
    woken, reads the fd before it looks for the job (so a hand-off that
    comes after the read still leaves the fd readable, and none is missed).
    A worker that never slept does not read: a job taken from the queue
    costs no syscall at all.

    The idle seats are a stack: the worker idle for the shortest time gets
    the next job, unlike a proxy's longest idle first. It is the likeliest
    to be still on its way to poll(2), so the hand-off wakes nobody, and its
    caches are warm; the others sleep on. With 8 workers per stage this
    took the simulation from 26.3 to 21.5 CPU us per request, and at ab -k
    -c 8 the switches from 1.6-1.9 to 1.3-1.4 per request (bench/README.md).
    Nothing here promises workers equal shares: a stage that picks its
    worker (a chooser) keeps a proxy.

    The registry of dispatches by endpoint is a short list under a mutex of
    its own, which also guards the reference counts.

    A job crosses threads as one block (s_job_t) that the sender allocates
    and the receiver frees, with its frames' bytes inline. With glibc, a
    chunk that one thread frees and another allocated is freed under the
    lock of the other's arena, while that thread allocates from it; a zmsg
    is several chunks per frame (the zframe, often its data, a list node)
    besides its own two, and those frees were most of the futex calls of a
    cheap request. So nothing else crosses: a sender that holds its frames'
    bytes writes them straight into the block (ps_sink_send_spans), and a
    worker reads them there (ps_dispatch_next_job), making a zmsg only if
    its work function asks for one. Blocks are of one size at least
    (s_job_alloc), so that what a thread frees it allocates again from its
    own cache. Measured on the simulation (bench_sim_cpu.py, 2 workers):
    16.5 CPU us per request before, 14.3 without the zmsgs, 12.5 with
    blocks of one size. A large frame is moved whole rather than copied,
    and so is a large libzmq message (a stream part in a pooled buffer,
    ps_sink_send_msg); a seat that reads libzmq messages (the server's,
    ps_dispatch_job_take_parts) gets a moved frame wrapped, not copied.
*/
#include "ps_dispatch.h"
#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

//  Frames up to this size travel inline in the job's block
#define S_INLINE_MAX 4096
//  The smallest block: near the largest request glibc's per-thread cache
//  serves (1032 bytes on 64 bits), so that most jobs fit in it
#define S_BLOCK_MIN 1016

typedef struct {
    size_t size;
    zframe_t *frame;  //  a large frame, moved; or
    zmq_msg_t *msg;   //  a large message, moved; both NULL: size bytes inline
} s_part_t;

typedef struct _ps_dispatch_job_t {
    size_t count;
    s_part_t parts[];  //  then the inline bytes, in order
} s_job_t;

struct _ps_dispatch_seat_t {
    ps_dispatch_t *dispatch;
    int fd;
    s_job_t *handed;           //  a job given to us while idle, not yet taken
    bool idle;                 //  in the idle stack
    bool slept;                //  the worker's own: it found nothing last time
    ps_dispatch_seat_t *prev;  //  in the idle stack, or the retired list (next)
    ps_dispatch_seat_t *next;
};

struct _ps_dispatch_t {
    char *up;  //  registry names
    char *down;
    char *stage;  //  or NULL
    char *loopback;
    ps_dispatch_t *registry_next;
    int references;  //  under s_registry_lock

    pthread_mutex_t lock;
    pthread_cond_t room;  //  signalled when a job leaves a full queue
    s_job_t **ring;
    size_t capacity;
    size_t head;                  //  oldest job
    size_t count;                 //  jobs queued
    ps_dispatch_seat_t *retired;  //  seats left: a sender may still write to their fd
    ps_dispatch_seat_t *idle_first;
    ps_dispatch_seat_t *idle_last;
    size_t idle;
    size_t workers;
    uint64_t jobs;
    int watch_fd;     //  a feeder's eventfd (ps_dispatch_watch_fd), or -1
    bool watching;    //  the feeder found no room: tell it when there is
    size_t feed_max;  //  jobs the feeder may queue now
};

static pthread_mutex_t s_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static ps_dispatch_t *s_registry = NULL;

//  ---------------------------------------------------------------------
//  Jobs as blocks

//  A block for count parts and bytes inline, never smaller than
//  S_BLOCK_MIN. Every thread of a pipeline frees the blocks it is handed
//  and allocates the ones it sends; of one size, with glibc they go
//  through the thread's own cache (tcache) and come back from it. Of the
//  sizes they need (a request, a forward, a result differ), each thread's
//  cache for what it frees overflows, and the overflow is freed under the
//  lock of the arena that allocated it while its owner allocates there.
static s_job_t *
s_job_alloc (size_t count, size_t bytes)
{
    size_t size = sizeof (s_job_t) + count * sizeof (s_part_t) + bytes;
    s_job_t *job = (s_job_t *) malloc (MAX (size, S_BLOCK_MIN));
    assert (job);
    job->count = count;
    return job;
}

//  The block of [envelope, if any][the frames of msg], which is taken.
static s_job_t *
s_job_new (const ps_envelope_t *envelope, zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    size_t count = (envelope ? 1 : 0) + (msg ? zmsg_size (msg) : 0);
    size_t bytes = envelope ? PS_ENVELOPE_SIZE : 0;
    for (zframe_t *frame = msg ? zmsg_first (msg) : NULL; frame; frame = zmsg_next (msg))
        if (zframe_size (frame) <= S_INLINE_MAX)
            bytes += zframe_size (frame);
    s_job_t *job = s_job_alloc (count, bytes);
    byte *cursor = (byte *) (job->parts + count);
    s_part_t *part = job->parts;
    if (envelope) {
        ps_envelope_pack (envelope, cursor);
        *part++ = (s_part_t){PS_ENVELOPE_SIZE, NULL, NULL};
        cursor += PS_ENVELOPE_SIZE;
    }
    zframe_t *frame;
    while (msg && (frame = zmsg_pop (msg))) {
        size_t size = zframe_size (frame);
        if (size > S_INLINE_MAX)
            *part++ = (s_part_t){size, frame, NULL};
        else {
            *part++ = (s_part_t){size, NULL, NULL};
            memcpy (cursor, zframe_data (frame), size);
            cursor += size;
            zframe_destroy (&frame);
        }
    }
    zmsg_destroy (msg_p);
    return job;
}

//  The block of [envelope][data], data taken (moved if large, so a
//  zero-copy message stays one).
static s_job_t *
s_job_new_msg (const ps_envelope_t *envelope, zmq_msg_t *data)
{
    size_t size = zmq_msg_size (data);
    bool inline_data = size <= S_INLINE_MAX;
    s_job_t *job = s_job_alloc (2, PS_ENVELOPE_SIZE + (inline_data ? size : 0));
    byte *cursor = (byte *) (job->parts + 2);
    ps_envelope_pack (envelope, cursor);
    job->parts[0] = (s_part_t){PS_ENVELOPE_SIZE, NULL, NULL};
    job->parts[1] = (s_part_t){size, NULL, NULL};
    if (inline_data) {
        memcpy (cursor + PS_ENVELOPE_SIZE, zmq_msg_data (data), size);
        zmq_msg_close (data);
    }
    else {
        job->parts[1].msg = (zmq_msg_t *) malloc (sizeof (zmq_msg_t));
        assert (job->parts[1].msg);
        zmq_msg_init (job->parts[1].msg);
        zmq_msg_move (job->parts[1].msg, data);
        zmq_msg_close (data);
    }
    return job;
}

//  The block of [envelope][frames], every frame's bytes copied inline.
static s_job_t *
s_job_new_spans (const ps_envelope_t *envelope, const ps_span_t *frames, size_t count)
{
    size_t bytes = PS_ENVELOPE_SIZE;
    for (size_t index = 0; index < count; index++)
        bytes += frames[index].size;
    s_job_t *job = s_job_alloc (count + 1, bytes);
    byte *cursor = (byte *) (job->parts + count + 1);
    ps_envelope_pack (envelope, cursor);
    job->parts[0] = (s_part_t){PS_ENVELOPE_SIZE, NULL, NULL};
    cursor += PS_ENVELOPE_SIZE;
    for (size_t index = 0; index < count; index++) {
        job->parts[index + 1] = (s_part_t){frames[index].size, NULL, NULL};
        if (frames[index].size)
            memcpy (cursor, frames[index].data, frames[index].size);
        cursor += frames[index].size;
    }
    return job;
}

//  The job's frames from first on as a zmsg of the calling thread's:
//  inline bytes copied, a moved frame moved on (its bytes stay where they
//  are, now the zmsg's), a moved message copied.
static zmsg_t *
s_job_msg (s_job_t *job, size_t first)
{
    zmsg_t *msg = zmsg_new ();
    assert (msg);
    const byte *cursor = (const byte *) (job->parts + job->count);
    for (size_t index = 0; index < job->count; index++) {
        s_part_t *part = &job->parts[index];
        if (index < first) {
            if (!part->frame && !part->msg)
                cursor += part->size;
        }
        else if (part->frame)
            zmsg_append (msg, &part->frame);
        else if (part->msg)
            zmsg_addmem (msg, zmq_msg_data (part->msg), part->size);
        else {
            zmsg_addmem (msg, cursor, part->size);
            cursor += part->size;
        }
    }
    return msg;
}

static void
s_job_destroy (s_job_t **job_p)
{
    s_job_t *job = *job_p;
    if (!job)
        return;
    *job_p = NULL;
    for (size_t index = 0; index < job->count; index++) {
        zframe_destroy (&job->parts[index].frame);
        if (job->parts[index].msg) {
            zmq_msg_close (job->parts[index].msg);
            free (job->parts[index].msg);
        }
    }
    free (job);
}

static void
s_frame_free (void *data, void *hint)
{
    (void) data;
    zframe_t *frame = (zframe_t *) hint;
    zframe_destroy (&frame);
}

//  The job's first max parts as messages into parts (initialised here; the
//  caller closes them), the rest dropped; frees the block. Returns how
//  many parts the job had. A moved frame or message is not copied.
static size_t
s_job_take_parts (s_job_t **job_p, zmq_msg_t *parts, size_t max)
{
    s_job_t *job = *job_p;
    *job_p = NULL;
    size_t count = job->count;
    const byte *cursor = (const byte *) (job->parts + count);
    for (size_t index = 0; index < count && index < max; index++) {
        s_part_t *part = &job->parts[index];
        zmq_msg_t *target = &parts[index];
        if (part->msg) {
            zmq_msg_init (target);
            zmq_msg_move (target, part->msg);
            zmq_msg_close (part->msg);
            free (part->msg);
            part->msg = NULL;
        }
        else if (part->frame) {
            //  The frame goes when libzmq lets go of the message
            int rc = zmq_msg_init_data (target, zframe_data (part->frame), part->size, s_frame_free,
                                        part->frame);
            assert (rc == 0);
            part->frame = NULL;
        }
        else {
            zmq_msg_init_size (target, part->size);
            memcpy (zmq_msg_data (target), cursor, part->size);
            cursor += part->size;
        }
    }
    s_job_destroy (&job);  //  what is left beyond max
    return count;
}

//  ---------------------------------------------------------------------
//  The registry

//  Under s_registry_lock.
static ps_dispatch_t *
s_registry_find (const char *endpoint)
{
    for (ps_dispatch_t *self = s_registry; self; self = self->registry_next)
        if (streq (self->up, endpoint) || streq (self->down, endpoint))
            return self;
    return NULL;
}

static void
s_free (ps_dispatch_t *self)
{
    while (self->retired) {
        ps_dispatch_seat_t *seat = self->retired;
        self->retired = seat->next;
        close (seat->fd);
        free (seat);
    }
    for (size_t i = 0; i < self->count; i++)
        s_job_destroy (&self->ring[(self->head + i) % self->capacity]);
    free (self->ring);
    if (self->watch_fd != -1)
        close (self->watch_fd);
    pthread_cond_destroy (&self->room);
    pthread_mutex_destroy (&self->lock);
    zstr_free (&self->up);
    zstr_free (&self->down);
    zstr_free (&self->stage);
    zstr_free (&self->loopback);
    free (self);
}

ps_dispatch_t *
ps_dispatch_new (const char *up, const char *down, size_t hwm, const char *stage,
                 const char *loopback)
{
    assert (up);
    assert (down);
    ps_dispatch_t *self = (ps_dispatch_t *) zmalloc (sizeof (ps_dispatch_t));
    assert (self);
    self->up = strdup (up);
    self->down = strdup (down);
    self->stage = stage ? strdup (stage) : NULL;
    self->loopback = loopback ? strdup (loopback) : NULL;
    self->capacity = hwm > 0 ? hwm : 1;
    self->ring = (s_job_t **) zmalloc (self->capacity * sizeof (s_job_t *));
    assert (self->ring);
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->room, NULL);
    self->references = 1;
    self->watch_fd = -1;

    pthread_mutex_lock (&s_registry_lock);
    bool taken = s_registry_find (up) || s_registry_find (down);
    if (!taken) {
        self->registry_next = s_registry;
        s_registry = self;
    }
    pthread_mutex_unlock (&s_registry_lock);
    if (taken) {
        s_free (self);
        return NULL;
    }
    return self;
}

void
ps_dispatch_destroy (ps_dispatch_t **self_p)
{
    assert (self_p);
    ps_dispatch_t *self = *self_p;
    if (!self)
        return;
    *self_p = NULL;
    pthread_mutex_lock (&s_registry_lock);
    bool last = --self->references == 0;
    //  Unlinked in the same hold as the count reaches 0, so no find can
    //  take a reference to a dispatch being freed.
    if (last)
        for (ps_dispatch_t **link = &s_registry; *link; link = &(*link)->registry_next)
            if (*link == self) {
                *link = self->registry_next;
                break;
            }
    pthread_mutex_unlock (&s_registry_lock);
    if (last)
        s_free (self);
}

ps_dispatch_t *
ps_dispatch_find (const char *endpoint)
{
    if (!endpoint)
        return NULL;
    pthread_mutex_lock (&s_registry_lock);
    ps_dispatch_t *self = s_registry_find (endpoint);
    if (self)
        self->references++;
    pthread_mutex_unlock (&s_registry_lock);
    return self;
}

//  Under the lock.
static void
s_idle_remove (ps_dispatch_t *self, ps_dispatch_seat_t *seat)
{
    if (seat->prev)
        seat->prev->next = seat->next;
    else
        self->idle_first = seat->next;
    if (seat->next)
        seat->next->prev = seat->prev;
    else
        self->idle_last = seat->prev;
    seat->prev = seat->next = NULL;
    seat->idle = false;
    self->idle--;
}

static void
s_idle_append (ps_dispatch_t *self, ps_dispatch_seat_t *seat)
{
    seat->prev = self->idle_last;
    seat->next = NULL;
    if (self->idle_last)
        self->idle_last->next = seat;
    else
        self->idle_first = seat;
    self->idle_last = seat;
    seat->idle = true;
    self->idle++;
}

//  The seat idle for the shortest time, off the stack; NULL if none is.
static ps_dispatch_seat_t *
s_idle_pop (ps_dispatch_t *self)
{
    ps_dispatch_seat_t *seat = self->idle_last;
    if (seat)
        s_idle_remove (self, seat);
    return seat;
}

static void
s_deadline (struct timespec *deadline, int timeout_ms)
{
    clock_gettime (CLOCK_REALTIME, deadline);
    deadline->tv_sec += timeout_ms / 1000;
    deadline->tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (deadline->tv_nsec >= 1000000000L) {
        deadline->tv_sec++;
        deadline->tv_nsec -= 1000000000L;
    }
}

//  Hands job (taken, destroyed on failure) to an idle seat or the queue.
static int
s_submit (ps_dispatch_t *self, s_job_t **job_p, int timeout_ms)
{
    pthread_mutex_lock (&self->lock);
    ps_dispatch_seat_t *seat = s_idle_pop (self);
    if (seat) {
        seat->handed = *job_p;
        *job_p = NULL;
        //  The seat may be left before we write, but its fd stays open
        //  while the dispatch lives (ps_dispatch_seat_destroy)
        int fd = seat->fd;
        pthread_mutex_unlock (&self->lock);
        uint64_t one = 1;
        ssize_t rc = write (fd, &one, sizeof one);
        assert (rc == sizeof one);
        return 0;
    }
    if (self->count == self->capacity && timeout_ms != 0) {
        struct timespec deadline;
        if (timeout_ms > 0)
            s_deadline (&deadline, timeout_ms);
        while (self->count == self->capacity)
            if (timeout_ms > 0) {
                if (pthread_cond_timedwait (&self->room, &self->lock, &deadline) == ETIMEDOUT)
                    break;
            }
            else
                pthread_cond_wait (&self->room, &self->lock);
    }
    bool full = self->count == self->capacity;
    if (!full) {
        self->ring[(self->head + self->count++) % self->capacity] = *job_p;
        *job_p = NULL;
    }
    pthread_mutex_unlock (&self->lock);
    if (full) {
        s_job_destroy (job_p);
        errno = EAGAIN;
        return -1;
    }
    return 0;
}

int
ps_dispatch_watch_fd (ps_dispatch_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->lock);
    if (self->watch_fd == -1)
        self->watch_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    int fd = self->watch_fd;
    pthread_mutex_unlock (&self->lock);
    return fd;
}

void
ps_dispatch_watch_clear (ps_dispatch_t *self)
{
    assert (self);
    uint64_t count;
    if (self->watch_fd != -1) {
        ssize_t rc = read (self->watch_fd, &count, sizeof count);
        assert (rc == sizeof count || errno == EAGAIN);
    }
}

bool
ps_dispatch_room_or_watch (ps_dispatch_t *self, bool queue)
{
    assert (self);
    assert (self->watch_fd != -1);
    pthread_mutex_lock (&self->lock);
    self->feed_max = queue ? MIN (self->workers, self->capacity) : 0;
    bool room = self->idle > 0 || self->count < self->feed_max;
    if (!room)
        self->watching = true;
    pthread_mutex_unlock (&self->lock);
    return room;
}

int
ps_dispatch_hand (ps_dispatch_t *self, const ps_envelope_t *envelope, zmsg_t **payload_p,
                  bool queue)
{
    assert (self);
    if (!ps_dispatch_room_or_watch (self, queue))
        return -1;
    //  A seat that was idle a moment ago may have left since (its worker
    //  stopping); then the job waits in the queue for the others.
    zmsg_t *none = NULL;
    s_job_t *job = s_job_new (envelope, payload_p ? payload_p : &none);
    return s_submit (self, &job, 0) == 0 ? 0 : -2;
}

int
ps_dispatch_submit (ps_dispatch_t *self, zmsg_t **job_p, int timeout_ms)
{
    assert (self);
    assert (job_p && *job_p);
    s_job_t *job = s_job_new (NULL, job_p);
    return s_submit (self, &job, timeout_ms);
}

int
ps_sink_send (const ps_sink_t *sink, const ps_envelope_t *envelope, zmsg_t **payload_p,
              int timeout_ms)
{
    assert (sink);
    assert (sink->dispatch || sink->handle);
    if (!sink->dispatch)
        return ps_envelope_send (envelope, payload_p, sink->handle);
    zmsg_t *none = NULL;
    s_job_t *job = s_job_new (envelope, payload_p ? payload_p : &none);
    return s_submit (sink->dispatch, &job, timeout_ms);
}

int
ps_sink_send_msg (const ps_sink_t *sink, const ps_envelope_t *envelope, zmq_msg_t *data,
                  int timeout_ms)
{
    assert (sink);
    assert (sink->dispatch || sink->handle);
    assert (envelope);
    assert (data);
    if (!sink->dispatch) {
        byte head[PS_ENVELOPE_SIZE];
        ps_envelope_pack (envelope, head);
        if (zmq_send (sink->handle, head, sizeof head, ZMQ_SNDMORE) == -1
            || zmq_msg_send (data, sink->handle, 0) == -1) {
            zmq_msg_close (data);
            return -1;
        }
        return 0;
    }
    s_job_t *job = s_job_new_msg (envelope, data);
    return s_submit (sink->dispatch, &job, timeout_ms);
}

int
ps_sink_send_spans (const ps_sink_t *sink, const ps_envelope_t *envelope, const ps_span_t *frames,
                    size_t count, int timeout_ms)
{
    assert (sink);
    assert (sink->dispatch || sink->handle);
    assert (envelope);
    assert (frames || count == 0);
    if (!sink->dispatch) {
        //  libzmq takes a message whole or not at all: only its first
        //  part can fail for want of room
        byte head[PS_ENVELOPE_SIZE];
        ps_envelope_pack (envelope, head);
        if (zmq_send (sink->handle, head, sizeof head, count ? ZMQ_SNDMORE : 0) == -1)
            return -1;
        for (size_t index = 0; index < count; index++)
            if (zmq_send (sink->handle, frames[index].data, frames[index].size,
                          index + 1 < count ? ZMQ_SNDMORE : 0)
                == -1)
                return -1;
        return 0;
    }
    s_job_t *job = s_job_new_spans (envelope, frames, count);
    return s_submit (sink->dispatch, &job, timeout_ms);
}

ps_dispatch_seat_t *
ps_dispatch_seat_new (ps_dispatch_t *self)
{
    assert (self);
    int fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd == -1)
        return NULL;
    ps_dispatch_seat_t *seat = (ps_dispatch_seat_t *) zmalloc (sizeof (ps_dispatch_seat_t));
    assert (seat);
    seat->dispatch = self;
    seat->fd = fd;
    pthread_mutex_lock (&self->lock);
    self->workers++;
    pthread_mutex_unlock (&self->lock);
    return seat;
}

void
ps_dispatch_seat_destroy (ps_dispatch_seat_t **seat_p)
{
    assert (seat_p);
    ps_dispatch_seat_t *seat = *seat_p;
    if (!seat)
        return;
    *seat_p = NULL;
    ps_dispatch_t *self = seat->dispatch;
    pthread_mutex_lock (&self->lock);
    if (seat->idle)
        s_idle_remove (self, seat);
    //  A job handed to a worker that is leaving goes back to the front of
    //  the queue for the others, if there is room (else it is lost, as
    //  with a worker that dies holding it: the server times it out).
    s_job_t *lost = NULL;
    if (seat->handed && self->count < self->capacity) {
        self->head = (self->head + self->capacity - 1) % self->capacity;
        self->ring[self->head] = seat->handed;
        self->count++;
    }
    else
        lost = seat->handed;
    seat->handed = NULL;
    self->workers--;
    //  Kept, fd open, until the dispatch goes: a sender that handed it a
    //  job may not have written to the fd yet (it writes after the unlock)
    seat->next = self->retired;
    self->retired = seat;
    pthread_mutex_unlock (&self->lock);
    s_job_destroy (&lost);
}

int
ps_dispatch_seat_fd (ps_dispatch_seat_t *seat)
{
    assert (seat);
    return seat->fd;
}

//  The job handed to seat, then the oldest queued, up to max of them into
//  jobs, in one hold of the lock; none: the seat goes idle. Returns how
//  many.
static size_t
s_next_batch (ps_dispatch_seat_t *seat, s_job_t **jobs, size_t max)
{
    ps_dispatch_t *self = seat->dispatch;
    if (seat->slept) {
        //  Woken (or looking again): clear the fd before looking, never
        //  after, so a job handed from now on leaves it readable
        uint64_t count;
        ssize_t rc = read (seat->fd, &count, sizeof count);
        assert (rc == sizeof count || errno == EAGAIN);
        seat->slept = false;
    }
    size_t taken = 0;
    pthread_mutex_lock (&self->lock);
    if (seat->handed && max > 0) {
        jobs[taken++] = seat->handed;
        seat->handed = NULL;
    }
    bool room = false;  //  made room for a feeder's job
    bool was_full = self->count == self->capacity;
    size_t queued = 0;
    while (taken < max && self->count > 0) {
        jobs[taken++] = self->ring[self->head];
        self->ring[self->head] = NULL;
        self->head = (self->head + 1) % self->capacity;
        self->count--;
        queued++;
    }
    if (queued) {
        if (was_full)
            pthread_cond_broadcast (&self->room);
        room = self->count < self->feed_max;
    }
    if (taken)
        self->jobs += taken;
    else if (!seat->idle) {
        s_idle_append (self, seat);
        room = true;
    }
    bool tell = room && self->watching;
    if (tell)
        self->watching = false;
    pthread_mutex_unlock (&self->lock);
    if (tell) {
        uint64_t one = 1;
        ssize_t rc = write (self->watch_fd, &one, sizeof one);
        assert (rc == sizeof one);
    }
    seat->slept = taken == 0;
    return taken;
}

ps_dispatch_job_t *
ps_dispatch_next_job (ps_dispatch_seat_t *seat)
{
    assert (seat);
    s_job_t *job = NULL;
    s_next_batch (seat, &job, 1);
    return job;
}

size_t
ps_dispatch_job_frames (ps_dispatch_job_t *job, ps_span_t *frames, size_t max)
{
    assert (job);
    assert (frames || max == 0);
    const byte *cursor = (const byte *) (job->parts + job->count);
    for (size_t index = 0; index < job->count && index < max; index++) {
        s_part_t *part = &job->parts[index];
        if (part->frame)
            frames[index] = (ps_span_t){zframe_data (part->frame), part->size};
        else if (part->msg)
            frames[index] = (ps_span_t){zmq_msg_data (part->msg), part->size};
        else {
            frames[index] = (ps_span_t){cursor, part->size};
            cursor += part->size;
        }
    }
    return job->count;
}

zmsg_t *
ps_dispatch_job_msg (ps_dispatch_job_t *job, size_t first)
{
    assert (job);
    return s_job_msg (job, first);
}

void
ps_dispatch_job_destroy (ps_dispatch_job_t **job_p)
{
    assert (job_p);
    s_job_destroy (job_p);
}

size_t
ps_dispatch_next_batch (ps_dispatch_seat_t *seat, ps_dispatch_job_t **jobs, size_t max)
{
    assert (seat);
    assert (jobs && max > 0);
    return s_next_batch (seat, jobs, max);
}

size_t
ps_dispatch_job_take_parts (ps_dispatch_job_t **job_p, zmq_msg_t *parts, size_t max)
{
    assert (job_p && *job_p);
    assert (parts || max == 0);
    return s_job_take_parts (job_p, parts, max);
}

void
ps_dispatch_stats (ps_dispatch_t *self, ps_dispatch_stats_t *stats)
{
    assert (self);
    assert (stats);
    pthread_mutex_lock (&self->lock);
    *stats = (ps_dispatch_stats_t){
        .workers = self->workers, .idle = self->idle, .queued = self->count, .jobs = self->jobs};
    pthread_mutex_unlock (&self->lock);
}

void
ps_dispatch_each_stage (const char *loopback, ps_dispatch_stage_fn *fn, void *arg)
{
    assert (fn);
    if (!loopback)
        return;
    pthread_mutex_lock (&s_registry_lock);
    for (ps_dispatch_t *self = s_registry; self; self = self->registry_next)
        if (self->stage && self->loopback && streq (self->loopback, loopback)) {
            ps_dispatch_stats_t stats;
            ps_dispatch_stats (self, &stats);
            fn (self->stage, &stats, arg);
        }
    pthread_mutex_unlock (&s_registry_lock);
}
