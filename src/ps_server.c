/*  ps_server: the HTTP (or netstring) front of a pipeline, as one actor.

    The actor owns four sockets: a ZMQ_STREAM facing clients, a PUSH towards
    the first proxy, the loopback PULL on which every stage's final answer
    arrives, and the interrupt PUB that cancels jobs. This file holds the
    actor itself (config, sockets, the poll loop, timers, drain) and the
    submission of requests to the first proxy; the rest of the data flow is
    in ps_session.c (client connections, in-order writes), ps_request.c
    (request records, pending table) and ps_reply.c (results coming back),
    which share the actor's state through ps_server_private.h.

    The actor runs on ps_loop (edge-triggered poll(2) on the ZMQ_FDs; every
    write to the STREAM socket marks it dirty there, see ps_session.c). The
    loop's timer hook acts on the earliest deadline: the oldest pending
    request (504), the sessions' header, idle and zombie timers, and the
    drain.

    Sends never block the front: the STREAM and PUSH sockets are used with
    ZMQ_DONTWAIT; a full queue towards the proxy answers 503. A first stage
    that is a dispatch in this process (ps_dispatch.h) takes the PUSH's
    place, with the same rule.
*/
#include "ps_actor.h"
#include "ps_http_private.h"
#include "ps_loop.h"
#include "ps_observe.h"
#include "ps_reply.h"
#include "ps_socket.h"
#include "ps_session.h"
#include "ps_stream.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  Bounded linger so the last answers and cancellations can still leave
//  at process exit, without ever hanging it.
#define LINGER_MS 500

typedef ps_server_self_t self_t;

//  ---------------------------------------------------------------------
//  Submission

void
ps_server_publish_cancel (self_t *self, uint64_t id)
{
    assert (self);
    if (!self->pub)
        return;
    ps_envelope_t envelope = {.type = PS_MSG_CANCEL, .id = id};
    if (ps_envelope_send (&envelope, NULL, self->pub_h) != 0 && self->config.verbose)
        zsys_warning ("ps_server: could not publish CANCEL for %" PRIu64, id);
}

void
ps_server_cancel (self_t *self, ps_request_t *request)
{
    assert (self);
    assert (request);
    ps_server_publish_cancel (self, request->id);
    ps_request_table_remove (self->requests, request);
}

//  The request timeout of request's route, else the server's; <= 0: none.
static int
s_request_timeout (self_t *self, ps_request_t *request)
{
    if (request->route >= 0) {
        const ps_route_t *route = ps_route_table_get (self->routes, (size_t) request->route);
        if (route->request_timeout_ms)
            return route->request_timeout_ms;
    }
    return self->config.request_timeout_ms;
}

//  With routes: finds request's route by path. Returns 0, or the status
//  the server answers itself: 404 for a path no route takes, 413 for a
//  body over its route's limit (the parser's limit is the largest route's).
static int
s_route (self_t *self, ps_request_t *request, const ps_http_request_t *parsed)
{
    if (!self->routes)
        return 0;
    request->route = ps_route_table_match (self->routes, ps_http_request_path (parsed));
    if (request->route < 0)
        return 404;
    const ps_route_t *route = ps_route_table_get (self->routes, (size_t) request->route);
    size_t max_body = route->max_body ? route->max_body : self->max_body;
    return ps_http_request_body_size (parsed) > max_body ? 413 : 0;
}

int
ps_server_submit (self_t *self, ps_request_t *request, ps_kind_t kind, const ps_span_t *frames,
                  size_t count)
{
    assert (self);
    assert (request);
    const ps_sink_t *sink = request->route >= 0 ? &self->route_sinks[request->route]
                                                : &self->push_sink;
    if (!(sink->handle || sink->dispatch)
        || ps_request_table_size (self->requests) >= self->config.max_in_flight)
        return -1;
    request->id = ps_request_table_new_id (self->requests);
    //  A retry's time starts again; the table keeps deadline order.
    request->sent = request->retried ? zclock_mono () : request->started;
    int timeout = s_request_timeout (self, request);
    request->deadline = timeout > 0 ? request->sent + timeout : INT64_MAX;
    ps_envelope_t envelope = {.type = PS_MSG_JOB,
                              .flags = request->head ? PS_FLAG_HEAD : 0,
                              .kind = (uint8_t) kind,
                              .id = request->id};
    if (ps_sink_send_spans (sink, &envelope, frames, count, 0) != 0) {
        if (self->config.verbose)
            zsys_warning ("ps_server: the queue towards the proxy is full, answering 503");
        return -1;
    }
    ps_request_table_add (self->requests, request);
    return 0;
}

