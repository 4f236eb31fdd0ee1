/*  ps_stream: streamed answers, their flow control, and the byte budget of
    a connection (see ps_stream.h).

    A stream belongs to its request (request->stream) and is found by id in
    server->streams while its worker may still send; the request left the
    pending table when the START came (no 504 once a status is out). Parts
    that arrive before the answer's turn on its connection are held (at
    most the initial grant, since only the connection's first answer gets
    more); the first answer's parts go to libzmq at once, without a copy
    when no chunk framing is needed.

    Sessions to look at again (a first stream whose worker used up its
    grant, or requests held back by the budget) are in server->stream_watch;
    the loop's timer looks at them every poll_ms, 1 ms after progress and
    doubling to 64 ms while nothing moves: only such sessions cost a
    wake-up, and a client that reads nothing costs about 16 a second.
*/
#include "ps_stream.h"
#include "ps_envelope_private.h"
#include "ps_http_private.h"
#include "ps_reply.h"
#include "ps_session.h"
#include "ps_tcp_acked.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define S_POLL_MIN_MS 1
#define S_POLL_MAX_MS 64
//  A grant that brought no part in this long is sent again (a PUB may drop)
#define S_REGRANT_MS 500

struct _ps_stream_t {
    ps_server_self_t *server;
    ps_request_t *request;
    uint64_t id;          //  key in server->streams
    ps_pairs_t *headers;  //  owned until the head is written
    int64_t length;       //  body size from the START, or -1
    zlistx_t *held;       //  zmq_msg_t * waiting for their turn (owned)
    size_t held_bytes;
    uint64_t received;  //  body bytes from the worker
    uint64_t granted;   //  body bytes the worker may have sent
    uint64_t received_at_grant;
    int64_t granted_at;
    size_t written;  //  bytes to the client, head and framing included
    uint64_t written_body;
    bool body;  //  the answer has body bytes on the wire (not HEAD, 204, 304)
    bool chunked;
    bool close_delimited;
    bool started;  //  the head is written
    bool ended;    //  END came
    bool aborted;  //  ABORT came, or the worker was lost
};

//  ---------------------------------------------------------------------
//  Accounting of one connection

//  Bytes handed to libzmq for the session's client and not acknowledged
//  by it, as of now.
static uint64_t
s_unacked (ps_session_t *session)
{
    uint64_t acked;
    if (session->fd >= 0 && ps_tcp_acked (session->fd, &acked) == 0) {
        //  The fd may have been reused since the client left and before
        //  we read its disconnect: never believe more than we sent.
        acked = MIN (acked, session->sent);
        session->acked = MAX (session->acked, acked);
    }
    else {
        session->fd = -1;  //  not TCP: libzmq's HWM is the bound
        session->acked = session->sent;
    }
    return session->sent - session->acked;
}

static void
s_watch (ps_session_t *session)
{
    ps_server_self_t *server = session->server;
    if (!session->stream_watch) {
        session->stream_watch = zlistx_add_end (server->stream_watch, session);
        assert (session->stream_watch);
    }
    server->stream_poll_ms = S_POLL_MIN_MS;
    server->stream_poll_at = MIN (server->stream_poll_at, zclock_mono () + S_POLL_MIN_MS);
}

void
ps_stream_session_gone (ps_session_t *session)
{
    assert (session);
    if (session->stream_watch) {
        zlistx_delete (session->server->stream_watch, session->stream_watch);
        session->stream_watch = NULL;
    }
}

//  ---------------------------------------------------------------------
//  Grants

static void
s_publish_grant (ps_stream_t *self, uint64_t granted)
{
    ps_server_self_t *server = self->server;
    self->granted = granted;
    self->granted_at = zclock_mono ();
    self->received_at_grant = self->received;
    if (!server->pub)
        return;
    byte data[8];
    ps_put_u64 (data, granted);
    zmsg_t *payload = zmsg_new ();
    zmsg_addmem (payload, data, sizeof data);
    ps_envelope_t envelope = {.type = PS_MSG_GRANT, .id = self->id};
    if (ps_envelope_send (&envelope, &payload, server->pub_h) != 0 && server->config.verbose)
        zsys_warning ("ps_server: could not publish GRANT for %" PRIu64, self->id);
}

