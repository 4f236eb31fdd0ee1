/*  ps_session: one client connection of the server. Not installed.

    A session owns the connection's incremental parser (HTTP) or netstring
    decoder, and the FIFO of its requests in arrival order. Answers are
    stored in their request when they arrive, in any order, and leave
    strictly in request order (RFC 9112 9.3.2), several ready ones batched
    into one STREAM frame. A session also answers "100 Continue" when its
    turn comes, and runs one timer at a time: header (408), idle (silent
    close) or zombie (a close still to be sent).
*/
#ifndef PS_SESSION_H_INCLUDED
#define PS_SESSION_H_INCLUDED

#include "ps_server_private.h"

//  libzmq gives the peers of a bound STREAM socket 5-byte routing ids; we
//  accept up to 7 so an id packs, with its size, into one 64-bit key.
#define PS_SESSION_RID_MAX 7

typedef enum {
    PS_SESSION_TIMER_NONE = 0,
    PS_SESSION_TIMER_HEADER,
    PS_SESSION_TIMER_IDLE,
    PS_SESSION_TIMER_ZOMBIE
} ps_session_timer_t;

struct _ps_session_t {
    ps_server_self_t *server;
    uint64_t key;  //  the routing id and its size, packed
    uint8_t rid[PS_SESSION_RID_MAX];
    size_t rid_size;
    ps_http_parser_t *parser;         //  PS_PROTOCOL_HTTP
    ps_netstring_decoder_t *decoder;  //  PS_PROTOCOL_NETSTRING
    zlistx_t *requests;               //  FIFO of ps_request_t not yet written (owned)
    bool closing;                     //  take no more requests; close after the last answer
    bool served;                      //  a complete request was seen (header vs idle timer)
    bool zombie;                      //  send queue was full: state gone, close pending
    ps_session_timer_t timer;
    void *timer_handle;  //  in the server's list for that timer
    int64_t timer_start;
    char peer[48];  //  the client's address as libzmq reports it ("Peer-Address"), or ""
    //  Streamed answers and the byte budget (ps_stream.c)
    int fd;              //  the client's TCP socket inside libzmq (ZMQ_SRCFD), or -1
    uint64_t sent;       //  bytes handed to libzmq for this client
    uint64_t acked;      //  of those, acknowledged by its TCP when last asked
    size_t held;         //  stream parts held for their turn
    size_t deferred;     //  requests held back by the byte budget
    void *stream_watch;  //  in server->stream_watch, or NULL
};

//  Reads what arrived on the STREAM socket (at most PS_SERVER_BATCH
//  messages): connects and disconnects create and destroy sessions, bytes
//  are fed to theirs. True once a receive said EAGAIN (ps_loop_fn).
bool ps_session_handle_stream (ps_server_self_t *server);

//  Frees the session; its pending requests are cancelled. Nothing is sent
//  to the client. Nulls *self_p.
void ps_session_destroy (ps_session_t **self_p);

//  A new request record, last in the session's FIFO.
ps_request_t *ps_session_request_new (ps_session_t *self);

//  The request the next answer must belong to, or NULL.
ps_request_t *ps_session_first (ps_session_t *self);

//  Writes the answered requests at the head of the FIFO, in order, as one
//  frame; closes the connection after the last answer if it is closing.
//  Returns 0, or -1 if the session is gone (*self_p is then NULL).
int ps_session_flush (ps_session_t **self_p);

//  Sends bytes to the client; takes the chunk (not empty). Returns 0, or
//  -1 with errno set: the session is then to be ended (ps_session_flush
//  does it for the streams it writes).
int ps_session_send (ps_session_t *self, zchunk_t **chunk_p);

//  The same for a message, sent without a copy; takes its content (the
//  message is closed).
int ps_session_send_msg (ps_session_t *self, zmq_msg_t *msg);

//  Acts on the header, idle and zombie timers that are due at now.
void ps_session_timers_expire (ps_server_self_t *server, int64_t now);

//  The earliest deadline of those timers, or INT64_MAX.
int64_t ps_session_timers_deadline (ps_server_self_t *server);

//  Number of sessions that still have a client (zombies excluded).
size_t ps_session_live (ps_server_self_t *server);

#endif
