/*  ps_dispatch: a stage's jobs handed between threads of one process, with
    no proxy between them. Private.

    In one process a proxy is pure routing, and it costs two thread
    hand-offs per job (sender -> proxy -> worker) plus a READY from the
    worker. A dispatch is the same routing done by the threads themselves
    under a mutex: the sender gives a job straight to the most recently
    idle worker, or queues it; a worker that finishes takes the next queued job
    itself before it says it is idle. While every worker is busy, a job
    costs no syscall and wakes nobody; an idle worker is woken through an
    eventfd of its own.

    A dispatch is found by endpoint: ps_pipeline registers one under its
    stage's two inproc endpoint names instead of starting a proxy, and the
    server and the workers (ps_dispatch_find) use it in place of a socket
    to that endpoint, so no config changes. Jobs are zmsg_t as a worker's
    DEALER would receive them: [envelope][payload frames...]. Every
    function is safe from any thread.

    The way back works alike: ps_pipeline registers one under its
    generated inproc loopback, the server takes its only seat and reads
    the jobs as libzmq messages (ps_dispatch_next_batch), and the workers
    send their results and stream parts to it (ps_sink_send,
    ps_sink_send_msg) instead of over a PUSH. A worker's messages keep
    their order, since they all take that one path. The PULL stays bound
    for proxies. Measured at ab -k -c 8: 14.2 syscalls per request
    against 16.3, the server's libzmq drains of the PULL gone.
*/
#ifndef PS_DISPATCH_H_INCLUDED
#define PS_DISPATCH_H_INCLUDED

#include "ps_envelope_private.h"
#include "ps_span.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct _ps_dispatch_t ps_dispatch_t;
typedef struct _ps_dispatch_seat_t ps_dispatch_seat_t;
typedef struct _ps_dispatch_job_t ps_dispatch_job_t;

//  The figures of a stage, as a proxy reports them
typedef struct {
    size_t workers;  //  seated
    size_t idle;
    size_t queued;  //  jobs waiting for a worker
    uint64_t jobs;  //  handed to workers, in all
} ps_dispatch_stats_t;

//  A dispatch registered under the given endpoints (copied; up is the one
//  senders use, down the one workers use), queueing at most hwm jobs. stage
//  (or NULL) names it in the metrics of the server whose loopback is
//  loopback (or NULL). Returns NULL if either endpoint is taken.
ps_dispatch_t *ps_dispatch_new (const char *up, const char *down, size_t hwm, const char *stage,
                                const char *loopback);

//  Drops a reference; the last one takes the endpoints off the registry
//  and frees the dispatch and any job still queued.
void ps_dispatch_destroy (ps_dispatch_t **self_p);

//  The dispatch registered under endpoint, with a reference the caller
//  drops with ps_dispatch_destroy; NULL if none (an ordinary endpoint).
ps_dispatch_t *ps_dispatch_find (const char *endpoint);

//  Gives a job (taken, destroyed on failure) to an idle worker, or queues
//  it. If the queue is full, waits up to timeout_ms for room (0: not at
//  all, negative: for good). Returns 0, or -1 (errno EAGAIN: full).
int ps_dispatch_submit (ps_dispatch_t *self, zmsg_t **job_p, int timeout_ms);

//  Where a job goes next: a dispatch in this process, else a libzmq socket
//  towards a proxy; both NULL: nowhere.
typedef struct {
    ps_dispatch_t *dispatch;
    void *handle;
} ps_sink_t;

//  Sends a job, [envelope][payload frames] (payload taken; NULL or empty:
//  none), to sink: on its socket with that socket's own send timeout, or
//  to its dispatch, waiting up to timeout_ms for room (as
//  ps_dispatch_submit). Returns 0, or -1.
int ps_sink_send (const ps_sink_t *sink, const ps_envelope_t *envelope, zmsg_t **payload_p,
                  int timeout_ms);

//  Sends [envelope][data] to sink, as ps_sink_send; data (a message whose
//  bytes may belong to a pool: ps_part_pool.h) is taken, and moved rather
//  than copied if large. Returns 0, or -1 (data closed).
int ps_sink_send_msg (const ps_sink_t *sink, const ps_envelope_t *envelope, zmq_msg_t *data,
                      int timeout_ms);

