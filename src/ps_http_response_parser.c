/*  ps_http_response_parser: reading HTTP/1.x responses (the client's side).

    Wraps llhttp (strict, see Makefile.am) in HTTP_RESPONSE mode. Bytes are fed as they come
    off the socket, split anywhere; complete responses queue up in order. The
    parser cannot know from the bytes alone that a response answers a HEAD
    (its Content-Length then describes a body that is not sent), so the
    caller announces its requests in order and on_headers_complete tells
    llhttp to skip the body of those. Interim 1xx responses are parsed
    and dropped: they are not answers and take no announcement. A response
    without Content-Length or chunking ends when the peer closes, which the
    caller reports by feeding 0 bytes.
*/
#include "prime_server/prime_server.h"

#include <llhttp.h>
#include <string.h>

struct _ps_http_response_t {
    int status;
    int version;
    bool keep_alive;
    ps_pairs_t *headers;
    char *body;  //  NUL-terminated, never NULL
    size_t body_size;
};

//  What a request announced with ps_http_response_parser_expect was: the
//  queue of them holds these addresses (zlistx takes no NULL item)
static char s_was_head, s_was_other;

struct _ps_http_response_parser_t {
    llhttp_t parser;
    size_t max_body;
    ps_http_response_t *current;  //  being parsed
    bool head;                    //  current answers a HEAD
    //  The header field being read: name then value in one buffer
    char *field;
    size_t field_size;
    size_t field_cap;
    size_t name_size;
    bool in_value;
    size_t body_cap;
    zlistx_t *heads;      //  announced requests, oldest first: &s_was_head or &s_was_other
    zlistx_t *responses;  //  complete responses, oldest first
    bool closed;          //  the peer closed (fed 0 bytes)
    const char *error;
};

static ps_http_response_t *
s_response_new (void)
{
    ps_http_response_t *self = (ps_http_response_t *) zmalloc (sizeof *self);
    assert (self);
    self->headers = ps_pairs_new (true);
    assert (self->headers);
    return self;
}

void
ps_http_response_destroy (ps_http_response_t **self_p)
{
    assert (self_p);
    ps_http_response_t *self = *self_p;
    if (!self)
        return;
    ps_pairs_destroy (&self->headers);
    free (self->body);
    free (self);
    *self_p = NULL;
}

int
ps_http_response_status (const ps_http_response_t *self)
{
    assert (self);
    return self->status;
}

int
ps_http_response_version (const ps_http_response_t *self)
{
    assert (self);
    return self->version;
}

const ps_pairs_t *
ps_http_response_headers (const ps_http_response_t *self)
{
    assert (self);
    return self->headers;
}

const char *
ps_http_response_body (const ps_http_response_t *self)
{
    assert (self);
    return self->body ? self->body : "";
}

size_t
ps_http_response_body_size (const ps_http_response_t *self)
{
    assert (self);
    return self->body_size;
}

bool
ps_http_response_keep_alive (const ps_http_response_t *self)
{
    assert (self);
    return self->keep_alive;
}

//  ---------------------------------------------------------------------
//  Callbacks

static int
s_fail (ps_http_response_parser_t *self, const char *reason)
{
    if (!self->error)
        self->error = reason;
    return -1;
}

static int
s_on_message_begin (llhttp_t *parser)
{
    ps_http_response_parser_t *self = (ps_http_response_parser_t *) parser->data;
    assert (!self->current);
    self->current = s_response_new ();
    self->field_size = 0;
    self->name_size = 0;
    self->in_value = false;
    self->body_cap = 0;
    return 0;
}

static void
s_field_append (ps_http_response_parser_t *self, const char *at, size_t length)
{
    if (self->field_size + length > self->field_cap) {
        size_t cap = self->field_cap ? self->field_cap : 256;
        while (cap < self->field_size + length)
            cap *= 2;
        self->field = (char *) realloc (self->field, cap);
        assert (self->field);
        self->field_cap = cap;
    }
    memcpy (self->field + self->field_size, at, length);
    self->field_size += length;
}

static void
s_field_flush (ps_http_response_parser_t *self)
{
    if (!self->in_value)
        return;
    ps_pairs_append (self->current->headers, self->field, self->name_size,
                     self->field + self->name_size, self->field_size - self->name_size);
    self->field_size = 0;
    self->name_size = 0;
    self->in_value = false;
}

static int
s_on_header_field (llhttp_t *parser, const char *at, size_t length)
{
    ps_http_response_parser_t *self = (ps_http_response_parser_t *) parser->data;
    s_field_flush (self);
    s_field_append (self, at, length);
    return 0;
}

static int
s_on_header_value (llhttp_t *parser, const char *at, size_t length)
{
    ps_http_response_parser_t *self = (ps_http_response_parser_t *) parser->data;
    if (!self->in_value) {
        self->name_size = self->field_size;
        self->in_value = true;
    }
    //  ps_pairs values are C strings
    if (memchr (at, 0, length))
        return s_fail (self, "NUL byte in a response header");
    s_field_append (self, at, length);
    return 0;
}

