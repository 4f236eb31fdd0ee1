/*  ps_reply: the way back. Results arriving from the stages on the
    loopback PULL, matched by id to their pending requests; answers the
    server gives itself; and the bytes of every answer, HTTP or netstring.
    Not installed.
*/
#ifndef PS_REPLY_H_INCLUDED
#define PS_REPLY_H_INCLUDED

#include "ps_server_private.h"

//  Reads what arrived on the loopback (at most PS_SERVER_BATCH messages),
//  stores each result in its request and flushes the request's session
//  when it is next in line. True once a receive said EAGAIN (ps_loop_fn).
bool ps_reply_handle_loopback (ps_server_self_t *server);

//  The same for what the workers of this process handed to the loopback's
//  dispatch (server->results_seat). True once there was nothing left.
bool ps_reply_handle_seat (ps_server_self_t *server);

//  A local answer (health check, 408, 502, 503, 504): status, static text
//  (NULL: "<status> <reason>\n") and borrowed headers (NULL: text/plain).
void ps_reply_local (ps_request_t *request, int status, const char *text,
                     const ps_pairs_t *headers);

//  The bytes of an answered request's response. Caller owns the chunk.
zchunk_t *ps_reply_format (ps_request_t *request, ps_protocol_t protocol, bool keep_alive);

//  The access log line of a response of that many bytes.
void ps_reply_log (ps_request_t *request, size_t bytes);

#endif
