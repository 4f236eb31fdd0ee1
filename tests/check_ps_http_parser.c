/*  Tests of the HTTP request parser and the request object: every case fed
    whole, one byte at a time and at seeded random split points must give
    the same requests and the same status; pipelining, every error status,
    the strictness checks the library lacks, query splitting, chunked
    bodies, keep-alive, Expect: 100-continue, the wire form, and a corpus
    of malformed requests under tests/data/bad_requests.
*/
#include "prime_server/prime_server.h"
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define MAX_REQUESTS 256

//  ---------------------------------------------------------------------
//  Harness

typedef struct {
    ps_http_request_t *requests[MAX_REQUESTS];
    size_t count;
    int status;
    char *summary;  //  every request and the status, as text
} result_t;

//  Append printf-style text to a growing string. The length is kept in
//  front of the text so that appending stays linear for big bodies.
typedef struct {
    size_t size;
    size_t max;
} text_head_t;

static void
s_append_raw (char **text, const char *data, size_t size)
{
    text_head_t *head = *text ? (text_head_t *) *text - 1 : NULL;
    size_t old = head ? head->size : 0;
    if (!head || old + size + 1 > head->max) {
        size_t max = head ? head->max * 2 : 256;
        while (max < old + size + 1)
            max *= 2;
        head = (text_head_t *) realloc (head, sizeof (text_head_t) + max);
        head->max = max;
    }
    char *start = (char *) (head + 1);
    memcpy (start + old, data, size);
    start[old + size] = 0;
    head->size = old + size;
    *text = start;
}

static void
s_text_free (char **text)
{
    if (*text)
        free ((text_head_t *) *text - 1);
    *text = NULL;
}

static void
s_append (char **text, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *piece = zsys_vprintf (format, args);
    va_end (args);
    s_append_raw (text, piece, strlen (piece));
    free (piece);
}

static void
s_append_bytes (char **text, const char *data, size_t size)
{
    for (size_t index = 0; index < size; index++) {
        unsigned char c = (unsigned char) data[index];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            s_append_raw (text, (const char *) &c, 1);
        else {
            char escaped[8];
            snprintf (escaped, sizeof (escaped), "\\x%02x", c);
            s_append_raw (text, escaped, 4);
        }
    }
}

static void
s_append_pairs (char **text, const char *label, const ps_pairs_t *pairs)
{
    s_append (text, " %s{", label);
    for (size_t index = 0; index < ps_pairs_size (pairs); index++) {
        s_append (text, "[");
        s_append_bytes (text, ps_pairs_name (pairs, index), strlen (ps_pairs_name (pairs, index)));
        s_append (text, "=");
        s_append_bytes (text, ps_pairs_value (pairs, index),
                        strlen (ps_pairs_value (pairs, index)));
        s_append (text, "]");
    }
    s_append (text, "}");
}

static void
s_describe (char **text, const ps_http_request_t *request)
{
    s_append (text, "%s %s path=", ps_http_request_method (request),
              ps_http_request_target (request));
    s_append_bytes (text, ps_http_request_path (request), strlen (ps_http_request_path (request)));
    s_append (text, " v%d ka=%d ex=%d", ps_http_request_version (request),
              ps_http_request_keep_alive (request), ps_http_request_expect_continue (request));
    s_append_pairs (text, "query", ps_http_request_query (request));
    s_append_pairs (text, "headers", ps_http_request_headers (request));
    s_append (text, " body(%zu)=", ps_http_request_body_size (request));
    s_append_bytes (text, ps_http_request_body (request), ps_http_request_body_size (request));
    s_append_pairs (text, "trailers", ps_http_request_trailers (request));
    s_append (text, "\n");
}

static uint32_t
s_random (uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 8;
}

//  Feed data in pieces: mode 0 whole, 1 one byte at a time, 2+ random
//  split points seeded by the mode. Requests are taken after every feed,
//  as a server would.
static void
s_feed (const char *data, size_t size, int mode, const ps_http_limits_t *limits, result_t *result)
{
    memset (result, 0, sizeof (*result));
    ps_http_parser_t *parser = ps_http_parser_new (limits);
    ck_assert_ptr_nonnull (parser);
    uint32_t state = 0x9e3779b9u * (uint32_t) mode;
    size_t offset = 0;
    int status = 0;
    do {
        size_t piece = size - offset;
        if (mode == 1)
            piece = piece ? 1 : 0;
        else if (mode >= 2 && piece > 1) {
            size_t most = size / 4 + 2;
            piece = 1 + s_random (&state) % (piece < most ? piece : most);
        }
        status = ps_http_parser_feed (parser, data + offset, piece);
        offset += piece;
        ps_http_request_t *request;
        while ((request = ps_http_parser_next (parser))) {
            ck_assert_uint_lt (result->count, MAX_REQUESTS);
            result->requests[result->count++] = request;
        }
        if (status)
            ck_assert_int_eq (ps_http_parser_status (parser), status);
    } while (offset < size);
    result->status = status;
    for (size_t index = 0; index < result->count; index++)
        s_describe (&result->summary, result->requests[index]);
    s_append (&result->summary, "status %d", status);
    if (status)
        ck_assert_str_ne (ps_http_parser_reason (parser), "");
    ps_http_parser_destroy (&parser);
    ck_assert_ptr_null (parser);
}

static void
s_result_clear (result_t *result)
{
    for (size_t index = 0; index < result->count; index++)
        ps_http_request_destroy (&result->requests[index]);
    s_text_free (&result->summary);
    memset (result, 0, sizeof (*result));
}

//  Parse in every way and check all agree; returns the whole-feed result.
static void
s_parse_limits (const char *data, size_t size, const ps_http_limits_t *limits, result_t *result)
{
    s_feed (data, size, 0, limits, result);
    for (int mode = 1; mode < 7; mode++) {
        result_t other;
        s_feed (data, size, mode, limits, &other);
        ck_assert_msg (streq (other.summary, result->summary),
                       "mode %d differs:\n--- whole:\n%s\n--- split:\n%s", mode, result->summary,
                       other.summary);
        s_result_clear (&other);
    }
}

static void
s_parse (const char *data, result_t *result)
{
    s_parse_limits (data, strlen (data), NULL, result);
}

//  One request expected, fine
static ps_http_request_t *
s_one (const char *data, result_t *result)
{
    s_parse (data, result);
    ck_assert_msg (result->status == 0, "status %d for %s", result->status, data);
    ck_assert_uint_eq (result->count, 1);
    return result->requests[0];
}

//  The status of a request fed every way; the requests before it count
static void
s_expect_status (const char *data, size_t size, int status, size_t count)
{
    result_t result;
    s_parse_limits (data, size, NULL, &result);
    ck_assert_msg (result.status == status, "expected %d, got %d for:\n%s", status, result.status,
                   data);
    ck_assert_uint_eq (result.count, count);
    s_result_clear (&result);
}

//  A bad request after a good one: the good one comes out, then the status
static void
s_expect_error (const char *bad, int status)
{
    s_expect_status (bad, strlen (bad), status, 0);
    const char *good = "GET /first HTTP/1.1\r\nHost: x\r\n\r\n";
    char *both = zsys_sprintf ("%s%s", good, bad);
    result_t result;
    s_parse (both, &result);
    ck_assert_msg (result.status == status, "expected %d, got %d after a good request:\n%s", status,
                   result.status, bad);
    ck_assert_uint_eq (result.count, 1);
    ck_assert_str_eq (ps_http_request_target (result.requests[0]), "/first");
    s_result_clear (&result);
    free (both);
}

//  ---------------------------------------------------------------------
//  Well-formed requests

