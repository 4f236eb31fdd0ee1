/*  ps_pipeline: a whole service, server -> proxy -> workers [-> proxy ->
    workers ...], described by its stages and started in one call.

    The pipeline owns the wiring the components leave to their caller: it
    names every internal endpoint (unique inproc:// names by default, or
    ipc:// files, or tcp:// on 127.0.0.1 with ports the kernel picks),
    starts the pieces in an order that lets each connect to what the
    others bound, reports every endpoint as bound (so a wildcard port shows
    the port chosen), drains through the server and stops the pieces in
    the order that leaves nothing waiting (see ps_pipeline_destroy).

    For a split deployment the same description runs only some pieces in
    this process: a stage with no workers (others connect to its reported
    downstream endpoint), a stage whose proxy runs elsewhere (its endpoints
    are given), and any endpoint given explicitly.

        ps_pipeline_t *pipeline = ps_pipeline_new (&server_config);
        ps_pipeline_add_work (pipeline, parse, 2, NULL);
        ps_pipeline_add_work (pipeline, compute, 4, NULL);
        if (ps_pipeline_start (pipeline) == 0)
            ...serve, then ps_pipeline_drain / ps_pipeline_wait_drained...
        ps_pipeline_destroy (&pipeline);

    Every proxy reports jobs lost with a dropped worker, and its stage's
    figures, to the server's loopback. When the first stage's upstream and
    the loopback are both wildcard ports (the "tcp" transport), that proxy
    starts before the server (which connects to it) and is told the
    loopback once the server has bound it, before ps_pipeline_start
    returns.

    In one process a proxy is pure routing, and costs two thread hand-offs
    per job. So over the inproc transport, a stage whose endpoints are
    generated, whose workers are started with the pipeline (workers > 0)
    and that has no chooser runs without one: the server and the workers
    hand its jobs to each other directly, the most recently idle worker
    first (the likeliest to be awake still), and a worker that finishes
    takes the next queued job itself. Such a stage has no proxy
    (ps_pipeline_proxy gives NULL) and no heartbeats;
    its endpoints are names that only this library's components in this
    process resolve (a server, ps_pipeline_add_worker, a ps_worker given
    the downstream endpoint), not libzmq endpoints. Its figures are in the
    server's metrics as a proxy's would be. For a proxy anyway, use ipc or
    tcp, or a stage of no workers with ps_pipeline_add_worker.

    Likewise over inproc with a generated loopback, the workers of this
    process (the pipeline's, ps_pipeline_add_worker's, or a ps_worker
    given ps_pipeline_loopback_endpoint) hand their results to the server
    the same way rather than over a PUSH; the server's PULL stays bound
    for the proxies' reports.

    A graph rather than a line: several workflows in one service. Routes
    (ps_pipeline_add_route) send requests by path to the stages where
    their workflows begin; named edges (ps_pipeline_add_edge) say where a
    stage's workers may forward (ps_work_forward_to), so a stage can feed
    several pools and a pool be fed by several stages. Once a pipeline has
    an edge or a route, the line's implicit links (server -> stage 0 ->
    stage 1 ...) are gone: the server sends to the routes' stages (stage 0
    without routes), and each stage forwards along its own edges only.
    A stage no route or edge leads to is named in a warning at start (it
    gets jobs only from workers elsewhere that forward to its upstream).
    Each pool is sized on its own, and a split deployment runs any stage
    elsewhere with the endpoints reported here: its workers connect to its
    downstream endpoint, and to the upstream endpoints of its edges'
    stages.

        int parse = ps_pipeline_add_work (pipeline, parse_fn, 1, NULL);
        int prime = ps_pipeline_add_work (pipeline, prime_fn, 2, NULL);
        int factor = ps_pipeline_add_work (pipeline, factor_fn, 1, NULL);
        ps_pipeline_add_edge (pipeline, parse, "prime", prime);
        ps_pipeline_add_edge (pipeline, parse, "factor", factor);
        ps_pipeline_add_route (pipeline, &(ps_route_t){.path = "/is_prime"}, parse);
        ps_pipeline_add_route (pipeline, &(ps_route_t){.path = "/factor"}, parse);

    Not thread-safe: one thread describes, starts and stops a pipeline.
*/
#ifndef PS_PIPELINE_H_INCLUDED
#define PS_PIPELINE_H_INCLUDED

