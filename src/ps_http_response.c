/*  ps_http_response: writing HTTP/1.x responses (the server's side).

    A response is serialised in two passes over the same decisions: the first
    adds up its exact size, the second writes into one zchunk of that size, so
    a response costs one allocation whatever its header count. The Date value
    is formatted at most once a second per thread (a thread-local cache), so
    the server's threads never share or lock it.

    Framing and persistence belong to the server: Content-Length, Connection
    and the body rules (none for HEAD, 1xx, 204, 304) are decided here from the
    arguments. User headers cannot break them: a user Content-Length (any
    case) replaces ours, user Connection and Transfer-Encoding are dropped, and
    a header with a bad name or with CR, LF or another control byte in its
    value is dropped with a warning, so a worker can never split a response.
*/
#include "prime_server/prime_server.h"
#include "ps_http_private.h"

#include <string.h>
#include <strings.h>
#include <time.h>

const char *
ps_http_status_reason (int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 102:
        return "Processing";
    case 103:
        return "Early Hints";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 203:
        return "Non-Authoritative Information";
    case 204:
        return "No Content";
    case 205:
        return "Reset Content";
    case 206:
        return "Partial Content";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 305:
        return "Use Proxy";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 451:
        return "Unavailable For Legal Reasons";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 511:
        return "Network Authentication Required";
    default:
        return "Unknown";
    }
}

//  ---------------------------------------------------------------------
//  Date

#define S_DATE_SIZE 29  //  "Sun, 06 Nov 1994 08:49:37 GMT"

static void
s_two_digits (char *p, int value)
{
    p[0] = (char) ('0' + value / 10);
    p[1] = (char) ('0' + value % 10);
}

//  IMF-fixdate by hand: strftime would follow the locale
static void
s_format_date (char *buf, time_t now)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r (&now, &tm);
    int year = tm.tm_year + 1900;
    memcpy (buf, days[tm.tm_wday], 3);
    buf[3] = ',';
    buf[4] = ' ';
    s_two_digits (buf + 5, tm.tm_mday);
    buf[7] = ' ';
    memcpy (buf + 8, months[tm.tm_mon], 3);
    buf[11] = ' ';
    s_two_digits (buf + 12, (year / 100) % 100);
    s_two_digits (buf + 14, year % 100);
    buf[16] = ' ';
    s_two_digits (buf + 17, tm.tm_hour);
    buf[19] = ':';
    s_two_digits (buf + 20, tm.tm_min);
    buf[22] = ':';
    s_two_digits (buf + 23, tm.tm_sec);
    memcpy (buf + 25, " GMT", 4);
    buf[S_DATE_SIZE] = 0;
}

void
ps_http_date (char *buf)
{
    assert (buf);
    //  One cache per thread: no lock, no torn read between server threads
    static _Thread_local time_t cached_at = (time_t) -1;
    static _Thread_local char cached[S_DATE_SIZE + 1];
    time_t now = time (NULL);
    if (now != cached_at) {
        s_format_date (cached, now);
        cached_at = now;
    }
    memcpy (buf, cached, S_DATE_SIZE + 1);
}

//  ---------------------------------------------------------------------
//  Responses

//  What happens to one user header
typedef enum { S_KEEP, S_DROP, S_CONTENT_LENGTH, S_DATE } s_header_use_t;

//  tchar of RFC 9110 5.6.2: one load from the request side's table (the
//  strchr over the specials it replaces was most of a reply's header check)
static bool
s_is_tchar (unsigned char ch)
{
    return (ps_http_char_class[ch] & PS_HTTP_TCHAR) != 0;
}

