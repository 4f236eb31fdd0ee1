/*  ps_session: one client connection (see ps_session.h), and the reading
    of the STREAM socket that creates, feeds and ends sessions.

    Timeouts are constant per kind, so lists kept in start order give the
    deadline order for free: the server holds one zlistx per timer kind,
    and a session keeps its handle in the list of its current timer, so
    restarting the idle timer on activity is a move to the end, with no
    allocation.

    Sends never block the front: the STREAM socket is used with
    ZMQ_DONTWAIT. A failed send of the routing-id frame is never followed
    by the data frame; a client whose queue is full (it stopped reading)
    loses its state and is closed as soon as libzmq lets us (a zombie). A
    TCP client that takes none of our bytes for the send timeout is cut off
    by the kernel (see ps_server.c, s_socket), which frees what libzmq
    still queues for it.
*/
#include "ps_session.h"
#include "ps_observe.h"
#include "ps_reply.h"
#include "ps_stream.h"

#include <errno.h>
#include <string.h>

//  Retry period for closing sessions whose send queue was full.
#define ZOMBIE_RETRY_MS 100

//  ---------------------------------------------------------------------
//  Writing to the client

static void
s_chunk_free (void *data, void *hint)
{
    (void) data;
    zchunk_t *chunk = (zchunk_t *) hint;
    zchunk_destroy (&chunk);
}

