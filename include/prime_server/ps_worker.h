/*  ps_worker: runs the user's work function for one stage.

    Connects a DEALER to its proxy's downstream (jobs in, READY out), a PUSH
    to the next stage's proxy upstream (optional for the last stage), a PUSH
    to the server's loopback (final answers and errors) and a SUB to the
    server's interrupt channel (cancellations).

    The work function reads the job, then either forwards frames to the next
    stage or replies with a final answer, whole or in parts (a stream, paced
    by the server's grants on the interrupt channel). Returning an error, or
    returning without doing either, answers 500: a client is never left
    without reply.
*/
#ifndef PS_WORKER_H_INCLUDED
#define PS_WORKER_H_INCLUDED

#include "ps_curve.h"
#include "ps_export.h"
#include "ps_envelope.h"
#include "ps_http.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  A job being worked on, handed to the work function; valid only during it.
typedef struct _ps_work_t ps_work_t;

//  The request id given by the server.
PS_EXPORT uint64_t ps_work_id (ps_work_t *work);
//  How the payload is laid out (PS_KIND_HTTP in the first stage).
PS_EXPORT ps_kind_t ps_work_kind (ps_work_t *work);
//  The payload frames, without the envelope (borrowed). A job handed over
//  in one process (no proxy socket) is read in place, and this zmsg is
//  made on the first call: a stage that needs only the request makes none.
PS_EXPORT zmsg_t *ps_work_payload (ps_work_t *work);
//  For PS_KIND_HTTP jobs: the decoded request (borrowed); NULL otherwise or
//  if the payload is malformed. Decoded on the first call, from the payload
//  as it is then.
PS_EXPORT const ps_http_request_t *ps_work_request (ps_work_t *work);
//  True once the server cancelled this job (client gone, timeout, shutdown).
//  Cheap: call it every few thousand iterations of a long loop.
PS_EXPORT bool ps_work_cancelled (ps_work_t *work);

//  Send these frames to the next stage (takes them). Returns 0, or -1 if
//  there is no next stage or the send failed (the client then gets an error).
//  The next stage is the config's downstream or, without one, its only
//  named downstream; a worker with several names forwards with
//  ps_work_forward_to.
PS_EXPORT int ps_work_forward (ps_work_t *work, zmsg_t **frames_p);

//  Send these frames to the stage named name in the config's downstreams
//  (takes them). Returns 0, or -1 if the send failed or there is no such
//  name: a mistake in the work function, logged with the name, and
//  answered 500 to the client; the worker goes on with its next job.
PS_EXPORT int ps_work_forward_to (ps_work_t *work, const char *name, zmsg_t **frames_p);

//  Final answer to the client; headers (may be NULL) is taken; body copied.
//  Returns 0, or -1 if the loopback send failed.
PS_EXPORT int ps_work_reply (ps_work_t *work, int status, ps_pairs_t **headers_p, const void *body,
                             size_t body_size);

//  A streamed answer (docs/PROTOCOL.md, "Streamed answers"), for bodies
//  too large to hold or that are made bit by bit: a start, any number of
//  parts, then an end, or an abort when the body cannot be completed.
//
//  Start: status, headers (may be NULL; taken) and the body's size, or -1
//  if it is not known (the server then frames the body itself). The start
//  answers the job. Returns 0, or -1 if the job was answered already or
//  the loopback send failed.
PS_EXPORT int ps_work_stream_start (ps_work_t *work, int status, ps_pairs_t **headers_p,
                                    int64_t size);

//  One part of the body (copied; size > 0). Waits while the server's grant
//  for this answer is used up, that is, while the client has not taken
//  what was sent before: a client that stops reading stops its worker
//  here. Parts of 16 to 256 KiB suit most uses. For a HEAD request no body
//  leaves and this returns 0 at once (ps_work_head). Returns 0, or -1 when
//  the job was cancelled (client gone, server stopping), the grant did not
//  come within config.stream_stall_ms, or a send failed: stop then.
PS_EXPORT int ps_work_stream_part (ps_work_t *work, const void *data, size_t size);

//  The same, without a copy: the frame (size > 0) is taken and its bytes
//  go to the server as they are, so a part read straight into
//  zframe_data (zframe_new (NULL, size)) is copied again only by the
//  kernel. *frame_p is NULL on return, whatever the result.
PS_EXPORT int ps_work_stream_part_frame (ps_work_t *work, zframe_t **frame_p);

//  The body is complete (when a size was given, exactly that many bytes
//  were sent). Returns 0, or -1 if the send failed.
PS_EXPORT int ps_work_stream_end (ps_work_t *work);

//  The body cannot be completed: the server closes the client's
//  connection (its status has left), or answers 502 if it had not yet.
//  Returning from the work function after a start without an end does
//  the same. Returns 0, or -1 if the send failed.
PS_EXPORT int ps_work_stream_abort (ps_work_t *work);