START_TEST (test_simple_get)
{
    result_t result;
    ps_http_request_t *request = s_one (
        "GET /is_prime?possible_prime=7 HTTP/1.1\r\nHost: localhost\r\n\r\n", &result);
    ck_assert_str_eq (ps_http_request_method (request), "GET");
    ck_assert_str_eq (ps_http_request_target (request), "/is_prime?possible_prime=7");
    ck_assert_str_eq (ps_http_request_path (request), "/is_prime");
    ck_assert_int_eq (ps_http_request_version (request), 11);
    ck_assert (ps_http_request_keep_alive (request));
    ck_assert (!ps_http_request_expect_continue (request));
    const ps_pairs_t *query = ps_http_request_query (request);
    ck_assert_uint_eq (ps_pairs_size (query), 1);
    ck_assert_str_eq (ps_pairs_get (query, "possible_prime"), "7");
    const ps_pairs_t *headers = ps_http_request_headers (request);
    ck_assert_uint_eq (ps_pairs_size (headers), 1);
    ck_assert_str_eq (ps_pairs_get (headers, "HOST"), "localhost");
    ck_assert_str_eq (ps_pairs_name (headers, 0), "Host");
    ck_assert_uint_eq (ps_http_request_body_size (request), 0);
    ck_assert_str_eq (ps_http_request_body (request), "");
    ck_assert_uint_eq (ps_pairs_size (ps_http_request_trailers (request)), 0);
    s_result_clear (&result);
}
END_TEST

static const char s_browser_get[] =
    "GET /static/app.js?v=3 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.com/index.html\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=0123456789abcdef; theme=dark; tracking=no\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: script\r\n"
    "Sec-Fetch-Mode: no-cors\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "If-None-Match: \"abc\"   \r\n"
    "X-Empty:\r\n"
    "X-Tab:\tvalue\twith\ttabs\t\r\n"
    "X-Obs-Text: caf\xc3\xa9\r\n"
    "\r\n";

START_TEST (test_browser_get)
{
    result_t result;
    ps_http_request_t *request = s_one (s_browser_get, &result);
    const ps_pairs_t *headers = ps_http_request_headers (request);
    ck_assert_uint_eq (ps_pairs_size (headers), 16);
    ck_assert_str_eq (ps_pairs_get (headers, "accept-encoding"), "gzip, deflate, br");
    //  surrounding whitespace is not part of a value; inner is
    ck_assert_str_eq (ps_pairs_get (headers, "if-none-match"), "\"abc\"");
    ck_assert_str_eq (ps_pairs_get (headers, "x-empty"), "");
    ck_assert_str_eq (ps_pairs_get (headers, "x-tab"), "value\twith\ttabs");
    ck_assert_str_eq (ps_pairs_get (headers, "x-obs-text"), "caf\xc3\xa9");
    ck_assert_str_eq (ps_pairs_name (headers, 15), "X-Obs-Text");
    ck_assert_str_eq (ps_http_request_path (request), "/static/app.js");
    s_result_clear (&result);
}
END_TEST

START_TEST (test_duplicate_headers_kept)
{
    result_t result;
    ps_http_request_t *request = s_one ("GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\nX: 1\r\n"
                                        "accept: b\r\nACCEPT: c\r\n\r\n",
                                        &result);
    const ps_pairs_t *headers = ps_http_request_headers (request);
    ck_assert_uint_eq (ps_pairs_count (headers, "Accept"), 3);
    ck_assert_str_eq (ps_pairs_value (headers, 1), "a");
    ck_assert_str_eq (ps_pairs_value (headers, 3), "b");
    ck_assert_str_eq (ps_pairs_value (headers, 4), "c");
    ck_assert_str_eq (ps_pairs_name (headers, 4), "ACCEPT");
    s_result_clear (&result);
}
END_TEST

START_TEST (test_content_length_body)
{
    result_t result;
    ps_http_request_t *request = s_one (
        "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nhello\r\nworld", &result);
    ck_assert_uint_eq (ps_http_request_body_size (request), 12);
    ck_assert_mem_eq (ps_http_request_body (request), "hello\r\nworld", 12);
    s_result_clear (&result);

    //  binary body with NUL bytes, zero length, and leading empty lines
    const char raw[] = "\r\n\r\nPUT / HTTP/1.0\r\nContent-Length: 3\r\n\r\na\0b"
                       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    s_parse_limits (raw, sizeof (raw) - 1, NULL, &result);
    ck_assert_int_eq (result.status, 0);
    ck_assert_uint_eq (result.count, 1);  //  1.0 without keep-alive: the rest is ignored
    ck_assert_uint_eq (ps_http_request_body_size (result.requests[0]), 3);
    ck_assert_mem_eq (ps_http_request_body (result.requests[0]), "a\0b", 3);
    ck_assert_str_eq (ps_http_request_method (result.requests[0]), "PUT");
    s_result_clear (&result);

    request = s_one ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &result);
    ck_assert_uint_eq (ps_http_request_body_size (request), 0);
    ck_assert_str_eq (ps_http_request_body (request), "");
    s_result_clear (&result);

    //  a bigger body over several pieces
    size_t size = 300000;
    char *big = (char *) malloc (size + 100);
    int head = sprintf (big, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", size);
    for (size_t index = 0; index < size; index++)
        big[head + index] = (char) ('a' + index % 26);
    s_feed (big, head + size, 3, NULL, &result);
    ck_assert_int_eq (result.status, 0);
    ck_assert_uint_eq (result.count, 1);
    ck_assert_uint_eq (ps_http_request_body_size (result.requests[0]), size);
    ck_assert_mem_eq (ps_http_request_body (result.requests[0]), big + head, size);
    s_result_clear (&result);
    free (big);
}
END_TEST

START_TEST (test_pipelined)
{
    const char *batch = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                        "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
                        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "3\r\nabc\r\n0\r\n\r\n"
                        "\r\nHEAD /d?x HTTP/1.1\r\nHost: x\r\n\r\n"
                        "DELETE /e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        "GET /ignored-after-close HTTP/1.1\r\nHost: x\r\n\r\n";
    result_t result;
    s_parse (batch, &result);
    ck_assert_int_eq (result.status, 0);
    ck_assert_uint_eq (result.count, 5);
    const char *targets[] = {"/a", "/b", "/c", "/d?x", "/e"};
    const char *methods[] = {"GET", "POST", "POST", "HEAD", "DELETE"};
    for (size_t index = 0; index < 5; index++) {
        ck_assert_str_eq (ps_http_request_target (result.requests[index]), targets[index]);
        ck_assert_str_eq (ps_http_request_method (result.requests[index]), methods[index]);
    }
    ck_assert_str_eq (ps_http_request_body (result.requests[1]), "body");
    ck_assert_str_eq (ps_http_request_body (result.requests[2]), "abc");
    ck_assert (!ps_http_request_keep_alive (result.requests[4]));
    s_result_clear (&result);

    //  a batch of 100 small requests
    char *many = NULL;
    for (int index = 0; index < 100; index++)
        s_append (&many, "GET /n?i=%d HTTP/1.1\r\nHost: h\r\n\r\n", index);
    s_parse (many, &result);
    ck_assert_int_eq (result.status, 0);
    ck_assert_uint_eq (result.count, 100);
    for (int index = 0; index < 100; index++) {
        char expect[16];
        snprintf (expect, sizeof (expect), "%d", index);
        ck_assert_str_eq (ps_pairs_get (ps_http_request_query (result.requests[index]), "i"),
                          expect);
    }
    s_result_clear (&result);
    s_text_free (&many);
}
END_TEST