//  Sends bytes to the client; takes the chunk. Returns 0, or -1 with errno
//  set when the routing-id frame could not be sent (client gone or its
//  queue full); the data frame is then never sent.
static int
s_send (ps_session_t *self, zchunk_t **chunk_p)
{
    void *stream = self->server->stream_h;
    zchunk_t *chunk = *chunk_p;
    *chunk_p = NULL;
    //  A send may swallow the signal of input now waiting on the socket
    ps_loop_dirty (self->server->loop, self->server->stream_id);
    assert (zchunk_size (chunk) > 0);  //  an empty frame would close
    if (zmq_send (stream, self->rid, self->rid_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        int error = errno;
        zchunk_destroy (&chunk);
        errno = error;
        return -1;
    }
    zmq_msg_t msg;
    self->sent += zchunk_size (chunk);
    //  The bytes travel to the I/O thread without a copy.
    zmq_msg_init_data (&msg, zchunk_data (chunk), zchunk_size (chunk), s_chunk_free, chunk);
    if (zmq_msg_send (&msg, stream, ZMQ_DONTWAIT) == -1)
        zmq_msg_close (&msg);  //  libzmq accepts any data frame after an id frame
    return 0;
}

int
ps_session_send (ps_session_t *self, zchunk_t **chunk_p)
{
    assert (self);
    return s_send (self, chunk_p);
}

int
ps_session_send_msg (ps_session_t *self, zmq_msg_t *msg)
{
    assert (self);
    assert (zmq_msg_size (msg) > 0);
    void *stream = self->server->stream_h;
    ps_loop_dirty (self->server->loop, self->server->stream_id);  //  as in s_send
    if (zmq_send (stream, self->rid, self->rid_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        int error = errno;
        zmq_msg_close (msg);
        errno = error;
        return -1;
    }
    self->sent += zmq_msg_size (msg);
    if (zmq_msg_send (msg, stream, ZMQ_DONTWAIT) == -1)
        zmq_msg_close (msg);
    return 0;
}

//  Asks libzmq to close the TCP connection once what we sent is written.
static int
s_send_close (ps_server_self_t *server, const uint8_t *rid, size_t rid_size)
{
    ps_loop_dirty (server->loop, server->stream_id);  //  as in s_send
    if (zmq_send (server->stream_h, rid, rid_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
        return -1;
    zmq_send (server->stream_h, "", 0, ZMQ_DONTWAIT);
    return 0;
}

//  ---------------------------------------------------------------------
//  Timers

static zlistx_t *
s_timer_list (ps_server_self_t *server, ps_session_timer_t kind)
{
    switch (kind) {
    case PS_SESSION_TIMER_HEADER:
        return server->header_timers;
    case PS_SESSION_TIMER_IDLE:
        return server->idle_timers;
    case PS_SESSION_TIMER_ZOMBIE:
        return server->zombie_timers;
    default:
        return NULL;
    }
}

static void
s_timer_stop (ps_session_t *self)
{
    zlistx_t *list = s_timer_list (self->server, self->timer);
    if (!list)
        return;
    zlistx_delete (list, self->timer_handle);
    self->timer_handle = NULL;
    self->timer = PS_SESSION_TIMER_NONE;
}

//  Starts (or restarts) the session's timer of this kind now.
static void
s_timer_start (ps_session_t *self, ps_session_timer_t kind, int64_t now)
{
    zlistx_t *list = s_timer_list (self->server, kind);
    if (kind == self->timer && list)
        zlistx_move_end (list, self->timer_handle);
    else {
        s_timer_stop (self);
        if (!list)
            return;
        self->timer = kind;
        self->timer_handle = zlistx_add_end (list, self);
        assert (self->timer_handle);
    }
    self->timer_start = now;
}

//  ---------------------------------------------------------------------
//  Life of a session

static uint64_t
s_rid_key (const uint8_t *rid, size_t size)
{
    uint64_t key = (uint64_t) size << 56;
    for (size_t i = 0; i < size; i++)
        key |= (uint64_t) rid[i] << (8 * i);
    return key;
}

static ps_session_t *
s_session_new (ps_server_self_t *server, const uint8_t *rid, size_t rid_size, int fd)
{
    ps_session_t *self = (ps_session_t *) zmalloc (sizeof (ps_session_t));
    self->server = server;
    self->fd = fd;
    self->key = s_rid_key (rid, rid_size);
    memcpy (self->rid, rid, rid_size);
    self->rid_size = rid_size;
    if (server->config.protocol == PS_PROTOCOL_NETSTRING)
        self->decoder = ps_netstring_decoder_new (server->config.limits.max_body);
    else
        self->parser = ps_http_parser_new (&server->config.limits);
    self->requests = zlistx_new ();
    assert (self->requests);
    int rc = zhashx_insert (server->sessions, &self->key, self);
    assert (rc == 0);  //  the caller looked it up
    (void) rc;
    return self;
}

//  Frees the session's requests (pending ones are cancelled) and its
//  parser: what a zombie no longer needs.
static void
s_session_drop_state (ps_session_t *self)
{
    ps_request_t *request;
    while ((request = (ps_request_t *) zlistx_detach (self->requests, NULL))) {
        ps_observe_abandoned (self->server, request);
        if (request->pending)
            ps_server_cancel (self->server, request);
        ps_request_destroy (&request);
    }
    self->deferred = 0;
    ps_stream_session_gone (self);
    ps_http_parser_destroy (&self->parser);
    ps_netstring_decoder_destroy (&self->decoder);
}

void
ps_session_destroy (ps_session_t **self_p)
{
    assert (self_p);
    ps_session_t *self = *self_p;
    if (!self)
        return;
    s_session_drop_state (self);
    zlistx_destroy (&self->requests);
    if (self->zombie)
        self->server->zombies--;
    s_timer_stop (self);
    ps_stream_session_gone (self);
    zhashx_delete (self->server->sessions, &self->key);
    free (self);
    *self_p = NULL;
}

//  A send to the client failed. Its state goes; if libzmq still knows the
//  peer (queue full) it stays as a zombie until a close frame gets through
//  or its disconnect arrives.
static void
s_session_broken (ps_session_t **self_p, int error)
{
    ps_session_t *self = *self_p;
    ps_server_self_t *server = self->server;
    if (server->config.verbose)
        zsys_warning ("ps_server: dropping a client that cannot be written to (%s)",
                      zmq_strerror (error));
    if (error == EAGAIN) {
        s_session_drop_state (self);
        self->zombie = true;
        self->closing = true;
        server->zombies++;
        if (zlistx_size (server->zombie_timers) == 0)
            server->zombie_retry = zclock_mono () + ZOMBIE_RETRY_MS;
        s_timer_start (self, PS_SESSION_TIMER_ZOMBIE, zclock_mono ());
        *self_p = NULL;
    }
    else
        ps_session_destroy (self_p);
}

//  Closes after what was sent, and forgets the session.
static void
s_session_close (ps_session_t **self_p)
{
    ps_session_t *self = *self_p;
    if (s_send_close (self->server, self->rid, self->rid_size) == -1 && errno == EAGAIN)
        s_session_broken (self_p, EAGAIN);
    else
        ps_session_destroy (self_p);
}

static bool
s_session_partial (ps_session_t *self)
{
    if (self->parser)
        return ps_http_parser_partial (self->parser);
    if (self->decoder)
        return ps_netstring_decoder_partial (self->decoder);
    return false;
}

//  Picks the timer the session's state calls for: a partial header
//  section (or nothing at all since connect) runs against the header
//  timeout from its start; a partial body or an idle keep-alive
//  connection against the idle timeout from the last activity; a
//  session waiting for answers has none (the request timeout bounds it).
static void
s_session_update_timer (ps_session_t *self, bool activity)
{
    if (self->zombie)
        return;
    ps_session_timer_t kind;
    bool partial = s_session_partial (self);
    if (self->closing)
        kind = PS_SESSION_TIMER_NONE;
    else if (partial && self->parser && ps_http_parser_in_headers (self->parser))
        kind = PS_SESSION_TIMER_HEADER;
    else if (partial)
        kind = PS_SESSION_TIMER_IDLE;
    else if (zlistx_size (self->requests) > 0)
        kind = PS_SESSION_TIMER_NONE;
    else if (!self->served)
        kind = PS_SESSION_TIMER_HEADER;
    else
        kind = PS_SESSION_TIMER_IDLE;

    if (kind == PS_SESSION_TIMER_NONE)
        s_timer_stop (self);
    else if (kind != self->timer || (kind == PS_SESSION_TIMER_IDLE && activity))
        s_timer_start (self, kind, zclock_mono ());
}

//  Answers "100 Continue" once the request that asked for it is the next
//  to be answered, so it never overtakes earlier responses.
static int
s_session_maybe_continue (ps_session_t *self)
{
    if (!self->parser || zlistx_size (self->requests) > 0 || self->closing
        || !ps_http_parser_wants_continue (self->parser))
        return 0;
    ps_http_parser_continue_sent (self->parser);
    zchunk_t *chunk = zchunk_new ("HTTP/1.1 100 Continue\r\n\r\n", 25);
    return s_send (self, &chunk);
}

ps_request_t *
ps_session_request_new (ps_session_t *self)
{
    assert (self);
    ps_request_t *request = ps_request_new (self);
    void *handle = zlistx_add_end (self->requests, request);
    assert (handle);
    (void) handle;
    return request;
}

ps_request_t *
ps_session_first (ps_session_t *self)
{
    assert (self);
    return (ps_request_t *) zlistx_head (self->requests);
}

//  The first answer comes in parts (ps_stream.c): what is ready before it
//  goes first, then what it has. 0: it is complete and gone (the next may
//  go); 1: more is to come; -1: the session is gone.
static int
s_flush_stream (ps_session_t **self_p, zchunk_t **out_p, ps_request_t *request)
{
    ps_session_t *self = *self_p;
    if (*out_p && s_send (self, out_p) == -1) {
        s_session_broken (self_p, errno);
        return -1;
    }
    if (self->server->draining)
        self->closing = true;
    bool keep_alive = !(self->closing && zlistx_size (self->requests) == 1);
    ps_stream_flush_t rc = ps_stream_flush (request, keep_alive);
    if (rc == PS_STREAM_WAIT)
        return 1;
    if (rc == PS_STREAM_BROKEN) {
        s_session_broken (self_p, errno);
        return -1;
    }
    if (rc == PS_STREAM_CLOSE) {
        s_session_close (self_p);
        return -1;
    }
    zlistx_detach (self->requests, NULL);
    if (self->server->config.access_log)
        ps_reply_log (request, ps_stream_written (request->stream));
    ps_request_destroy (&request);
    return 0;
}

int
ps_session_flush (ps_session_t **self_p)
{
    assert (self_p);
    ps_session_t *self = *self_p;
    assert (self);
    ps_server_self_t *server = self->server;
    zchunk_t *out = NULL;
    ps_request_t *request;
again:
    while ((request = ps_session_first (self)) && request->answer != PS_ANSWER_NONE) {
        if (request->answer == PS_ANSWER_STREAM) {
            int rc = s_flush_stream (self_p, &out, request);
            if (rc < 0)
                return -1;
            if (rc > 0)
                break;
            continue;
        }
        zlistx_detach (self->requests, NULL);
        //  While draining, the connection ends with the last answer that
        //  has been asked for so far.
        if (server->draining)
            self->closing = true;
        bool keep_alive = !(self->closing && zlistx_size (self->requests) == 0);
        zchunk_t *chunk = ps_reply_format (request, server->config.protocol, keep_alive);
        if (server->config.access_log)
            ps_reply_log (request, zchunk_size (chunk));
        ps_observe_answered (server, request, zchunk_size (chunk));
        ps_request_destroy (&request);
        if (!out)
            out = chunk;
        else {
            zchunk_extend (out, zchunk_data (chunk), zchunk_size (chunk));
            zchunk_destroy (&chunk);
        }
    }
    if (out && s_send (self, &out) == -1) {
        s_session_broken (self_p, errno);
        return -1;
    }
    if (self->closing && zlistx_size (self->requests) == 0) {
        s_session_close (self_p);
        return -1;
    }
    s_session_update_timer (self, false);
    if (s_session_maybe_continue (self) == -1) {
        s_session_broken (self_p, errno);
        return -1;
    }
    if (self->deferred > 0 && ps_stream_resume (self)) {
        request = ps_session_first (self);
        if (request && request->answer != PS_ANSWER_NONE)
            goto again;
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Bytes from the client

//  The stream went bad: a last request carries the error, in its turn,
//  and the session takes nothing more.
static void
s_session_fail (ps_session_t *self, int status, const char *reason)
{
    ps_request_t *request = ps_session_request_new (self);
    request->answer = PS_ANSWER_PARSE;
    request->status = status;
    request->text = reason;
    if (self->server->config.access_log)
        request->line = strdup ("-");
    if (self->server->config.verbose && self->parser)
        zsys_warning ("ps_server: bad request: %d %s", status, reason);
    else if (self->server->config.verbose)
        zsys_warning ("ps_server: bad netstring: %s", reason);
    self->closing = true;
}

//  Parses, hands out complete requests, answers errors in order, then
//  writes whatever is ready.
static void
s_session_feed (ps_session_t **self_p, const char *data, size_t size)
{
    ps_session_t *self = *self_p;
    ps_server_self_t *server = self->server;
    if (self->parser) {
        int status = ps_http_parser_feed (self->parser, data, size);
        ps_http_request_t *parsed;
        while ((parsed = ps_http_parser_next (self->parser))) {
            if (self->closing)
                ps_http_request_destroy (&parsed);  //  after "close": not processed
            else
                ps_server_accept_http (server, self, &parsed);
        }
        if (status != 0 && !self->closing)
            s_session_fail (self, status, ps_http_parser_reason (self->parser));
    }
    else {
        int rc = ps_netstring_decoder_feed (self->decoder, data, size);
        zframe_t *payload;
        while ((payload = ps_netstring_decoder_next (self->decoder))) {
            if (self->closing)
                zframe_destroy (&payload);
            else
                ps_server_accept_netstring (server, self, &payload);
        }
        if (rc != 0 && !self->closing) {
            const char *reason = ps_netstring_decoder_error (self->decoder);
            s_session_fail (self, 400, reason ? reason : "malformed netstring");
        }
    }
    if (server->draining && zlistx_size (self->requests) > 0)
        self->closing = true;
    s_session_update_timer (self, true);
    ps_session_flush (self_p);
}

static void
s_handle_client (ps_server_self_t *server, const uint8_t *rid, size_t rid_size, const char *data,
                 size_t size, const char *peer, int fd)
{
    if (rid_size == 0 || rid_size > PS_SESSION_RID_MAX) {
        zsys_warning ("ps_server: unexpected STREAM routing id of %zu bytes", rid_size);
        return;
    }
    uint64_t key = s_rid_key (rid, rid_size);
    ps_session_t *session = (ps_session_t *) zhashx_lookup (server->sessions, &key);
    if (!session) {
        if (size > 0)
            return;  //  bytes from a connection we closed already
        if (zhashx_size (server->sessions) >= server->config.max_connections) {
            if (server->config.verbose)
                zsys_warning ("ps_server: max_connections reached, refusing a client");
            ps_observe_reject (server, PS_METRICS_TOO_MANY_CONNECTIONS);
            s_send_close (server, rid, rid_size);
            return;
        }
        session = s_session_new (server, rid, rid_size, fd);
        //  An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d
        if (peer && strncmp (peer, "::ffff:", 7) == 0 && strchr (peer, '.'))
            peer += 7;
        if (peer)
            snprintf (session->peer, sizeof session->peer, "%s", peer);
        s_session_update_timer (session, true);
        return;
    }
    if (size == 0) {
        //  The client went away: cancel its work, forget it.
        ps_session_destroy (&session);
        return;
    }
    if (session->closing)
        return;  //  nothing more is read after an error or "close"
    s_session_feed (&session, data, size);
}

bool
ps_session_handle_stream (ps_server_self_t *server)
{
    assert (server);
    for (int n = 0; n < PS_SERVER_BATCH; n++) {
        zmq_msg_t rid, data;
        zmq_msg_init (&rid);
        if (zmq_msg_recv (&rid, server->stream_h, ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&rid);
            return errno == EAGAIN;
        }
        if (!zmq_msg_more (&rid)) {
            zmq_msg_close (&rid);
            continue;
        }
        zmq_msg_init (&data);
        if (zmq_msg_recv (&data, server->stream_h, 0) == -1) {
            zmq_msg_close (&data);
            zmq_msg_close (&rid);
            return false;
        }
        while (zmq_msg_more (&data)) {  //  STREAM never sends more, but be safe
            zmq_msg_t extra;
            zmq_msg_init (&extra);
            int rc = zmq_msg_recv (&extra, server->stream_h, 0);
            bool more = rc != -1 && zmq_msg_more (&extra);
            zmq_msg_close (&extra);
            if (!more)
                break;
        }
        //  Connects carry the peer's address (libzmq's metadata) and the
        //  client's socket, for what its client acknowledges (ps_stream.c)
        size_t size = zmq_msg_size (&data);
        int fd = size == 0 ? zmq_msg_get (&data, ZMQ_SRCFD) : -1;
        s_handle_client (server, (const uint8_t *) zmq_msg_data (&rid), zmq_msg_size (&rid),
                         (const char *) zmq_msg_data (&data), size,
                         size == 0 ? zmq_msg_gets (&data, "Peer-Address") : NULL, fd);
        zmq_msg_close (&data);
        zmq_msg_close (&rid);
    }
    return false;
}

//  ---------------------------------------------------------------------
//  Timers due

void
ps_session_timers_expire (ps_server_self_t *server, int64_t now)
{
    assert (server);
    const ps_server_config_t *config = &server->config;
    ps_session_t *session;
    if (config->header_timeout_ms > 0)
        while ((session = (ps_session_t *) zlistx_head (server->header_timers))
               && session->timer_start + config->header_timeout_ms <= now) {
            s_timer_stop (session);
            session->closing = true;
            if (session->parser) {
                ps_request_t *request = ps_session_request_new (session);
                ps_reply_local (request, 408, NULL, NULL);
                request->line = config->access_log ? strdup ("-") : NULL;
                ps_session_flush (&session);
            }
            else if (zlistx_size (session->requests) == 0)
                s_session_close (&session);
        }
    if (config->idle_timeout_ms > 0)
        while ((session = (ps_session_t *) zlistx_head (server->idle_timers))
               && session->timer_start + config->idle_timeout_ms <= now) {
            s_timer_stop (session);
            session->closing = true;
            if (session->parser && s_session_partial (session)) {
                //  A body that stopped arriving.
                ps_request_t *request = ps_session_request_new (session);
                ps_reply_local (request, 408, NULL, NULL);
                ps_session_flush (&session);
            }
            else if (zlistx_size (session->requests) == 0)
                s_session_close (&session);
        }
    if (zlistx_size (server->zombie_timers) > 0 && now >= server->zombie_retry) {
        server->zombie_retry = now + ZOMBIE_RETRY_MS;
        //  Each zombie once: a close that got through ends it, one that did
        //  not goes to the back for the next round.
        size_t count = zlistx_size (server->zombie_timers);
        for (size_t i = 0; i < count; i++) {
            session = (ps_session_t *) zlistx_head (server->zombie_timers);
            if (s_send_close (server, session->rid, session->rid_size) == 0)
                ps_session_destroy (&session);
            else
                zlistx_move_end (server->zombie_timers, session->timer_handle);
        }
    }
}

int64_t
ps_session_timers_deadline (ps_server_self_t *server)
{
    assert (server);
    int64_t deadline = INT64_MAX;
    const ps_server_config_t *config = &server->config;
    ps_session_t *session;
    if (config->header_timeout_ms > 0
        && (session = (ps_session_t *) zlistx_head (server->header_timers)))
        deadline = MIN (deadline, session->timer_start + config->header_timeout_ms);
    if (config->idle_timeout_ms > 0
        && (session = (ps_session_t *) zlistx_head (server->idle_timers)))
        deadline = MIN (deadline, session->timer_start + config->idle_timeout_ms);
    if (zlistx_size (server->zombie_timers) > 0)
        deadline = MIN (deadline, server->zombie_retry);
    return deadline;
}

size_t
ps_session_live (ps_server_self_t *server)
{
    assert (server);
    return zhashx_size (server->sessions) - server->zombies;
}
