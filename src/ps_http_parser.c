/*  ps_http_parser: the per-connection incremental HTTP/1.x request parser.

    Debian's libhttp-parser (http_parser_execute, HTTP_REQUEST mode) does the
    parsing; this file wraps it so that nobody else sees its callbacks, and
    adds the RFC 9112 strictness that the library (built non-strict) lacks:
    it takes bare LF as a line end, a lone CR before any byte as CRLF, any
    two bytes after chunk data as CRLF, spaces before the colon as part of
    the field name ("Transfer-Encoding : chunked" is then not chunked),
    obs-fold, runs of spaces and control or non-ASCII bytes in the request
    line, and it skips chunk extensions unread.

    The callbacks never show line endings, chunk-size lines or the bytes
    that end a chunk, so every slice is first scanned here, up to the end of
    the current section (request line and header section, chunk-size line,
    chunk data and its CRLF, trailer section) or up to the first bad byte,
    and only the bytes found good are handed to the library. It is paused
    at each boundary it reports, which must be where the scan saw the
    section end, else the request is refused. Because every fault is found
    at its own byte, by the scan or by the library, the status never
    depends on where the stream was split.

    The scan checks, in the header and trailer sections: CR only in CRLF;
    request-line = token SP target SP "HTTP/" DIGIT "." DIGIT, the target
    visible ASCII without '#' and within max_target; field lines =
    token ":" field-value with HTAB/SP/VCHAR/obs-text only, none starting
    with whitespace (obs-fold); the section within max_header_bytes. The
    chunk-size line: 1*HEXDIG *( BWS ";" BWS token [ BWS "=" BWS ( token /
    quoted-string ) ] ) CRLF. Chunk data: followed by CRLF exactly. Framing
    (RFC 9112 6) is decided from the fields at the end of the header
    section and must agree with the library's. Since the library never gets
    more header bytes than our limit, our 431 always comes before its own.

    Requests complete in order, any number per feed, bytes split anywhere;
    only the current partial request is held (its fields, its body so far).
*/
#include "ps_http_private.h"
#include <http_parser.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

//  A chunk-size line longer than this (extensions and CRLF included) is
//  refused: nobody needs more, and it bounds what we hold.
#define S_CHUNK_LINE_MAX 4096

//  Which section the next bytes belong to
typedef enum {
    S_HEAD,        //  (leading empty lines), request line, header section
    S_BODY,        //  Content-Length body
    S_CHUNK_LINE,  //  chunk-size line with extensions
    S_CHUNK_DATA,  //  chunk data and its CRLF
    S_TRAILER,     //  trailer section after the last chunk
    S_END          //  nothing left but the library's message-complete
} s_phase_t;

//  The boundary a callback stopped the library at
typedef enum {
    S_EV_NONE,
    S_EV_HEADERS,
    S_EV_CHUNK_HEADER,
    S_EV_CHUNK_DONE,
    S_EV_MESSAGE
} s_event_t;

//  One header or trailer field, as offsets into the field buffer
typedef struct {
    size_t name_offset;
    size_t name_size;
    size_t value_offset;
    size_t value_size;
} s_field_t;

//  Scanner state for the current section
typedef struct {
    size_t bytes;      //  bytes of the section scanned
    size_t line_size;  //  bytes of the current line, CRLF excluded
    bool first_line;   //  on the request line (or the empty lines before it)
    bool prev_cr;      //  last byte was CR
    bool colon_seen;   //  field line: past the name
    int part;          //  request line: 0 method, 1 target, 2 version
    size_t part_size;  //  bytes of that part so far
    size_t fields;     //  field lines begun in this section
    char version[8];   //  "HTTP/x.y" as sent
    bool done;         //  the section's last byte was scanned
} s_scan_t;

struct _ps_http_parser_t {
    http_parser hp;
    ps_http_limits_t limits;
    int status;          //  0, or the HTTP error status once failed
    const char *reason;  //  static text for the status
    bool closed;         //  a request without keep-alive ended; input ignored

    //  Finished requests, oldest first, chained through request->next
    ps_http_request_t *head;
    ps_http_request_t *tail;

