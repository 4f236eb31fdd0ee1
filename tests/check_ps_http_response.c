/*  check_ps_http_response: response writing (pinned byte for byte, with the
    Date value checked by a small parser and then replaced by a placeholder)
    and the client-side response parser (every case fed whole, byte by byte
    and at seeded random split points, with the same result each time).
*/
#include "testutil.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  ---------------------------------------------------------------------
//  Date

static int
s_digits (const char *p, int count)
{
    int value = 0;
    for (int i = 0; i < count; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        value = value * 10 + (p[i] - '0');
    }
    return value;
}

static int
s_index_of (const char *list, const char *word)
{
    for (int i = 0; list[i * 3]; i++)
        if (memcmp (list + i * 3, word, 3) == 0)
            return i;
    return -1;
}

//  Parse an IMF-fixdate strictly; returns its time or -1
static time_t
s_parse_date (const char *date)
{
    if (strlen (date) != 29)
        return -1;
    int wday = s_index_of ("SunMonTueWedThuFriSat", date);
    int mon = s_index_of ("JanFebMarAprMayJunJulAugSepOctNovDec", date + 8);
    if (wday < 0 || mon < 0 || memcmp (date + 3, ", ", 2) || date[7] != ' ' || date[11] != ' '
        || date[16] != ' ' || date[19] != ':' || date[22] != ':' || memcmp (date + 25, " GMT", 4))
        return -1;
    struct tm tm = {0};
    tm.tm_mday = s_digits (date + 5, 2);
    tm.tm_mon = mon;
    tm.tm_year = s_digits (date + 12, 4) - 1900;
    tm.tm_hour = s_digits (date + 17, 2);
    tm.tm_min = s_digits (date + 20, 2);
    tm.tm_sec = s_digits (date + 23, 2);
    if (tm.tm_mday < 1 || tm.tm_year < 0 || tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
        return -1;
    time_t when = timegm (&tm);
    //  The weekday must match the date
    struct tm check;
    gmtime_r (&when, &check);
    if (check.tm_wday != wday || check.tm_mday != tm.tm_mday)
        return -1;
    return when;
}

START_TEST (test_date)
{
    char date[30];
    time_t before = time (NULL);
    ps_http_date (date);
    time_t after = time (NULL);
    time_t when = s_parse_date (date);
    ck_assert_msg (when != -1, "bad date '%s'", date);
    ck_assert (when >= before && when <= after);
    ck_assert_int_eq (s_parse_date ("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    ck_assert_int_eq (s_parse_date ("Mon, 06 Nov 1994 08:49:37 GMT"), -1);
}
END_TEST

//  Each thread has its own cache; hammer it from two threads at once
static void
s_date_task (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_signal (pipe, 0);
    int bad = 0;
    char date[30];
    for (int i = 0; i < 200000; i++) {
        ps_http_date (date);
        if (date[29] != 0 || memcmp (date + 25, " GMT", 4) != 0)
            bad++;
    }
    ps_http_date (date);
    if (s_parse_date (date) == -1)
        bad++;
    zsock_send (pipe, "i", bad);
    //  Wait for $TERM
    char *command = zstr_recv (pipe);
    zstr_free (&command);
}

START_TEST (test_date_threads)
{
    zactor_t *one = zactor_new (s_date_task, NULL);
    zactor_t *two = zactor_new (s_date_task, NULL);
    int bad_one = -1, bad_two = -1;
    zsock_set_rcvtimeo (zactor_sock (one), 30000);
    zsock_set_rcvtimeo (zactor_sock (two), 30000);
    ck_assert_int_eq (zsock_recv (one, "i", &bad_one), 0);
    ck_assert_int_eq (zsock_recv (two, "i", &bad_two), 0);
    ck_assert_int_eq (bad_one, 0);
    ck_assert_int_eq (bad_two, 0);
    zactor_destroy (&one);
    zactor_destroy (&two);
}
END_TEST

//  ---------------------------------------------------------------------
//  Reason phrases

START_TEST (test_reasons)
{
    static const struct {
        int status;
        const char *reason;
    } table[] = {{100, "Continue"},
                 {101, "Switching Protocols"},
                 {200, "OK"},
                 {201, "Created"},
                 {202, "Accepted"},
                 {203, "Non-Authoritative Information"},
                 {204, "No Content"},
                 {205, "Reset Content"},
                 {206, "Partial Content"},
                 {300, "Multiple Choices"},
                 {301, "Moved Permanently"},
                 {302, "Found"},
                 {303, "See Other"},
                 {304, "Not Modified"},
                 {305, "Use Proxy"},
                 {307, "Temporary Redirect"},
                 {308, "Permanent Redirect"},
                 {400, "Bad Request"},
                 {401, "Unauthorized"},
                 {402, "Payment Required"},
                 {403, "Forbidden"},
                 {404, "Not Found"},
                 {405, "Method Not Allowed"},
                 {406, "Not Acceptable"},
                 {407, "Proxy Authentication Required"},
                 {408, "Request Timeout"},
                 {409, "Conflict"},
                 {410, "Gone"},
                 {411, "Length Required"},
                 {412, "Precondition Failed"},
                 {413, "Content Too Large"},
                 {414, "URI Too Long"},
                 {415, "Unsupported Media Type"},
                 {416, "Range Not Satisfiable"},
                 {417, "Expectation Failed"},
                 {421, "Misdirected Request"},
                 {422, "Unprocessable Content"},
                 {426, "Upgrade Required"},
                 {429, "Too Many Requests"},
                 {431, "Request Header Fields Too Large"},
                 {500, "Internal Server Error"},
                 {501, "Not Implemented"},
                 {502, "Bad Gateway"},
                 {503, "Service Unavailable"},
                 {504, "Gateway Timeout"},
                 {505, "HTTP Version Not Supported"},
                 {299, "Unknown"},
                 {0, "Unknown"},
                 {-1, "Unknown"},
                 {1000, "Unknown"}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        ck_assert_str_eq (ps_http_status_reason (table[i].status), table[i].reason);
}
END_TEST

//  ---------------------------------------------------------------------
//  Response writing

//  The chunk as a string with the Date value checked and replaced by <date>
static char *
s_render (zchunk_t **chunk_p)
{
    zchunk_t *chunk = *chunk_p;
    size_t size = zchunk_size (chunk);
    char *text = (char *) malloc (size + 1);
    memcpy (text, zchunk_data (chunk), size);
    text[size] = 0;
    zchunk_destroy (chunk_p);
    char *date = strstr (text, "\r\nDate: ");
    if (date) {
        date += 8;
        char value[30];
        ck_assert_uint_ge (strlen (date), 31);
        memcpy (value, date, 29);
        value[29] = 0;
        ck_assert_msg (s_parse_date (value) != -1, "bad date '%s'", value);
        ck_assert (memcmp (date + 29, "\r\n", 2) == 0);
        memcpy (date, "<date>", 6);
        memmove (date + 6, date + 29, strlen (date + 29) + 1);
    }
    return text;
}

#define ck_format(chunk_expr, expect)                                                              \
    do {                                                                                           \
        zchunk_t *chunk_ = (chunk_expr);                                                           \
        ck_assert_ptr_nonnull (chunk_);                                                            \
        char *text_ = s_render (&chunk_);                                                          \
        ck_assert_str_eq (text_, expect);                                                          \
        free (text_);                                                                              \
    } while (0)

START_TEST (test_format_basic)
{
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "Content-Type", "text/plain");
    ck_format (ps_http_response_format (11, 200, headers, "hello", 5, false, true),
               "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Length: 5\r\n"
               "Content-Type: text/plain\r\n\r\nhello");
    ck_format (ps_http_response_format (11, 200, headers, "hello", 5, false, false),
               "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Length: 5\r\nConnection: close\r\n"
               "Content-Type: text/plain\r\n\r\nhello");
    ck_format (ps_http_response_format (10, 200, headers, "hello", 5, false, true),
               "HTTP/1.0 200 OK\r\nDate: <date>\r\nContent-Length: 5\r\n"
               "Connection: keep-alive\r\nContent-Type: text/plain\r\n\r\nhello");
    ck_format (ps_http_response_format (10, 404, NULL, NULL, 0, false, false),
               "HTTP/1.0 404 Not Found\r\nDate: <date>\r\nContent-Length: 0\r\n"
               "Connection: close\r\n\r\n");
    ck_format (ps_http_response_format (11, 599, NULL, "x", 1, false, true),
               "HTTP/1.1 599 Unknown\r\nDate: <date>\r\nContent-Length: 1\r\n\r\nx");
    ps_pairs_destroy (&headers);
}
END_TEST

START_TEST (test_format_no_body)
{
    //  HEAD: the length of the body it would have had, and no body
    ck_format (ps_http_response_format (11, 200, NULL, "hello", 5, true, true),
               "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Length: 5\r\n\r\n");
    //  204: neither length nor body
    ck_format (ps_http_response_format (11, 204, NULL, "ignored", 7, false, true),
               "HTTP/1.1 204 No Content\r\nDate: <date>\r\n\r\n");
    //  304: no body; a length only for a body it stands for
    ck_format (ps_http_response_format (11, 304, NULL, NULL, 0, false, true),
               "HTTP/1.1 304 Not Modified\r\nDate: <date>\r\n\r\n");
    ck_format (ps_http_response_format (11, 304, NULL, "1234567", 7, false, false),
               "HTTP/1.1 304 Not Modified\r\nDate: <date>\r\nContent-Length: 7\r\n"
               "Connection: close\r\n\r\n");
    //  1xx: the status line and the user's headers only
    ck_format (ps_http_response_format (11, 100, NULL, NULL, 0, false, true),
               "HTTP/1.1 100 Continue\r\n\r\n");
    ck_format (ps_http_response_format (11, 100, NULL, "x", 1, false, false),
               "HTTP/1.1 100 Continue\r\n\r\n");
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "Link", "</style.css>; rel=preload");
    ps_pairs_add (headers, "Content-Length", "12");
    ck_format (ps_http_response_format (11, 103, headers, NULL, 0, false, true),
               "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
    ck_format (ps_http_response_format (11, 204, headers, NULL, 0, false, true),
               "HTTP/1.1 204 No Content\r\nDate: <date>\r\n"
               "Link: </style.css>; rel=preload\r\n\r\n");
    ps_pairs_destroy (&headers);
}
END_TEST

START_TEST (test_format_user_headers)
{
    //  A user content-length in any case replaces ours, in the user's place
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "X-First", "1");
    ps_pairs_add (headers, "content-LENGTH", "1234");
    ck_format (ps_http_response_format (11, 200, headers, NULL, 0, true, true),
               "HTTP/1.1 200 OK\r\nDate: <date>\r\nX-First: 1\r\ncontent-LENGTH: 1234\r\n\r\n");
    ps_pairs_destroy (&headers);

    //  Duplicates kept in order; Date replaced; Connection and
    //  Transfer-Encoding are the server's; bad names and values dropped
    headers = ps_pairs_new (true);
    ps_pairs_add (headers, "Set-Cookie", "a=1");
    ps_pairs_add (headers, "connection", "keep-alive");
    ps_pairs_add (headers, "Set-Cookie", "b=2");
    ps_pairs_add (headers, "Transfer-Encoding", "chunked");
    ps_pairs_add (headers, "Bad Name", "x");
    ps_pairs_add (headers, "", "x");
    ps_pairs_add (headers, "X-Split", "a\r\nInjected: 1");
    ps_pairs_add (headers, "X-Bell", "\a");
    ps_pairs_add (headers, "X-Tab", "a\tb");
    ps_pairs_add (headers, "X-Empty", "");
    ps_pairs_add (headers, "X-Utf8", "caf\xc3\xa9");
    ps_pairs_add (headers, "DATE", "Sun, 06 Nov 1994 08:49:37 GMT");
    ck_format (ps_http_response_format (11, 200, headers, "ok", 2, false, false),
               "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
               "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Tab: a\tb\r\nX-Empty: \r\n"
               "X-Utf8: caf\xc3\xa9\r\nDATE: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\nok");
    ps_pairs_destroy (&headers);
}
END_TEST

START_TEST (test_format_bad_status_and_big_body)
{
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "X-A", "1");
    ck_format (ps_http_response_format (11, 42, headers, "body", 4, false, true),
               "HTTP/1.1 500 Internal Server Error\r\nDate: <date>\r\nContent-Length: 0\r\n\r\n");
    ck_format (ps_http_response_format (11, 1000, NULL, NULL, 0, false, true),
               "HTTP/1.1 500 Internal Server Error\r\nDate: <date>\r\nContent-Length: 0\r\n\r\n");
    ps_pairs_destroy (&headers);

    size_t size = 1000000;
    char *body = (char *) malloc (size);
    memset (body, 'b', size);
    zchunk_t *chunk = ps_http_response_format (11, 200, NULL, body, size, false, true);
    const char *head = "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                       "Content-Length: 1000000\r\n\r\n";
    ck_assert_uint_eq (zchunk_size (chunk), strlen (head) + size);
    ck_assert (memcmp (zchunk_data (chunk) + strlen (head), body, size) == 0);
    ck_assert (
        memcmp (zchunk_data (chunk) + strlen (head) - 27, "Content-Length: 1000000\r\n\r\n", 27)
        == 0);
    zchunk_destroy (&chunk);
    free (body);
}
END_TEST

START_TEST (test_error_responses)
{
    ck_format (ps_http_response_error (11, 413, "request body over 10485760 bytes", false),
               "HTTP/1.1 413 Content Too Large\r\nDate: <date>\r\nContent-Length: 56\r\n"
               "Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
               "413 Content Too Large: request body over 10485760 bytes\n");
    ck_format (ps_http_response_error (10, 503, NULL, true),
               "HTTP/1.0 503 Service Unavailable\r\nDate: <date>\r\nContent-Length: 24\r\n"
               "Connection: keep-alive\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
               "503 Service Unavailable\n");
    ck_format (ps_http_response_error (11, 504, "", true),
               "HTTP/1.1 504 Gateway Timeout\r\nDate: <date>\r\nContent-Length: 22\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n\r\n504 Gateway Timeout: \n");
    //  A very long detail is cut but still ends the line
    char detail[2000];
    memset (detail, 'd', sizeof detail - 1);
    detail[sizeof detail - 1] = 0;
    zchunk_t *chunk = ps_http_response_error (11, 400, detail, false);
    char *text = s_render (&chunk);
    char *body = strstr (text, "\r\n\r\n") + 4;
    ck_assert (strncmp (body, "400 Bad Request: ddd", 20) == 0);
    ck_assert_uint_le (strlen (body), 512);
    ck_assert_int_eq (body[strlen (body) - 1], '\n');
    char length[64];
    snprintf (length, sizeof length, "Content-Length: %zu\r\n", strlen (body));
    ck_assert_ptr_nonnull (strstr (text, length));
    free (text);
}
END_TEST

//  ---------------------------------------------------------------------
//  Response parser

typedef struct {
    const char *input;
    size_t max_body;
    const char *heads;  //  announced requests in order: 'H' HEAD, 'G' other
    bool eof;           //  feed 0 bytes at the end
    const char *expect;
} rcase_t;

static void
s_rappend (char *out, size_t out_size, const char *text)
{
    size_t used = strlen (out);
    ck_assert_uint_lt (used + strlen (text), out_size);
    strcpy (out + used, text);
}

static void
s_rdrain (ps_http_response_parser_t *parser, char *out, size_t out_size)
{
    ps_http_response_t *response;
    while ((response = ps_http_response_parser_next (parser))) {
        char line[256];
        snprintf (line, sizeof line, "{%d %d %s ", ps_http_response_status (response),
                  ps_http_response_version (response),
                  ps_http_response_keep_alive (response) ? "ka" : "close");
        s_rappend (out, out_size, line);
        const ps_pairs_t *headers = ps_http_response_headers (response);
        for (size_t i = 0; i < ps_pairs_size (headers); i++) {
            snprintf (line, sizeof line, "[%s=%s]", ps_pairs_name (headers, i),
                      ps_pairs_value (headers, i));
            s_rappend (out, out_size, line);
        }
        s_rappend (out, out_size, " ");
        ck_assert_uint_eq (strlen (ps_http_response_body (response)),
                           ps_http_response_body_size (response));
        s_rappend (out, out_size, ps_http_response_body (response));
        s_rappend (out, out_size, "}");
        ps_http_response_destroy (&response);
        ck_assert_ptr_null (response);
    }
}

static void
s_rrun (const rcase_t *c, const size_t *cuts, size_t ncuts, char *out, size_t out_size)
{
    ps_http_response_parser_t *parser = ps_http_response_parser_new (c->max_body);
    for (const char *h = c->heads; *h; h++)
        if (*h == 'H' && h == c->heads && h[1] == 0)
            ps_http_response_parser_expect_head (parser);
        else
            ps_http_response_parser_expect (parser, *h == 'H');
    size_t size = strlen (c->input);
    out[0] = 0;
    int rc = 0;
    size_t start = 0;
    for (size_t i = 0; i <= ncuts && rc == 0; i++) {
        size_t stop = i < ncuts ? cuts[i] : size;
        //  An empty slice would mean "closed"; a socket never reads 0 bytes otherwise
        if (stop > start)
            rc = ps_http_response_parser_feed (parser, c->input + start, stop - start);
        s_rdrain (parser, out, out_size);
        start = stop;
    }
    if (rc == 0 && c->eof) {
        rc = ps_http_response_parser_feed (parser, "", 0);
        s_rdrain (parser, out, out_size);
    }
    if (rc) {
        ck_assert_int_eq (rc, -1);
        ck_assert_ptr_nonnull (ps_http_response_parser_error (parser));
        s_rappend (out, out_size, "!");
        s_rappend (out, out_size, ps_http_response_parser_error (parser));
        //  Stays failed
        ck_assert_int_eq (ps_http_response_parser_feed (parser, "HTTP/1.1 200 OK\r\n", 17), -1);
    }
    else {
        ck_assert_ptr_null (ps_http_response_parser_error (parser));
        if (ps_http_response_parser_partial (parser))
            s_rappend (out, out_size, "~");
    }
    ps_http_response_parser_destroy (&parser);
    ck_assert_ptr_null (parser);
}

#define OK200 "HTTP/1.1 200 OK\r\n"
#define BIG   (10 * 1024 * 1024)

static const rcase_t s_rcases[] = {
    {OK200 "Content-Length: 5\r\n\r\nhello", BIG, "", false,
     "{200 11 ka [Content-Length=5] hello}"},
    //  Pipelined: length, chunked, empty, in one stream
    {OK200 "Content-Length: 2\r\nX-A: 1\r\nx-a: 2\r\n\r\nab" OK200
           "Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhe\r\nl\r\n6\r\n world\r\n0\r\n\r\n" OK200
           "Content-Length: 0\r\n\r\n",
     BIG, "", false,
     "{200 11 ka [Content-Length=2][X-A=1][x-a=2] ab}"
     "{200 11 ka [Transfer-Encoding=chunked] he\r\nl world}"
     "{200 11 ka [Content-Length=0] }"},
    //  Trailers join the headers
    {OK200 "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n", BIG, "",
     false, "{200 11 ka [Transfer-Encoding=chunked][X-Trailer=t] abc}"},
    //  Delimited by the close
    {OK200 "Server: x\r\n\r\nuntil the end", BIG, "", true,
     "{200 11 close [Server=x] until the end}"},
    {OK200 "Server: x\r\n\r\nuntil the end", BIG, "", false, "~"},
    {"HTTP/1.0 200 OK\r\n\r\nold style", BIG, "", true, "{200 10 close  old style}"},
    //  Interim responses are dropped and take no announcement
    {"HTTP/1.1 100 Continue\r\n\r\n" OK200 "Content-Length: 2\r\n\r\nok", BIG, "G", false,
     "{200 11 ka [Content-Length=2] ok}"},
    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" OK200
     "Content-Length: 5\r\n\r\n" OK200 "Content-Length: 2\r\n\r\nok",
     BIG, "HG", false, "{200 11 ka [Content-Length=5] }{200 11 ka [Content-Length=2] ok}"},
    //  HEAD alone (expect_head) and among pipelined requests
    {OK200 "Content-Length: 5\r\n\r\n", BIG, "H", false, "{200 11 ka [Content-Length=5] }"},
    {OK200 "Content-Length: 2\r\n\r\nab" OK200 "Content-Length: 9\r\n\r\n" OK200
           "Transfer-Encoding: chunked\r\n\r\n" OK200 "Content-Length: 2\r\n\r\ncd",
     BIG, "GHHG", false,
     "{200 11 ka [Content-Length=2] ab}{200 11 ka [Content-Length=9] }"
     "{200 11 ka [Transfer-Encoding=chunked] }{200 11 ka [Content-Length=2] cd}"},
    //  HEAD answered without a length is still complete at once
    {OK200 "\r\n" OK200 "Content-Length: 1\r\n\r\nz", BIG, "HG", false,
     "{200 11 ka  }{200 11 ka [Content-Length=1] z}"},
    //  204 and 304 have no body whatever they say
    {"HTTP/1.1 204 No Content\r\n\r\n" OK200 "Content-Length: 1\r\n\r\nz", BIG, "", false,
     "{204 11 ka  }{200 11 ka [Content-Length=1] z}"},
    {"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n" OK200 "Content-Length: 1\r\n\r\nz",
     BIG, "", false, "{304 11 ka [Content-Length=10] }{200 11 ka [Content-Length=1] z}"},
    //  Persistence
    {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na", BIG, "", false,
     "{200 10 ka [Connection=keep-alive][Content-Length=1] a}"},
    {OK200 "Connection: close\r\nContent-Length: 1\r\n\r\na", BIG, "", true,
     "{200 11 close [Connection=close][Content-Length=1] a}"},
    //  Nothing may follow a response that closes
    {OK200 "Connection: close\r\nContent-Length: 1\r\n\r\na" OK200 "Content-Length: 1\r\n\r\nb",
     BIG, "", false,
     "{200 11 close [Connection=close][Content-Length=1] a}!data after a response that "
     "closes the connection"},
    //  Body limit: declared, chunked and close-delimited
    {OK200 "Content-Length: 10\r\n\r\n0123456789", 10, "", false,
     "{200 11 ka [Content-Length=10] 0123456789}"},
    {OK200 "Content-Length: 11\r\n\r\n", 10, "", false, "!response body over the limit"},
    {OK200 "Transfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n01234\r\n0\r\n\r\n", 10, "",
     false, "!response body over the limit"},
    {OK200 "\r\n0123456789A", 10, "", true, "!response body over the limit"},
    //  The peer closed too early
    {OK200 "Content-Length: 10\r\n\r\n01234", BIG, "", true, "!stream ended at an unexpected time"},
    {"HTTP/1.1 200 O", BIG, "", true, "!stream ended at an unexpected time"},
    {"", BIG, "", true, ""},
    //  Malformed
    {"HTTP/1.1 abc OK\r\n\r\n", BIG, "", false, "!Invalid response status"},
    {"XTTP/1.1 200 OK\r\n\r\n", BIG, "", false, "!Expected HTTP/"},
    {OK200 "Content-Length: x\r\n\r\n", BIG, "", false, "!Invalid character in Content-Length"},
    {OK200 "Transfer-Encoding: chunked\r\n\r\nzz\r\n", BIG, "", false,
     "!Invalid character in chunk size"},
    //  We never ask for an upgrade
    {"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", BIG,
     "", false, "!unexpected protocol upgrade"},
};
#define NRCASES (sizeof s_rcases / sizeof s_rcases[0])

