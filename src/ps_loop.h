/*  ps_loop: the poll loop of every component actor (server, proxy, worker).
    Private.

    The loop polls the sockets' ZMQ_FDs with poll(2) itself rather than
    zmq_poll, which asks every socket for ZMQ_EVENTS (a syscall each) twice
    per wait. A ZMQ_FD only signals changes, and any operation on a socket
    (a send too) may swallow that signal, so the loop keeps a "clean" flag
    per socket: set once the socket's handler has read it to EAGAIN since
    the last operation on it, cleared by poll(2) news, by ps_loop_dirty (a
    send elsewhere) and by a handler that stops before EAGAIN. It blocks
    only while every socket it listens to is clean.

    While some socket is not clean, the loop goes on calling the handlers
    and only now and then (every 16 rounds, or 10 ms: ps_loop.c) looks at
    the fds with a zero timeout and runs the timer hook, so a busy pipeline
    never starves the pipe nor the timers.

    The pipe is always socket PS_LOOP_PIPE, read by the loop itself:
    "$TERM" ends the loop; every command, "$TERM" included, is handed to
    the actor's command callback. Callbacks take their arg last.
*/
#ifndef PS_LOOP_H_INCLUDED
#define PS_LOOP_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct _ps_loop_t ps_loop_t;

//  The id of the pipe in every loop
#define PS_LOOP_PIPE 0

//  Reads what handle (a libzmq socket) has, a batch at most, without
//  blocking. Returns true once a receive on it said EAGAIN (drained), false
//  if it stopped before (more may wait).
typedef bool (ps_loop_fn) (ps_loop_t *loop, void *handle, void *arg);

//  Whether the socket is to be read now (say, the proxy reads jobs only
//  while a worker could take one). Called every round: keep it cheap.
typedef bool (ps_loop_gate_fn) (void *arg);

//  Does what is due at now (zclock_mono) and returns the next deadline, or
//  INT64_MAX for none. Runs whenever the loop looks at its fds.
typedef int64_t (ps_loop_timer_fn) (ps_loop_t *loop, int64_t now, void *arg);

//  A command from the pipe (the first frame; msg holds the rest, borrowed).
//  Returns 0, or -1 for an unknown command (the loop logs it). "$TERM" has
//  already ended the loop when it comes here.
typedef int (ps_loop_command_fn) (ps_loop_t *loop, const char *command, zmsg_t *msg, void *arg);

//  A loop on the actor's pipe; name is for log lines (borrowed: a literal).
//  command may be NULL ("$TERM" only).
ps_loop_t *ps_loop_new (zsock_t *pipe, const char *name, ps_loop_command_fn *command, void *arg);
void ps_loop_destroy (ps_loop_t **self_p);

//  Listens to sock (borrowed; it must outlive the loop or be replaced);
//  handlers run in the order of their adding. Returns the socket's id.
int ps_loop_add (ps_loop_t *self, zsock_t *sock, ps_loop_fn *handler, void *arg);

//  Listens to a plain fd that is readable while its handler has work
//  (level-triggered: the handler must clear it), as socket ids do; handle
//  is NULL in its calls. Returns its id.
int ps_loop_add_fd (ps_loop_t *self, int fd, ps_loop_fn *handler, void *arg);

//  Reads socket id only while gate says so (its arg is the handler's).
void ps_loop_set_gate (ps_loop_t *self, int id, ps_loop_gate_fn *gate);

//  The timer hook; one per loop.
void ps_loop_set_timer (ps_loop_t *self, ps_loop_timer_fn *timer, void *arg);

//  Socket id is now sock (the old one was closed); it starts dirty.
void ps_loop_replace (ps_loop_t *self, int id, zsock_t *sock);

//  Something was done on socket id outside its handler (a send): it must
//  be read again before the loop may block.
void ps_loop_dirty (ps_loop_t *self, int id);

//  Runs socket id's handler now unless it is known drained.
void ps_loop_drain (ps_loop_t *self, int id);

//  Runs socket id's handler now if it has input (asks ZMQ_EVENTS; no
//  receive on an empty socket), and leaves it dirty for the loop. For
//  looking while the loop is held up (a long work function).
void ps_loop_peek (ps_loop_t *self, int id);

//  Ends the loop (after the current handler).
void ps_loop_stop (ps_loop_t *self);
bool ps_loop_stopped (ps_loop_t *self);

//  zclock_mono as of the loop's last wake-up: a clock for the hot path.
int64_t ps_loop_now (ps_loop_t *self);

//  Runs until "$TERM", ps_loop_stop, or a failed poll.
void ps_loop_run (ps_loop_t *self);

#endif