    //  The current request
    s_phase_t phase;
    s_event_t event;  //  set by the callback that paused the library
    bool skip_byte;   //  the next byte was scanned already (a section's
                      //  last LF that the library gives back)
    s_scan_t scan;
    int fault;  //  status of a bad byte the scan stopped at
    const char *fault_reason;
    char *buffer;  //  target, then field names and values
    size_t buffer_size;
    size_t buffer_max;
    size_t target_size;  //  target at buffer[0 .. target_size)
    s_field_t *fields;
    size_t field_count;
    size_t field_max;
    bool in_value;               //  last field callback was a value
    ps_http_request_t *request;  //  built when the header section is done
    char *body;
    size_t body_size;
    size_t body_max;
    uint64_t content_length;  //  of an identity body
    uint64_t chunk_size;      //  of the current chunk
    char chunk_line[S_CHUNK_LINE_MAX];
    bool chunked;
    bool wants_continue;
};

//  ---------------------------------------------------------------------
//  Limits

void
ps_http_limits_defaults (ps_http_limits_t *limits)
{
    assert (limits);
    limits->max_target = 8 * 1024;
    limits->max_header_bytes = 64 * 1024;
    limits->max_headers = 100;
    limits->max_body = 10 * 1024 * 1024;
}

//  The library's header limit is one process-wide setting, counted per
//  section (and per chunk-size line); raise it, never lower it (other
//  parsers in the process may rely on it), when ours would not fit under.
static pthread_mutex_t s_library_limit_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t s_library_limit = HTTP_MAX_HEADER_SIZE;

static void
s_raise_library_limit (size_t ours)
{
    uint64_t want = (uint64_t) ours + 1024;
    if (want > UINT32_MAX)
        want = UINT32_MAX;
    pthread_mutex_lock (&s_library_limit_lock);
    if (want > s_library_limit) {
        s_library_limit = want;
        http_parser_set_max_header_size ((uint32_t) want);
    }
    pthread_mutex_unlock (&s_library_limit_lock);
}

//  ---------------------------------------------------------------------
//  Failure

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

static int
s_status_of (enum http_errno error)
{
    switch (error) {
    case HPE_HEADER_OVERFLOW:
        return 431;
    case HPE_INVALID_TRANSFER_ENCODING:
        return 501;
    default:
        return 400;
    }
}

//  ---------------------------------------------------------------------
//  Accumulation

static void
s_buffer_add (ps_http_parser_t *self, const char *data, size_t size)
{
    if (self->buffer_size + size > self->buffer_max) {
        size_t max = self->buffer_max ? self->buffer_max : 1024;
        while (max < self->buffer_size + size)
            max *= 2;
        self->buffer = (char *) realloc (self->buffer, max);
        assert (self->buffer);
        self->buffer_max = max;
    }
    memcpy (self->buffer + self->buffer_size, data, size);
    self->buffer_size += size;
}

static void
s_scan_reset (ps_http_parser_t *self, bool first_line)
{
    memset (&self->scan, 0, sizeof (self->scan));
    self->scan.first_line = first_line;
}

//  Forget the request in progress, keeping the allocations for the next.
static void
s_request_reset (ps_http_parser_t *self)
{
    self->phase = S_HEAD;
    self->event = S_EV_NONE;
    self->skip_byte = false;
    s_scan_reset (self, true);
    self->buffer_size = 0;
    self->target_size = 0;
    self->field_count = 0;
    self->in_value = false;
    ps_http_request_destroy (&self->request);
    self->body_size = 0;
    self->content_length = 0;
    self->chunk_size = 0;
    self->chunked = false;
    self->wants_continue = false;
}

//  A pairs object from the accumulated fields, without the trailing OWS of
//  values (the library skipped the leading OWS already).
static ps_pairs_t *
s_fields_to_pairs (ps_http_parser_t *self)
{
    ps_pairs_t *pairs = ps_pairs_new (true);
    for (size_t index = 0; index < self->field_count; index++) {
        s_field_t *field = &self->fields[index];
        const char *value = self->buffer + field->value_offset;
        size_t value_size = field->value_size;
        while (value_size > 0 && (value[value_size - 1] == ' ' || value[value_size - 1] == '\t'))
            value_size--;
        ps_pairs_append (pairs, self->buffer + field->name_offset, field->name_size, value,
                         value_size);
    }
    return pairs;
}