//  The first answer of its connection: grants what the window leaves, as
//  the client takes bytes. True while the worker may be held up by us
//  (everything granted has come), so the session is to be looked at again.
static bool
s_regrant (ps_stream_t *self)
{
    if (self->ended || self->aborted || !self->body)
        return false;
    ps_session_t *session = self->request->session;
    size_t window = self->server->config.stream_window;
    //  Other answers' held parts wait for this one to end: counting them
    //  here would stop it for good (the budget bounds them)
    uint64_t queued = s_unacked (session) + self->held_bytes;
    uint64_t target = self->received + (queued < window ? window - queued : 0);
    bool at_limit = self->received >= self->granted;
    //  Grants in steps of half a window, or whatever there is when the
    //  worker is waiting, so a fast client costs few GRANTs (each one
    //  wakes every worker subscribed to the interrupt PUB)
    if (target > self->granted && (at_limit || target - self->granted >= window / 2))
        s_publish_grant (self, target);
    else if (self->granted > self->received && self->received == self->received_at_grant
             && zclock_mono () - self->granted_at >= S_REGRANT_MS)
        s_publish_grant (self, self->granted);
    return self->received >= self->granted || self->received == self->received_at_grant;
}

//  ---------------------------------------------------------------------
//  Writing

static void
s_msg_free (void *item)
{
    zmq_msg_t *msg = (zmq_msg_t *) item;
    zmq_msg_close (msg);
    free (msg);
}

static void
s_held_destructor (void **item)
{
    if (*item) {
        s_msg_free (*item);
        *item = NULL;
    }
}

size_t
ps_stream_written (ps_stream_t *self)
{
    assert (self);
    return self->written;
}

static int
s_write_text (ps_stream_t *self, const char *text, size_t size)
{
    zchunk_t *chunk = zchunk_new (text, size);
    self->written += size;
    return ps_session_send (self->request->session, &chunk);
}

//  One held part to the client, framed; takes it.
static int
s_write_part (ps_stream_t *self, zmq_msg_t *part)
{
    ps_session_t *session = self->request->session;
    size_t size = zmq_msg_size (part);
    self->held_bytes -= size;
    session->held -= size;
    if (!self->body) {
        s_msg_free (part);
        return 0;
    }
    if (self->length >= 0 && self->written_body + size > (uint64_t) self->length) {
        //  More than announced: the worker is wrong, the client must not
        //  take the rest for the next answer
        zsys_warning ("ps_server: stream %" PRIu64 " sent more than its %" PRId64 " bytes",
                      self->id, self->length);
        self->aborted = true;
        s_msg_free (part);
        return 0;
    }
    self->written_body += size;
    if (self->chunked) {
        char line[32];
        int length = snprintf (line, sizeof line, "%zx\r\n", size);
        if (s_write_text (self, line, (size_t) length) == -1) {
            s_msg_free (part);
            return -1;
        }
    }
    self->written += size;
    int rc = ps_session_send_msg (session, part);
    free (part);
    if (rc == 0 && self->chunked)
        rc = s_write_text (self, "\r\n", 2);
    return rc;
}