int
ps_server_submit_http (self_t *self, ps_request_t *request, const ps_http_request_t *parsed)
{
    assert (self);
    assert (parsed);
    //  Encoded where it is sent from, copied once into the job (or by
    //  libzmq): a request in its wire form is rarely above a few hundred
    //  bytes
    char stack[4096];
    char *encoded = stack;
    size_t size = ps_http_request_encode_into (parsed, stack, sizeof stack);
    if (size > sizeof stack) {
        encoded = (char *) malloc (size);
        assert (encoded);
        ps_http_request_encode_into (parsed, encoded, size);
    }
    ps_span_t frame = {encoded, size};
    int rc = ps_server_submit (self, request, PS_KIND_HTTP, &frame, 1);
    if (encoded != stack)
        free (encoded);
    return rc;
}

void
ps_server_accept_http (self_t *self, ps_session_t *session, ps_http_request_t **parsed_p)
{
    assert (self);
    assert (session);
    ps_http_request_t *parsed = *parsed_p;
    ps_request_t *request = ps_session_request_new (session);
    const char *method = ps_http_request_method (parsed);
    int status;
    request->head = streq (method, "HEAD");
    request->version = ps_http_request_version (parsed);
    if (self->config.access_log)
        request->line = zsys_sprintf ("%s %s", method, ps_http_request_target (parsed));
    ps_observe_request (self, request, parsed);
    session->served = true;
    if (!ps_http_request_keep_alive (parsed))
        session->closing = true;

    if (zlistx_size (session->requests) > self->config.max_pipelined) {
        //  Too many requests waiting on this connection: answer and end it,
        //  which bounds what a client can make us hold.
        ps_reply_local (request, 503, NULL, self->retry_headers);
        session->closing = true;
    }
    else if (self->health_check && streq (ps_http_request_path (parsed), self->health_check))
        ps_reply_local (request, self->draining ? 503 : 200, self->draining ? "draining\n" : "OK\n",
                        NULL);
    else if (ps_observe_metrics (self, request, ps_http_request_path (parsed)))
        ;  //  answered with the exposition, also while draining
    else if ((status = s_route (self, request, parsed)) != 0) {
        //  Answered here, no worker touched; a body was read whole, so the
        //  connection stays usable.
        ps_reply_local (request, status, NULL, NULL);
    }
    else if (!ps_stream_defer (session, request, parsed_p))
        ps_server_dispatch_http (self, request, parsed_p);
    ps_http_request_destroy (parsed_p);
}

void
ps_server_dispatch_http (self_t *self, ps_request_t *request, ps_http_request_t **parsed_p)
{
    assert (self);
    assert (request);
    const char *method = ps_http_request_method (*parsed_p);
    if (ps_server_submit_http (self, request, *parsed_p) != 0)
        ps_reply_local (request, 503, NULL, self->retry_headers);
    else if (request->head || streq (method, "GET")) {
        //  Safe to send again if its worker dies: keep it (not a copy)
        request->retry = *parsed_p;
        *parsed_p = NULL;
    }
    ps_http_request_destroy (parsed_p);
}

