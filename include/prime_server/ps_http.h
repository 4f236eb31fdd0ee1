/*  ps_http: HTTP/1.x requests and responses, the protocol layer.

    Request and response parsing wrap llhttp (strict mode, compiled into the
    library, its symbols hidden), with the few rules where it is more
    lenient than docs/PROTOCOL.md added, so the rest of the library never
    sees parser callbacks. Bytes are fed exactly as they arrive; complete
    requests come out in order. Nothing here knows about sockets.

    A parsed request travels to workers in a structured, length-checked form
    (ps_http_request_encode / _decode, docs/PROTOCOL.md): workers never parse
    HTTP text. Responses are written by ps_http_response_format; the client
    side reads them with ps_http_response_parser.
*/
#ifndef PS_HTTP_H_INCLUDED
#define PS_HTTP_H_INCLUDED

#include "ps_export.h"
#include "ps_pairs.h"
#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  ---------------------------------------------------------------------
//  Limits

typedef struct {
    size_t max_target;        //  request target bytes; over it: 414 (default 8 KiB)
    size_t max_header_bytes;  //  header section bytes incl. request line; 431 (64 KiB)
    size_t max_headers;       //  number of header fields; 431 (100)
    size_t max_body;          //  decoded body bytes; 413 (10 MiB)
} ps_http_limits_t;

PS_EXPORT void ps_http_limits_defaults (ps_http_limits_t *limits);

//  ---------------------------------------------------------------------
//  A parsed request (also what a worker receives)

typedef struct _ps_http_request_t ps_http_request_t;

PS_EXPORT void ps_http_request_destroy (ps_http_request_t **self_p);

//  "GET", "POST", ... (borrowed)
PS_EXPORT const char *ps_http_request_method (const ps_http_request_t *self);
//  The raw request target as sent, e.g. "/is_prime?possible_prime=7"
PS_EXPORT const char *ps_http_request_target (const ps_http_request_t *self);
//  The percent-decoded path of the target, without the query
PS_EXPORT const char *ps_http_request_path (const ps_http_request_t *self);
//  The query as an ordered multimap: split on '&' and the first '=', then
//  decoded ('+' is a space); a key without '=' has the value "".
PS_EXPORT const ps_pairs_t *ps_http_request_query (const ps_http_request_t *self);
//  Headers in order, duplicates kept, case-insensitive lookup.
PS_EXPORT const ps_pairs_t *ps_http_request_headers (const ps_http_request_t *self);
//  Trailer fields of a chunked body (empty otherwise).
PS_EXPORT const ps_pairs_t *ps_http_request_trailers (const ps_http_request_t *self);
//  The decoded body (Content-Length or chunked); never NULL, may be empty.
PS_EXPORT const char *ps_http_request_body (const ps_http_request_t *self);
PS_EXPORT size_t ps_http_request_body_size (const ps_http_request_t *self);
//  HTTP version as major * 10 + minor: 10 or 11.
PS_EXPORT int ps_http_request_version (const ps_http_request_t *self);
//  RFC 9112 persistence: 1.1 unless "close", 1.0 only with "keep-alive".
PS_EXPORT bool ps_http_request_keep_alive (const ps_http_request_t *self);
//  The client sent "Expect: 100-continue".
PS_EXPORT bool ps_http_request_expect_continue (const ps_http_request_t *self);
//  The client's address as the server saw it (IPv4 or IPv6 text, no port;
//  with the server's trust_forwarded, what the reverse proxy in front
//  reported), or "" when unknown.
PS_EXPORT const char *ps_http_request_client (const ps_http_request_t *self);

//  Structured wire form (docs/PROTOCOL.md, kind 1): one frame of nine
//  netstrings. Caller owns.
PS_EXPORT zmsg_t *ps_http_request_encode (const ps_http_request_t *self);
//  Parse the wire form (borrowed msg, read from its first frame), or the
//  earlier frame-per-field form (8 or 9 frames). NULL on malformed input.
PS_EXPORT ps_http_request_t *ps_http_request_decode (zmsg_t *msg);

//  ---------------------------------------------------------------------
//  Incremental request parser, one per connection

typedef struct _ps_http_parser_t ps_http_parser_t;

//  limits may be NULL for the defaults (copied).
PS_EXPORT ps_http_parser_t *ps_http_parser_new (const ps_http_limits_t *limits);
PS_EXPORT void ps_http_parser_destroy (ps_http_parser_t **self_p);

//  Back to the state of a new parser with the same limits: queued and
//  partial requests are dropped and the status cleared, but the header
//  buffers are kept, so a connection (or a fuzz harness) can start a fresh
//  stream without allocating.
PS_EXPORT void ps_http_parser_reset (ps_http_parser_t *self);

//  Feed bytes as they arrive. Returns 0 when all were accepted, or the HTTP
//  error status (400, 413, 414, 431, 501, 505) once the stream is bad; the
//  parser then stays failed and ignores further input. Requests completed
//  before the error can still be taken with _next.
PS_EXPORT int ps_http_parser_feed (ps_http_parser_t *self, const char *data, size_t size);

