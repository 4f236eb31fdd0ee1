/*  ps_proxy: the load balancer between two stages.

    Jobs arrive on a PULL socket (upstream, bound) from the server or from
    the previous stage's workers. Workers connect a DEALER to the ROUTER
    (downstream, bound) and announce themselves with READY messages that may
    carry an application heartbeat. The proxy keeps idle workers in a FIFO
    (longest idle first) and hands each job to one idle worker. A worker may
    announce a credit (ps_worker_config_t.credit): it then stays in the
    FIFO, going to its back after each job, until it holds that many jobs.
    While no worker is idle it stops reading upstream, so jobs wait in the bounded
    socket queues (back-pressure, never an unbounded queue of ours).

    A chooser may pick the worker for a job from the idle workers'
    heartbeats (traffic shaping).

    Workers of the proxy's own process may instead take jobs from its
    thread directly (config.local): no socket, no READY, so a job costs
    them no libzmq hand-off. An idle local worker gets the next job before
    the socket's; while none is idle a job goes to an idle socket worker,
    and it waits for a local one (one per local worker) only while no
    socket worker is known.

    Workers that send liveness beats are dropped when they fall silent, and
    every job a dropped worker held is reported lost to the server; a job is
    never handed to a worker the proxy cannot reach (the next idle one gets
    it). Idle beats are answered, so workers notice a dead proxy.
*/
#ifndef PS_PROXY_H_INCLUDED
#define PS_PROXY_H_INCLUDED

#include "ps_curve.h"
#include "ps_export.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Pick a worker for job (borrowed payload frames, without envelope; an
//  HTTP job's request reads with ps_http_request_decode) among
//  count idle workers, longest idle first; heartbeats[i] is worker i's last
//  heartbeat (NULL if it sent none). Return an index in [0, count), or -1 to
//  leave the job waiting until another worker becomes idle. arg is the
//  config's choose_arg (last, as in every callback of the library).
typedef int (ps_proxy_choose_fn) (zmsg_t *job, zframe_t **heartbeats, size_t count, void *arg);

//  A zeroed field means its default, for every field; the default is given
//  with each. Where 0 meant "off" before defaults existed (the liveness
//  intervals), a negative value now means off.
typedef struct {
    const char *upstream;        //  PULL, bound: jobs in
    const char *downstream;      //  ROUTER, bound: workers connect here
                                 //  (either may list several endpoints,
                                 //  comma-separated: each is bound, the
                                 //  first reported; say, tcp:// for workers
                                 //  elsewhere and inproc:// for this process)
    ps_proxy_choose_fn *choose;  //  NULL: the longest idle worker
    void *choose_arg;
    int hwm;       //  send/receive HWM of both sockets; 0: 10000
    bool verbose;  //  log junk and worker changes; false (default): quiet
    //  Worker liveness (docs/PROTOCOL.md, "Liveness"). A worker that sends
    //  beats and is then silent for expiry_ms is dropped; the job it held
    //  is reported to the server's loopback, if given, as a RESULT 502 with
    //  PS_FLAG_LOST (the server retries a GET/HEAD once).
    const char *loopback;  //  PUSH, connected to the server's loopback; NULL: none
    int heartbeat_ms;      //  how often silent workers are looked for; 0: 1000;
                           //  negative: never (no expiry)
    int expiry_ms;         //  silence after which a worker is dropped; 0: 3000;
                           //  negative: never
    ps_curve_t curve;      //  CURVE on all three sockets (ps_curve.h); zeroed: plaintext
    //  Metrics (docs/PROTOCOL.md, "STATS"): a proxy with a stage name and a
    //  loopback reports its figures there every report_ms, so the server's
    //  metrics show this stage even when the proxy runs elsewhere.
    const char *stage;  //  the stage's name (1 to 128 bytes); NULL: no reports
    int report_ms;      //  0: 1000
    //  Workers of this process (ps_worker given this name as upstream) take
    //  jobs from the proxy's thread directly, with no socket and no READY:
    //  the proxy hands a job to one of them when it is idle, else to an
    //  idle worker of the downstream socket, so no job waits for a busy
    //  worker while another is free. An inproc-style name that only this
    //  process's ps_workers resolve (not bound); not with choose (local
    //  workers send no heartbeats). NULL: none.
    const char *local;
} ps_proxy_config_t;

//  Fills config with the defaults above, written out (a zeroed config means
//  the same).
PS_EXPORT void ps_proxy_config_defaults (ps_proxy_config_t *config);

typedef struct _ps_proxy_t ps_proxy_t;

//  Start a proxy in its own thread (a zactor). The config is read before
//  this returns (and what is kept, copied). Returns NULL, with a logged
//  reason, when a bind fails.
PS_EXPORT ps_proxy_t *ps_proxy_new (const ps_proxy_config_t *config);

//  Stop the proxy and free it; accepts NULL.
PS_EXPORT void ps_proxy_destroy (ps_proxy_t **self_p);

//  The endpoints the proxy's sockets are bound to, as libzmq resolved them:
//  a wildcard port ("tcp://127.0.0.1:*") shows the port chosen, so workers
//  and the previous stage can connect there. Borrowed until destroy.
PS_EXPORT const char *ps_proxy_upstream_endpoint (ps_proxy_t *self);
PS_EXPORT const char *ps_proxy_downstream_endpoint (ps_proxy_t *self);

//  What the proxy knows now: for monitoring, and for tests that must wait
//  for a state (say, every worker registered) rather than for time.
typedef struct {
    size_t workers;        //  known workers
    size_t idle;           //  of them, able to take a job now
    uint64_t registered;   //  workers taken in since start (again after a drop)
    uint64_t dropped;      //  workers forgotten: silent, or unreachable and not beating
    uint64_t unreachable;  //  times a beating worker was found unreachable and set
                           //  aside until its next beat (one between two connections)
    uint64_t jobs;         //  jobs handed to workers
    uint64_t lost;         //  jobs reported lost with their worker
    uint64_t returned;     //  jobs given back unstarted (RETURN) by a worker whose
                           //  job in hand turned out long, to go to another
} ps_proxy_stats_t;

//  Fill stats with the proxy's figures now. Returns 0, or -1 if the proxy
//  did not answer within a second (it is not running).
PS_EXPORT int ps_proxy_stats (ps_proxy_t *self, ps_proxy_stats_t *stats);

//  The actor body, for users who run the proxy in a thread of their own
//  (zactor_new, or a PAIR socket of theirs as pipe). It starts like every
//  component actor (docs/PROTOCOL.md, "Actors"): a signal, 0 or 1, then a
//  message with the status and the upstream and downstream endpoints as
//  bound. It runs until "$TERM" arrives on the pipe. "STATS" is answered
//  with one frame holding a ps_proxy_stats_t (in-process only: raw bytes).
PS_EXPORT void ps_proxy_actor (zsock_t *pipe, void *config);

#ifdef __cplusplus
}
#endif
#endif
