/*  ps_http_parser: the per-connection incremental HTTP/1.x request parser.

    llhttp (strict mode, no lenient flag, see Makefile.am) parses and frames
    every request; this file drives it, collects what its callbacks hand
    over into requests (whose fields ps_http_request.c checks) and adds the
    few rules where llhttp 8.1 and docs/PROTOCOL.md ("HTTP from clients")
    differ: the line rules of ps_http_scan.h, with the method read there
    (llhttp is fed a stand-in); limits; empty field names and chunk-extension
    values; HTAB as OWS after a Content-Length or Transfer-Encoding value,
    where llhttp takes only SP and no lenient flag relaxes just that (lenient
    headers also lets CR into values): llhttp is handed SP for such an HTAB.

    Whatever the split of the stream, a fault is found at the same byte:
    llhttp's are, ours are decided in its completion callbacks (a span
    callback fires wherever a feed ends) or by the scan, fed no further
    than the section's limit; llhttp pauses at each message end and at the
    last chunk, so that a new section is scanned afresh.
*/
#include "ps_http_private.h"
#include "ps_http_scan.h"
#include <llhttp.h>
#include <string.h>
#include <strings.h>

//  Chunk extensions per chunk-size line over this are refused
#define S_CHUNK_EXT_MAX 4096

typedef enum {
    S_START,   //  empty lines and the method (read here, not by llhttp)
    S_HEAD,    //  the rest of the request line and the header section
    S_BODY,    //  Content-Length body, or chunks up to the last
    S_TRAILER  //  the trailer section after the last chunk
} s_phase_t;

struct _ps_http_parser_t {
    llhttp_t hp;
    ps_http_limits_t limits;
    int status;               //  0, or the HTTP error status once failed
    const char *reason;       //  static text for the status
    bool closed;              //  a request without keep-alive ended; input ignored
    ps_http_request_t *head;  //  finished requests, oldest first, chained
    ps_http_request_t *tail;  //  through request->next
    s_phase_t phase;          //  of the current request
    size_t section_bytes;     //  of the header (or trailer) section so far
    ps_http_scan_t scan;      //  its line rules
    char *buffer;             //  method NUL target, then field names and values
    size_t buffer_size;
    size_t buffer_max;
    size_t target_size;  //  at buffer[scan.method_size + 1]
    ps_http_field_t *fields;
    size_t field_count;
    size_t field_max;
    bool name_done;              //  the last field's name is complete
    bool framing_value;          //  the last field is Content-Length or Transfer-Encoding
    size_t ext_size;             //  chunk-extension bytes of this chunk-size line
    size_t ext_mark;             //  ext_size where the current name or value ended
    ps_http_request_t *request;  //  built when the header section is done
    size_t body_max;             //  bytes allocated for its body
    uint64_t body_declared;      //  Content-Length, or the chunk sizes so far
    bool wants_continue;
};

//  Methods llhttp knows whose semantics we do not serve: a tunnel, the
//  HTTP/2 preface, RTSP. Any other token is the worker's business.
static const char *s_not_served[] = {
    "CONNECT",  "PRI",           "DESCRIBE",      "ANNOUNCE", "SETUP",  "PLAY", "PAUSE",
    "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER", "REDIRECT", "RECORD", "FLUSH"};

void
ps_http_limits_defaults (ps_http_limits_t *limits)
{
    assert (limits);
    limits->max_target = 8 * 1024;
    limits->max_header_bytes = 64 * 1024;
    limits->max_headers = 100;
    limits->max_body = 10 * 1024 * 1024;
}

static int
s_fail (ps_http_parser_t *self, int status, const char *reason)
{
    if (self->status == 0) {
        self->status = status;
        self->reason = reason;
        self->wants_continue = false;
        ps_http_request_destroy (&self->request);
    }
    return -1;
}

//  Append to buffer (or body), growing *max geometrically from first and
//  keeping a byte spare after the data (for the body's NUL)
static void
s_add (char **buffer, size_t *size, size_t *max, size_t first, const char *data, size_t bytes)
{
    if (*size + bytes + 1 > *max) {
        size_t room = *max ? *max : first;
        while (room < *size + bytes + 1)
            room *= 2;
        *buffer = (char *) realloc (*buffer, room);
        assert (*buffer);
        *max = room;
    }
    memcpy (*buffer + *size, data, bytes);
    *size += bytes;
}

//  A new header or trailer section: no fields yet
static void
s_section_reset (ps_http_parser_t *self, s_phase_t phase)
{
    self->phase = phase;
    self->section_bytes = 0;
    ps_http_scan_reset (&self->scan);
    self->field_count = 0;
    self->name_done = true;
    self->framing_value = false;
}

