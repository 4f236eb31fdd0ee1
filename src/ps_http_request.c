/*  ps_http_request: one parsed HTTP request, as the server's parser builds it
    and as a worker receives it.

    The parser hands over the parts of a header section; this file decides
    what they mean: it drops a fragment and turns the raw target into a
    percent-decoded path and an ordered query multimap, refuses a bad Host
    or transfer coding, derives the keep-alive decision (RFC 9112 9.3) and
    Expect: 100-continue from the headers, and defines the structured wire
    form, so that workers in any language read requests without an HTTP
    parser. A parsed request is one allocation: the object, its strings and
    the room of its query and headers (embedded pairs, ps_pairs_private.h).

    Wire form (ps_http_request_encode / ps_http_request_decode): one frame,
    nine netstrings "<decimal length>:<bytes>," in this order:

      1  method    the method token as sent, ASCII, e.g. "GET"
                   (1 or more tchar, RFC 9110 5.6.2)
      2  target    the raw request-target as sent, e.g.
                   "/is_prime?possible_prime=7" (not empty, no NUL)
      3  path      the target's path, percent-decoded: raw bytes (UTF-8 if
                   the client sent UTF-8), no NUL; "+" is kept as "+"; "*"
                   for OPTIONS *; for an absolute-form target the path
                   after the authority ("/" if none)
      4  version   2 ASCII bytes: "10" (HTTP/1.0) or "11" (HTTP/1.1)
      5  query     a pairs list (ps_pairs_encode): the query split on '&'
                   and then on the first '=', each part decoded afterwards
                   ("%26" and "%3D" stay inside names and values, "+"
                   becomes a space); empty segments ("a=1&&b=2") are
                   skipped, a segment without '=' has the value ""; in
                   order, duplicates kept; empty when there is no query
      6  headers   a pairs list: header fields in order as received, names
                   as sent (compare them ignoring ASCII case), values
                   without leading/trailing whitespace
      7  body      the decoded body (chunked framing removed), any bytes
      8  trailers  a pairs list: trailer fields of a chunked body, usually
                   empty
      9  client    the client's address (ps_http_request_client): hex
                   digits, '.' and ':', at most 63 bytes; empty if unknown

    A pairs list is itself a sequence of netstrings, alternating name and
    value, e.g. "4:Host,9:localhost,", nested whole in its field's
    netstring: "19:4:Host,9:localhost,,". One frame rather than one per
    field because a job crosses threads: every frame is a few allocations
    that the sender makes and the receiver frees, under the sender's
    allocator lock. Keep-alive and Expect are not sent: the receiver derives
    them from the version and the headers, as the server did.

    The decoder also reads the earlier form, still valid within protocol 2:
    fields 1 to 8 as 8 frames of their bare bytes, and field 9 as a ninth
    frame when the address is known. ps_http_request_decode returns NULL for
    anything else: another frame count, bytes after the ninth netstring, a
    client that is not an address, an empty or non-token method, an empty
    target, a NUL in method, target or path, a version other than
    "10"/"11", a malformed pairs list.
*/
#include "ps_http_private.h"
#include "prime_server/ps_netstring.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

//  ---------------------------------------------------------------------
//  Character classes, built at compile time so they cost one load per byte

