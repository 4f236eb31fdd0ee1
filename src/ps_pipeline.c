/*  ps_pipeline: the one definition of a pipeline's wiring (see ps_pipeline.h).

    Only the components' public API is used: every config is filled from
    its _config_defaults first and then the fields the pipeline owns are
    set, so a component's defaults stay its own.

    Start order. Every piece binds what others connect to, and a wildcard
    port is known only once bound, so pieces start after what they connect
    to where that matters: the server connects to the first proxy's
    upstream, a proxy to the server's loopback, a worker to everything.
    When the first upstream is a wildcard, its proxy starts first (and gets
    the loopback only if that is already known); otherwise the server
    starts first and every proxy gets the loopback as bound.
*/
#include "prime_server/ps_pipeline.h"
#include "ps_dispatch.h"
#include "ps_graph.h"
#include "ps_proxy_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Descriptions beyond these are mistakes, not services.
#define S_MAX_STAGES  256
#define S_MAX_WORKERS 4096

typedef struct {
    ps_pipeline_stage_t desc;  //  upstream and downstream point at the copies below
    char *upstream_given;
    bool upstream_generated;  //  upstream_given is ours (an entry stage's, at start)
    char *downstream_given;
    char *upstream;    //  as bound (or given, for a proxy elsewhere)
    char *downstream;  //  idem
    ps_proxy_t *proxy;
    ps_dispatch_t *dispatch;  //  in place of the proxy (ps_dispatch.h), or NULL
    bool loopback_late;       //  its proxy started before the server bound the loopback
} s_stage_t;

struct _ps_pipeline_t {
    ps_server_config_t config;
    char *listen_given;
    char *loopback_given;
    char *interrupt_given;
    char *health_check;
    char *curve_cert;  //  copies of config's curve strings
    char *curve_trusted;
    char *curve_server;
    char *transport;  //  "inproc", "ipc" or "tcp"
    s_stage_t *stages;
    size_t stage_count;
    ps_server_t *server;
    char *listen;  //  as bound
    char *loopback;
    char *interrupt;
    ps_dispatch_t *results;  //  the loopback as our workers reach it, or NULL
    ps_worker_t **workers;
    size_t worker_count;
    size_t worker_max;
    zlistx_t *ipc_files;  //  generated ipc paths, removed at destroy
    bool proxy_given;
    bool started;
    bool failed;  //  a start failed: the pipeline only awaits destroy
    char error[256];
    char *metrics;  //  our copies of the server config's other strings
    char *access_file;
    ps_graph_t *graph;  //  edges and routes; none: a line
    char *cors_origin;
    bool routes_given;  //  in the server config, where the pipeline cannot use them
};

//  Unique within the process; the pid makes inproc and ipc names unique
//  between processes too.
static atomic_uint s_counter = 0;

static void s_fail (ps_pipeline_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_fail (ps_pipeline_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->error, sizeof self->error, format, args);
    va_end (args);
    zsys_error ("ps_pipeline: %s", self->error);
}

static char *
s_strdup (const char *text)
{
    return text ? strdup (text) : NULL;
}

ps_pipeline_t *
ps_pipeline_new (const ps_server_config_t *config)
{
    assert (config);
    ps_pipeline_t *self = (ps_pipeline_t *) zmalloc (sizeof (ps_pipeline_t));
    assert (self);
    self->config = *config;
    //  Our own copies: the caller's strings may not outlive the call
    self->listen_given = s_strdup (config->listen);
    self->loopback_given = s_strdup (config->loopback);
    self->interrupt_given = s_strdup (config->interrupt);
    self->health_check = s_strdup (config->health_check);
    self->config.health_check = self->health_check;
    //  The server's keys serve the whole pipeline: proxies and workers too
    self->curve_cert = s_strdup (config->curve.cert);
    self->curve_trusted = s_strdup (config->curve.trusted);
    self->curve_server = s_strdup (config->curve.server);
    self->config.curve = (ps_curve_t){self->curve_cert, self->curve_trusted, self->curve_server};
    self->metrics = s_strdup (config->metrics);
    self->access_file = s_strdup (config->access_file);
    self->config.metrics = self->metrics;
    self->config.access_file = self->access_file;
    self->transport = strdup ("inproc");
    self->ipc_files = zlistx_new ();
    assert (self->ipc_files);
    zlistx_set_destructor (self->ipc_files, (zlistx_destructor_fn *) zstr_free);
    //  Refused by start, which can say why: new never fails
    self->proxy_given = config->proxy != NULL;
    self->config.proxy = NULL;
    self->routes_given = config->route_count > 0;
    self->config.routes = NULL;
    self->config.route_count = 0;
    self->cors_origin = s_strdup (config->cors_origin);
    self->config.cors_origin = self->cors_origin;
    self->graph = ps_graph_new ();
    return self;
}