void
ps_server_accept_netstring (self_t *self, ps_session_t *session, zframe_t **payload_p)
{
    assert (self);
    assert (session);
    ps_request_t *request = ps_session_request_new (session);
    session->served = true;
    if (zlistx_size (session->requests) > self->config.max_pipelined) {
        zframe_destroy (payload_p);
        ps_reply_local (request, 503, NULL, NULL);
        session->closing = true;
        return;
    }
    ps_span_t frame = {zframe_data (*payload_p), zframe_size (*payload_p)};
    int rc = ps_server_submit (self, request, PS_KIND_NETSTRING, &frame, 1);
    zframe_destroy (payload_p);
    if (rc != 0)
        ps_reply_local (request, 503, NULL, NULL);
}

//  ---------------------------------------------------------------------
//  Timers, drain and shutdown

//  Answers 503 to everything still in flight, cancels it, and ends every
//  session after its answers.
static void
s_close_all (self_t *self)
{
    zlistx_t *sessions = zhashx_values (self->sessions);
    assert (sessions);
    for (ps_session_t *session = (ps_session_t *) zlistx_first (sessions); session;
         session = (ps_session_t *) zlistx_next (sessions)) {
        if (session->zombie)
            continue;
        for (ps_request_t *request = (ps_request_t *) zlistx_first (session->requests); request;
             request = (ps_request_t *) zlistx_next (session->requests))
            if (request->pending) {
                ps_server_cancel (self, request);
                ps_reply_local (request, 503, NULL, self->retry_headers);
            }
            else if (request->deferred) {
                //  Held back by the byte budget (ps_stream.c): never sent
                ps_http_request_destroy (&request->deferred);
                session->deferred--;
                ps_reply_local (request, 503, NULL, self->retry_headers);
            }
        session->closing = true;
        ps_session_flush (&session);
    }
    zlistx_destroy (&sessions);
}

static void
s_drain_check (self_t *self, int64_t now)
{
    if (!self->draining || self->drained)
        return;
    if (ps_session_live (self) > 0 && now < self->drain_deadline)
        return;
    s_close_all (self);
    self->drained = true;
    zstr_send (self->pipe, "DRAINED");
    ps_loop_dirty (self->loop, PS_LOOP_PIPE);  //  a send may swallow a command's signal
}

//  The loop's timer: acts on what is due, and returns the earliest
//  deadline left.
static int64_t
s_handle_timers (ps_loop_t *loop, int64_t now, void *arg)
{
    (void) loop;
    self_t *self = (self_t *) arg;
    ps_request_t *request;
    while ((request = ps_request_table_oldest (self->requests)) && request->deadline <= now) {
        ps_server_cancel (self, request);
        ps_reply_local (request, 504, NULL, NULL);
        ps_session_t *session = request->session;
        if (ps_session_first (session) == request)
            ps_session_flush (&session);
    }
    ps_session_timers_expire (self, now);
    s_drain_check (self, now);

    int64_t deadline = MIN (ps_session_timers_deadline (self), ps_observe_tick (self, now));
    deadline = MIN (deadline, ps_stream_timers (self, now));
    ps_request_t *oldest = ps_request_table_oldest (self->requests);
    if (oldest)
        deadline = MIN (deadline, oldest->deadline);
    if (self->draining && !self->drained)
        deadline = MIN (deadline, self->drain_deadline);
    return deadline;
}

//  Commands on the pipe besides "$TERM": "DRAIN" + milliseconds, "REOPEN".
static int
s_handle_command (ps_loop_t *loop, const char *command, zmsg_t *msg, void *arg)
{
    (void) loop;
    self_t *self = (self_t *) arg;
    if (streq (command, "$TERM"))
        return 0;
    if (streq (command, "REOPEN")) {
        ps_observe_reopen (self);
        zsock_signal (self->pipe, 0);
        if (self->drained)
            zstr_send (self->pipe, "DRAINED");  //  in case the caller's wait ate it
        return 0;
    }
    if (!streq (command, "DRAIN"))
        return -1;
    char *value = zmsg_popstr (msg);
    int ms = value ? atoi (value) : 0;
    zstr_free (&value);
    if (!self->draining) {
        self->draining = true;
        self->drain_deadline = zclock_mono () + (ms > 0 ? ms : 0);
    }
    //  Acknowledge first: the caller knows the drain has begun, and a
    //  DRAINED that follows at once is not taken for the ack.
    zsock_signal (self->pipe, 0);
    if (self->drained)
        zstr_send (self->pipe, "DRAINED");  //  a repeated DRAIN's ack ate it
    s_drain_check (self, zclock_mono ());
    return 0;
}