//  Forget the request in progress, keeping the allocations for the next.
static void
s_request_reset (ps_http_parser_t *self)
{
    s_section_reset (self, S_START);
    self->buffer_size = self->target_size = self->body_max = 0;
    self->wants_continue = false;
    self->body_declared = 0;
    ps_http_request_destroy (&self->request);
    llhttp_reset (&self->hp);
}

//  ---------------------------------------------------------------------
//  Callbacks from llhttp_execute. Span callbacks (at, size) only collect:
//  they fire wherever a feed ends, so a fault found there would depend on
//  the split. Faults are decided in the completion callbacks.

static int
s_on_url (llhttp_t *hp, const char *at, size_t size)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    s_add (&self->buffer, &self->buffer_size, &self->buffer_max, 1024, at, size);
    self->target_size += size;
    return 0;
}

static int
s_on_url_complete (llhttp_t *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    return self->target_size > self->limits.max_target
               ? s_fail (self, 414, "request target too long")
               : 0;
}

static int
s_on_version_complete (llhttp_t *hp)
{
    if (hp->http_major != 1 || hp->http_minor > 1)
        return s_fail ((ps_http_parser_t *) hp->data, 505, "HTTP version not supported");
    return 0;
}

static int
s_on_header_field (llhttp_t *hp, const char *at, size_t size)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    if (self->name_done) {
        if (self->field_count == self->field_max) {
            self->field_max = self->field_max ? self->field_max * 2 : 32;
            self->fields = (ps_http_field_t *) realloc (self->fields,
                                                        self->field_max * sizeof (ps_http_field_t));
            assert (self->fields);
        }
        ps_http_field_t field = {self->buffer_size, 0, self->buffer_size, 0};
        self->fields[self->field_count++] = field;
        self->name_done = false;
    }
    s_add (&self->buffer, &self->buffer_size, &self->buffer_max, 1024, at, size);
    self->fields[self->field_count - 1].name_size += size;
    return 0;
}

static int
s_on_header_field_complete (llhttp_t *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    ps_http_field_t *field = &self->fields[self->field_count - 1];
    if (self->name_done || field->name_size == 0)
        return s_fail (self, 400, "empty field name");
    self->name_done = true;
    if (self->field_count > self->limits.max_headers)
        return s_fail (self, 431, "too many header fields");
    const char *name = self->buffer + field->name_offset;
    self->framing_value = (field->name_size == 14 && strncasecmp (name, "content-length", 14) == 0)
                          || (field->name_size == 17
                              && strncasecmp (name, "transfer-encoding", 17) == 0);
    return 0;
}

static int
s_on_header_value (llhttp_t *hp, const char *at, size_t size)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    ps_http_field_t *field = &self->fields[self->field_count - 1];
    if (field->value_size == 0)
        field->value_offset = self->buffer_size;
    s_add (&self->buffer, &self->buffer_size, &self->buffer_max, 1024, at, size);
    field->value_size += size;
    return 0;
}

static int
s_on_headers_complete (llhttp_t *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    //  Versions were checked as they came: this is a request line without
    //  one (HTTP/0.9's simple request), which llhttp takes
    if (hp->http_major != 1 || hp->http_minor > 1)
        return s_fail (self, 400, "no HTTP version");
    //  Content-Length with Transfer-Encoding is llhttp's 400 after this
    //  callback: before our own look at the codings, whatever they are
    if ((hp->flags & F_CONTENT_LENGTH) && (hp->flags & F_TRANSFER_ENCODING))
        return s_fail (self, 400, "Content-Length with Transfer-Encoding");
    int status;
    const char *reason;
    self->request = ps_http_request_new_parsed (
        self->buffer, self->buffer + self->scan.method_size + 1, self->target_size,
        10 + hp->http_minor, self->buffer, self->fields, self->field_count, &status, &reason);
    if (!self->request)
        return s_fail (self, status, reason);
    if (hp->flags & F_CONTENT_LENGTH) {
        self->body_declared = hp->content_length;
        if (self->body_declared > self->limits.max_body)
            return s_fail (self, 413, "body too large");
    }
    self->wants_continue = self->request->expect_continue && hp->http_minor == 1
                           && ((hp->flags & F_CHUNKED) || self->body_declared > 0);
    self->phase = S_BODY;
    self->buffer_size = 0;
    self->field_count = 0;
    return 0;
}