START_TEST (test_upgrade_ignored)
{
    //  we speak only HTTP/1.x: an Upgrade offer is an ordinary request, and
    //  the bytes after it are parsed as the next request
    const char *raw = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n\r\n"
                      "POST /u HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: upgrade\r\n"
                      "Content-Length: 2\r\n\r\nok"
                      "GET /last HTTP/1.1\r\nHost: x\r\n\r\n";
    result_t result;
    s_parse (raw, &result);
    ck_assert_int_eq (result.status, 0);
    ck_assert_uint_eq (result.count, 3);
    ck_assert_str_eq (ps_http_request_body (result.requests[1]), "ok");
    ck_assert_str_eq (ps_http_request_target (result.requests[2]), "/last");
    s_result_clear (&result);
    //  but a tunnel is not for us
    s_expect_error ("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501);
}
END_TEST

START_TEST (test_queue_across_feeds)
{
    //  requests stay queued until taken, in order, across feeds
    ps_http_parser_t *parser = ps_http_parser_new (NULL);
    const char *one = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHo";
    ck_assert_int_eq (ps_http_parser_feed (parser, one, strlen (one)), 0);
    ck_assert (ps_http_parser_partial (parser));
    ck_assert (ps_http_parser_in_headers (parser));
    const char *two = "st: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n";
    ck_assert_int_eq (ps_http_parser_feed (parser, two, strlen (two)), 0);
    ck_assert (!ps_http_parser_partial (parser));
    ck_assert (!ps_http_parser_in_headers (parser));
    for (int index = 1; index <= 3; index++) {
        ps_http_request_t *request = ps_http_parser_next (parser);
        ck_assert_ptr_nonnull (request);
        char expect[8];
        snprintf (expect, sizeof (expect), "/%d", index);
        ck_assert_str_eq (ps_http_request_target (request), expect);
        ps_http_request_destroy (&request);
        ck_assert_ptr_null (request);
    }
    ck_assert_ptr_null (ps_http_parser_next (parser));
    //  a header section done, body pending: partial but not in headers
    const char *three = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab";
    ck_assert_int_eq (ps_http_parser_feed (parser, three, strlen (three)), 0);
    ck_assert (ps_http_parser_partial (parser));
    ck_assert (!ps_http_parser_in_headers (parser));
    ck_assert_ptr_null (ps_http_parser_next (parser));
    //  left queued and partial at destroy: no leak
    const char *four = "cdeGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ck_assert_int_eq (ps_http_parser_feed (parser, four, strlen (four)), 0);
    ps_http_parser_destroy (&parser);
    ps_http_parser_destroy (&parser);
}
END_TEST

//  ---------------------------------------------------------------------
//  Target, path and query

typedef struct {
    const char *target;
    const char *path;
    const char *query;  //  "k=v|k=v|" as pairs
} target_case_t;

START_TEST (test_query_splitting)
{
    const target_case_t cases[] = {
        {"/p", "/p", ""},
        {"/p?", "/p", ""},
        {"/p?a", "/p", "a=|"},
        {"/p?a=1&a=2&b", "/p", "a=1|a=2|b=|"},
        {"/p?=v&&k=&", "/p", "=v|k=|"},
        {"/p?x=y=z", "/p", "x=y=z|"},
        {"/p?a%26b=c%3Dd&e=f%26g%3D", "/p", "a&b=c=d|e=f&g=|"},
        {"/p?a+b=c+d%2B", "/p", "a b=c d+|"},
        {"/p?q=%E2%82%ac", "/p", "q=\xe2\x82\xac|"},
        {"/p?a?b=c?d", "/p", "a?b=c?d|"},
        {"/a%20b+c/%2F", "/a b+c//", ""},
        {"/%41%42%43", "/ABC", ""},
        {"/", "/", ""},
        {"*", "*", ""},
        {"http://example.com/a%41?x=1", "/aA", "x=1|"},
        {"http://example.com", "/", ""},
        {"http://example.com?k=v", "/", "k=v|"},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases[0]); index++) {
        const char *method = streq (cases[index].target, "*") ? "OPTIONS" : "GET";
        char *raw = zsys_sprintf ("%s %s HTTP/1.1\r\nHost: x\r\n\r\n", method, cases[index].target);
        result_t result;
        ps_http_request_t *request = s_one (raw, &result);
        ck_assert_str_eq (ps_http_request_target (request), cases[index].target);
        ck_assert_str_eq (ps_http_request_path (request), cases[index].path);
        char *query = NULL;
        s_append_raw (&query, "", 0);
        const ps_pairs_t *pairs = ps_http_request_query (request);
        for (size_t item = 0; item < ps_pairs_size (pairs); item++)
            s_append (&query, "%s=%s|", ps_pairs_name (pairs, item), ps_pairs_value (pairs, item));
        ck_assert_msg (streq (query, cases[index].query), "%s: query %s, expected %s",
                       cases[index].target, query, cases[index].query);
        s_text_free (&query);
        free (raw);
        s_result_clear (&result);
    }
}
END_TEST

START_TEST (test_target_errors)
{
    const char *targets[] = {"/a%zz",    "/a%4",  "/a%",          "/a%00b", "/p?a=%00", "/p?%00=a",
                             "/p?a=%g1", "#frag", "/caf\xc3\xa9", "/a\x01", "/a\tb",    "/a\x7f"};
    for (size_t index = 0; index < sizeof (targets) / sizeof (targets[0]); index++) {
        char *raw = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n", targets[index]);
        s_expect_error (raw, 400);
        free (raw);
    }
}
END_TEST

//  ---------------------------------------------------------------------
//  Chunked bodies

#define CHUNKED_HEAD "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

START_TEST (test_chunked)
{
    result_t result;
    ps_http_request_t *request = s_one (
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;name=value\r\nhello\r\n"
        "6;a;b=\"q x;y\"\r\n world\r\n"
        "9\r\n\r\n\r\n0\r\n\r\n\r\n"
        "0;last\r\n"
        "Trailer-A: 1\r\nTrailer-B:  two  \r\n\r\n",
        &result);
    ck_assert_uint_eq (ps_http_request_body_size (request), 20);
    ck_assert_mem_eq (ps_http_request_body (request), "hello world\r\n\r\n0\r\n\r\n", 20);
    const ps_pairs_t *trailers = ps_http_request_trailers (request);
    ck_assert_uint_eq (ps_pairs_size (trailers), 2);
    ck_assert_str_eq (ps_pairs_get (trailers, "trailer-a"), "1");
    ck_assert_str_eq (ps_pairs_get (trailers, "TRAILER-B"), "two");
    //  trailers are not headers
    ck_assert_ptr_null (ps_pairs_get (ps_http_request_headers (request), "trailer-a"));
    s_result_clear (&result);

    //  case and whitespace in Transfer-Encoding; uppercase hex; empty body
    request = s_one ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:  CHUNKED \r\n\r\n"
                     "0000F\r\n0123456789abcde\r\n0\r\n\r\n",
                     &result);
    ck_assert_str_eq (ps_http_request_body (request), "0123456789abcde");
    s_result_clear (&result);
    request = s_one ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                     &result);
    ck_assert_uint_eq (ps_http_request_body_size (request), 0);
    s_result_clear (&result);
    //  a list with an empty element is chunked (RFC 9110 5.6.1), and llhttp
    //  frames it so
    request = s_one ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,chunked\r\n\r\n"
                     "1\r\nz\r\n0\r\n\r\n",
                     &result);
    ck_assert_str_eq (ps_http_request_body (request), "z");
    s_result_clear (&result);
    //  llhttp 8.1 refuses BWS, quoted-pairs and a second extension after a
    //  value in a chunk-size line, which RFC 9112 7.1.1 allows: its framing
    //  decision, kept (a refusal cannot desynchronise anyone)
    s_expect_error (CHUNKED_HEAD "5 ;a\r\nhello\r\n0\r\n\r\n", 400);
    s_expect_error (CHUNKED_HEAD "5;a=b;c\r\nhello\r\n0\r\n\r\n", 400);
    //  our rules: an empty extension value, extensions over 4 KiB
    s_expect_error (CHUNKED_HEAD "5;a=\r\nhello\r\n0\r\n\r\n", 400);
    char *long_ext = (char *) malloc (5000);
    memset (long_ext, 'e', 4999);
    long_ext[4999] = 0;
    char *raw = zsys_sprintf (CHUNKED_HEAD "5;%s\r\nhello\r\n0\r\n\r\n", long_ext);
    s_expect_error (raw, 400);
    free (raw);
    free (long_ext);
}
END_TEST

//  ---------------------------------------------------------------------
//  Keep-alive and Expect

typedef struct {
    const char *version;
    const char *connection;  //  header lines, "" for none
    bool keep_alive;
} keep_alive_case_t;

