/*  ps_dispatch: a stage's jobs handed between threads of one process (see
    ps_dispatch.h).

    One mutex per dispatch guards the queue (a ring of hwm jobs), the idle
    seats (a FIFO: the longest idle worker gets the next job, as with a
    proxy) and the figures; no syscall is made while holding it, or the
    threads would queue on it. A job handed to an idle seat is followed by
    one write to the seat's eventfd, after the unlock; the worker, once
    woken, reads the fd before it looks for the job (so a hand-off that
    comes after the read still leaves the fd readable, and none is missed).
    A worker that never slept does not read: a job taken from the queue
    costs no syscall at all.

    The registry of dispatches by endpoint is a short list under a mutex of
    its own, which also guards the reference counts.
*/
#include "ps_dispatch.h"
#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct _ps_dispatch_seat_t {
    ps_dispatch_t *dispatch;
    int fd;
    zmsg_t *handed;            //  a job given to us while idle, not yet taken
    bool idle;                 //  in the idle FIFO
    bool slept;                //  the worker's own: it found nothing last time
    ps_dispatch_seat_t *prev;  //  in the idle FIFO, or the retired list (next)
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
    zmsg_t **ring;
    size_t capacity;
    size_t head;                  //  oldest job
    size_t count;                 //  jobs queued
    ps_dispatch_seat_t *retired;  //  seats left: a sender may still write to their fd
    ps_dispatch_seat_t *idle_first;
    ps_dispatch_seat_t *idle_last;
    size_t idle;
    size_t workers;
    uint64_t jobs;
};

static pthread_mutex_t s_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static ps_dispatch_t *s_registry = NULL;

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
        zmsg_destroy (&self->ring[(self->head + i) % self->capacity]);
    free (self->ring);
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
    self->ring = (zmsg_t **) zmalloc (self->capacity * sizeof (zmsg_t *));
    assert (self->ring);
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->room, NULL);
    self->references = 1;

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

//  The longest idle seat, out of the FIFO; NULL if none is idle.
static ps_dispatch_seat_t *
s_idle_pop (ps_dispatch_t *self)
{
    ps_dispatch_seat_t *seat = self->idle_first;
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

int
ps_dispatch_submit (ps_dispatch_t *self, zmsg_t **job_p, int timeout_ms)
{
    assert (self);
    assert (job_p && *job_p);
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
        zmsg_destroy (job_p);
        errno = EAGAIN;
        return -1;
    }
    return 0;
}

int
ps_sink_send (const ps_sink_t *sink, const ps_envelope_t *envelope, zmsg_t **payload_p,
              int timeout_ms)
{
    assert (sink);
    assert (sink->dispatch || sink->handle);
    if (!sink->dispatch)
        return ps_envelope_send (envelope, payload_p, sink->handle);
    zmsg_t *job = (payload_p && *payload_p) ? *payload_p : zmsg_new ();
    if (payload_p)
        *payload_p = NULL;
    zframe_t *head = ps_envelope_encode (envelope);
    zmsg_prepend (job, &head);
    return ps_dispatch_submit (sink->dispatch, &job, timeout_ms);
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
    zmsg_t *lost = NULL;
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
    zmsg_destroy (&lost);
}

int
ps_dispatch_seat_fd (ps_dispatch_seat_t *seat)
{
    assert (seat);
    return seat->fd;
}

zmsg_t *
ps_dispatch_next (ps_dispatch_seat_t *seat)
{
    assert (seat);
    ps_dispatch_t *self = seat->dispatch;
    if (seat->slept) {
        //  Woken (or looking again): clear the fd before looking, never
        //  after, so a job handed from now on leaves it readable
        uint64_t count;
        ssize_t rc = read (seat->fd, &count, sizeof count);
        assert (rc == sizeof count || errno == EAGAIN);
        seat->slept = false;
    }
    pthread_mutex_lock (&self->lock);
    zmsg_t *job = seat->handed;
    seat->handed = NULL;
    if (!job && self->count > 0) {
        job = self->ring[self->head];
        self->ring[self->head] = NULL;
        self->head = (self->head + 1) % self->capacity;
        if (self->count-- == self->capacity)
            pthread_cond_broadcast (&self->room);
    }
    if (job)
        self->jobs++;
    else if (!seat->idle)
        s_idle_append (self, seat);
    pthread_mutex_unlock (&self->lock);
    seat->slept = job == NULL;
    return job;
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