static bool
s_handle_stream (ps_loop_t *loop, void *handle, void *arg)
{
    (void) loop;
    (void) handle;
    return ps_session_handle_stream ((self_t *) arg);
}

static bool
s_handle_loopback (ps_loop_t *loop, void *handle, void *arg)
{
    (void) loop;
    (void) handle;
    return ps_reply_handle_loopback ((self_t *) arg);
}

static bool
s_handle_results (ps_loop_t *loop, void *handle, void *arg)
{
    (void) loop;
    (void) handle;
    return ps_reply_handle_seat ((self_t *) arg);
}

//  ---------------------------------------------------------------------
//  Set-up

static char *
s_strdup_or_null (const char *text)
{
    return text ? strdup (text) : NULL;
}

//  The TCP port of a bound endpoint, or -1 for another transport.
static int
s_parse_port (const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return -1;
    const char *colon = strrchr (endpoint, ':');
    if (!colon || colon < endpoint + 6)
        return -1;
    return atoi (colon + 1);
}

//  Gives every zero field its default (the header's "0: ..."), so the rest
//  of the server only meets explicit values; a timeout <= 0 after this is off.
static void
s_config_resolve (ps_server_config_t *config)
{
    ps_server_config_t defaults;
    ps_server_config_defaults (&defaults);
    ps_http_limits_t *limits = &config->limits;
    if (!limits->max_target)
        limits->max_target = defaults.limits.max_target;
    if (!limits->max_header_bytes)
        limits->max_header_bytes = defaults.limits.max_header_bytes;
    if (!limits->max_headers)
        limits->max_headers = defaults.limits.max_headers;
    if (!limits->max_body)
        limits->max_body = defaults.limits.max_body;
    if (!config->max_connections)
        config->max_connections = defaults.max_connections;
    if (!config->max_in_flight)
        config->max_in_flight = defaults.max_in_flight;
    if (!config->max_pipelined)
        config->max_pipelined = defaults.max_pipelined;
    if (!config->header_timeout_ms)
        config->header_timeout_ms = defaults.header_timeout_ms;
    if (!config->idle_timeout_ms)
        config->idle_timeout_ms = defaults.idle_timeout_ms;
    if (!config->send_timeout_ms)
        config->send_timeout_ms = defaults.send_timeout_ms;
    if (config->hwm <= 0)
        config->hwm = defaults.hwm;
    if (!config->stream_window)
        config->stream_window = defaults.stream_window;
    if (!config->connection_budget)
        config->connection_budget = defaults.connection_budget;
}

//  linger_ms: what may still leave at close
static zsock_t *
s_socket (self_t *self, int type, const char *endpoint, bool bind, const char *role, int linger_ms)
{
    //  Sends never block the front
    zsock_t *sock = ps_socket_new (
        type, &(ps_socket_options_t){self->config.hwm, linger_ms, 0, self->keys}, "ps_server",
        role);
    if (sock && type == ZMQ_STREAM) {
        zsock_set_backlog (sock, 1024);  //  bursts of new clients
        //  The send timeout. ZMQ_STREAM shows us neither a peer's socket nor
        //  how much of what we queued it has taken, so the kernel keeps the
        //  time: TCP_USER_TIMEOUT (Linux >= 5.11 also counts a receive
        //  window that stays closed) aborts the connection, and libzmq
        //  reports it gone like any other disconnect.
        if (self->config.send_timeout_ms > 0)
            zsock_set_tcp_maxrt (sock, self->config.send_timeout_ms);
    }
    if (sock && ps_socket_attach (sock, bind, endpoint, "ps_server", role) != 0)
        ps_socket_destroy (&sock);
    return sock;
}