START_TEST (test_parser_cases)
{
    const rcase_t *c = &s_rcases[_i];
    size_t size = strlen (c->input);
    char whole[2048], other[2048];
    s_rrun (c, NULL, 0, whole, sizeof whole);
    ck_assert_msg (strcmp (whole, c->expect) == 0, "case %d: got '%s'\nexpected '%s'", _i, whole,
                   c->expect);

    size_t *cuts = (size_t *) malloc ((size + 1) * sizeof (size_t));
    for (size_t i = 1; i < size; i++)
        cuts[i - 1] = i;
    s_rrun (c, cuts, size ? size - 1 : 0, other, sizeof other);
    ck_assert_msg (strcmp (other, whole) == 0, "case %d bytewise: '%s' vs '%s'", _i, other, whole);

    srand (4321 + (unsigned) _i);
    for (int round = 0; round < 100; round++) {
        size_t ncuts = size ? (size_t) rand () % 8 : 0;
        for (size_t i = 0; i < ncuts; i++)
            cuts[i] = (size_t) rand () % (size + 1);
        for (size_t i = 1; i < ncuts; i++)
            for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
                size_t t = cuts[j];
                cuts[j] = cuts[j - 1];
                cuts[j - 1] = t;
            }
        s_rrun (c, cuts, ncuts, other, sizeof other);
        ck_assert_msg (strcmp (other, whole) == 0, "case %d round %d: '%s' vs '%s'", _i, round,
                       other, whole);
    }
    free (cuts);
}
END_TEST