static void
s_stop (ps_pipeline_t *self)
{
    //  Workers first, while the server still reads the loopback: a job
    //  stopped midway still answers (503), and that answer must not wait
    //  a send timeout for a server that is gone (a work function may well
    //  reply after it saw ps_work_cancelled). Then the proxies; the server
    //  last answers 503 to whatever is still in flight.
    for (size_t i = 0; i < self->worker_count; i++)
        ps_worker_destroy (&self->workers[i]);
    self->worker_count = 0;
    for (size_t s = 0; s < self->stage_count; s++) {
        ps_proxy_destroy (&self->stages[s].proxy);
        ps_dispatch_destroy (&self->stages[s].dispatch);
    }
    ps_server_destroy (&self->server);
    ps_dispatch_destroy (&self->results);
    //  The components remove the ipc files they bound (ps_socket_destroy);
    //  a generated name whose bind failed midway may still be there
    for (char *path = (char *) zlistx_first (self->ipc_files); path;
         path = (char *) zlistx_next (self->ipc_files))
        unlink (path + strlen ("ipc://"));
}

void
ps_pipeline_destroy (ps_pipeline_t **self_p)
{
    assert (self_p);
    ps_pipeline_t *self = *self_p;
    if (!self)
        return;
    s_stop (self);
    for (size_t s = 0; s < self->stage_count; s++) {
        s_stage_t *stage = &self->stages[s];
        free (stage->upstream_given);
        free (stage->downstream_given);
        free ((char *) stage->desc.name);
        free (stage->upstream);
        free (stage->downstream);
    }
    free (self->stages);
    free (self->workers);
    free (self->listen_given);
    free (self->loopback_given);
    free (self->interrupt_given);
    free (self->health_check);
    free (self->curve_cert);
    free (self->curve_trusted);
    free (self->curve_server);
    free (self->metrics);
    free (self->access_file);
    free (self->transport);
    free (self->listen);
    free (self->loopback);
    free (self->interrupt);
    zlistx_destroy (&self->ipc_files);
    ps_graph_destroy (&self->graph);
    free (self->cors_origin);
    free (self);
    *self_p = NULL;
}

int
ps_pipeline_set_transport (ps_pipeline_t *self, const char *transport)
{
    assert (self);
    if (self->started) {
        s_fail (self, "set_transport after start");
        return -1;
    }
    if (!transport
        || !(streq (transport, "inproc") || streq (transport, "ipc") || streq (transport, "tcp"))) {
        s_fail (self, "transport '%s' is none of inproc, ipc, tcp", transport ? transport : "");
        return -1;
    }
    free (self->transport);
    self->transport = strdup (transport);
    return 0;
}

//  A bind endpoint the pipeline can use: a transport it knows and
//  something after "://".
static bool
s_endpoint_valid (const char *endpoint)
{
    const char *schemes[] = {"inproc://", "ipc://", "tcp://"};
    for (size_t i = 0; i < 3; i++) {
        size_t length = strlen (schemes[i]);
        if (strncmp (endpoint, schemes[i], length) == 0)
            return endpoint[length] != '\0';
    }
    return false;
}