ps_stream_flush_t
ps_stream_flush (ps_request_t *request, bool keep_alive)
{
    assert (request);
    ps_stream_t *self = request->stream;
    assert (self);
    ps_session_t *session = request->session;
    if (!self->started) {
        if (self->aborted)
            return PS_STREAM_CLOSE;
        int status = request->status;
        self->body = !(request->head || status < 200 || status == 204 || status == 304);
        bool known = self->length >= 0;
        self->chunked = !known && request->version >= 11;
        //  HTTP/1.0 without a size: the body ends with the connection
        self->close_delimited = !known && !self->chunked && self->body;
        if (self->close_delimited) {
            keep_alive = false;
            session->closing = true;
        }
        zchunk_t *head = ps_http_response_format_stream (request->version, status, self->headers,
                                                         self->length, self->chunked, !self->body,
                                                         keep_alive);
        if (!self->body)
            self->chunked = false;
        ps_pairs_destroy (&self->headers);
        self->written += zchunk_size (head);
        self->started = true;
        if (ps_session_send (session, &head) == -1)
            return PS_STREAM_BROKEN;
    }
    zmq_msg_t *part;
    while ((part = (zmq_msg_t *) zlistx_detach (self->held, NULL)))
        if (s_write_part (self, part) == -1)
            return PS_STREAM_BROKEN;
    if (self->aborted)
        return PS_STREAM_CLOSE;
    if (self->ended) {
        if (self->length >= 0 && self->body && self->written_body < (uint64_t) self->length) {
            zsys_warning ("ps_server: stream %" PRIu64 " ended short of its %" PRId64 " bytes",
                          self->id, self->length);
            return PS_STREAM_CLOSE;
        }
        if (self->chunked && s_write_text (self, "0\r\n\r\n", 5) == -1)
            return PS_STREAM_BROKEN;
        return self->close_delimited ? PS_STREAM_CLOSE : PS_STREAM_DONE;
    }
    if (s_regrant (self))
        s_watch (session);
    return PS_STREAM_WAIT;
}

//  ---------------------------------------------------------------------
//  Messages from the loopback

static ps_stream_t *
s_stream_new (ps_server_self_t *server, ps_request_t *request)
{
    ps_stream_t *self = (ps_stream_t *) zmalloc (sizeof (ps_stream_t));
    self->server = server;
    self->request = request;
    self->id = request->id;
    self->length = -1;
    self->held = zlistx_new ();
    assert (self->held);
    zlistx_set_destructor (self->held, s_held_destructor);
    self->granted = PS_STREAM_INITIAL_GRANT;
    self->granted_at = zclock_mono ();
    int rc = zhashx_insert (server->streams, &self->id, self);
    assert (rc == 0);
    (void) rc;
    return self;
}

void
ps_stream_destroy (ps_stream_t **self_p)
{
    assert (self_p);
    ps_stream_t *self = *self_p;
    if (!self)
        return;
    if (!self->ended && !self->aborted)
        ps_server_publish_cancel (self->server, self->id);
    zhashx_delete (self->server->streams, &self->id);
    self->request->session->held -= self->held_bytes;
    zlistx_destroy (&self->held);
    ps_pairs_destroy (&self->headers);
    free (self);
    *self_p = NULL;
}

static void
s_flush_if_first (ps_request_t *request)
{
    ps_session_t *session = request->session;
    if (ps_session_first (session) == request)
        ps_session_flush (&session);
}

static void
s_handle_start (ps_server_self_t *server, const ps_envelope_t *envelope, zmq_msg_t *parts,
                size_t count)
{
    ps_request_t *request = ps_request_table_lookup (server->requests, envelope->id);
    if (!request)
        return;  //  timed out, cancelled or its client left
    ps_request_table_remove (server->requests, request);
    if (request->retry && ps_session_first (request->session) != request) {
        //  A GET or HEAD whose turn has not come: its worker would wait,
        //  held, until the answers before it are written, so one client
        //  reading slowly could hold every worker. It is told to stop, and
        //  the request goes again when it is first on its connection.
        ps_server_publish_cancel (server, envelope->id);
        request->deferred = request->retry;
        request->retry = NULL;
        request->bounced = true;
        request->session->deferred++;
        return;
    }
    ps_pairs_t *headers = NULL;
    bool valid = count == 3 && envelope->status >= 100 && envelope->status <= 599
                 && (zmq_msg_size (&parts[2]) == 0 || zmq_msg_size (&parts[2]) == 8);
    if (valid && zmq_msg_size (&parts[1]) > 0) {
        headers = ps_pairs_decode (zmq_msg_data (&parts[1]), zmq_msg_size (&parts[1]), true);
        valid = headers != NULL;
    }
    int64_t length = -1;
    if (valid && zmq_msg_size (&parts[2]) == 8) {
        uint64_t value = ps_get_u64 ((const byte *) zmq_msg_data (&parts[2]));
        valid = value <= INT64_MAX;
        length = (int64_t) value;
    }
    if (!valid) {
        zsys_warning ("ps_server: malformed START for %" PRIu64 " (%zu frames, status %d)",
                      envelope->id, count, envelope->status);
        ps_server_publish_cancel (server, envelope->id);
        ps_reply_local (request, 502, NULL, NULL);
        s_flush_if_first (request);
        return;
    }
    ps_stream_t *self = s_stream_new (server, request);
    self->headers = headers;
    self->length = length;
    request->stream = self;
    request->answer = PS_ANSWER_STREAM;
    request->status = envelope->status;
    s_flush_if_first (request);
}