//  Where jobs for endpoint go: the dispatch in this process registered
//  under it (ps_dispatch.h), else a PUSH connected to it (*sock_p).
static int
s_sink_open (self_t *self, ps_sink_t *sink, zsock_t **sock_p, const char *endpoint,
             const char *role)
{
    sink->dispatch = ps_dispatch_find (endpoint);
    if (sink->dispatch)
        return 0;
    *sock_p = s_socket (self, ZMQ_PUSH, endpoint, false, role, 0);
    if (!*sock_p)
        return -1;
    sink->handle = zsock_resolve (*sock_p);
    return 0;
}

//  The routing table and a PUSH to each route's proxy. The parser admits
//  bodies up to the largest limit; s_route applies each route's own.
static int
s_routes_new (self_t *self, const ps_server_config_t *config)
{
    if (self->proxy || config->protocol != PS_PROTOCOL_HTTP || !config->routes) {
        zsys_error ("ps_server: routes take the place of proxy, and need HTTP");
        return -1;
    }
    self->routes = ps_route_table_new ();
    self->route_push = (zsock_t **) zmalloc (config->route_count * sizeof (zsock_t *));
    self->route_sinks = (ps_sink_t *) zmalloc (config->route_count * sizeof (ps_sink_t));
    self->max_body = self->config.limits.max_body;
    for (size_t i = 0; i < config->route_count; i++) {
        if (ps_route_table_add (self->routes, &config->routes[i]) < 0)
            return -1;
        const ps_route_t *route = ps_route_table_get (self->routes, i);
        if (s_sink_open (self, &self->route_sinks[i], &self->route_push[i], route->proxy, "route")
            != 0)
            return -1;
        self->config.limits.max_body = MAX (self->config.limits.max_body, route->max_body);
    }
    return 0;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    if (self->sessions) {
        zlistx_t *sessions = zhashx_values (self->sessions);
        assert (sessions);
        for (ps_session_t *session = (ps_session_t *) zlistx_first (sessions); session;
             session = (ps_session_t *) zlistx_next (sessions))
            ps_session_destroy (&session);
        zlistx_destroy (&sessions);
    }
    ps_observe_stop (self);
    ps_loop_destroy (&self->loop);
    zhashx_destroy (&self->sessions);
    zlistx_destroy (&self->header_timers);
    zlistx_destroy (&self->idle_timers);
    zlistx_destroy (&self->zombie_timers);
    ps_request_table_destroy (&self->requests);
    zhashx_destroy (&self->streams);
    zlistx_destroy (&self->stream_watch);
    ps_socket_destroy (&self->stream);
    ps_socket_destroy (&self->push);
    ps_dispatch_destroy (&self->push_sink.dispatch);
    ps_socket_destroy (&self->pull);
    ps_dispatch_seat_destroy (&self->results_seat);
    ps_dispatch_destroy (&self->results);
    ps_socket_destroy (&self->pub);
    ps_curve_keys_destroy (&self->keys);
    for (size_t i = 0; self->route_push && i < ps_route_table_size (self->routes); i++) {
        ps_socket_destroy (&self->route_push[i]);
        ps_dispatch_destroy (&self->route_sinks[i].dispatch);
    }
    free (self->route_push);
    free (self->route_sinks);
    ps_route_table_destroy (&self->routes);
    zstr_free (&self->cors_origin);
    ps_pairs_destroy (&self->text_headers);
    ps_pairs_destroy (&self->retry_headers);
    zframe_destroy (&self->scratch);
    zstr_free (&self->listen);
    zstr_free (&self->proxy);
    zstr_free (&self->loopback);
    zstr_free (&self->interrupt);
    zstr_free (&self->health_check);
    zstr_free (&self->metrics_path);
    zstr_free (&self->access_log_path);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const ps_server_config_t *config)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    self->pipe = pipe;
    self->config = *config;
    self->listen = s_strdup_or_null (config->listen);
    self->proxy = s_strdup_or_null (config->proxy);
    self->loopback = s_strdup_or_null (config->loopback);
    self->interrupt = s_strdup_or_null (config->interrupt);
    self->health_check = s_strdup_or_null (config->health_check);
    self->config.listen = self->listen;
    self->config.proxy = self->proxy;
    self->config.loopback = self->loopback;
    self->config.interrupt = self->interrupt;
    self->config.health_check = self->health_check;
    self->metrics_path = s_strdup_or_null (config->metrics);
    self->access_log_path = s_strdup_or_null (config->access_file);
    self->config.metrics = self->metrics_path;
    self->config.access_file = self->access_log_path;
    self->cors_origin = s_strdup_or_null (config->cors_origin);
    self->config.cors_origin = self->cors_origin;
    s_config_resolve (&self->config);
    self->config.routes = NULL;  //  copied into self->routes below
    self->sessions = ps_request_u64_hashx_new ();
    self->header_timers = zlistx_new ();
    self->idle_timers = zlistx_new ();
    self->zombie_timers = zlistx_new ();
    assert (self->header_timers && self->idle_timers && self->zombie_timers);
    self->requests = ps_request_table_new ();
    self->streams = ps_request_u64_hashx_new ();
    self->stream_watch = zlistx_new ();
    assert (self->stream_watch);
    self->stream_poll_at = INT64_MAX;
    self->text_headers = ps_pairs_new (true);
    ps_pairs_add (self->text_headers, "Content-Type", "text/plain");
    self->scratch = zframe_new_empty ();
    self->retry_headers = ps_pairs_new (true);
    ps_pairs_add (self->retry_headers, "Content-Type", "text/plain");
    ps_pairs_add (self->retry_headers, "Retry-After", "1");

    if (!self->listen) {
        zsys_error ("ps_server: no listen endpoint");
        goto failed;
    }
    if (config->curve.cert && !(self->keys = ps_curve_keys_new (&config->curve, "ps_server")))
        goto failed;
    if (ps_observe_start (self) != 0)
        goto failed;
    if (self->cors_origin
        && (strlen (self->cors_origin) > 256 || strpbrk (self->cors_origin, "\r\n"))) {
        zsys_error ("ps_server: cors_origin must be one short line");
        goto failed;
    }
    //  Before any bind: a config refused here leaves no endpoint behind
    //  (libzmq releases an inproc name only after the socket is reaped, so
    //  a caller that tries again at once would find it taken).
    if (config->route_count > 0 && s_routes_new (self, config) != 0)
        goto failed;
    self->stream = s_socket (self, ZMQ_STREAM, self->listen, true, "listen", LINGER_MS);
    if (!self->stream)
        goto failed;
    self->stream_h = zsock_resolve (self->stream);
    if (self->proxy) {
        if (s_sink_open (self, &self->push_sink, &self->push, self->proxy, "proxy") != 0)
            goto failed;
    }
    if (self->loopback) {
        self->pull = s_socket (self, ZMQ_PULL, self->loopback, true, "loopback", 0);
        if (!self->pull)
            goto failed;
        self->pull_h = zsock_resolve (self->pull);
        //  The PULL stays, for proxies and for workers of other processes
        self->results = ps_dispatch_find (self->loopback);
        if (self->results && !(self->results_seat = ps_dispatch_seat_new (self->results)))
            goto failed;
    }
    if (self->interrupt) {
        self->pub = s_socket (self, ZMQ_PUB, self->interrupt, true, "interrupt", LINGER_MS);
        if (!self->pub)
            goto failed;
        self->pub_h = zsock_resolve (self->pub);
    }
    //  The pipe, then clients, then results
    self->loop = ps_loop_new (pipe, "ps_server", s_handle_command, self);
    self->stream_id = ps_loop_add (self->loop, self->stream, s_handle_stream, self);
    if (self->pull)
        ps_loop_add (self->loop, self->pull, s_handle_loopback, self);
    if (self->results_seat)
        ps_loop_add_fd (self->loop, ps_dispatch_seat_fd (self->results_seat), s_handle_results,
                        self);
    ps_loop_set_timer (self->loop, s_handle_timers, self);
    return self;