static int
s_on_headers_complete (llhttp_t *parser)
{
    ps_http_response_parser_t *self = (ps_http_response_parser_t *) parser->data;
    s_field_flush (self);
    ps_http_response_t *response = self->current;
    response->status = (int) parser->status_code;
    response->version = (int) (parser->http_major * 10 + parser->http_minor);
    if (response->status < 200) {
        //  Interim: it answers nothing, so it takes no announcement
        self->head = false;
        return 1;
    }
    self->head = zlistx_detach (self->heads, NULL) == &s_was_head;
    //  RFC 9112 6.3: these never have a body, whatever the headers say
    if (self->head || response->status == 204 || response->status == 304)
        return 1;
    if (parser->flags & F_CONTENT_LENGTH) {
        if (parser->content_length > (uint64_t) self->max_body)
            return s_fail (self, "response body over the limit");
        //  Known size: one allocation
        self->body_cap = (size_t) parser->content_length + 1;
        response->body = (char *) malloc (self->body_cap);
        assert (response->body);
    }
    return 0;
}

static int
s_on_body (llhttp_t *parser, const char *at, size_t length)
{
    ps_http_response_parser_t *self = (ps_http_response_parser_t *) parser->data;
    ps_http_response_t *response = self->current;
    if (length > self->max_body - response->body_size)
        return s_fail (self, "response body over the limit");
    size_t need = response->body_size + length + 1;
    if (need > self->body_cap) {
        size_t cap = self->body_cap ? self->body_cap : 4096;
        while (cap < need)
            cap *= 2;
        response->body = (char *) realloc (response->body, cap);
        assert (response->body);
        self->body_cap = cap;
    }
    memcpy (response->body + response->body_size, at, length);
    response->body_size += length;
    return 0;
}

static int
s_on_message_complete (llhttp_t *parser)
{
    ps_http_response_parser_t *self = (ps_http_response_parser_t *) parser->data;
    //  Trailer fields of a chunked body join the headers
    s_field_flush (self);
    ps_http_response_t *response = self->current;
    self->current = NULL;
    if (response->status < 200) {
        ps_http_response_destroy (&response);
        return 0;
    }
    if (response->body)
        response->body[response->body_size] = 0;
    //  Decided here, not in on_headers_complete: only now does llhttp
    //  know that the body of a HEAD answer was skipped (so no EOF is needed)
    response->keep_alive = llhttp_should_keep_alive (parser) != 0;
    zlistx_add_end (self->responses, response);
    return 0;
}

static const llhttp_settings_t s_settings = {
    .on_message_begin = s_on_message_begin,
    .on_header_field = s_on_header_field,
    .on_header_value = s_on_header_value,
    .on_headers_complete = s_on_headers_complete,
    .on_body = s_on_body,
    .on_message_complete = s_on_message_complete,
};

//  ---------------------------------------------------------------------
//  Parser

ps_http_response_parser_t *
ps_http_response_parser_new (size_t max_body)
{
    ps_http_response_parser_t *self = (ps_http_response_parser_t *) zmalloc (sizeof *self);
    assert (self);
    self->max_body = max_body;
    llhttp_init (&self->parser, HTTP_RESPONSE, &s_settings);
    self->parser.data = self;
    self->heads = zlistx_new ();
    self->responses = zlistx_new ();
    assert (self->heads && self->responses);
    return self;
}

void
ps_http_response_parser_destroy (ps_http_response_parser_t **self_p)
{
    assert (self_p);
    ps_http_response_parser_t *self = *self_p;
    if (!self)
        return;
    ps_http_response_destroy (&self->current);
    ps_http_response_t *response;
    while ((response = (ps_http_response_t *) zlistx_detach (self->responses, NULL)))
        ps_http_response_destroy (&response);
    zlistx_destroy (&self->responses);
    zlistx_destroy (&self->heads);
    free (self->field);
    free (self);
    *self_p = NULL;
}

void
ps_http_response_parser_expect (ps_http_response_parser_t *self, bool head)
{
    assert (self);
    zlistx_add_end (self->heads, head ? &s_was_head : &s_was_other);
}

void
ps_http_response_parser_expect_head (ps_http_response_parser_t *self)
{
    ps_http_response_parser_expect (self, true);
}

int
ps_http_response_parser_feed (ps_http_response_parser_t *self, const char *data, size_t size)
{
    assert (self);
    assert (data || size == 0);
    if (self->error)
        return -1;
    if (self->closed) {
        self->error = "bytes after the connection closed";
        return -1;
    }
    if (size == 0)
        self->closed = true;
    llhttp_errno_t code = size ? llhttp_execute (&self->parser, data, size)
                               : llhttp_finish (&self->parser);
    if (code == HPE_PAUSED_UPGRADE)
        //  We never ask for an upgrade; the rest is no longer HTTP
        s_fail (self, "unexpected protocol upgrade");
    else if (code == HPE_CLOSED_CONNECTION)
        s_fail (self, "data after a response that closes the connection");
    else if (code == HPE_INVALID_EOF_STATE)
        s_fail (self, "stream ended at an unexpected time");
    else if (code != HPE_OK)
        //  Our own reason (from a callback) is the more precise one
        s_fail (self, llhttp_get_error_reason (&self->parser));
    if (self->error) {
        ps_http_response_destroy (&self->current);
        return -1;
    }
    return 0;
}

ps_http_response_t *
ps_http_response_parser_next (ps_http_response_parser_t *self)
{
    assert (self);
    return (ps_http_response_t *) zlistx_detach (self->responses, NULL);
}

const char *
ps_http_response_parser_error (const ps_http_response_parser_t *self)
{
    assert (self);
    return self->error;
}

bool
ps_http_response_parser_partial (const ps_http_response_parser_t *self)
{
    assert (self);
    return self->current != NULL;
}