#define S_IS_TCHAR(c)                                                                              \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z')        \
     || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' || (c) == '\''          \
     || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' || (c) == '_'           \
     || (c) == '`' || (c) == '|' || (c) == '~')
#define S_IS_FVCHAR(c) ((c) == '\t' || ((c) >= 0x20 && (c) != 0x7f))
#define S_IS_TARGET(c) ((c) >= 0x21 && (c) <= 0x7e && (c) != '#')
#define S_CLASS(c)                                                                                 \
    ((S_IS_TCHAR (c) ? PS_HTTP_TCHAR : 0) | (S_IS_FVCHAR (c) ? PS_HTTP_FVCHAR : 0)                 \
     | (S_IS_TARGET (c) ? PS_HTTP_TARGET : 0))
#define S_R4(n)  S_CLASS (n), S_CLASS ((n) + 1), S_CLASS ((n) + 2), S_CLASS ((n) + 3)
#define S_R16(n) S_R4 (n), S_R4 ((n) + 4), S_R4 ((n) + 8), S_R4 ((n) + 12)
#define S_R64(n) S_R16 (n), S_R16 ((n) + 16), S_R16 ((n) + 32), S_R16 ((n) + 48)

const unsigned char ps_http_char_class[256] = {S_R64 (0), S_R64 (64), S_R64 (128), S_R64 (192)};

//  ---------------------------------------------------------------------
//  Helpers

static int
s_unhex (unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

//  Percent-decode src into dst (room for size bytes). With plus, '+' is a
//  space (query only). Returns the decoded size, or -1 on a bad escape or
//  a decoded NUL (which no string on our wire may hold).
static ssize_t
s_decode (const char *src, size_t size, char *dst, bool plus)
{
    const char *end = src + size;
    char *out = dst;
    while (src < end) {
        char c = *src++;
        if (c == '%') {
            if (end - src < 2)
                return -1;
            int hi = s_unhex ((unsigned char) src[0]);
            int lo = s_unhex ((unsigned char) src[1]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return -1;
            *out++ = (char) (hi << 4 | lo);
            src += 2;
        }
        else if (c == '+' && plus)
            *out++ = ' ';
        else
            *out++ = c;
    }
    return out - dst;
}

//  Split the query (after '?') into pairs. Returns 0, or -1 on bad encoding.
static int
s_split_query (ps_pairs_t *query, const char *src, size_t size)
{
    char stack[512];
    char *scratch = size <= sizeof (stack) ? stack : (char *) malloc (size);
    assert (scratch);
    int rc = 0;
    const char *end = src + size;
    while (src < end) {
        const char *amp = (const char *) memchr (src, '&', end - src);
        const char *seg_end = amp ? amp : end;
        if (seg_end > src) {
            const char *eq = (const char *) memchr (src, '=', seg_end - src);
            const char *key_end = eq ? eq : seg_end;
            ssize_t key_size = s_decode (src, key_end - src, scratch, true);
            ssize_t value_size = 0;
            if (key_size >= 0 && eq)
                value_size = s_decode (eq + 1, seg_end - eq - 1, scratch + key_size, true);
            if (key_size < 0 || value_size < 0) {
                rc = -1;
                break;
            }
            ps_pairs_append (query, scratch, key_size, scratch + key_size, value_size);
        }
        src = seg_end + 1;
    }
    if (scratch != stack)
        free (scratch);
    return rc;
}

bool
ps_http_list_has (const char *list, const char *token)
{
    assert (list && token);
    size_t token_size = strlen (token);
    const char *cursor = list;
    while (*cursor) {
        while (*cursor == ' ' || *cursor == '\t')
            cursor++;
        const char *start = cursor;
        while (*cursor && *cursor != ',')
            cursor++;
        const char *end = cursor;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t) (end - start) == token_size && strncasecmp (start, token, token_size) == 0)
            return true;
        if (*cursor == ',')
            cursor++;
    }
    return false;
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

//  Transfer-Encoding, as far as llhttp lets it through (RFC 9112 6.1): in
//  HTTP/1.1 only, and chunked is the one coding we undo (llhttp checked it
//  is last). NULL if fine, else the reason with *status.
static const char *
s_check_transfer_encoding (const ps_http_request_t *self, int *status)
{
    *status = 400;
    size_t fields = 0, codings = 0;
    for (size_t index = 0; index < self->headers.size; index++) {
        const ps_pairs_entry_t *field = &self->headers.entries[index];
        if (field->name_size != 17 || strcasecmp (field->name, "transfer-encoding") != 0)
            continue;
        if (fields++ == 0 && self->version == 10)
            return "Transfer-Encoding in HTTP/1.0";
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
    return fields == 0 || codings > 0 ? NULL : "empty Transfer-Encoding";
}

//  Derive keep-alive and expect_continue from version and headers.
static void
s_derive (ps_http_request_t *self)
{
    bool close = false, keep_alive = false, expect = false;
    for (size_t index = 0; index < self->headers.size; index++) {
        const ps_pairs_entry_t *field = &self->headers.entries[index];
        if (field->name_size == 10 && strcasecmp (field->name, "connection") == 0) {
            close = close || ps_http_list_has (field->value, "close");
            keep_alive = keep_alive || ps_http_list_has (field->value, "keep-alive");
        }
        else if (field->name_size == 6 && strcasecmp (field->name, "expect") == 0)
            expect = expect || ps_http_list_has (field->value, "100-continue");
    }
    //  RFC 9112 9.3: close always wins; 1.0 persists only when asked to
    self->keep_alive = !close && (self->version >= 11 || keep_alive);
    self->expect_continue = expect;
}

//  The room one allocation holds besides the object: header and query
//  entries and string bytes (lent to the embedded pairs), the path (room
//  for path_room bytes), method and target.
typedef struct {
    size_t header_entries, header_bytes, query_entries, query_bytes, path_room;
} s_room_t;

static ps_http_request_t *
s_new (const char *method, size_t method_size, const char *target, size_t target_size,
       const s_room_t *room)
{
    size_t entries = room->header_entries + room->query_entries;
    size_t size = sizeof (ps_http_request_t) + entries * sizeof (ps_pairs_entry_t)
                  + room->header_bytes + room->query_bytes + room->path_room + method_size
                  + target_size + 3;
    ps_http_request_t *self = (ps_http_request_t *) malloc (size);
    assert (self);
    ps_pairs_entry_t *entry = (ps_pairs_entry_t *) (self + 1);
    char *cursor = (char *) (entry + entries);
    ps_pairs_init (&self->headers, true, entry, room->header_entries, cursor, room->header_bytes);
    cursor += room->header_bytes;
    ps_pairs_init (&self->query, false, entry + room->header_entries, room->query_entries, cursor,
                   room->query_bytes);
    cursor += room->query_bytes;
    ps_pairs_init (&self->trailers, true, NULL, 0, NULL, 0);
    cursor[0] = 0;
    self->path = cursor;
    cursor += room->path_room + 1;
    memcpy (cursor, method, method_size);
    cursor[method_size] = 0;
    self->method = cursor;
    cursor += method_size + 1;
    memcpy (cursor, target, target_size);
    cursor[target_size] = 0;
    self->target = cursor;
    self->target_size = target_size;
    self->body = NULL;
    self->body_size = 0;
    self->keep_alive = self->expect_continue = false;
    self->next = NULL;
    self->client[0] = 0;
    return self;
}

//  ---------------------------------------------------------------------
//  Private constructors (ps_http_private.h)

void
ps_http_fields_append (ps_pairs_t *pairs, const char *base, const ps_http_field_t *fields,
                       size_t count)
{
    assert (pairs && (base || count == 0));
    for (size_t index = 0; index < count; index++) {
        const char *value = base + fields[index].value_offset;
        size_t size = fields[index].value_size;
        while (size > 0 && (value[size - 1] == ' ' || value[size - 1] == '\t'))
            size--;
        ps_pairs_append (pairs, base + fields[index].name_offset, fields[index].name_size, value,
                         size);
    }
}

ps_http_request_t *
ps_http_request_new_parsed (const char *method, const char *target, size_t target_size, int version,
                            const char *base, const ps_http_field_t *fields, size_t field_count,
                            int *status, const char **reason)
{
    assert (method && target && status && reason);
    *status = 400;
    //  A fragment is not sent to the server (RFC 9110 4.2.5): dropped
    const char *hash = (const char *) memchr (target, '#', target_size);
    if (hash)
        target_size = (size_t) (hash - target);
    assert (base || field_count == 0);
    assert (version == 10 || version == 11);
    const char *end = target + target_size;
    const char *mark = (const char *) memchr (target, '?', target_size);
    //  Room for the fields as they are, and for the query split on '&'
    //  (a decoded pair is no longer than its segment, plus two NULs)
    s_room_t room = {field_count, 0, 0, 0, target_size};
    for (size_t index = 0; index < field_count; index++)
        room.header_bytes += fields[index].name_size + fields[index].value_size + 2;
    if (mark) {
        for (const char *amp = mark; amp; amp = (const char *) memchr (amp + 1, '&', end - amp - 1))
            room.query_entries++;
        room.query_bytes = (size_t) (end - mark) + 2 * room.query_entries;
    }
    ps_http_request_t *self = s_new (method, strlen (method), target, target_size, &room);
    self->version = version;
    ps_http_fields_append (&self->headers, base, fields, field_count);
    //  RFC 9112 3.2: one Host in 1.1, at most one in 1.0, and a server MUST
    //  refuse an invalid one (caches and virtual hosts key on it)
    size_t hosts = 0;
    const char *host = NULL;
    for (size_t index = 0; index < field_count; index++)
        if (fields[index].name_size == 4
            && strncasecmp (base + fields[index].name_offset, "host", 4) == 0) {
            hosts++;
            host = self->headers.entries[index].value;
        }
    if (hosts > 1 || (version == 11 && hosts == 0)) {
        *reason = "HTTP/1.1 needs exactly one Host";
        goto bad;
    }
    if (host && !s_host_valid (host)) {
        *reason = "invalid Host";
        goto bad;
    }
    if ((*reason = s_check_transfer_encoding (self, status)))
        goto bad;

    //  Which bytes of the target are the path, which the query
    const char *path_end = mark ? mark : end;
    const char *path_start = NULL;
    if (target_size > 0 && target[0] == '/')
        path_start = target;  //  origin-form, the usual case
    else if (target_size == 1 && target[0] == '*' && strcmp (method, "OPTIONS") == 0)
        path_start = target;  //  asterisk-form, for OPTIONS only (RFC 9112 3.2.4)
    else {
        //  absolute-form: scheme "://" authority [path]
        const char *scheme_end = NULL;
        for (const char *cursor = target; cursor + 2 < path_end; cursor++)
            if (cursor[0] == ':' && cursor[1] == '/' && cursor[2] == '/') {
                scheme_end = cursor;
                break;
            }
        if (!scheme_end || scheme_end == target) {
            *reason = "unsupported request-target form";
            goto bad;
        }
        const char *authority = scheme_end + 3;
        const char *slash = (const char *) memchr (authority, '/', path_end - authority);
        path_start = slash ? slash : path_end;
    }
    char *path = (char *) self->path;
    if (path_start == path_end)
        strcpy (path, "/");
    else {
        ssize_t path_size = s_decode (path_start, path_end - path_start, path, false);
        if (path_size < 0) {
            *reason = "bad percent-encoding in the path";
            goto bad;
        }
        path[path_size] = 0;
    }
    if (mark && s_split_query (&self->query, mark + 1, end - mark - 1) == -1) {
        *reason = "bad percent-encoding in the query";
        goto bad;
    }
    s_derive (self);
    return self;

bad:
    ps_http_request_destroy (&self);
    return NULL;
}

//  ---------------------------------------------------------------------
//  Public API

void
ps_http_request_destroy (ps_http_request_t **self_p)
{
    assert (self_p);
    ps_http_request_t *self = *self_p;
    if (!self)
        return;
    ps_pairs_fini (&self->query);
    ps_pairs_fini (&self->headers);
    ps_pairs_fini (&self->trailers);
    free (self->body);
    free (self);  //  strings and lent room live in the same allocation
    *self_p = NULL;
}

const char *
ps_http_request_method (const ps_http_request_t *self)
{
    assert (self);
    return self->method;
}

const char *
ps_http_request_target (const ps_http_request_t *self)
{
    assert (self);
    return self->target;
}

const char *
ps_http_request_path (const ps_http_request_t *self)
{
    assert (self);
    return self->path;
}

const ps_pairs_t *
ps_http_request_query (const ps_http_request_t *self)
{
    assert (self);
    return &self->query;
}

const ps_pairs_t *
ps_http_request_headers (const ps_http_request_t *self)
{
    assert (self);
    return &self->headers;
}

const ps_pairs_t *
ps_http_request_trailers (const ps_http_request_t *self)
{
    assert (self);
    return &self->trailers;
}

const char *
ps_http_request_body (const ps_http_request_t *self)
{
    assert (self);
    return self->body ? self->body : "";
}

size_t
ps_http_request_body_size (const ps_http_request_t *self)
{
    assert (self);
    return self->body_size;
}

int
ps_http_request_version (const ps_http_request_t *self)
{
    assert (self);
    return self->version;
}

bool
ps_http_request_keep_alive (const ps_http_request_t *self)
{
    assert (self);
    return self->keep_alive;
}

bool
ps_http_request_expect_continue (const ps_http_request_t *self)
{
    assert (self);
    return self->expect_continue;
}

//  A netstring whose payload is a pairs list, written in place; returns
//  the end of what it wrote.
static char *
s_put_pairs (char *out, const ps_pairs_t *pairs, size_t size)
{
    size_t total = ps_netstring_encoded_size (size);
    ps_netstring_write (out, NULL, size);
    size_t written = ps_pairs_write (pairs, out + total - size - 1);
    assert (written == size);
    (void) written;
    return out + total;
}

//  The sizes of the wire form's variable fields, measured once.
typedef struct {
    size_t method, path, client, query, headers, trailers;
    size_t total;
} s_sizes_t;

static void
s_measure (const ps_http_request_t *self, s_sizes_t *sizes)
{
    sizes->method = strlen (self->method);
    sizes->path = strlen (self->path);
    sizes->client = strlen (self->client);
    sizes->query = ps_pairs_encoded_size (&self->query);
    sizes->headers = ps_pairs_encoded_size (&self->headers);
    sizes->trailers = ps_pairs_encoded_size (&self->trailers);
    sizes->total = ps_netstring_encoded_size (sizes->method)
                   + ps_netstring_encoded_size (self->target_size)
                   + ps_netstring_encoded_size (sizes->path) + ps_netstring_encoded_size (2)
                   + ps_netstring_encoded_size (sizes->query)
                   + ps_netstring_encoded_size (sizes->headers)
                   + ps_netstring_encoded_size (self->body_size)
                   + ps_netstring_encoded_size (sizes->trailers)
                   + ps_netstring_encoded_size (sizes->client);
}

//  The wire form, sizes->total bytes, at start.
static void
s_write (const ps_http_request_t *self, const s_sizes_t *sizes, char *start)
{
    char *out = start;
    out += ps_netstring_write (out, self->method, sizes->method);
    out += ps_netstring_write (out, self->target, self->target_size);
    out += ps_netstring_write (out, self->path, sizes->path);
    out += ps_netstring_write (out, self->version == 10 ? "10" : "11", 2);
    out = s_put_pairs (out, &self->query, sizes->query);
    out = s_put_pairs (out, &self->headers, sizes->headers);
    out += ps_netstring_write (out, self->body, self->body_size);
    out = s_put_pairs (out, &self->trailers, sizes->trailers);
    out += ps_netstring_write (out, self->client, sizes->client);
    assert ((size_t) (out - start) == sizes->total);
}

size_t
ps_http_request_encode_into (const ps_http_request_t *self, char *out, size_t room)
{
    assert (self);
    assert (out || room == 0);
    s_sizes_t sizes;
    s_measure (self, &sizes);
    if (sizes.total <= room)
        s_write (self, &sizes, out);
    return sizes.total;
}

zmsg_t *
ps_http_request_encode (const ps_http_request_t *self)
{
    assert (self);
    //  Sized once, then written straight into the frame
    s_sizes_t sizes;
    s_measure (self, &sizes);
    zframe_t *frame = zframe_new (NULL, sizes.total);
    assert (frame);
    s_write (self, &sizes, (char *) zframe_data (frame));
    zmsg_t *msg = zmsg_new ();
    assert (msg);
    zmsg_append (msg, &frame);
    return msg;
}

//  The checks of the wire form, given its fields 1 to 8 (the client is
//  checked apart), then one allocation for the object, its strings and
//  the entries and string bytes of its query and headers; the trailers
//  grow on the heap; one more for a non-empty body.
static ps_http_request_t *
s_decode_fields (const void *const data[PS_HTTP_REQUEST_FIELDS],
                 const size_t size[PS_HTTP_REQUEST_FIELDS])
{
    assert (data && size);
    const char *method = (const char *) data[0];
    size_t method_size = size[0];
    if (method_size == 0)
        return NULL;
    for (size_t index = 0; index < method_size; index++)
        if (!(ps_http_char_class[(unsigned char) method[index]] & PS_HTTP_TCHAR))
            return NULL;
    const char *target = (const char *) data[1];
    size_t target_size = size[1];
    if (target_size == 0 || memchr (target, 0, target_size))
        return NULL;
    const char *path = (const char *) data[2];
    size_t path_size = size[2];
    if (path_size && memchr (path, 0, path_size))
        return NULL;
    const char *version = (const char *) data[3];
    if (size[3] != 2 || version[0] != '1' || (version[1] != '0' && version[1] != '1'))
        return NULL;

    //  Each pairs list's size bounds the bytes of its strings
    s_room_t room = {ps_pairs_count_encoded (data[5], size[5]), size[5],
                     ps_pairs_count_encoded (data[4], size[4]), size[4], path_size};
    ps_http_request_t *self = s_new (method, method_size, target, target_size, &room);
    if (path_size)
        memcpy ((char *) self->path, path, path_size);
    ((char *) self->path)[path_size] = 0;
    self->version = version[1] == '0' ? 10 : 11;
    if (ps_pairs_decode_into (&self->query, data[4], size[4]) == -1
        || ps_pairs_decode_into (&self->headers, data[5], size[5]) == -1
        || ps_pairs_decode_into (&self->trailers, data[7], size[7]) == -1) {
        ps_http_request_destroy (&self);
        return NULL;
    }
    size_t body_size = size[6];
    if (body_size) {
        self->body = (char *) malloc (body_size + 1);
        assert (self->body);
        memcpy (self->body, data[6], body_size);
        self->body[body_size] = 0;
        self->body_size = body_size;
    }
    s_derive (self);
    return self;
}

//  Field 9: an address in text (hex digits, '.' and ':'), or empty.
static bool
s_client_valid (const char *data, size_t size)
{
    if (size > PS_HTTP_CLIENT_MAX)
        return false;
    for (size_t index = 0; index < size; index++)
        if (!strchr ("0123456789abcdefABCDEF.:", data[index]) || data[index] == 0)
            return false;
    return true;
}

ps_http_request_t *
ps_http_request_decode_spans (const ps_span_t *frames, size_t count)
{
    assert (frames || count == 0);
    const void *data[PS_HTTP_REQUEST_FIELDS + 1];
    size_t size[PS_HTTP_REQUEST_FIELDS + 1];
    if (count == 1) {
        //  The nine netstrings of one frame, and nothing after them
        const char *cursor = (const char *) frames[0].data;
        size_t left = frames[0].size;
        for (int index = 0; index <= PS_HTTP_REQUEST_FIELDS; index++) {
            const char *payload;
            ssize_t used = ps_netstring_parse (cursor, left, left, &payload, &size[index], NULL);
            if (used < 0)
                return NULL;
            data[index] = payload;
            cursor += used;
            left -= (size_t) used;
        }
        if (left)
            return NULL;
    }
    else if (count == PS_HTTP_REQUEST_FIELDS || count == PS_HTTP_REQUEST_FIELDS + 1) {
        //  The earlier form: a frame per field, the client's when known
        for (size_t index = 0; index < count; index++) {
            data[index] = frames[index].data;
            size[index] = frames[index].size;
        }
        if (count == PS_HTTP_REQUEST_FIELDS) {
            data[PS_HTTP_REQUEST_FIELDS] = "";
            size[PS_HTTP_REQUEST_FIELDS] = 0;
        }
    }
    else
        return NULL;
    const char *client = (const char *) data[PS_HTTP_REQUEST_FIELDS];
    size_t client_size = size[PS_HTTP_REQUEST_FIELDS];
    if (!s_client_valid (client, client_size))
        return NULL;
    ps_http_request_t *self = s_decode_fields (data, size);
    if (self) {
        //  s_client_valid bounds it by PS_HTTP_CLIENT_MAX
        memcpy (self->client, client, client_size);
        self->client[client_size] = 0;
    }
    return self;
}

ps_http_request_t *
ps_http_request_decode (zmsg_t *msg)
{
    if (!msg)
        return NULL;
    size_t count = zmsg_size (msg);
    ps_span_t frames[PS_HTTP_REQUEST_FIELDS + 1];
    if (count > PS_HTTP_REQUEST_FIELDS + 1)
        return NULL;
    size_t index = 0;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg))
        frames[index++] = (ps_span_t){zframe_data (frame), zframe_size (frame)};
    return ps_http_request_decode_spans (frames, count);
}

void
ps_http_request_set_client (ps_http_request_t *self, const char *address)
{
    assert (self);
    snprintf (self->client, sizeof self->client, "%s", address ? address : "");
}

const char *
ps_http_request_client (const ps_http_request_t *self)
{
    assert (self);
    return self->client;
}