START_TEST (test_keep_alive_matrix)
{
    const keep_alive_case_t cases[] = {
        {"1.1", "", true},
        {"1.1", "Connection: close\r\n", false},
        {"1.1", "Connection: CLOSE\r\n", false},
        {"1.1", "Connection: keep-alive\r\n", true},
        {"1.1", "Connection: Keep-Alive, Close\r\n", false},
        {"1.1", "Connection: upgrade,  close \r\n", false},
        {"1.1", "Connection: closed\r\n", true},
        {"1.1", "Connection: x-close\r\n", true},
        {"1.1", "Connection: te\r\nConnection: close\r\n", false},
        {"1.0", "", false},
        {"1.0", "Connection: keep-alive\r\n", true},
        {"1.0", "Connection: KEEP-ALIVE\r\n", true},
        {"1.0", "Connection: foo, keep-alive\r\n", true},
        {"1.0", "Connection: foo\r\nConnection: keep-alive\r\n", true},
        {"1.0", "Connection: keep-alive, close\r\n", false},
        {"1.0", "Connection: keep-alivex\r\n", false},
        {"1.0", "Keep-Alive: timeout=5\r\n", false},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases[0]); index++) {
        char *raw = zsys_sprintf ("GET / HTTP/%s\r\nHost: x\r\n%s\r\n", cases[index].version,
                                  cases[index].connection);
        result_t result;
        ps_http_request_t *request = s_one (raw, &result);
        ck_assert_msg (ps_http_request_keep_alive (request) == cases[index].keep_alive,
                       "keep-alive wrong for HTTP/%s %s", cases[index].version,
                       cases[index].connection);
        ck_assert_int_eq (ps_http_request_version (request),
                          cases[index].version[2] == '1' ? 11 : 10);
        s_result_clear (&result);

        //  without keep-alive the parser ignores whatever follows
        char *two = zsys_sprintf ("%sGARBAGE\r\n\r\n", raw);
        s_parse (two, &result);
        ck_assert_int_eq (result.status, cases[index].keep_alive ? 400 : 0);
        ck_assert_uint_eq (result.count, 1);
        s_result_clear (&result);
        free (two);
        free (raw);
    }
}
END_TEST

START_TEST (test_expect_continue)
{
    ps_http_parser_t *parser = ps_http_parser_new (NULL);
    const char *head = "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n"
                       "Content-Length: 4\r\n\r\n";
    ck_assert (!ps_http_parser_wants_continue (parser));
    ck_assert_int_eq (ps_http_parser_feed (parser, head, strlen (head) - 1), 0);
    ck_assert (!ps_http_parser_wants_continue (parser));  //  header section not complete
    ck_assert_int_eq (ps_http_parser_feed (parser, "\n", 1), 0);
    ck_assert (ps_http_parser_wants_continue (parser));
    ck_assert (ps_http_parser_wants_continue (parser));  //  stays until answered
    ps_http_parser_continue_sent (parser);
    ck_assert (!ps_http_parser_wants_continue (parser));
    ck_assert_int_eq (ps_http_parser_feed (parser, "body", 4), 0);
    ps_http_request_t *request = ps_http_parser_next (parser);
    ck_assert_ptr_nonnull (request);
    ck_assert (ps_http_request_expect_continue (request));
    ck_assert_str_eq (ps_http_request_body (request), "body");
    ps_http_request_destroy (&request);

    //  body sent at once: no need to ask any more
    const char *whole = "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n";
    ck_assert_int_eq (ps_http_parser_feed (parser, whole, strlen (whole)), 0);
    ck_assert (!ps_http_parser_wants_continue (parser));
    request = ps_http_parser_next (parser);
    ck_assert (ps_http_request_expect_continue (request));
    ps_http_request_destroy (&request);

    //  chunked, body pending: asks
    const char *chunked = "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n";
    ck_assert_int_eq (ps_http_parser_feed (parser, chunked, strlen (chunked)), 0);
    ck_assert (ps_http_parser_wants_continue (parser));
    ck_assert_int_eq (ps_http_parser_feed (parser, "0\r\n\r\n", 5), 0);
    ck_assert (!ps_http_parser_wants_continue (parser));
    request = ps_http_parser_next (parser);
    ps_http_request_destroy (&request);

    //  no body, HTTP/1.0, another expectation: never asks
    const char *nobody = "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                         "Content-Length: 0\r\n\r\n"
                         "POST / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n"
                         "Content-Length: 1\r\n\r\n";
    ck_assert_int_eq (ps_http_parser_feed (parser, nobody, strlen (nobody)), 0);
    ck_assert (!ps_http_parser_wants_continue (parser));
    ck_assert_int_eq (ps_http_parser_feed (parser, "x", 1), 0);
    request = ps_http_parser_next (parser);
    ck_assert (ps_http_request_expect_continue (request));
    ps_http_request_destroy (&request);
    request = ps_http_parser_next (parser);
    ck_assert (!ps_http_request_expect_continue (request));
    ps_http_request_destroy (&request);
    const char *old = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nConnection: keep-alive\r\n"
                      "Content-Length: 1\r\n\r\n";
    ck_assert_int_eq (ps_http_parser_feed (parser, old, strlen (old)), 0);
    ck_assert (!ps_http_parser_wants_continue (parser));
    ck_assert_int_eq (ps_http_parser_feed (parser, "x", 1), 0);
    request = ps_http_parser_next (parser);
    ck_assert (ps_http_request_expect_continue (request));
    ps_http_request_destroy (&request);

    //  part of the body came without waiting: still not answered
    ck_assert_int_eq (ps_http_parser_feed (parser, head, strlen (head)), 0);
    ck_assert (ps_http_parser_wants_continue (parser));
    ck_assert_int_eq (ps_http_parser_feed (parser, "ab", 2), 0);
    ck_assert (ps_http_parser_wants_continue (parser));
    ps_http_parser_destroy (&parser);

    //  an error (here 413, before any body) means no 100 Continue

    ps_http_limits_t limits;
    ps_http_limits_defaults (&limits);
    limits.max_body = 3;
    parser = ps_http_parser_new (&limits);
    ck_assert_int_eq (ps_http_parser_feed (parser, head, strlen (head)), 413);
    ck_assert (!ps_http_parser_wants_continue (parser));
    ps_http_parser_destroy (&parser);
}
END_TEST

//  ---------------------------------------------------------------------
//  Errors

typedef struct {
    int status;
    const char *raw;
} error_case_t;