#include "ps_export.h"
#include "ps_proxy.h"
#include "ps_server.h"
#include "ps_worker.h"
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  One stage: a proxy and its pool of workers. A zeroed field means its
//  default, given with each; only work is required.
typedef struct {
    ps_work_fn *work;            //  the stage's work function; required
    ps_cleanup_fn *cleanup;      //  optional: called after every job
    size_t workers;              //  workers started with the pipeline; 0: none in this
                                 //  process (ps_pipeline_add_worker, or other processes
                                 //  connecting to the stage's downstream endpoint)
    size_t credit;               //  jobs a worker may hold at once (ps_worker_config_t);
                                 //  0: the worker's default; moot without a proxy
                                 //  (inproc, see above): a worker takes the next job
                                 //  when it is done, with no round trip to wait for
    ps_proxy_choose_fn *choose;  //  optional: the proxy's chooser
    void *choose_arg;            //  the chooser's argument
    int heartbeat_ms;            //  liveness beats of proxy and workers; 0: their default
    int expiry_ms;               //  silence after which a peer is dropped; 0: default
    const char *upstream;        //  the proxy's PULL (jobs in); NULL: generated
    const char *downstream;      //  the proxy's ROUTER (workers); NULL: generated
    bool proxy_elsewhere;        //  the proxy runs in another process (or is the
                                 //  caller's): upstream and downstream are then
                                 //  required, and only connected to
    void *arg;                   //  work's and cleanup's argument (last, as in ps_work_fn)
    const char *name;            //  the stage's name in the server's metrics (when its
                                 //  config has a metrics path); NULL: "1", "2", ...
} ps_pipeline_stage_t;

typedef struct _ps_pipeline_t ps_pipeline_t;

//  A pipeline, described but not started, whose server takes its options
//  from config (copied, strings too; listen is required). config's loopback and
//  interrupt are bound if given, else generated; its proxy must be NULL:
//  the pipeline connects the server to the first stage. Never NULL.
//  config's curve (ps_curve.h) secures every tcp:// and ipc:// link of the
//  pipeline: the proxies and the workers use the server's keys (a worker
//  added with a curve of its own keeps it).
PS_EXPORT ps_pipeline_t *ps_pipeline_new (const ps_server_config_t *config);

//  Stop everything (what is in flight gets 503) and free; accepts NULL.
//  The order: the workers first, while the server still takes their
//  answers (a job stopped midway answers 503, and must not wait a send
//  timeout for a server that is gone); then the proxies; the server last,
//  answering 503 to whatever is still in flight. Generated ipc files are
//  removed.
PS_EXPORT void ps_pipeline_destroy (ps_pipeline_t **self_p);

//  Where generated endpoints live: "inproc" (the default; one process),
//  "ipc" (files under /tmp, removed by destroy) or "tcp" (127.0.0.1, ports
//  picked by the kernel at bind). Before start. Returns 0, or -1 for
//  another word (ps_pipeline_error says why).
PS_EXPORT int ps_pipeline_set_transport (ps_pipeline_t *self, const char *transport);

//  Append a stage (copied; its strings are copied too). Before start.
//  Returns the stage's index (0 for the first), or -1 if the description
//  is refused (ps_pipeline_error says why).
PS_EXPORT int ps_pipeline_add_stage (ps_pipeline_t *self, const ps_pipeline_stage_t *stage);

//  The short form: a stage of workers running work with arg, all else default.
PS_EXPORT int ps_pipeline_add_work (ps_pipeline_t *self, ps_work_fn *work, size_t workers,
                                    void *arg);