//  What the server writes, the client reads back
START_TEST (test_parser_reads_formatted)
{
    ps_http_response_parser_t *parser = ps_http_response_parser_new (1024);
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "Content-Type", "text/plain");
    zchunk_t *all = zchunk_new (NULL, 0);
    for (int i = 0; i < 100; i++) {
        char body[32];
        int size = snprintf (body, sizeof body, "body %d", i);
        bool head = i % 3 == 1;
        zchunk_t *chunk = ps_http_response_format (11, i % 5 == 4 ? 204 : 200, headers, body,
                                                   (size_t) size, head, true);
        zchunk_extend (all, zchunk_data (chunk), zchunk_size (chunk));
        zchunk_destroy (&chunk);
        ps_http_response_parser_expect (parser, head);
    }
    ck_assert_int_eq (
        ps_http_response_parser_feed (parser, (char *) zchunk_data (all), zchunk_size (all)), 0);
    for (int i = 0; i < 100; i++) {
        ps_http_response_t *response = ps_http_response_parser_next (parser);
        ck_assert_ptr_nonnull (response);
        char body[32];
        snprintf (body, sizeof body, "body %d", i);
        if (i % 5 == 4) {
            ck_assert_int_eq (ps_http_response_status (response), 204);
            ck_assert_uint_eq (ps_http_response_body_size (response), 0);
        }
        else if (i % 3 == 1)
            ck_assert_str_eq (ps_http_response_body (response), "");
        else
            ck_assert_str_eq (ps_http_response_body (response), body);
        ck_assert_str_eq (ps_pairs_get (ps_http_response_headers (response), "content-type"),
                          "text/plain");
        ps_http_response_destroy (&response);
    }
    ck_assert_ptr_null (ps_http_response_parser_next (parser));
    ck_assert (!ps_http_response_parser_partial (parser));
    zchunk_t *error = ps_http_response_error (11, 503, "busy", false);
    ck_assert_int_eq (
        ps_http_response_parser_feed (parser, (char *) zchunk_data (error), zchunk_size (error)),
        0);
    zchunk_destroy (&error);
    ps_http_response_t *response = ps_http_response_parser_next (parser);
    ck_assert_int_eq (ps_http_response_status (response), 503);
    ck_assert (!ps_http_response_keep_alive (response));
    ck_assert_str_eq (ps_http_response_body (response), "503 Service Unavailable: busy\n");
    ps_http_response_destroy (&response);
    ck_assert_int_eq (ps_http_response_parser_feed (parser, NULL, 0), 0);
    //  Responses still queued when the parser goes are freed with it
    ps_http_response_parser_destroy (&parser);
    parser = ps_http_response_parser_new (1024);
    for (int i = 0; i < 100; i++)
        ps_http_response_parser_expect (parser, i % 3 == 1);
    ck_assert_int_eq (ps_http_response_parser_feed (parser, (char *) zchunk_data (all), 300), 0);
    ps_http_response_parser_destroy (&parser);
    ps_http_response_parser_destroy (&parser);
    zchunk_destroy (&all);
    ps_pairs_destroy (&headers);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_http_response");
    TCase *tc = tcase_create ("format");
    tcase_add_test (tc, test_date);
    tcase_add_test (tc, test_date_threads);
    tcase_add_test (tc, test_reasons);
    tcase_add_test (tc, test_format_basic);
    tcase_add_test (tc, test_format_no_body);
    tcase_add_test (tc, test_format_user_headers);
    tcase_add_test (tc, test_format_bad_status_and_big_body);
    tcase_add_test (tc, test_error_responses);
    suite_add_tcase (suite, tc);
    tc = tcase_create ("parser");
    tcase_add_loop_test (tc, test_parser_cases, 0, (int) NRCASES);
    tcase_add_test (tc, test_parser_reads_formatted);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? 1 : 0;
}
