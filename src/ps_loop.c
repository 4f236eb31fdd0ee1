/*  ps_loop: the edge-triggered poll loop of the component actors (see
    ps_loop.h for the "clean" rule).

    The hot path costs what the hand-written loops of the proxy and the
    worker cost before it: per round one test of a flag per socket (and a
    gate call where a gate is set), no syscall of its own; poll(2) only when
    every socket is drained, or now and then while busy.
*/
#include "ps_loop.h"
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>

//  Sockets one loop may listen to: the pipe and the actor's own few
#define S_MAX_SOCKETS 8
//  How many messages the pipe hands us per wake-up
#define S_PIPE_BATCH 64
//  While busy, the loop looks at the fds (a syscall) once every this many
//  rounds ...
#define S_BUSY_ROUNDS 16
//  ... or once this many ms have passed, whichever comes first (a round may
//  be one long job)
#define S_BUSY_LOOK_MS 10

typedef struct {
    zsock_t *sock;  //  or NULL: a plain fd
    void *handle;   //  its libzmq socket, or NULL
    int fd;         //  its ZMQ_FD, or the plain fd
    bool clean;     //  drained to EAGAIN since the last operation on it
    ps_loop_fn *handler;
    ps_loop_gate_fn *gate;  //  or NULL: always read
    void *arg;
} s_socket_t;

struct _ps_loop_t {
    const char *name;
    s_socket_t sockets[S_MAX_SOCKETS];
    int count;
    ps_loop_command_fn *command;
    void *command_arg;
    ps_loop_timer_fn *timer;
    void *timer_arg;
    bool stopped;
    int64_t now;
};

//  Commands on the pipe. "$TERM" ends the loop, and is then the last
//  command read.
static bool
s_handle_pipe (ps_loop_t *self, void *handle, void *arg)
{
    (void) arg;
    for (int count = 0; count < S_PIPE_BATCH && !self->stopped; count++) {
        zmsg_t *msg = zmsg_recv (handle);
        if (!msg) {
            if (errno == EAGAIN)
                return true;
            if (errno != EINTR)
                self->stopped = true;  //  context gone
            return false;
        }
        char *command = zmsg_popstr (msg);
        bool term = command && streq (command, "$TERM");
        if (term)
            self->stopped = true;
        if ((!command || !self->command
             || self->command (self, command, msg, self->command_arg) != 0)
            && !term)
            zsys_warning ("%s: unknown pipe command '%s'", self->name, command ? command : "");
        zstr_free (&command);
        zmsg_destroy (&msg);
    }
    return false;
}

ps_loop_t *
ps_loop_new (zsock_t *pipe, const char *name, ps_loop_command_fn *command, void *arg)
{
    assert (pipe);
    assert (name);
    ps_loop_t *self = (ps_loop_t *) zmalloc (sizeof (ps_loop_t));
    assert (self);
    self->name = name;
    self->command = command;
    self->command_arg = arg;
    self->now = zclock_mono ();
    int id = ps_loop_add (self, pipe, s_handle_pipe, NULL);
    assert (id == PS_LOOP_PIPE);
    return self;
}

