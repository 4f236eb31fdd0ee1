/*  ps_http_private: what the request object (ps_http_request.c) and the
    request parser (ps_http_parser.c) share. Not installed.

    The request struct is here rather than in ps_http_request.c so that the
    parser can chain finished requests through `next` without a list node
    per request and fill its body and trailers in place.
*/
#ifndef PS_HTTP_PRIVATE_H_INCLUDED
#define PS_HTTP_PRIVATE_H_INCLUDED

#include "prime_server/ps_http.h"
#include "ps_pairs_private.h"
#include "ps_span.h"

//  The longest client address on the wire (an IPv6 address is at most 45).
#define PS_HTTP_CLIENT_MAX 63

struct _ps_http_request_t {
    const char *method;  //  method, target and path follow the struct
    const char *target;  //  in the same allocation
    const char *path;
    size_t target_size;
    ps_pairs_t query;     //  case-sensitive names; embedded, their lent
    ps_pairs_t headers;   //  room in the same allocation too
    ps_pairs_t trailers;  //  case-insensitive names
    char *body;           //  NULL when empty; else body_size bytes + a NUL
    size_t body_size;
    int version;  //  10 or 11
    bool keep_alive;
    bool expect_continue;
    ps_http_request_t *next;              //  the parser's queue of finished requests
    char client[PS_HTTP_CLIENT_MAX + 1];  //  the client's address (wire field 9), or "":
                                          //  unknown; inline, so no allocation per request
};

//  A header or trailer field as the parser collects it: offsets into its
//  buffer, which may move while the section grows.
typedef struct {
    size_t name_offset;
    size_t name_size;
    size_t value_offset;
    size_t value_size;
} ps_http_field_t;

//  Character classes of RFC 9110/9112, indexed by byte.
#define PS_HTTP_TCHAR  0x01  //  token character (field names, methods, codings)
#define PS_HTTP_FVCHAR 0x02  //  allowed in a field value: HTAB, SP, VCHAR, obs-text
#define PS_HTTP_TARGET 0x04  //  allowed in a request target: VCHAR except '#'
extern const unsigned char ps_http_char_class[256];

//  Build a request from the parts of a parsed header section: the fields
//  are at base. One allocation holds the
//  request, its strings and the room its headers and query need. Drops a
//  fragment from the target and decodes it into path and query; checks
//  Host and the transfer codings; derives keep-alive and Expect. Returns
//  NULL with a status and a static reason for a request it refuses.
ps_http_request_t *ps_http_request_new_parsed (const char *method, const char *target,
                                               size_t target_size, int version, const char *base,
                                               const ps_http_field_t *fields, size_t field_count,
                                               int *status, const char **reason);

//  Append fields at base to pairs, each value without its trailing OWS
//  (llhttp skips the leading OWS).
void ps_http_fields_append (ps_pairs_t *pairs, const char *base, const ps_http_field_t *fields,
                            size_t count);

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

//  The structured wire form (docs/PROTOCOL.md) has this many fields
//  besides the client's address, which is the last. The earlier form sent
//  each field as a frame, the address only when known.
#define PS_HTTP_REQUEST_FIELDS 8

//  The wire form written at out if it fits in room bytes, for a sender
//  that has its own buffer; returns its size either way (measured once).
size_t ps_http_request_encode_into (const ps_http_request_t *self, char *out, size_t room);

//  As ps_http_request_decode, from the bytes of the count frames.
ps_http_request_t *ps_http_request_decode_spans (const ps_span_t *frames, size_t count);

//  The client's address (copied; NULL: unknown), sent as the last field.
void ps_http_request_set_client (ps_http_request_t *self, const char *address);

#endif
