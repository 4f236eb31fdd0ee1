/*  ps_stream: answers that come in parts, and what one connection may make
    the server hold. Private to the server (not installed).

    A worker may answer with a START (status, headers, the body's size when
    known), PARTs and an END, or an ABORT (docs/PROTOCOL.md, "Streamed
    answers"). The server writes the parts as they come once the answer's
    turn has come on its connection, framed by Content-Length when the size
    is known, else chunked (HTTP/1.1) or by closing the connection
    (HTTP/1.0); HEAD gets the head alone.

    Flow control: a worker sends no more body bytes than the server granted
    (PS_STREAM_INITIAL_GRANT before any GRANT). The server grants more only
    while what it has handed to libzmq for that client and the client has
    not acknowledged is under the stream window. libzmq says nothing of a
    STREAM peer's queue, so the server counts its own sends and asks the
    kernel how many of those bytes the client's TCP acknowledged (TCP_INFO
    on the connection's socket, learned with ZMQ_SRCFD when it connected).
    Where that cannot be read (not TCP, not Linux), bytes count as taken
    once libzmq has them, and libzmq's HWM is the only bound.

    Only a connection's first unanswered request streams: a GET or HEAD
    whose START comes before its turn is cancelled and sent again once it
    is first, so that the workers of a client that reads slowly are not
    all held waiting behind its first answer (other methods are not sent
    twice: their worker waits, holding at most the initial grant).

    The byte budget: while a connection's answers already queued (not
    acknowledged, held in parts, or reserved as the initial grant of each
    request in the pipeline) reach config.connection_budget, its next
    pipelined requests are held back instead of being dispatched.
*/
#ifndef PS_STREAM_H_INCLUDED
#define PS_STREAM_H_INCLUDED

#include "ps_server_private.h"

//  What ps_stream_flush did.
typedef enum {
    PS_STREAM_BROKEN = -1,  //  a send to the client failed (errno set)
    PS_STREAM_WAIT = 0,     //  written what there was; more is to come
    PS_STREAM_DONE = 1,     //  the answer is complete: the next one may go
    PS_STREAM_CLOSE = 2     //  the connection must end now (aborted, or close-delimited)
} ps_stream_flush_t;

//  A START, PART, END or ABORT from the loopback. parts holds the first
//  min (count, 3) frames (the envelope first); a PART's body frame is
//  taken (moved) when kept.
void ps_stream_handle (ps_server_self_t *server, const ps_envelope_t *envelope, zmq_msg_t *parts,
                       size_t count);

//  A proxy reported the worker of id lost after the request left the
//  pending table: if it was streaming, the stream is aborted. True if id
//  was a stream.
bool ps_stream_lost (ps_server_self_t *server, uint64_t id);

//  Writes what the stream of request (the first of its session) has: its
//  head the first time, then the parts held. keep_alive: the session
//  stays open after this answer (as far as the session knows).
ps_stream_flush_t ps_stream_flush (ps_request_t *request, bool keep_alive);

//  Bytes written to the client for this stream so far (for the access log).
size_t ps_stream_written (ps_stream_t *self);

//  Frees the stream; a worker still sending is told to stop (CANCEL).
//  Accepts NULL. Nulls *self_p.
void ps_stream_destroy (ps_stream_t **self_p);

//  The byte budget, before a parsed request of session is dispatched:
//  true if it is held back (*parsed_p is then kept in request->deferred
//  and nulled), false to dispatch it now.
bool ps_stream_defer (ps_session_t *session, ps_request_t *request, ps_http_request_t **parsed_p);

//  Dispatches the session's held-back requests, in order, while the
//  budget allows. True if one of them was answered at once (503).
bool ps_stream_resume (ps_session_t *session);

//  The session goes: it leaves the list of sessions to look at.
void ps_stream_session_gone (ps_session_t *session);

//  Looks at the sessions whose streams wait for the client (grants) or
//  whose requests wait for the budget; returns the next time to look, or
//  INT64_MAX.
int64_t ps_stream_timers (ps_server_self_t *server, int64_t now);

#endif