static void
s_handle_part (ps_stream_t *self, zmq_msg_t *parts, size_t count)
{
    if (count != 2 || zmq_msg_size (&parts[1]) == 0) {
        zsys_warning ("ps_server: malformed PART for %" PRIu64 " (%zu frames)", self->id, count);
        self->aborted = true;
        return;
    }
    size_t size = zmq_msg_size (&parts[1]);
    if (self->received >= self->granted) {
        //  A part may end beyond the grant, but not begin there
        zsys_warning ("ps_server: stream %" PRIu64 " sent beyond its grant", self->id);
        self->aborted = true;
        return;
    }
    self->received += size;
    zmq_msg_t *part = (zmq_msg_t *) malloc (sizeof (zmq_msg_t));
    assert (part);
    zmq_msg_init (part);
    zmq_msg_move (part, &parts[1]);
    zlistx_add_end (self->held, part);
    self->held_bytes += size;
    self->request->session->held += size;
}

void
ps_stream_handle (ps_server_self_t *server, const ps_envelope_t *envelope, zmq_msg_t *parts,
                  size_t count)
{
    assert (server);
    assert (envelope);
    if (envelope->type == PS_MSG_START) {
        s_handle_start (server, envelope, parts, count);
        return;
    }
    ps_stream_t *self = (ps_stream_t *) zhashx_lookup (server->streams, &envelope->id);
    if (!self || self->ended || self->aborted)
        return;  //  its client left, or the worker goes on after an error
    if (envelope->type == PS_MSG_PART)
        s_handle_part (self, parts, count);
    else if (envelope->type == PS_MSG_END)
        self->ended = true;
    else if (envelope->type == PS_MSG_ABORT)
        self->aborted = true;
    ps_request_t *request = self->request;
    if (self->aborted && !self->started) {
        //  No status has left yet: the client gets a 502 in its turn
        if (!self->ended && envelope->type != PS_MSG_ABORT)
            ps_server_publish_cancel (server, self->id);
        ps_stream_destroy (&request->stream);
        ps_reply_local (request, 502, "502 Bad Gateway: the answer was aborted\n", NULL);
    }
    s_flush_if_first (request);
}

bool
ps_stream_lost (ps_server_self_t *server, uint64_t id)
{
    assert (server);
    ps_stream_t *self = (ps_stream_t *) zhashx_lookup (server->streams, &id);
    if (!self)
        return false;
    if (!self->ended && !self->aborted) {
        ps_envelope_t envelope = {.type = PS_MSG_ABORT, .id = id};
        ps_stream_handle (server, &envelope, NULL, 1);
    }
    return true;
}

//  ---------------------------------------------------------------------
//  The byte budget

//  What the session holds or may soon hold: bytes not acknowledged, parts
//  held, and the initial grant of every request in the pipeline.
static uint64_t
s_session_queued (ps_session_t *session, bool exact)
{
    uint64_t queued = (exact ? s_unacked (session) : session->sent - session->acked)
                      + session->held;
    for (ps_request_t *request = (ps_request_t *) zlistx_first (session->requests); request;
         request = (ps_request_t *) zlistx_next (session->requests))
        if (request->pending)
            queued += PS_STREAM_INITIAL_GRANT;
    return queued;
}

