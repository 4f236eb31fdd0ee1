/*  echo_stage: describe the request a worker received as JSON.

    The JSON writer works on raw bytes: a request's path, query, headers and
    body are whatever the client sent (the library only guarantees no NUL in
    strings other than the body), so escaping must hold for any byte
    sequence and the output must always parse.
*/
#include "echo_stage.h"

#include <string.h>

//  zchunk_extend grows the chunk geometrically, so appending a byte at a
//  time is amortised constant.
static void
s_put (zchunk_t *out, const void *data, size_t size)
{
    zchunk_extend (out, data, size);
}

#define S_PUT_LIT(out, text) s_put ((out), (text), sizeof (text) - 1)

//  Length of the valid UTF-8 sequence at p (1 to 4), or 0 if the bytes
//  there are not one: overlong forms, surrogates and code points above
//  U+10FFFF are invalid (RFC 3629).
static size_t
s_utf8_length (const unsigned char *p, size_t size)
{
    unsigned char c = p[0];
    size_t length;
    unsigned char low = 0x80, high = 0xBF;  //  range of the second byte
    if (c >= 0xC2 && c <= 0xDF)
        length = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        if (c == 0xE0)
            low = 0xA0;  //  overlong
        else if (c == 0xED)
            high = 0x9F;  //  surrogates
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        if (c == 0xF0)
            low = 0x90;  //  overlong
        else if (c == 0xF4)
            high = 0x8F;  //  above U+10FFFF
    }
    else
        return 0;
    if (size < length || p[1] < low || p[1] > high)
        return 0;
    for (size_t i = 2; i < length; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return length;
}

void
echo_json_string (zchunk_t *out, const void *data, size_t size)
{
    assert (out);
    assert (data || size == 0);
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *) data;
    s_put (out, "\"", 1);
    size_t i = 0;
    while (i < size) {
        //  The longest run of bytes that need no escape goes in one copy
        size_t run = i;
        while (run < size && p[run] >= 0x20 && p[run] < 0x7F && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            s_put (out, p + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        size_t length = c >= 0x80 ? s_utf8_length (p + i, size - i) : 0;
        if (length) {
            s_put (out, p + i, length);
            i += length;
            continue;
        }
        if (c == '"')
            S_PUT_LIT (out, "\\\"");
        else if (c == '\\')
            S_PUT_LIT (out, "\\\\");
        else if (c == '\n')
            S_PUT_LIT (out, "\\n");
        else if (c == '\r')
            S_PUT_LIT (out, "\\r");
        else if (c == '\t')
            S_PUT_LIT (out, "\\t");
        else {
            //  Other control bytes, DEL, and bytes outside valid UTF-8
            char escape[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            s_put (out, escape, sizeof escape);
        }
        i++;
    }
    s_put (out, "\"", 1);
}

static void
s_json_cstring (zchunk_t *out, const char *text)
{
    echo_json_string (out, text, strlen (text));
}

static void
s_json_pairs (zchunk_t *out, const ps_pairs_t *pairs)
{
    s_put (out, "[", 1);
    size_t count = pairs ? ps_pairs_size (pairs) : 0;
    for (size_t i = 0; i < count; i++) {
        if (i)
            s_put (out, ",", 1);
        s_put (out, "[", 1);
        s_json_cstring (out, ps_pairs_name (pairs, i));
        s_put (out, ",", 1);
        s_json_cstring (out, ps_pairs_value (pairs, i));
        s_put (out, "]", 1);
    }
    s_put (out, "]", 1);
}

zchunk_t *
echo_describe_request (const ps_http_request_t *request)
{
    assert (request);
    zchunk_t *out = zchunk_new (NULL, 256 + ps_http_request_body_size (request));
    assert (out);
    S_PUT_LIT (out, "{\"method\":");
    s_json_cstring (out, ps_http_request_method (request));
    S_PUT_LIT (out, ",\"target\":");
    s_json_cstring (out, ps_http_request_target (request));
    S_PUT_LIT (out, ",\"path\":");
    s_json_cstring (out, ps_http_request_path (request));
    S_PUT_LIT (out, ",\"version\":");
    S_PUT_LIT (out, "\"");
    int version = ps_http_request_version (request);
    char digits[8];
    int size = snprintf (digits, sizeof digits, "%d.%d", version / 10, version % 10);
    s_put (out, digits, (size_t) size);
    S_PUT_LIT (out, "\",\"query\":");
    s_json_pairs (out, ps_http_request_query (request));
    S_PUT_LIT (out, ",\"headers\":");
    s_json_pairs (out, ps_http_request_headers (request));
    S_PUT_LIT (out, ",\"body\":");
    echo_json_string (out, ps_http_request_body (request), ps_http_request_body_size (request));
    S_PUT_LIT (out, ",\"trailers\":");
    s_json_pairs (out, ps_http_request_trailers (request));
    S_PUT_LIT (out, ",\"client\":");
    s_json_cstring (out, ps_http_request_client (request));
    S_PUT_LIT (out, "}");
    return out;
}

zchunk_t *
echo_describe_frames (ps_kind_t kind, zmsg_t *frames)
{
    zchunk_t *out = zchunk_new (NULL, 256);
    assert (out);
    S_PUT_LIT (out, "{\"kind\":");
    if (kind == PS_KIND_NETSTRING)
        S_PUT_LIT (out, "\"netstring\"");
    else if (kind == PS_KIND_STAGE)
        S_PUT_LIT (out, "\"stage\"");
    else
        S_PUT_LIT (out, "\"http\"");
    S_PUT_LIT (out, ",\"frames\":[");
    bool first = true;
    for (zframe_t *frame = frames ? zmsg_first (frames) : NULL; frame; frame = zmsg_next (frames)) {
        if (!first)
            s_put (out, ",", 1);
        first = false;
        echo_json_string (out, zframe_data (frame), zframe_size (frame));
    }
    S_PUT_LIT (out, "]}");
    return out;
}

int
echo_stage_work (ps_work_t *work, void *arg)
{
    (void) arg;
    zchunk_t *description;
    if (ps_work_kind (work) == PS_KIND_HTTP) {
        const ps_http_request_t *request = ps_work_request (work);
        if (!request)
            return -1;  //  malformed payload: the worker answers 500
        description = echo_describe_request (request);
    }
    else
        description = echo_describe_frames (ps_work_kind (work), ps_work_payload (work));
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "Content-Type", "application/json");
    int rc = ps_work_reply (work, 200, &headers, zchunk_data (description),
                            zchunk_size (description));
    zchunk_destroy (&description);
    return rc;
}