failed:
    s_self_destroy (&self);
    return NULL;
}

//  ---------------------------------------------------------------------
//  The actor

void
ps_server_actor (zsock_t *pipe, void *args)
{
    assert (pipe);
    assert (args);
    self_t *self = s_self_new (pipe, (const ps_server_config_t *) args);
    zsock_t *bound[3] = {self ? self->stream : NULL, self ? self->pull : NULL,
                         self ? self->pub : NULL};
    ps_actor_started (pipe, self != NULL, bound, 3);
    if (!self)
        return;
    ps_loop_run (self->loop);
    //  Stop at once: what is in flight gets 503 and is cancelled.
    s_close_all (self);
    s_self_destroy (&self);
}

//  ---------------------------------------------------------------------
//  The public class

struct _ps_server_t {
    zactor_t *actor;
    int port;
    char *bound[3];  //  listen, loopback, interrupt as bound; NULL if not made
    bool drained;
};

void
ps_server_config_defaults (ps_server_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof (*config));
    config->protocol = PS_PROTOCOL_HTTP;
    ps_http_limits_defaults (&config->limits);
    config->max_connections = 10000;
    config->max_in_flight = 10000;
    config->max_pipelined = 64;
    config->request_timeout_ms = 0;
    config->header_timeout_ms = 10000;
    config->idle_timeout_ms = 60000;
    config->send_timeout_ms = 60000;
    config->health_check = NULL;
    config->access_log = false;
    config->verbose = false;
    config->hwm = 10000;
    config->stream_window = 2 * 1024 * 1024;
    config->connection_budget = 4 * 1024 * 1024;
}