//  ---------------------------------------------------------------------
//  Callbacks from http_parser_execute. The bytes they see were scanned
//  already, so they only collect, and decide what needs the whole header
//  section.

static int
s_on_url (http_parser *hp, const char *at, size_t size)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    if (self->target_size + size > self->limits.max_target)
        return s_fail (self, 414, "request target too long");
    s_buffer_add (self, at, size);
    self->target_size += size;
    return 0;
}

static int
s_on_header_field (http_parser *hp, const char *at, size_t size)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    if (self->field_count == 0 || self->in_value) {
        if (self->field_count == self->limits.max_headers)
            return s_fail (self, 431, "too many header fields");
        if (self->field_count == self->field_max) {
            self->field_max = self->field_max ? self->field_max * 2 : 32;
            self->fields = (s_field_t *) realloc (self->fields,
                                                  self->field_max * sizeof (s_field_t));
            assert (self->fields);
        }
        s_field_t *field = &self->fields[self->field_count++];
        field->name_offset = self->buffer_size;
        field->name_size = 0;
        field->value_offset = self->buffer_size;
        field->value_size = 0;
        self->in_value = false;
    }
    s_buffer_add (self, at, size);
    self->fields[self->field_count - 1].name_size += size;
    return 0;
}

static int
s_on_header_value (http_parser *hp, const char *at, size_t size)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    if (self->field_count == 0)
        return s_fail (self, 400, "field value without a name");
    s_field_t *field = &self->fields[self->field_count - 1];
    if (!self->in_value) {
        field->value_offset = self->buffer_size;
        self->in_value = true;
    }
    s_buffer_add (self, at, size);
    field->value_size += size;
    return 0;
}

//  Content-Length = 1*DIGIT. Returns 0, or -1 if malformed or too big.
static int
s_parse_length (const char *value, uint64_t *length)
{
    uint64_t result = 0;
    if (!*value)
        return -1;
    for (; *value; value++) {
        if (*value < '0' || *value > '9')
            return -1;
        if (result > (UINT64_MAX - 9) / 10)
            return -1;
        result = result * 10 + (uint64_t) (*value - '0');
    }
    *length = result;
    return 0;
}

//  Transfer-Encoding over all its fields: 0 for plain chunked, else -1
//  (status and reason set). RFC 9112 6.1: 501 for a coding we do not
//  implement (all but chunked, wherever it stands); chunked only once.
static int
s_check_transfer_encoding (ps_http_parser_t *self, const ps_pairs_t *headers)
{
    size_t codings = 0, chunked = 0;
    bool unknown = false;
    size_t count = ps_pairs_size (headers);
    for (size_t index = 0; index < count; index++) {
        if (strcasecmp (ps_pairs_name (headers, index), "transfer-encoding") != 0)
            continue;
        const char *cursor = ps_pairs_value (headers, index);
        while (*cursor) {
            while (*cursor == ' ' || *cursor == '\t')
                cursor++;
            const char *start = cursor;
            while (*cursor && *cursor != ',')
                cursor++;
            const char *end = cursor;
            while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
            if (end > start) {
                codings++;
                if (end - start == 7 && strncasecmp (start, "chunked", 7) == 0)
                    chunked++;
                else
                    unknown = true;
            }
            if (*cursor == ',')
                cursor++;
        }
    }
    if (unknown)
        return s_fail (self, 501, "transfer coding not implemented");
    if (codings == 0)
        return s_fail (self, 400, "empty Transfer-Encoding");
    if (chunked > 1)
        return s_fail (self, 400, "chunked applied more than once");
    return 0;
}