//  A port the kernel picks at bind ("tcp://host:*" or ":0"): unknown until then.
static bool
s_endpoint_wildcard (const char *endpoint)
{
    if (!endpoint || strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *colon = strrchr (endpoint, ':');
    return colon && (streq (colon, ":*") || streq (colon, ":0"));
}

int
ps_pipeline_add_stage (ps_pipeline_t *self, const ps_pipeline_stage_t *stage)
{
    assert (self);
    assert (stage);
    size_t index = self->stage_count + 1;  //  1-based in messages, as people count
    if (self->started) {
        s_fail (self, "stage %zu: stages are added before start", index);
        return -1;
    }
    if (self->stage_count == S_MAX_STAGES) {
        s_fail (self, "stage %zu: at most %d stages", index, S_MAX_STAGES);
        return -1;
    }
    if (!stage->work) {
        s_fail (self, "stage %zu: no work function", index);
        return -1;
    }
    if (stage->workers > S_MAX_WORKERS) {
        s_fail (self, "stage %zu: %zu workers, at most %d", index, stage->workers, S_MAX_WORKERS);
        return -1;
    }
    if (stage->heartbeat_ms < 0 || stage->expiry_ms < 0) {
        s_fail (self, "stage %zu: negative heartbeat_ms or expiry_ms", index);
        return -1;
    }
    const char *names[2] = {"upstream", "downstream"};
    const char *endpoints[2] = {stage->upstream, stage->downstream};
    for (size_t i = 0; i < 2; i++) {
        if (endpoints[i] && !s_endpoint_valid (endpoints[i])) {
            s_fail (self, "stage %zu: %s '%s' is not an inproc://, ipc:// or tcp:// endpoint",
                    index, names[i], endpoints[i]);
            return -1;
        }
        if (stage->proxy_elsewhere && !endpoints[i]) {
            s_fail (self, "stage %zu: its proxy runs elsewhere, so its %s must be given", index,
                    names[i]);
            return -1;
        }
        if (stage->proxy_elsewhere && s_endpoint_wildcard (endpoints[i])) {
            s_fail (self, "stage %zu: %s '%s': a proxy elsewhere has a port, not a wildcard", index,
                    names[i], endpoints[i]);
            return -1;
        }
    }
    s_stage_t *stages = (s_stage_t *) realloc (self->stages,
                                               (self->stage_count + 1) * sizeof (s_stage_t));
    assert (stages);
    self->stages = stages;
    s_stage_t *copy = &self->stages[self->stage_count++];
    memset (copy, 0, sizeof *copy);
    copy->desc = *stage;
    copy->upstream_given = s_strdup (stage->upstream);
    copy->downstream_given = s_strdup (stage->downstream);
    copy->desc.upstream = copy->upstream_given;
    copy->desc.downstream = copy->downstream_given;
    copy->desc.name = s_strdup (stage->name);
    return (int) index - 1;
}

int
ps_pipeline_add_work (ps_pipeline_t *self, ps_work_fn *work, size_t workers, void *arg)
{
    ps_pipeline_stage_t stage;
    memset (&stage, 0, sizeof stage);
    stage.work = work;
    stage.workers = workers;
    stage.arg = arg;
    return ps_pipeline_add_stage (self, &stage);
}

//  A fresh endpoint on the pipeline's transport; role names it in inproc
//  and ipc names, for whoever reads a log or /tmp.
static char *
s_generate (ps_pipeline_t *self, const char *role)
{
    unsigned number = atomic_fetch_add (&s_counter, 1);
    if (streq (self->transport, "tcp"))
        return strdup ("tcp://127.0.0.1:*");
    if (streq (self->transport, "ipc")) {
        char *endpoint = zsys_sprintf ("ipc:///tmp/ps_pipeline-%d-%u-%s", (int) getpid (), number,
                                       role);
        zlistx_add_end (self->ipc_files, strdup (endpoint));
        return endpoint;
    }
    return zsys_sprintf ("inproc://ps_pipeline-%d-%u-%s", (int) getpid (), number, role);
}

//  The given endpoint, or a generated one (owned either way).
static char *
s_endpoint (ps_pipeline_t *self, const char *given, const char *role)
{
    return given ? strdup (given) : s_generate (self, role);
}

//  Whether a stage can do without a proxy thread (ps_dispatch.h): its
//  endpoints are our own inproc names, so only this process reaches it, its
//  pool is started with the pipeline (a stage of no workers waits for
//  others, who may be plain sockets), and no chooser needs a proxy's view
//  of the workers.
static bool
s_dispatch_fits (ps_pipeline_t *self, const s_stage_t *stage)
{
    return streq (self->transport, "inproc") && stage->desc.workers > 0 && !stage->desc.choose
           && (!stage->desc.upstream || stage->upstream_generated) && !stage->desc.downstream;
}

//  The loopback's dispatch, registered under the loopback's name (the
//  server takes its one seat) and a second name of its own.
static int
s_results_new (ps_pipeline_t *self)
{
    ps_server_config_t defaults;
    ps_server_config_defaults (&defaults);
    int hwm = self->config.hwm > 0 ? self->config.hwm : defaults.hwm;
    char *seat = zsys_sprintf ("%s-results", self->loopback_given);
    self->results = ps_dispatch_new (self->loopback_given, seat, (size_t) hwm, NULL, NULL);
    zstr_free (&seat);
    if (!self->results)
        s_fail (self, "the loopback %s is taken", self->loopback_given);
    return self->results ? 0 : -1;
}

static int
s_start_proxy (ps_pipeline_t *self, size_t index, const char *loopback)
{
    s_stage_t *stage = &self->stages[index];
    char role[32];
    snprintf (role, sizeof role, "stage%zu-up", index + 1);
    char *upstream = s_endpoint (self, stage->desc.upstream, role);
    snprintf (role, sizeof role, "stage%zu-down", index + 1);
    char *downstream = s_endpoint (self, stage->desc.downstream, role);
    if (stage->desc.proxy_elsewhere) {
        stage->upstream = upstream;
        stage->downstream = downstream;
        return 0;
    }
    ps_proxy_config_t config;
    ps_proxy_config_defaults (&config);
    char name[24];
    snprintf (name, sizeof name, "%zu", index + 1);
    const char *stage_name = stage->desc.name ? stage->desc.name : name;
    if (s_dispatch_fits (self, stage)) {
        stage->dispatch = ps_dispatch_new (upstream, downstream, (size_t) config.hwm,
                                           self->config.metrics ? stage_name : NULL, loopback);
        if (stage->dispatch) {
            stage->upstream = upstream;
            stage->downstream = downstream;
            return 0;
        }
    }
    config.upstream = upstream;
    config.downstream = downstream;
    config.choose = stage->desc.choose;
    config.choose_arg = stage->desc.choose_arg;
    config.loopback = loopback;
    config.curve = self->config.curve;
    if (stage->desc.heartbeat_ms)
        config.heartbeat_ms = stage->desc.heartbeat_ms;
    if (stage->desc.expiry_ms)
        config.expiry_ms = stage->desc.expiry_ms;
    if (self->config.metrics)
        config.stage = stage_name;
    stage->proxy = ps_proxy_new (&config);
    if (stage->proxy) {
        stage->upstream = strdup (ps_proxy_upstream_endpoint (stage->proxy));
        stage->downstream = strdup (ps_proxy_downstream_endpoint (stage->proxy));
    }
    else
        s_fail (self, "stage %zu: the proxy cannot bind %s and %s", index + 1, upstream,
                downstream);
    free (upstream);
    free (downstream);
    return stage->proxy ? 0 : -1;
}

//  Every stage's upstream, as bound if its proxy started, else as given
//  or generated (by index; caller frees the array, not the strings).
static char **
s_upstreams (ps_pipeline_t *self)
{
    char **upstreams = (char **) calloc (self->stage_count, sizeof (char *));
    assert (upstreams);
    for (size_t s = 0; s < self->stage_count; s++)
        upstreams[s] = self->stages[s].upstream ? self->stages[s].upstream
                                                : (char *) self->stages[s].desc.upstream;
    return upstreams;
}

static int
s_start_server (ps_pipeline_t *self)
{
    ps_server_config_t config = self->config;
    s_stage_t *first = &self->stages[0];
    //  The first proxy, if started already, is where its endpoint is bound
    config.proxy = first->upstream ? first->upstream : first->desc.upstream;
    char **upstreams = s_upstreams (self);
    ps_route_t *routes = ps_graph_server_routes (self->graph, upstreams, &config.route_count);
    config.routes = routes;
    if (routes)
        config.proxy = NULL;  //  the routes name the entry stages
    config.listen = self->listen_given;
    config.loopback = self->loopback_given;
    config.interrupt = self->interrupt_given;
    self->server = ps_server_new (&config);
    free (routes);
    free (upstreams);
    if (!self->server) {
        s_fail (self, "the server cannot bind %s, %s and %s", config.listen, config.loopback,
                config.interrupt);
        return -1;
    }
    self->listen = strdup (ps_server_listen_endpoint (self->server));
    self->loopback = strdup (ps_server_loopback_endpoint (self->server));
    self->interrupt = strdup (ps_server_interrupt_endpoint (self->server));
    return 0;
}

static int
s_start_worker (ps_pipeline_t *self, size_t index, const ps_worker_config_t *given)
{
    s_stage_t *stage = &self->stages[index];
    ps_worker_config_t config;
    if (given)
        config = *given;
    else {
        ps_worker_config_defaults (&config);
        if (stage->desc.credit)
            config.credit = stage->desc.credit;
        if (stage->desc.heartbeat_ms)
            config.heartbeat_ms = stage->desc.heartbeat_ms;
        if (stage->desc.expiry_ms)
            config.expiry_ms = stage->desc.expiry_ms;
    }
    if (!config.work) {
        config.work = stage->desc.work;
        config.work_arg = stage->desc.arg;
        config.cleanup = stage->desc.cleanup;
    }
    config.upstream = stage->downstream;
    bool line = ps_graph_is_line (self->graph);
    config.downstream = line && index + 1 < self->stage_count ? self->stages[index + 1].upstream
                                                              : NULL;
    char **upstreams = s_upstreams (self);
    ps_downstream_t *downstreams = ps_graph_downstreams (self->graph, index, upstreams,
                                                         &config.downstream_count);
    config.downstreams = downstreams;
    config.loopback = self->loopback;
    config.interrupt = self->interrupt;
    if (!config.curve.cert)
        config.curve = self->config.curve;
    if (self->worker_count == self->worker_max) {
        self->worker_max = self->worker_max ? 2 * self->worker_max : 8;
        self->workers = (ps_worker_t **) realloc (self->workers,
                                                  self->worker_max * sizeof (ps_worker_t *));
        assert (self->workers);
    }
    ps_worker_t *worker = ps_worker_new (&config);
    free (downstreams);
    free (upstreams);
    if (!worker) {
        s_fail (self, "stage %zu: a worker cannot connect to %s", index + 1, config.upstream);
        return -1;
    }
    self->workers[self->worker_count++] = worker;
    return 0;
}

//  A stage no route or edge leads to gets jobs only from workers elsewhere
//  that forward to its upstream: most likely a mistake in the description,
//  so say which.
static void
s_warn_unreached (ps_pipeline_t *self)
{
    bool *reached = (bool *) calloc (self->stage_count, sizeof (bool));
    assert (reached);
    ps_graph_reached (self->graph, self->stage_count, reached);
    for (size_t s = 0; s < self->stage_count; s++)
        if (!reached[s])
            zsys_warning ("ps_pipeline: stage %zu: no route or edge leads to it, so only "
                          "workers elsewhere can send it jobs (its upstream: %s)",
                          s + 1, self->stages[s].upstream);
    free (reached);
}

int
ps_pipeline_start (ps_pipeline_t *self)
{
    assert (self);
    if (self->started || self->failed) {
        s_fail (self, "start called twice");
        return -1;
    }
    if (!self->listen_given) {
        s_fail (self, "the server config has no listen endpoint");
        return -1;
    }
    if (self->proxy_given) {
        s_fail (self, "the server config's proxy must be NULL: the pipeline connects the server "
                      "to the first stage");
        return -1;
    }
    if (self->stage_count == 0) {
        s_fail (self, "no stages");
        return -1;
    }
    if (self->routes_given) {
        s_fail (self, "the server config's routes must be empty: ps_pipeline_add_route names "
                      "their stages");
        return -1;
    }
    self->started = true;
    //  Names generated for the server's sockets must be the ones the
    //  proxies connect to: fix them now (a wildcard stays one until bound)
    if (!self->loopback_given) {
        self->loopback_given = s_generate (self, "loopback");
        //  Our own inproc name: the workers of this process hand their
        //  results to the server as a dispatch's jobs (ps_dispatch.h), not
        //  over a PUSH, which costs the server a libzmq wake-up per batch.
        //  The PULL stays bound for the proxies.
        if (streq (self->transport, "inproc") && s_results_new (self) != 0)
            goto failed;
    }
    if (!self->interrupt_given)
        self->interrupt_given = s_generate (self, "interrupt");
    //  The stages the server connects to (the first, or each route's)
    for (size_t s = 0; s < self->stage_count; s++) {
        s_stage_t *entry = &self->stages[s];
        if (!ps_graph_is_entry (self->graph, s))
            continue;
        if (!entry->desc.upstream) {
            char role[32];
            snprintf (role, sizeof role, "stage%zu-up", s + 1);
            entry->upstream_given = s_generate (self, role);
            entry->desc.upstream = entry->upstream_given;
            entry->upstream_generated = true;
        }
        //  A dispatch must be registered before the server looks for it
        bool proxy_first = (s_endpoint_wildcard (entry->desc.upstream)
                            && !entry->desc.proxy_elsewhere)
                           || s_dispatch_fits (self, entry);
        if (proxy_first) {
            const char *loopback = s_endpoint_wildcard (self->loopback_given)
                                       ? NULL
                                       : self->loopback_given;
            if (s_start_proxy (self, s, loopback))
                goto failed;
            entry->loopback_late = !loopback;
        }
    }
    if (s_start_server (self))
        goto failed;
    //  An entry proxy started before the loopback was bound (wildcard
    //  ports) is told it now, so its lost-job and stage reports arrive
    for (size_t s = 0; s < self->stage_count; s++)
        if (self->stages[s].loopback_late
            && ps_proxy_set_loopback (self->stages[s].proxy, self->loopback) != 0) {
            s_fail (self, "stage %zu: the proxy cannot connect to the loopback %s", s + 1,
                    self->loopback);
            goto failed;
        }
    for (size_t s = 0; s < self->stage_count; s++)
        if (!self->stages[s].upstream && s_start_proxy (self, s, self->loopback))
            goto failed;
    for (size_t s = 0; s < self->stage_count; s++)
        for (size_t w = 0; w < self->stages[s].desc.workers; w++)
            if (s_start_worker (self, s, NULL))
                goto failed;
    s_warn_unreached (self);
    return 0;

failed:
    self->failed = true;
    s_stop (self);
    return -1;
}

int
ps_pipeline_add_worker (ps_pipeline_t *self, size_t stage, const ps_worker_config_t *config)
{
    assert (self);
    if (!self->started || self->failed || !self->server) {
        s_fail (self, "add_worker before a successful start");
        return -1;
    }
    if (stage >= self->stage_count) {
        s_fail (self, "add_worker: no stage %zu (stages are counted from 0 here)", stage);
        return -1;
    }
    return s_start_worker (self, stage, config);
}

int
ps_pipeline_add_edge (ps_pipeline_t *self, size_t from, const char *name, size_t to)
{
    assert (self);
    if (self->started) {
        s_fail (self, "edges are added before start");
        return -1;
    }
    if (ps_graph_add_edge (self->graph, self->stage_count, from, name, to, self->error,
                           sizeof self->error)) {
        zsys_error ("ps_pipeline: %s", self->error);
        return -1;
    }
    return 0;
}

int
ps_pipeline_add_route (ps_pipeline_t *self, const ps_route_t *route, size_t stage)
{
    assert (self);
    assert (route);
    if (self->started) {
        s_fail (self, "routes are added before start");
        return -1;
    }
    if (ps_graph_add_route (self->graph, self->stage_count, route, stage, self->error,
                            sizeof self->error)) {
        zsys_error ("ps_pipeline: %s", self->error);
        return -1;
    }
    return 0;
}

const char *
ps_pipeline_error (ps_pipeline_t *self)
{
    assert (self);
    return self->error;
}

ps_server_t *
ps_pipeline_server (ps_pipeline_t *self)
{
    assert (self);
    return self->server;
}

ps_proxy_t *
ps_pipeline_proxy (ps_pipeline_t *self, size_t stage)
{
    assert (self);
    return stage < self->stage_count ? self->stages[stage].proxy : NULL;
}

size_t
ps_pipeline_stage_count (ps_pipeline_t *self)
{
    assert (self);
    return self->stage_count;
}

void
ps_pipeline_drain (ps_pipeline_t *self, int drain_ms)
{
    assert (self);
    if (self->server)
        ps_server_drain (self->server, drain_ms);
}

bool
ps_pipeline_wait_drained (ps_pipeline_t *self, int timeout_ms)
{
    assert (self);
    return self->server ? ps_server_wait_drained (self->server, timeout_ms) : true;
}

int
ps_pipeline_port (ps_pipeline_t *self)
{
    assert (self);
    return self->server ? ps_server_port (self->server) : -1;
}

const char *
ps_pipeline_listen_endpoint (ps_pipeline_t *self)
{
    assert (self);
    return self->server ? self->listen : NULL;
}

const char *
ps_pipeline_loopback_endpoint (ps_pipeline_t *self)
{
    assert (self);
    return self->server ? self->loopback : NULL;
}

const char *
ps_pipeline_interrupt_endpoint (ps_pipeline_t *self)
{
    assert (self);
    return self->server ? self->interrupt : NULL;
}

const char *
ps_pipeline_upstream_endpoint (ps_pipeline_t *self, size_t stage)
{
    assert (self);
    return self->server && stage < self->stage_count ? self->stages[stage].upstream : NULL;
}

const char *
ps_pipeline_downstream_endpoint (ps_pipeline_t *self, size_t stage)
{
    assert (self);
    return self->server && stage < self->stage_count ? self->stages[stage].downstream : NULL;
}
