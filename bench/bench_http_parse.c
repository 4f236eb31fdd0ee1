/*  bench_http_parse: how fast ps_http_parser turns bytes into requests.

    Prints a table of parsed requests per second and input MB/s for a
    typical browser GET (~500 bytes of headers) and for a pipelined batch
    of 100 small requests, one keep-alive parser per case as the server
    keeps one per connection. Each row runs about 2 seconds (or the seconds
    given as the first argument). Two reference rows: the same browser GET
    also encoded to the worker wire form (what the server does next), and
    bare llhttp_execute with no callbacks (the floor under us).

    Each case runs as 10 rounds; the table shows the median round and the
    best one, so that a busy machine (other processes taking the core for
    a while) shows up as a gap between them instead of a wrong figure.
*/
#include "prime_server/prime_server.h"
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_browser_get[] =
    "GET /static/js/app.min.js?v=20240115 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\n"
    "Accept: */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.com/products/index.html\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=5f2b8c1e9a7d4e3f; theme=dark; consent=yes; _ga=GA1.2.123456.789\r\n"
    "Sec-Fetch-Dest: script\r\n"
    "Sec-Fetch-Mode: no-cors\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "If-None-Match: \"5e8a-1b2c3d4e\"\r\n"
    "Cache-Control: max-age=0\r\n"
    "\r\n";

typedef enum { MODE_PARSE, MODE_ENCODE, MODE_LIBRARY } mode_t_;

typedef struct {
    double requests_per_second;
    double megabytes_per_second;
} result_t;

//  Feed input (holding per_feed requests) over and over for seconds.
static result_t
s_run (const char *input, size_t size, size_t per_feed, mode_t_ mode, double seconds)
{
    ps_http_parser_t *parser = ps_http_parser_new (NULL);
    llhttp_t library;
    llhttp_settings_t settings;
    llhttp_settings_init (&settings);
    llhttp_init (&library, HTTP_REQUEST, &settings);

    uint64_t requests = 0, bytes = 0;
    int64_t start = zclock_mono ();
    int64_t stop = start + (int64_t) (seconds * 1000);
    int64_t now = start;
    while (now < stop) {
        for (int round = 0; round < 200; round++) {
            if (mode == MODE_LIBRARY) {
                if (llhttp_execute (&library, input, size) != HPE_OK) {
                    fprintf (stderr, "library refused the input\n");
                    exit (1);
                }
                requests += per_feed;
            }
            else {
                if (ps_http_parser_feed (parser, input, size) != 0) {
                    fprintf (stderr, "parser refused the input: %s\n",
                             ps_http_parser_reason (parser));
                    exit (1);
                }
                ps_http_request_t *request;
                while ((request = ps_http_parser_next (parser))) {
                    if (mode == MODE_ENCODE) {
                        zmsg_t *msg = ps_http_request_encode (request);
                        zmsg_destroy (&msg);
                    }
                    ps_http_request_destroy (&request);
                    requests++;
                }
            }
            bytes += size;
        }
        now = zclock_mono ();
    }
    ps_http_parser_destroy (&parser);
    double elapsed = (double) (now - start) / 1000.0;
    result_t result = {(double) requests / elapsed, (double) bytes / elapsed / 1e6};
    return result;
}

#define S_ROUNDS 10

static int
s_compare (const void *a, const void *b)
{
    double x = ((const result_t *) a)->requests_per_second;
    double y = ((const result_t *) b)->requests_per_second;
    return x < y ? -1 : x > y;
}

int
main (int argc, char *argv[])
{
    double seconds = argc > 1 ? atof (argv[1]) : 2.0;
    if (seconds <= 0)
        seconds = 2.0;

    //  100 small pipelined requests in one feed
    char *batch = NULL;
    size_t batch_size = 0;
    for (int index = 0; index < 100; index++) {
        char one[128];
        int size = snprintf (one, sizeof (one),
                             "GET /is_prime?possible_prime=%d HTTP/1.1\r\nHost: localhost\r\n\r\n",
                             1000003 + index);
        batch = (char *) realloc (batch, batch_size + (size_t) size);
        memcpy (batch + batch_size, one, (size_t) size);
        batch_size += (size_t) size;
    }
    size_t get_size = strlen (s_browser_get);

    printf ("ps_http_parser, %.1f s per case in %d rounds, llhttp %d.%d.%d\n\n", seconds, S_ROUNDS,
            LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
    printf ("%-42s %9s %12s %12s %8s\n", "case", "bytes/req", "req/s median", "req/s best", "MB/s");
    struct {
        const char *name;
        const char *input;
        size_t size;
        size_t per_feed;
        mode_t_ mode;
    } cases[] = {
        {"browser GET, one per feed", s_browser_get, get_size, 1, MODE_PARSE},
        {"pipelined batch, 100 small GETs per feed", batch, batch_size, 100, MODE_PARSE},
        {"browser GET + encode to wire form", s_browser_get, get_size, 1, MODE_ENCODE},
        {"browser GET, bare llhttp_execute", s_browser_get, get_size, 1, MODE_LIBRARY},
        {"batch, bare llhttp_execute", batch, batch_size, 100, MODE_LIBRARY},
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases[0]); index++) {
        result_t rounds[S_ROUNDS];
        for (int round = 0; round < S_ROUNDS; round++)
            rounds[round] = s_run (cases[index].input, cases[index].size, cases[index].per_feed,
                                   cases[index].mode, seconds / S_ROUNDS);
        qsort (rounds, S_ROUNDS, sizeof (result_t), s_compare);
        result_t median = rounds[S_ROUNDS / 2];
        result_t best = rounds[S_ROUNDS - 1];
        printf ("%-42s %9zu %12.0f %12.0f %8.1f\n", cases[index].name,
                cases[index].size / cases[index].per_feed, median.requests_per_second,
                best.requests_per_second, median.megabytes_per_second);
        fflush (stdout);
    }
    free (batch);
    return 0;
}