static s_header_use_t
s_header_use (const char *name, const char *value, int status, size_t *name_size,
              size_t *value_size, bool warn)
{
    const unsigned char *p = (const unsigned char *) name;
    while (*p && s_is_tchar (*p))
        p++;
    *name_size = (size_t) ((const char *) p - name);
    if (*p || *name_size == 0) {
        if (warn)
            zsys_warning ("ps_http: dropped a response header with a bad name");
        return S_DROP;
    }
    //  field-value: visible bytes, SP, HTAB and obs-text; never CR or LF
    p = (const unsigned char *) value;
    while (*p && (*p >= 0x20 || *p == '\t') && *p != 0x7f)
        p++;
    *value_size = (size_t) ((const char *) p - value);
    if (*p) {
        if (warn)
            zsys_warning ("ps_http: dropped response header '%s': control byte in its value", name);
        return S_DROP;
    }
    switch (*name_size) {
    case 4:
        if (strcasecmp (name, "date") == 0)
            return S_DATE;
        break;
    case 10:
        if (strcasecmp (name, "connection") == 0)
            return S_DROP;
        break;
    case 14:
        if (strcasecmp (name, "content-length") == 0)
            //  RFC 9110 8.6: never in a 1xx or 204
            return (status < 200 || status == 204) ? S_DROP : S_CONTENT_LENGTH;
        break;
    case 17:
        if (strcasecmp (name, "transfer-encoding") == 0)
            return S_DROP;
        break;
    default:
        break;
    }
    return S_KEEP;
}

static size_t
s_uint_size (size_t value)
{
    size_t digits = 1;
    while (value >= 10) {
        value /= 10;
        digits++;
    }
    return digits;
}

static char *
s_write_uint (char *p, size_t value, size_t digits)
{
    for (size_t i = digits; i > 0; i--) {
        p[i - 1] = (char) ('0' + value % 10);
        value /= 10;
    }
    return p + digits;
}

static char *
s_write (char *p, const void *data, size_t size)
{
    memcpy (p, data, size);
    return p + size;
}

#define S_LIT(p, text) s_write ((p), (text), sizeof (text) - 1)

//  The one formatter. extra_name/extra_value: one more header of ours (the
//  canned errors' Content-Type), written before the user headers.
//  How the body of a response is framed: given whole, or announced only
//  (streamed answers, ps_http_response_format_stream).
typedef enum {
    S_FRAME_BODY = 0,  //  the body is here; Content-Length is its size
    S_FRAME_LENGTH,    //  Content-Length is body_size; the body follows later
    S_FRAME_CHUNKED,   //  Transfer-Encoding: chunked; the body follows later
    S_FRAME_CLOSE      //  neither: the body (if any) ends when the connection does
} s_frame_t;