void
ps_loop_destroy (ps_loop_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

int
ps_loop_add (ps_loop_t *self, zsock_t *sock, ps_loop_fn *handler, void *arg)
{
    assert (self);
    assert (sock);
    assert (handler);
    assert (self->count < S_MAX_SOCKETS);
    int id = self->count++;
    self->sockets[id].handler = handler;
    self->sockets[id].arg = arg;
    ps_loop_replace (self, id, sock);
    return id;
}

int
ps_loop_add_fd (ps_loop_t *self, int fd, ps_loop_fn *handler, void *arg)
{
    assert (self);
    assert (fd >= 0);
    assert (handler);
    assert (self->count < S_MAX_SOCKETS);
    int id = self->count++;
    s_socket_t *socket = &self->sockets[id];
    *socket = (s_socket_t){.fd = fd, .handler = handler, .arg = arg};
    return id;
}

void
ps_loop_set_gate (ps_loop_t *self, int id, ps_loop_gate_fn *gate)
{
    assert (self);
    assert (id >= 0 && id < self->count);
    self->sockets[id].gate = gate;
}

void
ps_loop_set_timer (ps_loop_t *self, ps_loop_timer_fn *timer, void *arg)
{
    assert (self);
    self->timer = timer;
    self->timer_arg = arg;
}

void
ps_loop_replace (ps_loop_t *self, int id, zsock_t *sock)
{
    assert (self);
    assert (id >= 0 && id < self->count);
    assert (sock);
    s_socket_t *socket = &self->sockets[id];
    socket->sock = sock;
    socket->handle = zsock_resolve (sock);
    socket->fd = zsock_fd (sock);
    socket->clean = false;
    //  Handlers only read what is there
    zsock_set_rcvtimeo (sock, 0);
}

void
ps_loop_dirty (ps_loop_t *self, int id)
{
    assert (self);
    self->sockets[id].clean = false;
}

void
ps_loop_drain (ps_loop_t *self, int id)
{
    assert (self);
    s_socket_t *socket = &self->sockets[id];
    if (!socket->clean)
        socket->clean = socket->handler (self, socket->handle, socket->arg);
}

void
ps_loop_peek (ps_loop_t *self, int id)
{
    assert (self);
    s_socket_t *socket = &self->sockets[id];
    assert (socket->sock);
    //  ZMQ_EVENTS first: a receive on an empty socket costs more
    int events = 0;
    size_t size = sizeof (events);
    if (zmq_getsockopt (socket->handle, ZMQ_EVENTS, &events, &size) == 0 && (events & ZMQ_POLLIN))
        socket->handler (self, socket->handle, socket->arg);
    socket->clean = false;
}

void
ps_loop_stop (ps_loop_t *self)
{
    assert (self);
    self->stopped = true;
}

bool
ps_loop_stopped (ps_loop_t *self)
{
    assert (self);
    return self->stopped;
}

int64_t
ps_loop_now (ps_loop_t *self)
{
    assert (self);
    return self->now;
}

static bool
s_open (s_socket_t *socket)
{
    return !socket->gate || socket->gate (socket->arg);
}

//  True when every socket being read is drained, so the loop may block.
static bool
s_all_clean (ps_loop_t *self)
{
    for (int i = 0; i < self->count; i++)
        if (!self->sockets[i].clean && s_open (&self->sockets[i]))
            return false;
    return true;
}

void
ps_loop_run (ps_loop_t *self)
{
    assert (self);
    int busy_rounds = 0;
    int64_t last_look = self->now = zclock_mono ();
    while (!self->stopped) {
        for (int i = 0; i < self->count && !self->stopped; i++) {
            s_socket_t *socket = &self->sockets[i];
            if (!socket->clean && s_open (socket))
                socket->clean = socket->handler (self, socket->handle, socket->arg);
        }
        if (self->stopped)
            break;
        //  While busy, go on draining, and only now and then look (timeout
        //  0) which fds have news, so the pipe is never starved.
        if (!s_all_clean (self) && ++busy_rounds < S_BUSY_ROUNDS
            && zclock_mono () - last_look < S_BUSY_LOOK_MS)
            continue;
        busy_rounds = 0;
        last_look = self->now = zclock_mono ();
        int64_t deadline = self->timer ? self->timer (self, last_look, self->timer_arg) : INT64_MAX;
        if (self->stopped)
            break;

        //  After the timer, which may have sent (and so dirtied) or opened
        //  a gate.
        struct pollfd fds[S_MAX_SOCKETS];
        int ids[S_MAX_SOCKETS];
        int count = 0;
        bool clean = true;
        for (int i = 0; i < self->count; i++)
            if (s_open (&self->sockets[i])) {
                clean = clean && self->sockets[i].clean;
                fds[count] = (struct pollfd){self->sockets[i].fd, POLLIN, 0};
                ids[count++] = i;
            }
        int timeout = !clean                           ? 0
                      : deadline == INT64_MAX          ? -1
                      : deadline <= last_look          ? 0
                      : deadline - last_look > INT_MAX ? INT_MAX
                                                       : (int) (deadline - last_look);
        int rc = poll (fds, (nfds_t) count, timeout);
        if (rc == -1 && errno != EINTR) {
            zsys_error ("%s: poll failed: %s", self->name, strerror (errno));
            break;
        }
        if (timeout != 0)
            self->now = zclock_mono ();  //  one read per wake-up
        for (int k = 0; rc > 0 && k < count; k++)
            if (fds[k].revents)
                self->sockets[ids[k]].clean = false;
    }
}