//  Host = uri-host [ ":" port ] (RFC 9112 3.2, RFC 3986 3.2.2); empty is
//  allowed. A server MUST refuse an invalid one: caches and virtual hosts
//  key on it. IP-literals are checked for their characters only.
static bool
s_host_valid (const char *cursor)
{
#define S_DIGIT(c)  ((c) >= '0' && (c) <= '9')
#define S_HEXDIG(c) (S_DIGIT (c) || (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'f'))
#define S_UNRESERVED(c)                                                                            \
    (S_DIGIT (c) || (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z') || strchr ("-._~", (c)))
#define S_SUB_DELIM(c) (strchr ("!$&'()*+,;=", (c)))
    if (*cursor == '[') {
        for (cursor++; *cursor && *cursor != ']'; cursor++)
            if (!S_UNRESERVED (*cursor) && !S_SUB_DELIM (*cursor) && *cursor != ':')
                return false;
        if (*cursor++ != ']')
            return false;
    }
    else
        for (; *cursor && *cursor != ':'; cursor++) {
            if (*cursor == '%' && S_HEXDIG (cursor[1]) && S_HEXDIG (cursor[2]))
                cursor += 2;
            else if (!S_UNRESERVED (*cursor) && !S_SUB_DELIM (*cursor))
                return false;
        }
    if (*cursor == ':')
        for (cursor++; *cursor; cursor++)
            if (!S_DIGIT (*cursor))
                return false;
    return *cursor == 0;
#undef S_DIGIT
#undef S_HEXDIG
#undef S_UNRESERVED
#undef S_SUB_DELIM
}

//  Host and framing (RFC 9112 3.2, 6.1-6.3). Returns a reason, NULL if
//  fine; *status is the status for it.
static const char *
s_check_fields (ps_http_parser_t *self, const ps_pairs_t *headers, int version, int *status)
{
    *status = 400;
    size_t hosts = 0, lengths = 0, encodings = 0;
    const char *host = NULL;
    size_t count = ps_pairs_size (headers);
    for (size_t index = 0; index < count; index++) {
        //  one pass, and the first letter spares most comparisons
        const char *name = ps_pairs_name (headers, index);
        char first = (char) (name[0] | 0x20);
        if (first == 'h' && strcasecmp (name, "host") == 0) {
            hosts++;
            host = ps_pairs_value (headers, index);
        }
        else if (first == 'c' && strcasecmp (name, "content-length") == 0)
            lengths++;
        else if (first == 't' && strcasecmp (name, "transfer-encoding") == 0)
            encodings++;
    }
    if (hosts > 1 || (version == 11 && hosts == 0))
        return "HTTP/1.1 needs exactly one Host";
    if (host && !s_host_valid (host))
        return "invalid Host";
    if (encodings && lengths)
        return "Content-Length with Transfer-Encoding";
    if (encodings && version == 10)
        return "Transfer-Encoding in HTTP/1.0";
    if (encodings) {
        if (s_check_transfer_encoding (self, headers))
            return self->reason;
        self->chunked = true;
        //  The library frames the body, so it must see the same
        if (!(self->hp.flags & F_CHUNKED))
            return "ambiguous Transfer-Encoding";
        return NULL;
    }
    if (lengths) {
        //  Duplicates would be fine if all agreed; the library refuses any
        //  duplicate before we get here anyway.
        bool seen = false;
        for (size_t index = 0; index < ps_pairs_size (headers); index++) {
            if (strcasecmp (ps_pairs_name (headers, index), "content-length") != 0)
                continue;
            uint64_t length = 0;
            if (s_parse_length (ps_pairs_value (headers, index), &length) == -1)
                return "bad Content-Length";
            if (seen && length != self->content_length)
                return "differing Content-Length values";
            seen = true;
            self->content_length = length;
        }
        if (self->content_length != self->hp.content_length)
            return "ambiguous Content-Length";
        if (self->content_length > self->limits.max_body) {
            *status = 413;
            return "body too large";
        }
    }
    return NULL;
}

static int
s_on_headers_complete (http_parser *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    //  The scan checked the version text; this is the library's reading
    if (hp->http_major != 1 || hp->http_minor > 1)
        return s_fail (self, 505, "HTTP version not supported");
    int version = 10 + hp->http_minor;
    if (hp->method == HTTP_CONNECT)
        return s_fail (self, 501, "CONNECT not implemented");

    ps_pairs_t *headers = s_fields_to_pairs (self);
    int status;
    const char *reason = s_check_fields (self, headers, version, &status);
    if (reason) {
        ps_pairs_destroy (&headers);
        return s_fail (self, status, reason);
    }
    self->request = ps_http_request_new_parsed (http_method_str ((enum http_method) hp->method),
                                                self->buffer, self->target_size, version, &headers,
                                                &reason);
    if (!self->request)
        return s_fail (self, 400, reason);
    self->wants_continue = self->request->expect_continue && version == 11
                           && (self->chunked || self->content_length > 0);
    self->event = S_EV_HEADERS;
    http_parser_pause (hp, 1);
    return 0;
}

static int
s_on_body (http_parser *hp, const char *at, size_t size)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    if (size > self->limits.max_body - self->body_size)
        return s_fail (self, 413, "body too large");
    if (self->body_size + size + 1 > self->body_max) {
        //  A declared length sizes the buffer once, if modest; otherwise
        //  grow geometrically, so a client cannot make us reserve memory
        //  it never sends.
        size_t max = self->body_max ? self->body_max : 4096;
        if (!self->body_max && !self->chunked && self->content_length < 65536)
            max = (size_t) self->content_length + 1;
        while (max < self->body_size + size + 1)
            max *= 2;
        self->body = (char *) realloc (self->body, max);
        assert (self->body);
        self->body_max = max;
    }
    memcpy (self->body + self->body_size, at, size);
    self->body_size += size;
    return 0;
}

static int
s_on_chunk_header (http_parser *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    if (hp->content_length > self->limits.max_body - self->body_size)
        return s_fail (self, 413, "body too large");
    self->chunk_size = hp->content_length;
    self->event = S_EV_CHUNK_HEADER;
    http_parser_pause (hp, 1);
    return 0;
}

static int
s_on_chunk_complete (http_parser *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    self->event = S_EV_CHUNK_DONE;
    http_parser_pause (hp, 1);
    return 0;
}

static int
s_on_message_complete (http_parser *hp)
{
    ps_http_parser_t *self = (ps_http_parser_t *) hp->data;
    self->event = S_EV_MESSAGE;
    http_parser_pause (hp, 1);
    return 0;
}

static const http_parser_settings s_settings = {
    .on_url = s_on_url,
    .on_header_field = s_on_header_field,
    .on_header_value = s_on_header_value,
    .on_headers_complete = s_on_headers_complete,
    .on_body = s_on_body,
    .on_message_complete = s_on_message_complete,
    .on_chunk_header = s_on_chunk_header,
    .on_chunk_complete = s_on_chunk_complete,
};

//  ---------------------------------------------------------------------
//  The scan

static size_t
s_fault (ps_http_parser_t *self, size_t at, int status, const char *reason)
{
    self->fault = status;
    self->fault_reason = reason;
    return at;
}

#define S_IS(c, class) (ps_http_char_class[(unsigned char) (c)] & (class))

//  One byte of the request line. Returns 0, or a status with *reason.
static int
s_request_line_byte (ps_http_parser_t *self, char c, const char **reason)
{
    s_scan_t *scan = &self->scan;
    switch (scan->part) {
    case 0:
        if (c == ' ' && scan->part_size > 0) {
            scan->part = 1;
            scan->part_size = 0;
            return 0;
        }
        if (!S_IS (c, PS_HTTP_TCHAR)) {
            *reason = "malformed method";
            return 400;
        }
        break;
    case 1:
        if (c == ' ' && scan->part_size > 0) {
            scan->part = 2;
            scan->part_size = 0;
            return 0;
        }
        if (!S_IS (c, PS_HTTP_TARGET)) {
            *reason = "bad byte in the request target";
            return 400;
        }
        if (scan->part_size == self->limits.max_target) {
            *reason = "request target too long";
            return 414;
        }
        break;
    default:
        if (scan->part_size == 8 || (scan->part_size < 5 && c != "HTTP/"[scan->part_size])
            || ((scan->part_size == 5 || scan->part_size == 7) && (c < '0' || c > '9'))
            || (scan->part_size == 6 && c != '.')) {
            *reason = "malformed HTTP version";
            return 400;
        }
        scan->version[scan->part_size] = c;
        break;
    }
    scan->part_size++;
    return 0;
}

//  A line of a header or trailer section ended (its CRLF scanned).
//  Returns 0, or a status with *reason.
static int
s_line_end (ps_http_parser_t *self, const char **reason)
{
    s_scan_t *scan = &self->scan;
    if (scan->first_line) {
        if (scan->line_size == 0)
            return 0;  //  empty lines before the request line are ignored
        if (scan->part != 2 || scan->part_size != 8) {
            *reason = "malformed request line";
            return 400;
        }
        if (scan->version[5] != '1' || scan->version[7] > '1') {
            *reason = "HTTP version not supported";
            return 505;
        }
        scan->first_line = false;
    }
    else if (scan->line_size == 0)
        scan->done = true;  //  the empty line that ends the section
    else if (!scan->colon_seen) {
        *reason = "field line without a colon";
        return 400;
    }
    scan->line_size = 0;
    scan->colon_seen = false;
    return 0;
}

//  Scan a header or trailer section; returns the bytes that are good.
static size_t
s_scan_lines (ps_http_parser_t *self, const char *data, size_t size)
{
    s_scan_t *scan = &self->scan;
    const char *reason = NULL;
    int status;
    for (size_t at = 0; at < size; at++) {
        if (++scan->bytes > self->limits.max_header_bytes)
            return s_fault (self, at, 431, "header section too large");
        char c = data[at];
        if (scan->prev_cr) {
            if (c != '\n')
                return s_fault (self, at, 400, "CR without LF");
            scan->prev_cr = false;
            if ((status = s_line_end (self, &reason)))
                return s_fault (self, at, status, reason);
            if (scan->done)
                return at + 1;
            continue;
        }
        if (c == '\r') {
            scan->prev_cr = true;
            continue;
        }
        if (c == '\n')
            return s_fault (self, at, 400, "LF without CR");
        if (scan->first_line) {
            if ((status = s_request_line_byte (self, c, &reason)))
                return s_fault (self, at, status, reason);
        }
        else if (!scan->colon_seen && S_IS (c, PS_HTTP_TCHAR)) {
            //  Counted here, at the field's first byte: the library names
            //  a field only once its colon or the slice's end is seen, so
            //  its count would depend on where the stream was split.
            if (scan->line_size == 0 && ++scan->fields > self->limits.max_headers)
                return s_fault (self, at, 431, "too many header fields");
            //  field name: a tight loop too
            size_t run = at + 1;
            while (run < size && S_IS (data[run], PS_HTTP_TCHAR))
                run++;
            size_t taken = run - at;
            if (scan->bytes - 1 + taken > self->limits.max_header_bytes)
                return s_fault (self, at + self->limits.max_header_bytes - (scan->bytes - 1), 431,
                                "header section too large");
            scan->bytes += taken - 1;
            scan->line_size += taken;
            at = run - 1;
            continue;
        }
        else if (scan->colon_seen) {
            //  field value: the bulk of the bytes, so a tight loop
            size_t run = at;
            while (run < size && S_IS (data[run], PS_HTTP_FVCHAR))
                run++;
            size_t taken = run - at;
            if (taken == 0)
                return s_fault (self, at, 400, "bad byte in a field value");
            if (scan->bytes - 1 + taken > self->limits.max_header_bytes)
                return s_fault (self, at + self->limits.max_header_bytes - (scan->bytes - 1), 431,
                                "header section too large");
            scan->bytes += taken - 1;
            scan->line_size += taken;
            at = run - 1;
            continue;
        }
        else if (c == ':') {
            if (scan->line_size == 0)
                return s_fault (self, at, 400, "empty field name");
            scan->colon_seen = true;
        }
        else if (!S_IS (c, PS_HTTP_TCHAR))
            return s_fault (self, at, 400,
                            scan->line_size == 0 && (c == ' ' || c == '\t')
                                ? "obs-fold or whitespace before a field"
                                : "bad byte in a field name");
        scan->line_size++;
    }
    return size;
}

//  chunk = chunk-size [ chunk-ext ] CRLF (RFC 9112 7.1.1), the whole line
//  without its LF. Returns true if it is well formed.
static bool
s_chunk_line_valid (const unsigned char *cursor, size_t size)
{
    if (size < 2 || cursor[size - 1] != '\r')
        return false;
    const unsigned char *end = cursor + size - 1;
#define S_HEX(c) (((c) >= '0' && (c) <= '9') || (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'f'))
#define S_BWS()                                                                                    \
    while (cursor < end && (*cursor == ' ' || *cursor == '\t'))                                    \
    cursor++
#define S_TOKEN()                                                                                  \
    do {                                                                                           \
        if (cursor == end || !S_IS (*cursor, PS_HTTP_TCHAR))                                       \
            return false;                                                                          \
        while (cursor < end && S_IS (*cursor, PS_HTTP_TCHAR))                                      \
            cursor++;                                                                              \
    } while (0)
    if (!S_HEX (*cursor))
        return false;
    while (cursor < end && S_HEX (*cursor))
        cursor++;
    while (cursor < end) {
        S_BWS ();
        if (cursor == end || *cursor != ';')
            return false;
        cursor++;
        S_BWS ();
        S_TOKEN ();
        const unsigned char *after_name = cursor;
        S_BWS ();
        if (cursor < end && *cursor == '=') {
            cursor++;
            S_BWS ();
            if (cursor < end && *cursor == '"') {
                //  quoted-string: qdtext / quoted-pair
                for (cursor++; cursor < end && *cursor != '"'; cursor++) {
                    if (*cursor == '\\' && ++cursor == end)
                        return false;
                    if (!S_IS (*cursor, PS_HTTP_FVCHAR))
                        return false;
                }
                if (cursor == end)
                    return false;
                cursor++;
            }
            else
                S_TOKEN ();
        }
        else
            cursor = after_name;  //  BWS belongs to the next ";"
    }
#undef S_HEX
#undef S_BWS
#undef S_TOKEN
    return true;
}

//  Scan a chunk-size line; returns the bytes that are good.
static size_t
s_scan_chunk_line (ps_http_parser_t *self, const char *data, size_t size)
{
    s_scan_t *scan = &self->scan;
    for (size_t at = 0; at < size; at++) {
        char c = data[at];
        if (c == '\n') {
            if (!s_chunk_line_valid ((const unsigned char *) self->chunk_line, scan->line_size))
                return s_fault (self, at, 400, "malformed chunk-size line");
            scan->done = true;
            return at + 1;
        }
        if (scan->prev_cr)
            return s_fault (self, at, 400, "CR without LF");
        if (scan->line_size == sizeof (self->chunk_line))
            return s_fault (self, at, 400, "chunk-size line too long");
        self->chunk_line[scan->line_size++] = c;
        scan->prev_cr = c == '\r';
    }
    return size;
}

//  Scan chunk data: any bytes, then exactly CRLF.
static size_t
s_scan_chunk_data (ps_http_parser_t *self, const char *data, size_t size)
{
    s_scan_t *scan = &self->scan;
    size_t at = 0;
    if (scan->bytes < self->chunk_size) {
        uint64_t left = self->chunk_size - scan->bytes;
        at = left < size ? (size_t) left : size;
        scan->bytes += at;
    }
    for (; at < size; at++) {
        char expect = scan->bytes == self->chunk_size ? '\r' : '\n';
        if (data[at] != expect)
            return s_fault (self, at, 400, "chunk data not followed by CRLF");
        if (++scan->bytes == self->chunk_size + 2) {
            scan->done = true;
            return at + 1;
        }
    }
    return size;
}

//  How many bytes from data the library may have now: the good bytes of
//  the current section, up to its end. A bad byte sets self->fault.
static size_t
s_scan (ps_http_parser_t *self, const char *data, size_t size)
{
    size_t skip = self->skip_byte ? 1 : 0;
    if (skip > size)
        return size;
    switch (self->phase) {
    case S_HEAD:
    case S_TRAILER:
        return skip + s_scan_lines (self, data + skip, size - skip);
    case S_CHUNK_LINE:
        return skip + s_scan_chunk_line (self, data + skip, size - skip);
    case S_CHUNK_DATA:
        return skip + s_scan_chunk_data (self, data + skip, size - skip);
    case S_BODY:
    case S_END:
        break;
    }
    return size;
}

//  ---------------------------------------------------------------------
//  Boundaries

//  The library paused after consuming used of the given bytes. Check it
//  stopped where the scan saw the section end, and move on.
static int
s_boundary (ps_http_parser_t *self, size_t used, size_t given, const char *data)
{
    s_event_t event = self->event;
    self->event = S_EV_NONE;
    //  The end of a header or trailer section is reported at its last LF,
    //  which the library consumes again afterwards; the others after it.
    bool on_last = used + 1 == given && data[used] == '\n';
    bool after_last = used == given;
    switch (event) {
    case S_EV_HEADERS:
        if (self->phase != S_HEAD || !self->scan.done || !on_last)
            break;
        self->skip_byte = true;
        self->buffer_size = 0;
        self->field_count = 0;
        self->in_value = false;
        s_scan_reset (self, false);
        if (self->chunked)
            self->phase = S_CHUNK_LINE;
        else
            self->phase = self->content_length ? S_BODY : S_END;
        return 0;

    case S_EV_CHUNK_HEADER:
        if (self->phase != S_CHUNK_LINE || !self->scan.done || !after_last)
            break;
        if (self->chunk_size) {
            self->phase = S_CHUNK_DATA;
            s_scan_reset (self, false);
        }
        else {
            self->phase = S_TRAILER;
            s_scan_reset (self, false);
            //  the trailer section starts at a line start
        }
        return 0;

    case S_EV_CHUNK_DONE:
        if (self->phase == S_CHUNK_DATA && self->scan.done && after_last) {
            self->phase = S_CHUNK_LINE;
            s_scan_reset (self, false);
            return 0;
        }
        if (self->phase != S_TRAILER || !self->scan.done || !on_last)
            break;
        if (self->field_count) {
            ps_pairs_t *trailers = s_fields_to_pairs (self);
            ps_http_request_set_trailers (self->request, &trailers);
        }
        self->skip_byte = true;
        self->phase = S_END;
        return 0;

    case S_EV_MESSAGE: {
        if ((self->phase != S_BODY && self->phase != S_END) || !self->request)
            break;
        ps_http_request_t *request = self->request;
        self->request = NULL;
        if (self->body_size) {
            self->body[self->body_size] = 0;
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
        s_request_reset (self);
        return 0;
    }
    case S_EV_NONE:
        break;
    }
    return s_fail (self, 400, "message framing out of step");
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
    if (self->limits.max_header_bytes + 1024 > HTTP_MAX_HEADER_SIZE)
        s_raise_library_limit (self->limits.max_header_bytes);
    http_parser_init (&self->hp, HTTP_REQUEST);
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
    while (self->head) {
        ps_http_request_t *request = self->head;
        self->head = request->next;
        ps_http_request_destroy (&request);
    }
    ps_http_request_destroy (&self->request);
    free (self->buffer);
    free (self->fields);
    free (self->body);
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
    self->fault = 0;
    self->fault_reason = NULL;
    s_request_reset (self);
    //  A body buffer can be as big as max_body: not worth keeping
    free (self->body);
    self->body = NULL;
    self->body_max = 0;
    http_parser_init (&self->hp, HTTP_REQUEST);
    self->hp.data = self;
}

int
ps_http_parser_feed (ps_http_parser_t *self, const char *data, size_t size)
{
    assert (self);
    assert (data || size == 0);
    while (size > 0 && !self->status && !self->closed) {
        size_t given = s_scan (self, data, size);
        size_t used = given ? http_parser_execute (&self->hp, &s_settings, data, given) : 0;
        enum http_errno error = HTTP_PARSER_ERRNO (&self->hp);
        if (self->status)
            break;  //  a callback refused the request
        if (error != HPE_OK && error != HPE_PAUSED) {
            s_fail (self, s_status_of (error), http_errno_description (error));
            break;
        }
        if (used > 0)
            self->skip_byte = false;
        if (error == HPE_PAUSED) {
            http_parser_pause (&self->hp, 0);
            if (s_boundary (self, used, given, data))
                break;
        }
        else if (used != given || self->scan.done) {
            s_fail (self, 400, "message framing out of step");
            break;
        }
        else if (self->fault) {
            //  the library took every good byte without complaint
            s_fail (self, self->fault, self->fault_reason);
            break;
        }
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
    if (self->status || self->closed)
        return false;
    return self->phase != S_HEAD || self->scan.bytes > 0;
}

bool
ps_http_parser_in_headers (const ps_http_parser_t *self)
{
    assert (self);
    if (self->status || self->closed)
        return false;
    return self->phase == S_HEAD && self->scan.bytes > 0;
}