//  Body bytes of this job's stream sent so far.
PS_EXPORT uint64_t ps_work_stream_sent (ps_work_t *work);

//  True if the job is a HEAD request: an answer's headers are sent, never
//  its body.
PS_EXPORT bool ps_work_head (ps_work_t *work);

//  The heartbeat sent with this worker's next READY (copied).
PS_EXPORT void ps_work_set_heartbeat (ps_work_t *work, const void *data, size_t size);

//  This job will take long: the jobs queued at this worker behind it
//  (credit above 1) go back to the proxy to run at a free worker, and the
//  proxy gives this worker no more until the job is done. A streamed
//  answer does this by itself at its start. Does nothing in one process,
//  where no job waits at a worker, and with credit 1.
PS_EXPORT void ps_work_return_queued (ps_work_t *work);

//  The user's work function: 0 after forward or reply, -1 on failure.
typedef int (ps_work_fn) (ps_work_t *work, void *arg);
//  Called after every job, whatever happened.
typedef void (ps_cleanup_fn) (void *arg);

//  A named edge from a stage to the next: ps_work_forward_to (work, name,
//  ...) sends to the proxy upstream at endpoint.
typedef struct {
    const char *name;
    const char *endpoint;
} ps_downstream_t;

//  A zeroed field means its default, for every field; the default is given
//  with each. Where 0 meant "off" before defaults existed (the beats) or
//  "no waiting" (send_timeout_ms), a negative value now means that.
typedef struct {
    const char *upstream;    //  proxy downstream (ROUTER) to connect to
    const char *downstream;  //  next proxy upstream (PULL), or NULL for the last stage
    const char *loopback;    //  server loopback (PULL)
    const char *interrupt;   //  server interrupt (PUB)
    ps_work_fn *work;
    void *work_arg;
    ps_cleanup_fn *cleanup;  //  optional
    const void *heartbeat;   //  optional initial heartbeat (copied)
    size_t heartbeat_size;
    int send_timeout_ms;  //  no send blocks longer; 0: 1000; negative: a send never
                          //  waits (fails at once when it cannot go)
    int hwm;              //  socket HWMs; 0: 10000
    //  Credit: how many jobs the proxy may give this worker at once, one
    //  running and credit - 1 queued in its socket (default 1; 0 is 1).
    //  More than 1 saves a round trip and a wake-up per job (the next job
    //  is already there when one ends), which pays with many short jobs,
    //  but a queued job waits for the ones before it at the same worker
    //  even when another worker is free: a cheap job can wait behind a
    //  costly one, unless that one streams its answer or calls
    //  ps_work_return_queued (the queued jobs then go back to the proxy).
    //  With 1, a job waits in the proxy until a worker is free.
    //  The credit rides in the worker's READY (docs/PROTOCOL.md); a proxy
    //  that predates it gives one job at a time.
    size_t credit;
    bool verbose;
    //  Liveness (docs/PROTOCOL.md): beats go to the proxy every
    //  heartbeat_ms, while idle and, from a second socket owned by a
    //  thread of the worker's own, while the work function runs (so a long
    //  computation is not taken for a dead worker). Idle and not a word
    //  from the proxy for expiry_ms: the worker reconnects and announces
    //  itself again (a restarted proxy learns of it).
    int heartbeat_ms;  //  0: 1000; negative: no beats (and no reconnection)
    int expiry_ms;     //  0: 3000; negative: never reconnect
    ps_curve_t curve;  //  CURVE on every socket (ps_curve.h); zeroed: plaintext
    //  Named downstreams: the stage is a node of a graph whose work
    //  function picks the next stage per job (ps_work_forward_to). Each
    //  endpoint is a proxy's upstream (PULL), as downstream is; the names
    //  are unique. Read at start (copied). NULL: none.
    const ps_downstream_t *downstreams;
    size_t downstream_count;
    //  A streamed answer waits at most this long for the server's next
    //  grant (the server's send timeout ends a client that takes nothing,
    //  which cancels the job, so this only bounds a lost server); 0: 120000.
    int stream_stall_ms;
} ps_worker_config_t;

//  Fills config with the defaults above, written out (a zeroed config means
//  the same).
PS_EXPORT void ps_worker_config_defaults (ps_worker_config_t *config);

typedef struct _ps_worker_t ps_worker_t;

//  Start a worker in its own thread. The config is read before this
//  returns (and what is kept, copied). Returns NULL with a logged reason
//  when a connect fails.
PS_EXPORT ps_worker_t *ps_worker_new (const ps_worker_config_t *config);
PS_EXPORT void ps_worker_destroy (ps_worker_t **self_p);

//  The actor body, for users who run the worker in a thread of their own.
//  It starts like every component actor (docs/PROTOCOL.md, "Actors"): a
//  signal, 0 or 1, then a message with the status alone. Commands: "$TERM".
PS_EXPORT void ps_worker_actor (zsock_t *pipe, void *config);

#ifdef __cplusplus
}
#endif
#endif