//  Next complete request in order, or NULL. Caller owns.
PS_EXPORT ps_http_request_t *ps_http_parser_next (ps_http_parser_t *self);

//  Error status (0 while fine) and a short reason for it (static text).
PS_EXPORT int ps_http_parser_status (const ps_http_parser_t *self);
PS_EXPORT const char *ps_http_parser_reason (const ps_http_parser_t *self);

//  True once the header section of the current partial request asked for
//  "Expect: 100-continue" and its body is not complete yet. Cleared by
//  _continue_sent, so the server answers 100 Continue exactly once.
PS_EXPORT bool ps_http_parser_wants_continue (const ps_http_parser_t *self);
PS_EXPORT void ps_http_parser_continue_sent (ps_http_parser_t *self);

//  True while bytes of an incomplete request are buffered.
PS_EXPORT bool ps_http_parser_partial (const ps_http_parser_t *self);
//  True while the header section of the current request is incomplete
//  (for the slow-header timeout).
PS_EXPORT bool ps_http_parser_in_headers (const ps_http_parser_t *self);

//  ---------------------------------------------------------------------
//  Responses

//  Standard reason phrase ("Not Found"), or "Unknown".
PS_EXPORT const char *ps_http_status_reason (int status);

//  IMF-fixdate of now into buf (at least 30 bytes), e.g.
//  "Sun, 06 Nov 1994 08:49:37 GMT"; formatted at most once a second.
PS_EXPORT void ps_http_date (char *buf);

//  Serialise a response. version is the request's (10 or 11); head: the
//  request was HEAD (no body is written, Content-Length still is);
//  keep_alive: the server keeps the connection open afterwards. Writes the
//  status line, Date, Content-Length (replaced by a user content-length in
//  any case), Connection when closing or for a 1.0 keep-alive, then the user
//  headers (may be NULL). No body for HEAD, 1xx, 204, 304. Caller owns.
PS_EXPORT zchunk_t *ps_http_response_format (int version, int status, const ps_pairs_t *headers,
                                             const void *body, size_t body_size, bool head,
                                             bool keep_alive);

//  A canned error response with a short text/plain body naming the status
//  and detail (may be NULL). Caller owns.
PS_EXPORT zchunk_t *ps_http_response_error (int version, int status, const char *detail,
                                            bool keep_alive);

//  ---------------------------------------------------------------------
//  Client side: incremental response parser

typedef struct _ps_http_response_t ps_http_response_t;

PS_EXPORT void ps_http_response_destroy (ps_http_response_t **self_p);
PS_EXPORT int ps_http_response_status (const ps_http_response_t *self);
PS_EXPORT int ps_http_response_version (const ps_http_response_t *self);
PS_EXPORT const ps_pairs_t *ps_http_response_headers (const ps_http_response_t *self);
PS_EXPORT const char *ps_http_response_body (const ps_http_response_t *self);
PS_EXPORT size_t ps_http_response_body_size (const ps_http_response_t *self);
PS_EXPORT bool ps_http_response_keep_alive (const ps_http_response_t *self);

typedef struct _ps_http_response_parser_t ps_http_response_parser_t;

PS_EXPORT ps_http_response_parser_t *ps_http_response_parser_new (size_t max_body);
PS_EXPORT void ps_http_response_parser_destroy (ps_http_response_parser_t **self_p);

//  Say, in request order, that a response is due for a HEAD request (it
//  has no body whatever its headers say). Responses not announced this way
//  are taken as answers to other methods.
PS_EXPORT void ps_http_response_parser_expect_head (ps_http_response_parser_t *self);

//  Announce every request in the order it was sent, HEAD or not, so that a
//  HEAD among pipelined requests is matched to its own response. Final
//  responses take the announcements in order (1xx interim ones take none);
//  with none left a response is taken as not HEAD. _expect_head (self) is
//  _expect (self, true).
PS_EXPORT void ps_http_response_parser_expect (ps_http_response_parser_t *self, bool head);

//  Feed bytes; size 0 means the peer closed (ends a response delimited by
//  the close). Returns 0, or -1 once the stream is malformed.
PS_EXPORT int ps_http_response_parser_feed (ps_http_response_parser_t *self, const char *data,
                                            size_t size);

//  Next complete response, or NULL. Caller owns.
PS_EXPORT ps_http_response_t *ps_http_response_parser_next (ps_http_response_parser_t *self);

//  Why the stream was found malformed (static text), or NULL.
PS_EXPORT const char *ps_http_response_parser_error (const ps_http_response_parser_t *self);

//  True while bytes of an incomplete response are buffered.
PS_EXPORT bool ps_http_response_parser_partial (const ps_http_response_parser_t *self);

#ifdef __cplusplus
}
#endif
#endif
