/*  ps_http_parser: the per-connection incremental HTTP/1.x request parser.

    llhttp (built in its strict mode with no lenient flag, see Makefile.am)
    parses and frames every request: request line, field syntax,
    Content-Length, chunked coding and the smuggling cases (Content-Length
    with Transfer-Encoding, duplicates, chunked not last) are its decisions.
    This file collects what its callbacks hand over and adds only the rules
    where llhttp 8.1 is more lenient than docs/PROTOCOL.md, or stricter:

    - the method is any token (RFC 9110 9.1), read here (llhttp knows a
      fixed list, and is fed a stand-in). CONNECT, PRI and the RTSP methods
      get 501; any other token, QUERY included, goes to the worker;
    - leading empty lines must be CRLF; no bare LF in the request line or
      at the end of a field line; no obs-fold (llhttp takes these); no run
      of spaces in the request line. One pass over the section (s_scan)
      finds these before llhttp sees the bytes;
    - an empty field name, an empty chunk-extension value ("5;a=") and
      chunk extensions over 4 KiB are 400;
    - HTTP/1.0 may not use Transfer-Encoding; a coding other than chunked
      is 501 (Host and the target are checked by ps_http_request.c);
    - limits: target (414), header or trailer section bytes, fields per
      section (431), body (413, before the bytes come); not 1.x is 505;
    - OWS is SP or HTAB (RFC 9110 5.6.3), but llhttp takes only SP after a
      Content-Length or Transfer-Encoding value, and none of its lenient
      flags changes that alone (lenient headers also lets CR through in
      values). So llhttp is handed SP for each HTAB in those two values:
      trailing OWS is then accepted, and anything else stays an error.

    Whatever the split of the stream, each fault is found at the same byte:
    llhttp's are, ours are decided in its completion callbacks (a span
    callback fires wherever a feed ends) or by s_scan, which is fed no
    further than the section's limit, and llhttp is paused at each message
    end and at the last chunk so that a new section is scanned afresh.
*/
#include "ps_http_private.h"
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

    //  The current request and section
    s_phase_t phase;
    size_t section_bytes;  //  of the header (or trailer) section so far
    char prev_byte;        //  the section's last byte scanned
    size_t line_bytes;     //  bytes of its current line so far
    size_t last_line;      //  bytes of its last complete line, CR included
    bool request_line;     //  that line is the request line
    char *buffer;          //  method NUL target, then field names and values
    size_t buffer_size;
    size_t buffer_max;
    size_t method_size;
    size_t target_size;  //  at buffer[method_size + 1]
    bool target_done;
    ps_http_field_t *fields;
    size_t field_count;
    size_t field_max;
    bool name_done;              //  the last field's name is complete
    bool framing_value;          //  in a Content-Length or Transfer-Encoding value
    size_t ext_size;             //  chunk-extension bytes of this chunk-size line
    size_t ext_mark;             //  ext_size where the current name or value ended
    ps_http_request_t *request;  //  built when the header section is done
    char *body;
    size_t body_size;
    size_t body_max;
    uint64_t body_declared;  //  Content-Length, or the chunk sizes so far
    bool chunked;
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

static void
s_buffer_add (ps_http_parser_t *self, const char *data, size_t size)
{
    s_add (&self->buffer, &self->buffer_size, &self->buffer_max, 1024, data, size);
}

//  A new header or trailer section: no fields yet
static void
s_section_reset (ps_http_parser_t *self, s_phase_t phase)
{
    self->phase = phase;
    self->section_bytes = self->line_bytes = self->last_line = 0;
    self->prev_byte = '\n';
    self->request_line = false;
    self->field_count = 0;
    self->name_done = true;
    self->framing_value = false;
}

//  Forget the request in progress, keeping the allocations for the next.
static void
s_request_reset (ps_http_parser_t *self)
{
    s_section_reset (self, S_START);
    self->buffer_size = self->method_size = self->target_size = self->body_size = 0;
    self->target_done = self->chunked = self->wants_continue = false;
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
    s_buffer_add (self, at, size);
    self->target_size += size;
    return 0;
}

static int
s_on_url_complete (llhttp_t *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    self->target_done = true;
    if (self->target_size > self->limits.max_target)
        return s_fail (self, 414, "request target too long");
    return 0;
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
    s_buffer_add (self, at, size);
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
    s_buffer_add (self, at, size);
    field->value_size += size;
    return 0;
}

static int
s_on_header_value_complete (llhttp_t *hp)
{
    //  llhttp skipped the leading OWS; the trailing OWS goes here
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    ps_http_field_t *field = &self->fields[self->field_count - 1];
    const char *value = self->buffer + field->value_offset;
    while (field->value_size > 0
           && (value[field->value_size - 1] == ' ' || value[field->value_size - 1] == '\t'))
        field->value_size--;
    self->framing_value = false;
    return 0;
}