static int
s_on_body (llhttp_t *hp, const char *at, size_t size)
{
    //  Within max_body: the declared sizes were checked before. A declared
    //  length sizes the body once, if modest; otherwise it grows
    //  geometrically, so a client cannot make us reserve memory it never
    //  sends.
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    size_t first = !(hp->flags & F_CHUNKED) && self->body_declared < 65536
                       ? (size_t) self->body_declared + 1
                       : 4096;
    s_add (&self->request->body, &self->request->body_size, &self->body_max, first, at, size);
    return 0;
}

static int
s_on_chunk_extension (llhttp_t *hp, const char *at, size_t size)
{
    (void) at;
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    self->ext_size += size;
    //  A bound on what llhttp would skip, not a fault found mid-span: any
    //  split reaches it before the line ends, where other faults are found
    if (self->ext_size > S_CHUNK_EXT_MAX)
        return s_fail (self, 400, "chunk extensions too long");
    return 0;
}

static int
s_on_chunk_extension_name_complete (llhttp_t *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    self->ext_mark = self->ext_size;  //  the value, if any, starts here
    return 0;
}

static int
s_on_chunk_extension_value_complete (llhttp_t *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    //  name "=" value: the value is a token or a quoted-string, never empty
    if (self->ext_size == self->ext_mark)
        return s_fail (self, 400, "empty chunk-extension value");
    self->ext_mark = self->ext_size;
    return 0;
}

static int
s_on_chunk_header (llhttp_t *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    self->ext_size = self->ext_mark = 0;
    if (hp->content_length > self->limits.max_body - self->body_declared)
        return s_fail (self, 413, "body too large");
    self->body_declared += hp->content_length;
    if (hp->content_length > 0)
        return 0;
    //  The last chunk: pause, so that the trailer section is fed afresh
    s_section_reset (self, S_TRAILER);
    return HPE_PAUSED;
}

static int
s_on_message_complete (llhttp_t *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    ps_http_request_t *request = self->request;
    self->request = NULL;
    ps_http_fields_append (&request->trailers, self->buffer, self->fields, self->field_count);
    if (request->body)
        request->body[request->body_size] = 0;  //  s_add keeps a byte spare
    if (self->tail)
        self->tail->next = request;
    else
        self->head = request;
    self->tail = request;
    self->closed = !request->keep_alive;
    //  Paused: the next request starts with the method, read here
    self->phase = S_START;
    return HPE_PAUSED;
}

static const llhttp_settings_t s_settings = {
    .on_url = s_on_url,
    .on_header_field = s_on_header_field,
    .on_header_value = s_on_header_value,
    .on_chunk_extension_name = s_on_chunk_extension,
    .on_chunk_extension_value = s_on_chunk_extension,
    .on_headers_complete = s_on_headers_complete,
    .on_body = s_on_body,
    .on_message_complete = s_on_message_complete,
    .on_url_complete = s_on_url_complete,
    .on_version_complete = s_on_version_complete,
    .on_header_field_complete = s_on_header_field_complete,
    .on_chunk_extension_name_complete = s_on_chunk_extension_name_complete,
    .on_chunk_extension_value_complete = s_on_chunk_extension_value_complete,
    .on_chunk_header = s_on_chunk_header,
};

//  ---------------------------------------------------------------------
//  Feeding

//  How many of size bytes the section may still take; at its limit the
//  request fails (414 if that is while the target is being read).
static size_t
s_room (ps_http_parser_t *self, size_t size)
{
    size_t room = self->limits.max_header_bytes - self->section_bytes;
    if (room == 0) {
        //  (once complete, a target over its limit has failed already)
        bool target = self->target_size > self->limits.max_target;
        s_fail (self, target ? 414 : 431,
                target ? "request target too long" : "header section too large");
    }
    return size < room ? size : room;
}

//  Empty lines and the method; returns the bytes taken. At the method's
//  SP llhttp gets a stand-in method and the request line from there on.
static size_t
s_start (ps_http_parser_t *self, const char *data, size_t size)
{
    const char *method, *reason = NULL;
    size_t method_size;
    bool done;
    size_t used = ps_http_scan_method (&self->scan, data, s_room (self, size), &method,
                                       &method_size, &done, &reason);
    s_add (&self->buffer, &self->buffer_size, &self->buffer_max, 1024, method, method_size);
    self->section_bytes += used;
    if (reason)
        s_fail (self, 400, reason);
    if (!done)
        return used;
    s_add (&self->buffer, &self->buffer_size, &self->buffer_max, 1024, "", 1);
    for (size_t index = 0; index < sizeof (s_not_served) / sizeof (char *); index++)
        if (s_not_served[index][0] == self->buffer[0] && streq (self->buffer, s_not_served[index]))
            s_fail (self, 501, "method not implemented");
    if (!self->status) {
        llhttp_errno_t error = llhttp_execute (&self->hp, "GET ", 4);
        assert (error == HPE_OK);
        self->phase = S_HEAD;
    }
    return used;
}