static bool
s_over_budget (ps_session_t *session)
{
    size_t budget = session->server->config.connection_budget;
    //  Cheap first: acknowledgements only ever lower the figure
    if (s_session_queued (session, false) < budget)
        return false;
    return s_session_queued (session, true) >= budget;
}

bool
ps_stream_defer (ps_session_t *session, ps_request_t *request, ps_http_request_t **parsed_p)
{
    assert (session);
    assert (request);
    //  The first request of a connection always goes, whatever the budget
    if (session->deferred == 0
        && ((ps_request_t *) zlistx_first (session->requests) == request
            || !s_over_budget (session)))
        return false;
    request->deferred = *parsed_p;
    *parsed_p = NULL;
    session->deferred++;
    s_watch (session);
    return true;
}

bool
ps_stream_resume (ps_session_t *session)
{
    assert (session);
    bool answered = false;
    //  The held-back requests, in order (a copy: the budget's count walks
    //  the session's FIFO, which moves its cursor)
    zlistx_t *held = zlistx_new ();
    assert (held);
    for (ps_request_t *request = (ps_request_t *) zlistx_first (session->requests); request;
         request = (ps_request_t *) zlistx_next (session->requests))
        if (request->deferred)
            zlistx_add_end (held, request);
    for (ps_request_t *request = (ps_request_t *) zlistx_first (held); request;
         request = (ps_request_t *) zlistx_next (held)) {
        bool first = request == ps_session_first (session);
        //  A stream sent back waits for its turn (s_handle_start)
        if (!first && (request->bounced || s_over_budget (session)))
            break;
        ps_http_request_t *parsed = request->deferred;
        request->deferred = NULL;
        request->bounced = false;
        session->deferred--;
        ps_server_dispatch_http (session->server, request, &parsed);
        answered = answered || request->answer != PS_ANSWER_NONE;
    }
    zlistx_destroy (&held);
    return answered;
}

//  ---------------------------------------------------------------------
//  Looking again

int64_t
ps_stream_timers (ps_server_self_t *server, int64_t now)
{
    assert (server);
    if (zlistx_size (server->stream_watch) == 0)
        return INT64_MAX;
    if (now < server->stream_poll_at)
        return server->stream_poll_at;
    uint64_t before = 0, after = 0;
    zlistx_t *sessions = zlistx_dup (server->stream_watch);
    assert (sessions);
    for (ps_session_t *session = (ps_session_t *) zlistx_first (sessions); session;
         session = (ps_session_t *) zlistx_next (sessions)) {
        //  The copy is safe to walk: a session that a flush below ends
        //  is only ever the one in hand
        before += session->acked;
        ps_stream_session_gone (session);
        bool watch = false;
        ps_request_t *first = ps_session_first (session);
        if (first && first->stream && first->stream->started && s_regrant (first->stream))
            watch = true;
        if (session->deferred > 0) {
            bool answered = ps_stream_resume (session);
            ps_request_t *head = ps_session_first (session);
            if (answered && head && head->answer != PS_ANSWER_NONE) {
                ps_session_t *flushed = session;
                if (ps_session_flush (&flushed) == -1)
                    continue;
            }
            watch = watch || session->deferred > 0;
        }
        after += session->acked;
        if (watch && !session->stream_watch) {
            session->stream_watch = zlistx_add_end (server->stream_watch, session);
            assert (session->stream_watch);
        }
    }
    zlistx_destroy (&sessions);
    //  Sooner while clients take bytes, less often while none does
    server->stream_poll_ms = after > before ? S_POLL_MIN_MS
                                            : MIN (server->stream_poll_ms * 2, S_POLL_MAX_MS);
    server->stream_poll_at = now + server->stream_poll_ms;
    return zlistx_size (server->stream_watch) ? server->stream_poll_at : INT64_MAX;
}