//  What llhttp lets through of Transfer-Encoding (RFC 9112 6.1): NULL if
//  fine, else the reason with *status.
static const char *
s_check_transfer_encoding (ps_http_parser_t *self, const ps_pairs_t *headers, int *status)
{
    *status = 400;
    if (!ps_pairs_get (headers, "transfer-encoding"))
        return NULL;  //  not the flags: llhttp flags nothing for an empty one
    if (self->hp.flags & F_CONTENT_LENGTH)
        return "Content-Length with Transfer-Encoding";  //  llhttp's 400 too
    if (self->hp.http_minor == 0)
        return "Transfer-Encoding in HTTP/1.0";
    size_t codings = 0;
    for (size_t index = 0; index < headers->size; index++) {
        const ps_pairs_entry_t *field = &headers->entries[index];
        if (field->name_size != 17 || strcasecmp (field->name, "transfer-encoding") != 0)
            continue;
        for (const char *cursor = field->value; *cursor;) {
            cursor += strspn (cursor, " \t,");
            size_t size = strcspn (cursor, ",");
            size_t coding = size;
            while (coding > 0 && (cursor[coding - 1] == ' ' || cursor[coding - 1] == '\t'))
                coding--;
            if (coding > 0 && (coding != 7 || strncasecmp (cursor, "chunked", 7) != 0)) {
                *status = 501;
                return "transfer coding not implemented";
            }
            codings += coding > 0;
            cursor += size;
        }
    }
    return codings ? NULL : "empty Transfer-Encoding";
}

static int
s_on_headers_complete (llhttp_t *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    //  Versions were checked as they came: this is a request line without
    //  one (HTTP/0.9's simple request), which llhttp takes
    if (hp->http_major != 1 || hp->http_minor > 1)
        return s_fail (self, 400, "no HTTP version");
    //  A fragment is not sent to the server (RFC 9110 4.2.5): dropped
    const char *target = self->buffer + self->method_size + 1;
    const char *hash = (const char *) memchr (target, '#', self->target_size);
    size_t target_size = hash ? (size_t) (hash - target) : self->target_size;
    const char *reason;
    int status = 400;
    self->request = ps_http_request_new_parsed (self->buffer, target, target_size,
                                                10 + hp->http_minor, self->buffer, self->fields,
                                                self->field_count, &reason);
    if (!self->request
        || (reason = s_check_transfer_encoding (self, &self->request->headers, &status)))
        return s_fail (self, status, reason);
    self->chunked = (hp->flags & F_CHUNKED) != 0;
    if (hp->flags & F_CONTENT_LENGTH) {
        self->body_declared = hp->content_length;
        if (self->body_declared > self->limits.max_body)
            return s_fail (self, 413, "body too large");
    }
    self->wants_continue = self->request->expect_continue && hp->http_minor == 1
                           && (self->chunked || self->body_declared > 0);
    self->phase = S_BODY;
    self->buffer_size = 0;
    self->field_count = 0;
    return 0;
}

static int
s_on_body (llhttp_t *hp, const char *at, size_t size)
{
    //  Within max_body: the declared sizes were checked before. A declared
    //  length sizes the buffer once, if modest; otherwise it grows
    //  geometrically, so a client cannot make us reserve memory it never
    //  sends.
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    size_t first = !self->chunked && self->body_declared < 65536 ? (size_t) self->body_declared + 1
                                                                 : 4096;
    s_add (&self->body, &self->body_size, &self->body_max, first, at, size);
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
    for (size_t index = 0; index < self->field_count; index++) {
        ps_http_field_t *field = &self->fields[index];
        ps_pairs_append (&request->trailers, self->buffer + field->name_offset, field->name_size,
                         self->buffer + field->value_offset, field->value_size);
    }
    if (self->body_size) {
        self->body[self->body_size] = 0;  //  s_add keeps a byte spare
        ps_http_request_set_body (request, self->body, self->body_size);
        self->body = NULL;
        self->body_max = 0;
    }
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
    .on_header_value_complete = s_on_header_value_complete,
    .on_chunk_extension_name_complete = s_on_chunk_extension_name_complete,
    .on_chunk_extension_value_complete = s_on_chunk_extension_value_complete,
    .on_chunk_header = s_on_chunk_header,
};

//  ---------------------------------------------------------------------
//  Feeding