//  Hand llhttp what it may have of data; returns the bytes it took.
static size_t
s_execute (ps_http_parser_t *self, const char *data, size_t size)
{
    s_phase_t phase = self->phase;
    const char *fault = NULL, *input = data;
    if (phase == S_HEAD || phase == S_TRAILER) {
        //  No further than the section's end or limit, nor our first fault
        ps_http_scan_t before = self->scan;
        size = ps_http_scan_lines (&self->scan, data, s_room (self, size), &fault);
        //  Each HTAB is fed alone: as SP in a framing value (see the top)
        const char *tab = (const char *) memchr (data, '\t', size);
        if (tab) {
            self->scan = before;
            fault = NULL;
            size = ps_http_scan_lines (&self->scan, data, tab == data ? 1 : (size_t) (tab - data),
                                       &fault);
            input = tab == data && self->framing_value ? " " : data;
        }
    }
    size_t used = size;
    llhttp_errno_t error = size ? llhttp_execute (&self->hp, input, size) : HPE_OK;
    if (error == HPE_PAUSED) {
        used = (size_t) (llhttp_get_error_pos (&self->hp) - input);
        if (self->phase == S_START)
            s_request_reset (self);  //  at a message's end
        else
            llhttp_resume (&self->hp);  //  at the last chunk
    }
    else if (error != HPE_OK) {
        //  "HTTP/" DIGIT "." DIGIT, but not a version llhttp knows: 505
        bool version = error == HPE_INVALID_VERSION
                       && streq (llhttp_get_error_reason (&self->hp), "Invalid HTTP version");
        s_fail (self, version ? 505 : 400, llhttp_get_error_reason (&self->hp));
    }
    else if (fault && self->phase == phase)
        s_fail (self, 400, fault);
    if (self->phase == phase)
        self->section_bytes += used;
    return used;
}

//  ---------------------------------------------------------------------
//  Public API

ps_http_parser_t *
ps_http_parser_new (const ps_http_limits_t *limits)
{
    ps_http_parser_t *self = (ps_http_parser_t *) calloc (1, sizeof (ps_http_parser_t));
    assert (self);
    ps_http_limits_defaults (&self->limits);
    if (limits)
        self->limits = *limits;
    llhttp_init (&self->hp, HTTP_REQUEST, &s_settings);
    self->hp.data = self;
    s_request_reset (self);
    return self;
}

void
ps_http_parser_destroy (ps_http_parser_t **self_p)
{
    assert (self_p);
    ps_http_parser_t *self = *self_p;
    if (!self)
        return;
    ps_http_parser_reset (self);
    free (self->buffer);
    free (self->fields);
    free (self);
    *self_p = NULL;
}

void
ps_http_parser_reset (ps_http_parser_t *self)
{
    assert (self);
    ps_http_request_t *request;
    while ((request = ps_http_parser_next (self)))
        ps_http_request_destroy (&request);
    self->status = 0;
    self->reason = NULL;
    self->closed = false;
    s_request_reset (self);
}

int
ps_http_parser_feed (ps_http_parser_t *self, const char *data, size_t size)
{
    assert (self);
    assert (data || size == 0);
    while (size > 0 && !self->status && !self->closed) {
        size_t used = self->phase == S_START ? s_start (self, data, size)
                                             : s_execute (self, data, size);
        data += used;
        size -= used;
    }
    return self->status;
}

ps_http_request_t *
ps_http_parser_next (ps_http_parser_t *self)
{
    assert (self);
    ps_http_request_t *request = self->head;
    if (request) {
        self->head = request->next;
        if (!self->head)
            self->tail = NULL;
        request->next = NULL;
    }
    return request;
}

int
ps_http_parser_status (const ps_http_parser_t *self)
{
    assert (self);
    return self->status;
}

const char *
ps_http_parser_reason (const ps_http_parser_t *self)
{
    assert (self);
    return self->reason ? self->reason : "";
}

bool
ps_http_parser_wants_continue (const ps_http_parser_t *self)
{
    assert (self);
    return self->wants_continue;
}

void
ps_http_parser_continue_sent (ps_http_parser_t *self)
{
    assert (self);
    self->wants_continue = false;
}

bool
ps_http_parser_partial (const ps_http_parser_t *self)
{
    assert (self);
    return !self->status && !self->closed && (self->phase != S_START || self->section_bytes > 0);
}

bool
ps_http_parser_in_headers (const ps_http_parser_t *self)
{
    assert (self);
    return !self->status && !self->closed
           && (self->phase == S_HEAD || (self->phase == S_START && self->section_bytes > 0));
}