//  A named edge: the workers of stage from may forward to stage to as
//  name (ps_work_forward_to; ps_work_forward when it is their only edge).
//  Stages are counted from 0 and must have been added; a stage's names
//  are unique. Before start. Returns 0, or -1 (ps_pipeline_error says why).
PS_EXPORT int ps_pipeline_add_edge (ps_pipeline_t *self, size_t from, const char *name, size_t to);

//  A route (copied; see ps_route.h): the server sends requests whose path
//  it matches to stage's proxy (route's proxy is ignored: the pipeline
//  knows the stage's endpoint). Before start. Returns 0, or -1
//  (ps_pipeline_error says why). The server config's own routes must be
//  empty.
PS_EXPORT int ps_pipeline_add_route (ps_pipeline_t *self, const ps_route_t *route, size_t stage);

//  Start the server, the proxies and the workers. Returns 0, or -1 with
//  nothing left running (a bind failed, no stage, called twice...;
//  ps_pipeline_error says why, and it is logged).
PS_EXPORT int ps_pipeline_start (ps_pipeline_t *self);

//  Start one more worker for stage (0-based) of a started pipeline. config
//  gives the worker's options (NULL: the stage's description); its
//  upstream, downstream, loopback and interrupt are set by the pipeline,
//  and a NULL work takes the stage's work, cleanup and arg. Returns 0 or -1.
PS_EXPORT int ps_pipeline_add_worker (ps_pipeline_t *self, size_t stage,
                                      const ps_worker_config_t *config);

//  Why the last call that failed failed, in one line; "" if none did.
//  Borrowed until the next call on self.
PS_EXPORT const char *ps_pipeline_error (ps_pipeline_t *self);

//  The server (borrowed; NULL before start), for its other calls.
PS_EXPORT ps_server_t *ps_pipeline_server (ps_pipeline_t *self);

//  Stage's proxy (borrowed), or NULL before start, for an unknown stage,
//  for a proxy that runs elsewhere and for an inproc stage that needs none
//  (see above).
PS_EXPORT ps_proxy_t *ps_pipeline_proxy (ps_pipeline_t *self, size_t stage);

//  Stages described.
PS_EXPORT size_t ps_pipeline_stage_count (ps_pipeline_t *self);

//  Drain (see ps_server_drain) and wait for its end (ps_server_wait_drained).
PS_EXPORT void ps_pipeline_drain (ps_pipeline_t *self, int drain_ms);
PS_EXPORT bool ps_pipeline_wait_drained (ps_pipeline_t *self, int timeout_ms);

//  Endpoints, once started, as bound (a wildcard port shows the port
//  chosen; a proxy elsewhere: as given): where a process running other
//  pieces connects. NULL before start, for an unknown stage, and for a
//  socket the server's config did not ask for. Borrowed until destroy.
//  The client-facing TCP port, or -1 (see ps_server_port).
PS_EXPORT int ps_pipeline_port (ps_pipeline_t *self);
PS_EXPORT const char *ps_pipeline_listen_endpoint (ps_pipeline_t *self);
//  The server's loopback (PULL: results from every stage's workers) and
//  interrupt (PUB: cancellations).
PS_EXPORT const char *ps_pipeline_loopback_endpoint (ps_pipeline_t *self);
PS_EXPORT const char *ps_pipeline_interrupt_endpoint (ps_pipeline_t *self);
//  Stage's proxy: upstream (PULL: the server or the previous stage's
//  workers push jobs here) and downstream (ROUTER: the stage's workers
//  connect here).
PS_EXPORT const char *ps_pipeline_upstream_endpoint (ps_pipeline_t *self, size_t stage);
PS_EXPORT const char *ps_pipeline_downstream_endpoint (ps_pipeline_t *self, size_t stage);

#ifdef __cplusplus
}
#endif
#endif