static zchunk_t *
s_format (int version, int status, const ps_pairs_t *headers, const char *extra_name,
          const char *extra_value, const void *body, size_t body_size, bool head, bool keep_alive,
          s_frame_t frame)
{
    assert (body || body_size == 0 || frame == S_FRAME_LENGTH);
    if (status < 100 || status > 999) {
        //  The status may come from a worker in another process
        zsys_warning ("ps_http: invalid response status %d, sending 500", status);
        status = 500;
        headers = NULL;
        body = NULL;
        body_size = 0;
        extra_name = NULL;
    }
    bool interim = status < 200;
    //  Interim responses are only a status line and the user's headers: they
    //  neither frame a body nor decide persistence.
    bool send_body = !(head || interim || status == 204 || status == 304);
    bool our_length = !(interim || status == 204 || (status == 304 && body_size == 0));
    //  A streamed body is announced by the server alone
    bool framed_by_us = frame == S_FRAME_CHUNKED || frame == S_FRAME_CLOSE;
    if (framed_by_us)
        our_length = false;
    if (frame != S_FRAME_BODY)
        send_body = false;
    if (frame == S_FRAME_CHUNKED && !interim && status != 204 && status != 304) {
        extra_name = "Transfer-Encoding";
        extra_value = "chunked";
    }
    bool our_date = !interim;
    const char *connection = NULL;
    if (!interim) {
        if (!keep_alive)
            connection = "Connection: close\r\n";
        else if (version == 10)
            connection = "Connection: keep-alive\r\n";
    }
    const char *reason = ps_http_status_reason (status);
    size_t reason_size = strlen (reason);
    size_t count = headers ? ps_pairs_size (headers) : 0;

    //  Pass 1: decisions and size
    size_t size = 9 + 3 + 1 + reason_size + 2;  //  "HTTP/1.1 200 OK\r\n"
    for (size_t i = 0; i < count; i++) {
        size_t name_size, value_size;
        s_header_use_t use = s_header_use (ps_pairs_name (headers, i), ps_pairs_value (headers, i),
                                           status, &name_size, &value_size, true);
        if (use == S_DROP || (use == S_CONTENT_LENGTH && frame != S_FRAME_BODY))
            continue;
        if (use == S_CONTENT_LENGTH)
            our_length = false;
        if (use == S_DATE)
            our_date = false;
        size += name_size + 2 + value_size + 2;
    }
    char date[S_DATE_SIZE + 1];
    if (our_date) {
        ps_http_date (date);
        size += 6 + S_DATE_SIZE + 2;
    }
    size_t length_digits = s_uint_size (body_size);
    if (our_length)
        size += 16 + length_digits + 2;
    size_t connection_size = connection ? strlen (connection) : 0;
    size += connection_size;
    size_t extra_name_size = 0, extra_value_size = 0;
    if (extra_name) {
        extra_name_size = strlen (extra_name);
        extra_value_size = strlen (extra_value);
        size += extra_name_size + 2 + extra_value_size + 2;
    }
    size += 2;
    if (send_body)
        size += body_size;

    //  Pass 2: write
    zchunk_t *chunk = zchunk_new (NULL, size);
    assert (chunk);
    char *start = (char *) zchunk_data (chunk);
    char *p = start;
    p = version == 10 ? S_LIT (p, "HTTP/1.0 ") : S_LIT (p, "HTTP/1.1 ");
    p = s_write_uint (p, (size_t) status, 3);
    *p++ = ' ';
    p = s_write (p, reason, reason_size);
    p = S_LIT (p, "\r\n");
    if (our_date) {
        p = S_LIT (p, "Date: ");
        p = s_write (p, date, S_DATE_SIZE);
        p = S_LIT (p, "\r\n");
    }
    if (our_length) {
        p = S_LIT (p, "Content-Length: ");
        p = s_write_uint (p, body_size, length_digits);
        p = S_LIT (p, "\r\n");
    }
    if (connection)
        p = s_write (p, connection, connection_size);
    if (extra_name) {
        p = s_write (p, extra_name, extra_name_size);
        p = S_LIT (p, ": ");
        p = s_write (p, extra_value, extra_value_size);
        p = S_LIT (p, "\r\n");
    }
    for (size_t i = 0; i < count; i++) {
        const char *name = ps_pairs_name (headers, i);
        const char *value = ps_pairs_value (headers, i);
        size_t name_size, value_size;
        //  Same decision as in pass 1, quietly this time
        s_header_use_t use = s_header_use (name, value, status, &name_size, &value_size, false);
        if (use == S_DROP || (use == S_CONTENT_LENGTH && frame != S_FRAME_BODY))
            continue;
        p = s_write (p, name, name_size);
        p = S_LIT (p, ": ");
        p = s_write (p, value, value_size);
        p = S_LIT (p, "\r\n");
    }
    p = S_LIT (p, "\r\n");
    if (send_body && body_size)
        p = s_write (p, body, body_size);
    assert ((size_t) (p - start) == size);
    zchunk_set (chunk, NULL, size);
    return chunk;
}

zchunk_t *
ps_http_response_format (int version, int status, const ps_pairs_t *headers, const void *body,
                         size_t body_size, bool head, bool keep_alive)
{
    return s_format (version, status, headers, NULL, NULL, body, body_size, head, keep_alive,
                     S_FRAME_BODY);
}

zchunk_t *
ps_http_response_format_stream (int version, int status, const ps_pairs_t *headers, int64_t length,
                                bool chunked, bool head, bool keep_alive)
{
    s_frame_t frame = length >= 0 ? S_FRAME_LENGTH : chunked ? S_FRAME_CHUNKED : S_FRAME_CLOSE;
    return s_format (version, status, headers, NULL, NULL, NULL, length >= 0 ? (size_t) length : 0,
                     head, keep_alive, frame);
}

zchunk_t *
ps_http_response_error (int version, int status, const char *detail, bool keep_alive)
{
    char body[512];
    int size;
    if (detail)
        size = snprintf (body, sizeof body, "%d %s: %s\n", status, ps_http_status_reason (status),
                         detail);
    else
        size = snprintf (body, sizeof body, "%d %s\n", status, ps_http_status_reason (status));
    assert (size > 0);
    if ((size_t) size >= sizeof body) {
        //  A detail too long for the buffer is cut, keeping the final newline
        size = (int) sizeof body - 1;
        body[size - 1] = '\n';
    }
    return s_format (version, status, NULL, "Content-Type", "text/plain; charset=utf-8", body,
                     (size_t) size, false, keep_alive, S_FRAME_BODY);
}