START_TEST (test_error_statuses)
{
    const error_case_t cases[] = {
        //  400 malformed syntax
        {400, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {400, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
        {400, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"},
        {400, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n"},
        {400, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "fffffffffffffffffff\r\n"},
        {400, "GET / HTTP/1.1\r\nHost: x\r\nBad[Name: v\r\n\r\n"},
        {400, "GET / HTTP/1.1\r\nHost: x\r\nName: a\x01z\r\n\r\n"},
        {400, "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n"},
        {400, "GET / HTTP/1.1\r\n\r\n"},
        {400, "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"},
        {400, "G@T / HTTP/1.1\r\nHost: x\r\n\r\n"},
        {400, "GET\r / HTTP/1.1\r\nHost: x\r\n\r\n"},
        {400, "GET / HTTP/1.1 \r\nHost: x\r\n\r\n"},
        //  413: decided as soon as the header section is in
        {413, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n"},
        //  chunked not last: RFC 9112 6.3, MUST be 400 (llhttp decides)
        {400, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"},
        {400, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
              "Transfer-Encoding: gzip\r\n\r\n"},
        //  501: codings and methods llhttp knows that we do not serve; 505
        {501, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"},
        {501, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
        {501, "DESCRIBE / HTTP/1.1\r\nHost: x\r\n\r\n"},
        {501, "GET_PARAMETER / HTTP/1.1\r\nHost: x\r\n\r\n"},
        {505, "GET / HTTP/0.9\r\nHost: x\r\n\r\n"},
        {501, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"},
        {505, "GET / HTTP/2.0\r\nHost: x\r\n\r\n"},
        {505, "GET / HTTP/1.2\r\n\r\n"},
        {505, "GET / HTTP/3.0\r\nHost: x\r\n\r\n"},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases[0]); index++)
        s_expect_error (cases[index].raw, cases[index].status);
    //  accumulated chunks over the limit: 413 at the chunk header, before
    //  its data arrives
    ps_http_limits_t limits;
    ps_http_limits_defaults (&limits);
    limits.max_body = 10;
    const char *chunks = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "6\r\nabcdef\r\n5\r\n";
    result_t result;
    s_parse_limits (chunks, strlen (chunks), &limits, &result);
    ck_assert_int_eq (result.status, 413);
    s_result_clear (&result);
    const char *fits = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n";
    s_parse_limits (fits, strlen (fits), &limits, &result);
    ck_assert_int_eq (result.status, 0);
    ck_assert_str_eq (ps_http_request_body (result.requests[0]), "abcdefghij");
    s_result_clear (&result);
    const char *length = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n";
    s_parse_limits (length, strlen (length), &limits, &result);
    ck_assert_int_eq (result.status, 413);
    s_result_clear (&result);
}
END_TEST

START_TEST (test_failed_parser_stays_failed)
{
    ps_http_parser_t *parser = ps_http_parser_new (NULL);
    const char *raw = "GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost : x\r\n\r\n";
    ck_assert_int_eq (ps_http_parser_feed (parser, raw, strlen (raw)), 400);
    ck_assert_int_eq (ps_http_parser_status (parser), 400);
    ck_assert_str_ne (ps_http_parser_reason (parser), "");
    const char *good = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ck_assert_int_eq (ps_http_parser_feed (parser, good, strlen (good)), 400);
    ps_http_request_t *request = ps_http_parser_next (parser);
    ck_assert_str_eq (ps_http_request_target (request), "/ok");
    ps_http_request_destroy (&request);
    ck_assert_ptr_null (ps_http_parser_next (parser));
    ck_assert (!ps_http_parser_partial (parser));
    ps_http_parser_destroy (&parser);

    //  a fresh parser is fine and has no reason yet
    parser = ps_http_parser_new (NULL);
    ck_assert_int_eq (ps_http_parser_status (parser), 0);
    ck_assert_int_eq (ps_http_parser_feed (parser, "", 0), 0);
    ck_assert (!ps_http_parser_partial (parser));
    ps_http_parser_destroy (&parser);
}
END_TEST

//  The leniencies of libhttp-parser 2.9.4, one by one: llhttp's strict mode
//  or our own checks refuse each
START_TEST (test_strictness)
{
    const char *cases[] = {
        //  bare LF line endings
        "GET / HTTP/1.1\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\n",
        "GET / HTTP/1.1\nHost: x\n\n",
        "\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        //  CR not followed by LF
        "GET / HTTP/1.1\r\nHost: x\r\n\rX",
        //  whitespace between field name and colon: the smuggling vector
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n",
        //  space after the request line, before the first header
        "GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
        "GET / HTTP/1.1\r\n\tHost: x\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /  HTTP/1.1\r\nHost: x\r\n\r\n",
        //  chunk-extension syntax
        CHUNKED_HEAD "5;\r\nhello\r\n0\r\n\r\n",
        CHUNKED_HEAD "5;a@\r\nhello\r\n0\r\n\r\n",
        CHUNKED_HEAD "5;a=\r\nhello\r\n0\r\n\r\n",
        CHUNKED_HEAD "5;a=\"b\r\nhello\r\n0\r\n\r\n",
        CHUNKED_HEAD "5;a=b c\r\nhello\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
        CHUNKED_HEAD "5;a\nb\r\nhello\r\n0\r\n\r\n",
        CHUNKED_HEAD "5;a\r\rhello\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        //  chunk data not followed by CRLF
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\rX0\r\n\r\n",
        //  non-ASCII and control bytes in the target
        "GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a\x1b[0m HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a\fb HTTP/1.1\r\nHost: x\r\n\r\n",
        //  obs-fold, also introduced by a bare LF
        "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nA: b\n c\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nA:\r\n\tc\r\n\r\n",
        //  the same in a trailer section
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA : b\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rX",
        //  a control byte as the first byte of a value
        "GET / HTTP/1.1\r\nHost: \x01x\r\n\r\n",
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases[0]); index++)
        s_expect_error (cases[index], 400);
}
END_TEST

START_TEST (test_limits)
{
    //  target: exactly the limit is fine, one more is 414
    char *target = (char *) malloc (8193);
    memset (target, 'a', 8192);
    target[0] = '/';
    target[8192] = 0;
    char *raw = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    result_t result;
    s_one (raw, &result);
    s_result_clear (&result);
    free (raw);
    raw = zsys_sprintf ("GET %sa HTTP/1.1\r\nHost: x\r\n\r\n", target);
    s_expect_status (raw, strlen (raw), 414, 0);
    free (raw);
    free (target);

    //  100 fields fine, 101 are 431
    char *fields = NULL;
    for (int index = 0; index < 99; index++)
        s_append (&fields, "X-%d: %d\r\n", index, index);
    raw = zsys_sprintf ("GET / HTTP/1.1\r\nHost: x\r\n%s\r\n", fields);
    ps_http_request_t *request = s_one (raw, &result);
    ck_assert_uint_eq (ps_pairs_size (ps_http_request_headers (request)), 100);
    s_result_clear (&result);
    free (raw);
    raw = zsys_sprintf ("GET / HTTP/1.1\r\nHost: x\r\nX-Last: 1\r\n%s\r\n", fields);
    s_expect_status (raw, strlen (raw), 431, 0);
    free (raw);
    s_text_free (&fields);

    //  header section: exactly 64 KiB (request line and final CRLF
    //  included) is fine, one byte more is 431
    const char *head = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ";
    size_t fill = 65536 - strlen (head) - 4;
    char *big = (char *) malloc (fill + 1);
    memset (big, 'b', fill);
    big[fill] = 0;
    raw = zsys_sprintf ("%s%s\r\n\r\n", head, big);
    ck_assert_uint_eq (strlen (raw), 65536);
    s_one (raw, &result);
    s_result_clear (&result);
    free (raw);
    raw = zsys_sprintf ("%s%sb\r\n\r\n", head, big);
    s_expect_status (raw, strlen (raw), 431, 0);
    free (raw);
    free (big);

    //  a header section far over the limit and over the library's own
    //  80 KiB: still ours, 431, in one feed
    size_t huge = 200000;
    big = (char *) malloc (huge + 1);
    memset (big, 'h', huge);
    big[huge] = 0;
    raw = zsys_sprintf ("GET / HTTP/1.1\r\nHost: x\r\nX-Huge: %s\r\n\r\n", big);
    s_expect_status (raw, strlen (raw), 431, 0);

    //  limits above the library's 80 KiB default are honoured too
    ps_http_limits_t limits;
    ps_http_limits_defaults (&limits);
    limits.max_header_bytes = 256 * 1024;
    s_parse_limits (raw, strlen (raw), &limits, &result);
    ck_assert_int_eq (result.status, 0);
    ck_assert_uint_eq (result.count, 1);
    ck_assert_uint_eq (
        strlen (ps_pairs_get (ps_http_request_headers (result.requests[0]), "x-huge")), huge);
    s_result_clear (&result);
    free (raw);
    free (big);

    //  smaller limits of every kind
    ps_http_limits_defaults (&limits);
    limits.max_target = 4;
    limits.max_headers = 2;
    limits.max_header_bytes = 64;
    limits.max_body = 2;
    const char *ok = "GET /abc HTTP/1.1\r\nHost: x\r\n\r\n";
    s_parse_limits (ok, strlen (ok), &limits, &result);
    ck_assert_int_eq (result.status, 0);
    s_result_clear (&result);
    const error_case_t cases[] = {
        {414, "GET /abcd HTTP/1.1\r\nHost: x\r\n\r\n"},
        {431, "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\nC: d\r\n\r\n"},
        {431, "GET / HTTP/1.1\r\nHost: 0123456789012345678901234567890123456789\r\n\r\n"},
        {413, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"},
        {431, "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
              "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases[0]); index++) {
        s_parse_limits (cases[index].raw, strlen (cases[index].raw), &limits, &result);
        ck_assert_msg (result.status == cases[index].status, "expected %d got %d: %s",
                       cases[index].status, result.status, cases[index].raw);
        s_result_clear (&result);
    }
}
END_TEST

//  ---------------------------------------------------------------------
//  RFC 9112 where it is unambiguous

START_TEST (test_methods_ows_fragment)
{
    //  any token is a method (RFC 9110 9.1) and goes to the worker
    const char *methods[] = {"QUERY", "BREW", "get", "PROPFIND", "M-SEARCH", "X!#$%&'*+.^_`|~1"};
    for (size_t index = 0; index < sizeof (methods) / sizeof (methods[0]); index++) {
        char *raw = zsys_sprintf ("%s /m HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok",
                                  methods[index]);
        result_t result;
        ps_http_request_t *request = s_one (raw, &result);
        ck_assert_str_eq (ps_http_request_method (request), methods[index]);
        ck_assert_str_eq (ps_http_request_body (request), "ok");
        s_result_clear (&result);
        free (raw);
    }
    //  OWS (SP and HTAB) around field values, Content-Length included
    result_t result;
    ps_http_request_t *request = s_one (
        "POST / HTTP/1.1\r\nHost:\t x \t\r\nContent-Length: \t 3  \r\n"
        "X-Empty: \t\r\n\r\nabc",
        &result);
    ck_assert_str_eq (ps_pairs_get (ps_http_request_headers (request), "host"), "x");
    ck_assert_str_eq (ps_pairs_get (ps_http_request_headers (request), "x-empty"), "");
    ck_assert_str_eq (ps_http_request_body (request), "abc");
    s_result_clear (&result);
    //  HTAB as OWS after the framing values too (llhttp takes only SP
    //  there and is handed SP), in headers and in trailers; inside them
    //  it is no OWS, and the request stays refused
    s_parse ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\t3\t \t\r\n\r\nabc"
             "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \tchunked\t\r\n\r\n"
             "3\r\ndef\r\n0\r\nContent-Length: 3\t\r\nX-Tab:\ta\tb\t\r\n\r\n",
             &result);
    ck_assert_int_eq (result.status, 0);
    ck_assert_uint_eq (result.count, 2);
    request = result.requests[0];
    ck_assert_str_eq (ps_pairs_get (ps_http_request_headers (request), "content-length"), "3");
    ck_assert_str_eq (ps_http_request_body (request), "abc");
    ck_assert_str_eq (ps_http_request_body (result.requests[1]), "def");
    s_result_clear (&result);
    s_parse ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \tchunked\t\r\n\r\n"
             "3\r\ndef\r\n0\r\nX-Tab:\ta\tb\t\r\n\r\n",
             &result);
    ck_assert_int_eq (result.status, 0);
    ck_assert_uint_eq (result.count, 1);
    request = result.requests[0];
    ck_assert_str_eq (ps_http_request_body (request), "def");
    ck_assert_str_eq (ps_pairs_get (ps_http_request_trailers (request), "x-tab"), "a\tb");
    s_result_clear (&result);
    s_expect_error ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\t3\r\n\r\nabc", 400);
    s_expect_error ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\t, chunked\r\n\r\n"
                    "3\r\nabc\r\n0\r\n\r\n",
                    400);
    s_expect_error ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\tContent-Length: 3\r\n\r\n"
                    "abc",
                    400);
    //  a fragment is dropped from the target, whatever it holds
    request = s_one ("GET /a/b?c=d#frag?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", &result);
    ck_assert_str_eq (ps_http_request_target (request), "/a/b?c=d");
    ck_assert_str_eq (ps_http_request_path (request), "/a/b");
    ck_assert_str_eq (ps_pairs_get (ps_http_request_query (request), "c"), "d");
    s_result_clear (&result);
    request = s_one ("GET /#x HTTP/1.1\r\nHost: x\r\n\r\n", &result);
    ck_assert_str_eq (ps_http_request_target (request), "/");
    s_result_clear (&result);
}
END_TEST

//  No process-global state: parsers with different limits, fed in turns
//  in one process, each keep their own (libhttp-parser's header limit was
//  one setting for the whole process).
START_TEST (test_independent_limits)
{
    ps_http_limits_t small, big;
    ps_http_limits_defaults (&small);
    ps_http_limits_defaults (&big);
    small.max_header_bytes = 100;
    big.max_header_bytes = 256 * 1024;
    ps_http_parser_t *parsers[2] = {ps_http_parser_new (&big), ps_http_parser_new (&small)};
    char *fill = (char *) malloc (150001);
    memset (fill, 'f', 150000);
    fill[150000] = 0;
    char *raw = zsys_sprintf ("GET / HTTP/1.1\r\nHost: x\r\nX-Fill: %s\r\n\r\n", fill);
    size_t size = strlen (raw);
    int status[2] = {0, 0};
    for (size_t at = 0; at < size; at += 1000)
        for (int which = 0; which < 2; which++)
            status[which] = ps_http_parser_feed (parsers[which], raw + at,
                                                 size - at < 1000 ? size - at : 1000);
    ck_assert_int_eq (status[0], 0);
    ck_assert_int_eq (status[1], 431);
    ps_http_request_t *request = ps_http_parser_next (parsers[0]);
    ck_assert_ptr_nonnull (request);
    ck_assert_uint_eq (strlen (ps_pairs_get (ps_http_request_headers (request), "x-fill")), 150000);
    ps_http_request_destroy (&request);
    //  a parser made after the big one still has the default 64 KiB
    ps_http_parser_t *fresh = ps_http_parser_new (NULL);
    ck_assert_int_eq (ps_http_parser_feed (fresh, raw, size), 431);
    ps_http_parser_destroy (&fresh);
    for (int which = 0; which < 2; which++)
        ps_http_parser_destroy (&parsers[which]);
    free (raw);
    free (fill);
}
END_TEST

//  ---------------------------------------------------------------------
//  Wire form

//  The fields of a one-frame wire form, split on its netstrings; returns
//  how many there were (at most 12), or -1 if the frame is not netstrings.
static int
s_fields (zmsg_t *msg, const char *data[12], size_t size[12])
{
    if (zmsg_size (msg) != 1)
        return -1;
    zframe_t *frame = zmsg_first (msg);
    const char *cursor = (const char *) zframe_data (frame);
    size_t left = zframe_size (frame);
    int count = 0;
    while (left && count < 12) {
        ssize_t used = ps_netstring_parse (cursor, left, left, &data[count], &size[count], NULL);
        if (used < 0)
            return -1;
        cursor += used;
        left -= (size_t) used;
        count++;
    }
    return left ? -1 : count;
}

START_TEST (test_encode_decode)
{
    const char raw[] = "POST /a%20b/c?x=1&y=%26&x=2&flag HTTP/1.1\r\nHost: h\r\n"
                       "Content-Type: application/octet-stream\r\nX-Dup: 1\r\nx-dup: 2\r\n"
                       "Connection: close\r\nExpect: 100-continue\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"
                       "4\r\na\0b\n\r\n0\r\nT-One: 1\r\nT-Two: 2\r\n\r\n";
    result_t result;
    s_parse_limits (raw, sizeof (raw) - 1, NULL, &result);
    ck_assert_int_eq (result.status, 0);
    ck_assert_uint_eq (result.count, 1);
    ps_http_request_t *request = result.requests[0];
    zmsg_t *msg = ps_http_request_encode (request);
    //  the layout: one frame of nine netstrings, field by field
    const char *data[12];
    size_t size[12];
    ck_assert_int_eq (s_fields (msg, data, size), 9);
    const char *expected[9] = {"POST", "/a%20b/c?x=1&y=%26&x=2&flag",        "/a b/c",
                               "11",   "1:x,1:1,1:y,1:&,1:x,1:2,4:flag,0:,", NULL,
                               NULL,   "5:T-One,1:1,5:T-Two,1:2,",           ""};
    for (int index = 0; index < 9; index++)
        if (expected[index]) {
            ck_assert_uint_eq (size[index], strlen (expected[index]));
            ck_assert_mem_eq (data[index], expected[index], size[index]);
        }
    ps_pairs_t *headers = ps_pairs_decode (data[5], size[5], true);
    ck_assert_uint_eq (ps_pairs_size (headers), 7);
    ck_assert_str_eq (ps_pairs_get (headers, "x-dup"), "1");
    ps_pairs_destroy (&headers);
    ck_assert_uint_eq (size[6], 4);
    ck_assert_mem_eq (data[6], "a\0b\n", 4);
    //  a pairs list nests whole in its field's netstring
    const char *frame = (const char *) zframe_data (zmsg_first (msg));
    ck_assert_ptr_nonnull (strstr (frame, ",34:1:x,1:1,1:y,1:&,1:x,1:2,4:flag,0:,,"));

    ps_http_request_t *copy = ps_http_request_decode (msg);
    ck_assert_ptr_nonnull (copy);
    char *one = NULL, *two = NULL;
    s_describe (&one, request);
    s_describe (&two, copy);
    ck_assert_str_eq (one, two);
    ck_assert (!ps_http_request_keep_alive (copy));
    ck_assert (ps_http_request_expect_continue (copy));
    s_text_free (&one);
    s_text_free (&two);
    ps_http_request_destroy (&copy);
    zmsg_destroy (&msg);
    s_result_clear (&result);

    //  a minimal 1.0 request: keep-alive derived again on the other side
    request = s_one ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &result);
    msg = ps_http_request_encode (request);
    copy = ps_http_request_decode (msg);
    ck_assert_ptr_nonnull (copy);
    ck_assert_int_eq (ps_http_request_version (copy), 10);
    ck_assert (ps_http_request_keep_alive (copy));
    ck_assert_uint_eq (ps_http_request_body_size (copy), 0);
    ck_assert_str_eq (ps_http_request_body (copy), "");
    ps_http_request_destroy (&copy);
    zmsg_destroy (&msg);
    s_result_clear (&result);
}
END_TEST

//  A valid request in either wire form, field index (0 to 8) replaced by
//  data: one frame of nine netstrings, or (earlier servers) a frame per
//  field, the ninth only when not empty.
static const char *s_wire_fields[9] = {"GET",         "/x?a=1", "/x", "11", "1:a,1:1,",
                                       "4:Host,1:h,", "",       "",   ""};

static zmsg_t *
s_wire_one (int index, const void *data, size_t size)
{
    char buffer[512];
    char *out = buffer;
    for (int at = 0; at < 9; at++) {
        const void *field = at == index ? data : s_wire_fields[at];
        size_t field_size = at == index ? size : strlen (s_wire_fields[at]);
        ck_assert_uint_le (ps_netstring_encoded_size (field_size),
                           sizeof buffer - (size_t) (out - buffer));
        out += ps_netstring_write (out, field, field_size);
    }
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, buffer, (size_t) (out - buffer));
    return msg;
}

static zmsg_t *
s_wire (int index, const void *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    for (int at = 0; at < 9; at++) {
        const void *field = at == index ? data : s_wire_fields[at];
        size_t field_size = at == index ? size : strlen (s_wire_fields[at]);
        if (at < 8 || field_size)
            zmsg_addmem (msg, field, field_size);
    }
    return msg;
}

typedef zmsg_t *(s_wire_fn) (int index, const void *data, size_t size);

START_TEST (test_decode_junk)
{
    ck_assert_ptr_null (ps_http_request_decode (NULL));
    s_wire_fn *forms[2] = {s_wire_one, s_wire};
    for (int form = 0; form < 2; form++) {
        //  the reference message itself is fine
        zmsg_t *msg = forms[form](-1, NULL, 0);
        ps_http_request_t *request = ps_http_request_decode (msg);
        ck_assert_ptr_nonnull (request);
        ck_assert_str_eq (ps_http_request_path (request), "/x");
        ck_assert_str_eq (ps_pairs_get (ps_http_request_query (request), "a"), "1");
        ck_assert_str_eq (ps_pairs_get (ps_http_request_headers (request), "host"), "h");
        ps_http_request_destroy (&request);
        zmsg_destroy (&msg);

        //  the client's address: an address, or empty for none; encoded
        //  back in the one-frame form, the same bytes
        const char *clients[] = {"127.0.0.1", "2001:db8::1", ""};
        for (size_t index = 0; index < 3; index++) {
            msg = forms[form](8, clients[index], strlen (clients[index]));
            request = ps_http_request_decode (msg);
            ck_assert_ptr_nonnull (request);
            ck_assert_str_eq (ps_http_request_client (request), clients[index]);
            zmsg_t *again = ps_http_request_encode (request);
            zmsg_t *one = s_wire_one (8, clients[index], strlen (clients[index]));
            ck_assert_uint_eq (zmsg_size (again), 1);
            ck_assert (zframe_eq (zmsg_first (again), zmsg_first (one)));
            zmsg_destroy (&one);
            zmsg_destroy (&again);
            ps_http_request_destroy (&request);
            zmsg_destroy (&msg);
        }

        //  bad fields, one at a time
        const struct {
            int index;
            const char *data;
            size_t size;
        } bad[] = {
            {0, "", 0},
            {0, "G T", 3},
            {0, "G\0T", 3},
            {0, "G:", 2},
            {1, "", 0},
            {1, "/a\0b", 4},
            {2, "/a\0b", 4},
            {3, "12", 2},
            {3, "1", 1},
            {3, "111", 3},
            {3, "09", 2},
            {3, "", 0},
            {4, "1:a,", 4},
            {4, "3:ab,", 5},
            {4, "x:a,1:b,", 8},
            {5, "1:a,1:\0,", 8},
            {5, "1:a,1:b", 7},
            {7, "1:a,", 4},
            {7, "junk", 4},
            {4, "0:", 2},
            {8, "extra", 5},
            {8, "1.2.3.4 ", 8},
            {8, "::1\n", 4},
            {8, "1.2\0", 4},
            {8, "1234567890123456789012345678901234567890123456789012345678901234", 64},
        };
        for (size_t index = 0; index < sizeof (bad) / sizeof (bad[0]); index++) {
            msg = forms[form](bad[index].index, bad[index].data, bad[index].size);
            ck_assert_msg (ps_http_request_decode (msg) == NULL, "form %d accepted bad field %zu",
                           form, index);
            zmsg_destroy (&msg);
        }
    }

    //  wrong frame counts: the fields, in order, as 0, 2 to 7, 10 or 11
    //  frames (the valid ones, 8 and 9, are checked above)
    zmsg_t *msg;
    for (int count = 0; count <= 11; count++) {
        if (count == 1 || count == 8 || count == 9)
            continue;
        msg = zmsg_new ();
        for (int at = 0; at < count; at++)
            zmsg_addstr (msg, at < 8 ? s_wire_fields[at] : "::1");
        ck_assert_msg (ps_http_request_decode (msg) == NULL, "accepted %d frames", count);
        zmsg_destroy (&msg);
    }

    //  one frame: not nine netstrings exactly, or bytes after them
    const char *frames[] = {
        "",
        "3:GET,6:/x?a=1,2:/x,2:11,8:1:a,1:1,,11:4:Host,1:h,,0:,0:,",
        "3:GET,6:/x?a=1,2:/x,2:11,8:1:a,1:1,,11:4:Host,1:h,,0:,0:,0:,0:,",
        "3:GET,6:/x?a=1,2:/x,2:11,8:1:a,1:1,,11:4:Host,1:h,,0:,0:,0:,x",
        "3:GET,6:/x?a=1,2:/x,2:11,8:1:a,1:1,,11:4:Host,1:h,,0:,0:,0:",
        "3:GET,6:/x?a=1,2:/x,2:11,8:1:a,1:1,,11:4:Host,1:h,,0:,0:,1:,",
        "3:GET,6:/x?a=1,2:/x,2:11,8:1:a,1:1,,11:4:Host,1:h,,0:,0:,00:,",
        "3:GET,6:/x?a=1,2:/x,2:11,8:1:a,1:1,,99:4:Host,1:h,,0:,0:,0:,",
        "3:GET,6:/x?a=1,2:/x,2:11,7:1:a,1:1,,11:4:Host,1:h,,0:,0:,0:,",
    };
    for (size_t index = 0; index < sizeof (frames) / sizeof (frames[0]); index++) {
        msg = zmsg_new ();
        zmsg_addstr (msg, frames[index]);
        ck_assert_msg (ps_http_request_decode (msg) == NULL, "accepted frame %zu", index);
        zmsg_destroy (&msg);
    }
    //  and the good one, to show the bad ones differ from it in one place
    msg = zmsg_new ();
    zmsg_addstr (msg, "3:GET,6:/x?a=1,2:/x,2:11,8:1:a,1:1,,11:4:Host,1:h,,0:,0:,0:,");
    ps_http_request_t *request = ps_http_request_decode (msg);
    ck_assert_ptr_nonnull (request);
    ps_http_request_destroy (&request);
    zmsg_destroy (&msg);

    //  random garbage: never a crash, and only NULL or a request
    uint32_t state = 12345;
    for (int round = 0; round < 3000; round++) {
        msg = zmsg_new ();
        size_t count = round % 3 == 0 ? 1 : round % 3 == 1 ? 8 : s_random (&state) % 12;
        for (size_t at = 0; at < count; at++) {
            char data[96];
            size_t size = s_random (&state) % (count == 1 ? sizeof (data) : 32);
            for (size_t byte = 0; byte < size; byte++)
                data[byte] = round % 2 ? (char) s_random (&state)
                                       : "0123456789:,ab"[s_random (&state) % 14];
            zmsg_addmem (msg, data, size);
        }
        request = ps_http_request_decode (msg);
        if (request)
            ck_assert (count == 1 || count == 8 || count == 9);
        ps_http_request_destroy (&request);
        zmsg_destroy (&msg);
    }
}
END_TEST

//  ---------------------------------------------------------------------
//  Corpus of malformed requests

START_TEST (test_bad_request_corpus)
{
    const char *dirname = TEST_DATA_DIR "/bad_requests";
    DIR *dir = opendir (dirname);
    ck_assert_msg (dir != NULL, "cannot open %s", dirname);
    size_t files = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        size_t length = strlen (entry->d_name);
        if (length < 6 || !streq (entry->d_name + length - 5, ".http"))
            continue;
        int status = atoi (entry->d_name);
        ck_assert_msg (status >= 400 && status < 600, "bad name %s", entry->d_name);
        char *path = zsys_sprintf ("%s/%s", dirname, entry->d_name);
        FILE *file = fopen (path, "rb");
        ck_assert_ptr_nonnull (file);
        char *data = (char *) malloc (1 << 20);
        size_t size = fread (data, 1, 1 << 20, file);
        fclose (file);
        result_t result;
        s_parse_limits (data, size, NULL, &result);
        ck_assert_msg (result.status == status, "%s: expected %d, got %d", entry->d_name, status,
                       result.status);
        ck_assert_msg (result.count == 0, "%s: %zu requests came out", entry->d_name, result.count);
        s_result_clear (&result);
        //  after a good request, which still comes out
        const char good[] = "GET /first HTTP/1.1\r\nHost: x\r\n\r\n";
        char *both = (char *) malloc (sizeof (good) + size);
        memcpy (both, good, sizeof (good) - 1);
        memcpy (both + sizeof (good) - 1, data, size);
        s_parse_limits (both, sizeof (good) - 1 + size, NULL, &result);
        ck_assert_msg (result.status == status, "%s after a good request: expected %d, got %d",
                       entry->d_name, status, result.status);
        ck_assert_uint_eq (result.count, 1);
        ck_assert_str_eq (ps_http_request_target (result.requests[0]), "/first");
        s_result_clear (&result);
        free (both);
        free (data);
        free (path);
        files++;
    }
    closedir (dir);
    ck_assert_uint_ge (files, 40);
}
END_TEST

//  ps_http_parser_reset: from any state (failed with a request queued,
//  closed, in a chunked body waiting for 100-continue) back to what a new
//  parser with the same limits gives for the same bytes.
static char *
s_parse_text (ps_http_parser_t *parser, const char *data)
{
    char *text = NULL;
    s_append (&text, "status %d (%s) partial=%d\n",
              ps_http_parser_feed (parser, data, strlen (data)), ps_http_parser_reason (parser),
              ps_http_parser_partial (parser));
    ps_http_request_t *request;
    while ((request = ps_http_parser_next (parser))) {
        s_describe (&text, request);
        ps_http_request_destroy (&request);
    }
    return text;
}

START_TEST (test_parser_reset)
{
    ps_http_limits_t limits;
    ps_http_limits_defaults (&limits);
    limits.max_target = 16;
    const char *dirty[] = {
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n",
        ("POST /c?q=1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
         "Transfer-Encoding: chunked\r\n\r\n5\r\nabc"),
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nabcd",
        "GET /0123456789abcdefghij HTTP/1.1\r\n",
        "GET / HTTP/1.1\r\nHo",
    };
    const char *clean[] = {
        ("GET /x?a=b HTTP/1.1\r\nHost: y\r\n\r\n"
         "POST /p HTTP/1.1\r\nHost: y\r\nTransfer-Encoding: chunked\r\n\r\n"
         "3\r\nxyz\r\n0\r\nT: 1\r\n\r\nGET /0123456789abcdefghij HTTP/1.1\r\n"),
        "POST /q HTTP/1.1\r\nHost: y\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nab",
        "GET / HTTP/1.0\r\n\r\n",
    };
    ps_http_parser_t *reused = ps_http_parser_new (&limits);
    for (size_t d = 0; d < sizeof (dirty) / sizeof (dirty[0]); d++)
        for (size_t c = 0; c < sizeof (clean) / sizeof (clean[0]); c++) {
            //  dirty it, keeping what it queued
            ps_http_parser_feed (reused, dirty[d], strlen (dirty[d]));
            ps_http_parser_reset (reused);
            ck_assert_int_eq (ps_http_parser_status (reused), 0);
            ck_assert_str_eq (ps_http_parser_reason (reused), "");
            ck_assert (!ps_http_parser_partial (reused));
            ck_assert (!ps_http_parser_in_headers (reused));
            ck_assert (!ps_http_parser_wants_continue (reused));
            ck_assert_ptr_null (ps_http_parser_next (reused));

            ps_http_parser_t *fresh = ps_http_parser_new (&limits);
            char *expected = s_parse_text (fresh, clean[c]);
            bool fresh_continue = ps_http_parser_wants_continue (fresh);
            ps_http_parser_destroy (&fresh);
            char *got = s_parse_text (reused, clean[c]);
            ck_assert_str_eq (got, expected);
            ck_assert_int_eq (ps_http_parser_wants_continue (reused), fresh_continue);
            s_text_free (&expected);
            s_text_free (&got);
        }
    //  the clean streams did reach the limit and the Expect they test
    ps_http_parser_reset (reused);
    char *text = s_parse_text (reused, clean[0]);
    ck_assert_ptr_nonnull (strstr (text, "status 414"));
    ck_assert_ptr_nonnull (strstr (text, "body(3)=xyz"));
    s_text_free (&text);
    ps_http_parser_reset (reused);
    text = s_parse_text (reused, clean[1]);
    ck_assert (ps_http_parser_wants_continue (reused));
    s_text_free (&text);
    ps_http_parser_destroy (&reused);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("ps_http_parser");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_simple_get);
    tcase_add_test (tc, test_browser_get);
    tcase_add_test (tc, test_duplicate_headers_kept);
    tcase_add_test (tc, test_content_length_body);
    tcase_add_test (tc, test_pipelined);
    tcase_add_test (tc, test_upgrade_ignored);
    tcase_add_test (tc, test_queue_across_feeds);
    tcase_add_test (tc, test_query_splitting);
    tcase_add_test (tc, test_target_errors);
    tcase_add_test (tc, test_chunked);
    tcase_add_test (tc, test_keep_alive_matrix);
    tcase_add_test (tc, test_expect_continue);
    tcase_add_test (tc, test_error_statuses);
    tcase_add_test (tc, test_failed_parser_stays_failed);
    tcase_add_test (tc, test_strictness);
    tcase_add_test (tc, test_limits);
    tcase_add_test (tc, test_encode_decode);
    tcase_add_test (tc, test_decode_junk);
    tcase_add_test (tc, test_bad_request_corpus);
    tcase_add_test (tc, test_parser_reset);
    tcase_add_test (tc, test_methods_ows_fragment);
    tcase_add_test (tc, test_independent_limits);
    suite_add_tcase (suite, tc);
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? 1 : 0;
}