//  Empty lines and the method; returns the bytes taken. At the method's
//  SP llhttp gets a stand-in method and the request line from there on.
static size_t
s_start (ps_http_parser_t *self, const char *data, size_t size)
{
    for (size_t at = 0; at < size; at++) {
        if (self->section_bytes++ == self->limits.max_header_bytes) {
            s_fail (self, 431, "header section too large");
            return at;
        }
        char c = data[at];
        if (self->prev_byte == '\r') {
            if (c != '\n') {
                s_fail (self, 400, "CR without LF");
                return at;
            }
            self->prev_byte = '\n';
        }
        else if (c == '\r' && self->method_size == 0)
            self->prev_byte = '\r';
        else if (ps_http_char_class[(unsigned char) c] & PS_HTTP_TCHAR) {
            size_t run = at + 1;
            size_t room = self->limits.max_header_bytes - self->section_bytes;
            while (run < size && run - at <= room
                   && (ps_http_char_class[(unsigned char) data[run]] & PS_HTTP_TCHAR))
                run++;
            s_buffer_add (self, data + at, run - at);
            self->method_size += run - at;
            self->section_bytes += run - at - 1;
            at = run - 1;
        }
        else if (c == ' ' && self->method_size > 0) {
            s_buffer_add (self, "", 1);
            self->line_bytes = self->method_size + 1;
            self->prev_byte = ' ';
            self->request_line = true;
            for (size_t index = 0; index < sizeof (s_not_served) / sizeof (char *); index++)
                if (s_not_served[index][0] == self->buffer[0]
                    && streq (self->buffer, s_not_served[index])) {
                    s_fail (self, 501, "method not implemented");
                    return at;
                }
            llhttp_errno_t error = llhttp_execute (&self->hp, "GET ", 4);
            assert (error == HPE_OK);
            self->phase = S_HEAD;
            return at + 1;
        }
        else {
            s_fail (self, 400, c == '\n' ? "LF without CR" : "malformed method");
            return at;
        }
    }
    return size;
}

//  The bytes of a header or trailer section that llhttp may have: up to
//  our first fault (*reason set), else all of them. Lines are followed
//  across feeds; once the empty line that ends the section is seen, the
//  rest is not ours to check.
static size_t
s_scan (ps_http_parser_t *self, const char *data, size_t size, const char **reason)
{
    const char *cursor = data, *end = data + size;
    while (cursor < end) {
        if (self->line_bytes == 0 && self->last_line > 1 && (*cursor == ' ' || *cursor == '\t')) {
            *reason = "obs-fold";
            return (size_t) (cursor - data);
        }
        const char *lf = (const char *) memchr (cursor, '\n', (size_t) (end - cursor));
        const char *stop = lf ? lf : end;
        //  llhttp takes runs of spaces between the request line's parts
        for (const char *sp = cursor;
             self->request_line && (sp = (const char *) memchr (sp, ' ', (size_t) (stop - sp)));
             sp++)
            if ((sp > cursor ? sp[-1] : self->prev_byte) == ' ') {
                *reason = "two spaces in the request line";
                return (size_t) (sp - data);
            }
        if (!lf) {
            self->line_bytes += (size_t) (end - cursor);
            self->prev_byte = end[-1];
            return size;
        }
        if ((lf > cursor ? lf[-1] : self->prev_byte) != '\r') {
            *reason = "LF without CR";
            return (size_t) (lf - data);
        }
        self->last_line = self->line_bytes + (size_t) (lf - cursor);
        self->line_bytes = 0;
        self->prev_byte = '\n';
        self->request_line = false;
        if (self->last_line == 1)
            return size;
        cursor = lf + 1;
    }
    return size;
}

//  Hand llhttp what it may have of data; returns the bytes it took.
static size_t
s_execute (ps_http_parser_t *self, const char *data, size_t size)
{
    s_phase_t phase = self->phase;
    const char *fault = NULL, *input = data;
    if (phase == S_HEAD || phase == S_TRAILER) {
        //  No further than the section's limit, nor than our first fault
        size_t room = self->limits.max_header_bytes - self->section_bytes;
        if (room == 0) {
            bool target = phase == S_HEAD && !self->target_done
                          && self->target_size > self->limits.max_target;
            s_fail (self, target ? 414 : 431,
                    target ? "request target too long" : "header section too large");
            return 0;
        }
        size_t limit = size < room ? size : room;
        //  Each HTAB is fed alone: as SP in a framing value (see the top)
        const char *tab = (const char *) memchr (data, '\t', limit);
        if (tab)
            limit = tab == data ? 1 : (size_t) (tab - data);
        if (tab == data && self->framing_value)
            input = " ";
        size = s_scan (self, data, limit, &fault);
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
    if (limits)
        self->limits = *limits;
    else
        ps_http_limits_defaults (&self->limits);
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
    while (self->head) {
        ps_http_request_t *request = self->head;
        self->head = request->next;
        ps_http_request_destroy (&request);
    }
    self->tail = NULL;
    self->status = 0;
    self->reason = NULL;
    self->closed = false;
    s_request_reset (self);
    free (self->body);  //  as big as max_body, maybe: not worth keeping
    self->body = NULL;
    self->body_max = 0;
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