ps_server_t *
ps_server_new (const ps_server_config_t *config)
{
    assert (config);
    ps_server_t *self = (ps_server_t *) zmalloc (sizeof (ps_server_t));
    assert (self);
    self->actor = ps_actor_new (ps_server_actor, (void *) config, self->bound, 3);
    if (!self->actor || !self->bound[0]) {
        ps_server_destroy (&self);
        return NULL;
    }
    self->port = s_parse_port (self->bound[0]);
    return self;
}

void
ps_server_destroy (ps_server_t **self_p)
{
    assert (self_p);
    ps_server_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy (&self->actor);
    for (size_t i = 0; i < 3; i++)
        zstr_free (&self->bound[i]);
    free (self);
    *self_p = NULL;
}

int
ps_server_port (ps_server_t *self)
{
    assert (self);
    return self->port;
}

const char *
ps_server_listen_endpoint (ps_server_t *self)
{
    assert (self);
    return self->bound[0];
}

const char *
ps_server_loopback_endpoint (ps_server_t *self)
{
    assert (self);
    return self->bound[1];
}

const char *
ps_server_interrupt_endpoint (ps_server_t *self)
{
    assert (self);
    return self->bound[2];
}

void
ps_server_drain (ps_server_t *self, int drain_ms)
{
    assert (self);
    zsock_send (self->actor, "si", "DRAIN", drain_ms);
    zsock_wait (self->actor);
}

void
ps_server_reopen_logs (ps_server_t *self)
{
    assert (self);
    zstr_send (self->actor, "REOPEN");
    zsock_wait (self->actor);
}

bool
ps_server_wait_drained (ps_server_t *self, int timeout_ms)
{
    assert (self);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : zclock_mono () + timeout_ms;
    while (!self->drained) {
        int64_t now = zclock_mono ();
        if (now >= deadline)
            break;
        long wait = deadline == INT64_MAX ? -1 : (long) (deadline - now);
        zmq_pollitem_t item = {zsock_resolve (self->actor), 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll (&item, 1, wait);
        if (rc == -1 && errno != EINTR)
            break;
        if (rc <= 0)
            continue;
        char *reply = zstr_recv (self->actor);
        if (reply && streq (reply, "DRAINED"))
            self->drained = true;
        zstr_free (&reply);
    }
    return self->drained;
}
