/*  ps_http_private: what the request object (ps_http_request.c) and the
    request parser (ps_http_parser.c) share. Not installed.

    The request struct is here rather than in ps_http_request.c so that the
    parser can chain finished requests through `next` without a list node
    per request, and hand over the body buffer it filled without copying it.
*/
#ifndef PS_HTTP_PRIVATE_H_INCLUDED
#define PS_HTTP_PRIVATE_H_INCLUDED

#include "prime_server/ps_http.h"

struct _ps_http_request_t {
    char *strings;       //  one allocation: method\0target\0path\0
    const char *method;  //  into strings
    const char *target;  //  into strings
    const char *path;    //  into strings
    size_t target_size;
    ps_pairs_t *query;     //  case-sensitive names
    ps_pairs_t *headers;   //  case-insensitive names
    ps_pairs_t *trailers;  //  case-insensitive names
    char *body;            //  NULL when empty; else body_size bytes + a NUL
    size_t body_size;
    int version;  //  10 or 11
    bool keep_alive;
    bool expect_continue;
    ps_http_request_t *next;  //  the parser's queue of finished requests
};

//  Character classes of RFC 9110/9112, indexed by byte.
#define PS_HTTP_TCHAR  0x01  //  token character (field names, methods, codings)
#define PS_HTTP_FVCHAR 0x02  //  allowed in a field value: HTAB, SP, VCHAR, obs-text
#define PS_HTTP_TARGET 0x04  //  allowed in a request target: VCHAR except '#'
extern const unsigned char ps_http_char_class[256];

//  Build a request from the parts of a parsed header section. Decodes the
//  target into path and query; derives keep-alive and Expect from the
//  headers. Takes ownership of *headers_p (nulled in every case). Returns
//  NULL with a static reason when the target is bad (the status is 400).
ps_http_request_t *ps_http_request_new_parsed (const char *method, const char *target,
                                               size_t target_size, int version,
                                               ps_pairs_t **headers_p, const char **reason);

//  Give the request its body: body (malloc'd, body_size + 1 bytes, NUL at
//  body_size) is taken over without a copy; NULL for an empty body.
void ps_http_request_set_body (ps_http_request_t *self, char *body, size_t body_size);

//  Replace the (empty) trailers; takes ownership of *trailers_p.
void ps_http_request_set_trailers (ps_http_request_t *self, ps_pairs_t **trailers_p);

//  True when the comma-separated list (RFC 9110 #rule, OWS around elements,
//  empty elements allowed) has an element equal to token, ignoring ASCII
//  case.
bool ps_http_list_has (const char *list, const char *token);

//  The head of a streamed response (ps_stream.c): the status line and
//  headers as ps_http_response_format writes them, with the body framed by
//  Content-Length: length when length >= 0, else by Transfer-Encoding:
//  chunked when chunked, else by the end of the connection. A
//  content-length among the headers is dropped: the server frames the
//  body. No body bytes. Caller owns.
zchunk_t *ps_http_response_format_stream (int version, int status, const ps_pairs_t *headers,
                                          int64_t length, bool chunked, bool head, bool keep_alive);

//  The structured wire form (docs/PROTOCOL.md) has this many frames.
#define PS_HTTP_REQUEST_FRAMES 8

#endif