//  Sends [envelope][frames] to sink, as ps_sink_send, the frames' bytes
//  copied (into the job's one block, or by libzmq): a sender that has its
//  frames in buffers of its own builds no zmsg. Returns 0, or -1.
int ps_sink_send_spans (const ps_sink_t *sink, const ps_envelope_t *envelope, const ps_span_t *frames,
                        size_t count, int timeout_ms);

//  A feeder: a thread that gives the dispatch jobs only while a seat is
//  idle, or, if it says queue, while the queue holds fewer jobs than there
//  are seats (a proxy, whose other workers are sockets: a job must not
//  wait for a busy worker here while another is free there, so it queues
//  only while it has no others). Its eventfd becomes readable when there
//  is room again after the feeder found none (ps_dispatch_room_or_watch,
//  ps_dispatch_hand): a seat went idle, or took a queued job. It reads the
//  fd with ps_dispatch_watch_clear. One feeder per dispatch.
int ps_dispatch_watch_fd (ps_dispatch_t *self);
void ps_dispatch_watch_clear (ps_dispatch_t *self);

//  Whether a job could go now; if not, the watch fd will say when.
bool ps_dispatch_room_or_watch (ps_dispatch_t *self, bool queue);

//  Gives [envelope][payload] (payload taken on success) to an idle seat,
//  else, if queue, to the queue while it holds fewer jobs than there are
//  seats. Returns 0; -1 if neither (payload kept; the watch is set); -2 if
//  the job was lost (a seat left meanwhile and the queue is full).
int ps_dispatch_hand (ps_dispatch_t *self, const ps_envelope_t *envelope, zmsg_t **payload_p,
                      bool queue);

//  A worker's place at the dispatch. The seat's fd (ps_dispatch_seat_fd)
//  becomes readable when a job is handed to it while idle.
ps_dispatch_seat_t *ps_dispatch_seat_new (ps_dispatch_t *self);
void ps_dispatch_seat_destroy (ps_dispatch_seat_t **seat_p);
int ps_dispatch_seat_fd (ps_dispatch_seat_t *seat);

//  The job handed to seat, else the oldest queued one, as it crossed: one
//  block, its frames read in place; NULL if none, and then the seat is
//  idle (waits for its fd) until a job is handed to it. How many frames
//  the job has, and the first max of them into frames (valid until the
//  job is destroyed); its frames from first on as a zmsg (a copy, but a
//  large frame is moved: its span stays valid while the zmsg lives); and
//  its end.
ps_dispatch_job_t *ps_dispatch_next_job (ps_dispatch_seat_t *seat);
size_t ps_dispatch_job_frames (ps_dispatch_job_t *job, ps_span_t *frames, size_t max);
zmsg_t *ps_dispatch_job_msg (ps_dispatch_job_t *job, size_t first);
void ps_dispatch_job_destroy (ps_dispatch_job_t **job_p);

//  Up to max jobs (the one handed to seat, then the oldest queued) into
//  jobs, in one hold of the lock, for a seat that drains many per wake-up
//  (a server's loopback); none: the seat is idle, as with
//  ps_dispatch_next_job. Returns how many. Then a job's first max parts
//  as libzmq messages (initialised here, for the caller to close; the
//  rest dropped), for a seat that reads those, and how many it had; the
//  job is freed. A large part is handed over, not copied.
size_t ps_dispatch_next_batch (ps_dispatch_seat_t *seat, ps_dispatch_job_t **jobs, size_t max);
size_t ps_dispatch_job_take_parts (ps_dispatch_job_t **job_p, zmq_msg_t *parts, size_t max);

//  The dispatch's figures now.
void ps_dispatch_stats (ps_dispatch_t *self, ps_dispatch_stats_t *stats);

//  Calls fn for every registered dispatch with a stage name whose loopback
//  is loopback.
typedef void (ps_dispatch_stage_fn) (const char *stage, const ps_dispatch_stats_t *stats,
                                     void *arg);
void ps_dispatch_each_stage (const char *loopback, ps_dispatch_stage_fn *fn, void *arg);

#endif
