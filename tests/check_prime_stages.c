/*  check_prime_stages: the prime service's two stages.

    First the pieces alone: number parsing, and trial division checked
    against a sieve of Eratosthenes written here (an independent count),
    cancellation included. Then the HTTP contract (prime_stages.h) over real
    sockets: each test starts server, proxies and workers on 127.0.0.1:*
    with inproc names of its own, sends raw request bytes and checks
    status, headers and the exact body.
*/
#include "prime_stages.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

//  ---------------------------------------------------------------------
//  Number parsing

START_TEST (test_parse_number)
{
    struct {
        const char *text;
        prime_number_status_t status;
        uint64_t value;
    } cases[] = {
        {"0", PRIME_NUMBER_OK, 0},
        {"7", PRIME_NUMBER_OK, 7},
        {"007", PRIME_NUMBER_OK, 7},
        {"18446744073709551615", PRIME_NUMBER_OK, UINT64_MAX},
        {"18446744073709551557", PRIME_NUMBER_OK, 18446744073709551557ULL},
        {"", PRIME_NUMBER_EMPTY, 0},
        {"-7", PRIME_NUMBER_NEGATIVE, 0},
        {"-0", PRIME_NUMBER_NEGATIVE, 0},
        {"-", PRIME_NUMBER_NOT_DECIMAL, 0},
        {"-x", PRIME_NUMBER_NOT_DECIMAL, 0},
        {"+7", PRIME_NUMBER_NOT_DECIMAL, 0},
        {" 7", PRIME_NUMBER_NOT_DECIMAL, 0},
        {"7 ", PRIME_NUMBER_NOT_DECIMAL, 0},
        {"0x10", PRIME_NUMBER_NOT_DECIMAL, 0},
        {"1.5", PRIME_NUMBER_NOT_DECIMAL, 0},
        {"1e3", PRIME_NUMBER_NOT_DECIMAL, 0},
        {"abc", PRIME_NUMBER_NOT_DECIMAL, 0},
        {"18446744073709551616", PRIME_NUMBER_TOO_LARGE, 0},
        {"99999999999999999999999", PRIME_NUMBER_TOO_LARGE, 0},
        {"184467440737095516150", PRIME_NUMBER_TOO_LARGE, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t value = 12345;
        prime_number_status_t status = prime_parse_number (cases[i].text, strlen (cases[i].text),
                                                           &value);
        ck_assert_msg (status == cases[i].status, "'%s': status %d, expected %d", cases[i].text,
                       status, cases[i].status);
        if (status == PRIME_NUMBER_OK)
            ck_assert_msg (value == cases[i].value, "'%s': %" PRIu64, cases[i].text, value);
        else
            ck_assert_msg (value == 12345, "'%s': value written on error", cases[i].text);
    }
    //  Length, not NUL, delimits: "12" of "123"
    uint64_t value = 0;
    ck_assert_int_eq (prime_parse_number ("123", 2, &value), PRIME_NUMBER_OK);
    ck_assert (value == 12);
    //  NUL inside is not a digit
    ck_assert_int_eq (prime_parse_number ("1\0"
                                          "2",
                                          3, &value),
                      PRIME_NUMBER_NOT_DECIMAL);
}
END_TEST

//  ---------------------------------------------------------------------
//  Trial division against an independent sieve

#define S_SIEVE_LIMIT 300000

START_TEST (test_trial_division_sieve)
{
    char *composite = (char *) calloc (S_SIEVE_LIMIT + 1, 1);
    ck_assert_ptr_nonnull (composite);
    composite[0] = composite[1] = 1;
    for (size_t i = 2; i * i <= S_SIEVE_LIMIT; i++)
        if (!composite[i])
            for (size_t j = i * i; j <= S_SIEVE_LIMIT; j += i)
                composite[j] = 1;
    size_t primes = 0;
    for (uint64_t n = 0; n <= S_SIEVE_LIMIT; n++) {
        int prime = prime_trial_division (n, NULL, NULL);
        ck_assert_msg (prime == !composite[n], "%" PRIu64 ": %d", n, prime);
        primes += (size_t) prime;
    }
    free (composite);
    ck_assert_uint_eq (primes, 25997);  //  pi (300000)
}
END_TEST

START_TEST (test_trial_division_large)
{
    struct {
        uint64_t n;
        int prime;
    } cases[] = {
        {1000000007ULL, 1},   {1000000008ULL, 0},  {32416190071ULL, 1},
        {32416190073ULL, 0},  {4294967291ULL, 1},   //  largest prime below 2^32
        {4294967311ULL, 1},                         //  smallest prime above 2^32
        {4293001441ULL, 0},                         //  65521^2: the bound d * d == n counts
        {9998000099ULL, 0},                         //  99989 * 99991
        {999999999989ULL, 1}, {UINT64_MAX, 0},      //  near 2^64: no overflow in the bound
        {UINT64_MAX - 1, 0},  {UINT64_MAX - 2, 0},  //  18446744073709551613 = 13 * ...
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg (prime_trial_division (cases[i].n, NULL, NULL) == cases[i].prime, "%" PRIu64,
                       cases[i].n);
}
END_TEST

typedef struct {
    int calls;
    int stop_at;
} s_cancel_t;

static bool
s_cancel_after (void *arg)
{
    s_cancel_t *self = (s_cancel_t *) arg;
    return ++self->calls >= self->stop_at;
}

START_TEST (test_trial_division_cancel)
{
    //  The largest 64-bit prime takes over ten seconds: cancellation must
    //  stop it after a few thousand divisions.
    s_cancel_t cancel = {0, 3};
    int64_t start = zclock_mono ();
    ck_assert_int_eq (prime_trial_division (18446744073709551557ULL, s_cancel_after, &cancel), -1);
    ck_assert_int_eq (cancel.calls, 3);
    ck_assert_int_lt (zclock_mono () - start, 1000);

    //  Asked every PRIME_CANCEL_CHECK divisions, not more often: a number
    //  with fewer divisions is never interrupted.
    cancel.calls = 0;
    cancel.stop_at = 1;
    ck_assert_int_eq (prime_trial_division (1000003, s_cancel_after, &cancel), 1);
    ck_assert_int_eq (cancel.calls, 0);
    //  32416190071 needs about 180000 divisions: about 22 questions
    cancel.calls = 0;
    cancel.stop_at = 1000;
    ck_assert_int_eq (prime_trial_division (32416190071ULL, s_cancel_after, &cancel), 1);
    ck_assert_int_eq (cancel.calls, 180044 / PRIME_CANCEL_CHECK);
}
END_TEST

//  Factors against a product check and a primality check of each factor
//  (trial division, tested above), and cancellation as for primes.
START_TEST (test_factorise)
{
    uint64_t factors[64];
    size_t count = 99;
    ck_assert_int_eq (prime_factorise (0, factors, &count, NULL, NULL), 0);
    ck_assert_uint_eq (count, 0);
    ck_assert_int_eq (prime_factorise (1, factors, &count, NULL, NULL), 0);
    ck_assert_uint_eq (count, 0);
    ck_assert_int_eq (prime_factorise ((uint64_t) 1 << 63, factors, &count, NULL, NULL), 0);
    ck_assert_uint_eq (count, 63);
    for (uint64_t n = 2; n < 20000; n++) {
        ck_assert_int_eq (prime_factorise (n, factors, &count, NULL, NULL), 0);
        uint64_t product = 1;
        for (size_t i = 0; i < count; i++) {
            ck_assert_int_eq (prime_trial_division (factors[i], NULL, NULL), 1);
            ck_assert (i == 0 || factors[i - 1] <= factors[i]);
            product *= factors[i];
        }
        ck_assert_uint_eq (product, n);
    }
    //  A semiprime of two 32-bit primes takes seconds: stopped at once
    s_cancel_t cancel = {0, 2};
    int64_t start = zclock_mono ();
    ck_assert_int_eq (
        prime_factorise (2147483659ULL * 4294967291ULL, factors, &count, s_cancel_after, &cancel),
        -1);
    ck_assert_int_eq (cancel.calls, 2);
    ck_assert_int_lt (zclock_mono () - start, 1000);
}
END_TEST

//  ---------------------------------------------------------------------
//  The pipeline over real sockets

typedef struct {
    ps_server_t *server;
    ps_proxy_t *proxies[2];
    ps_worker_t *workers[4];
    int port;
    char names[6][64];
} s_pipeline_t;

static s_pipeline_t *
s_pipeline_new (int request_timeout_ms, size_t compute_workers)
{
    static int counter = 0;
    s_pipeline_t *self = (s_pipeline_t *) zmalloc (sizeof *self);
    const char *roles[6] = {"parse",           "parse-workers", "compute",
                            "compute-workers", "loopback",      "interrupt"};
    int instance = counter++;
    for (int i = 0; i < 6; i++)
        snprintf (self->names[i], sizeof self->names[i], "inproc://check-prime-%d-%d-%s",
                  (int) getpid (), instance, roles[i]);

    ps_server_config_t server_config;
    ps_server_config_defaults (&server_config);
    server_config.listen = "tcp://127.0.0.1:*";
    server_config.proxy = self->names[0];
    server_config.loopback = self->names[4];
    server_config.interrupt = self->names[5];
    server_config.request_timeout_ms = request_timeout_ms;
    self->server = ps_server_new (&server_config);
    ck_assert_ptr_nonnull (self->server);
    self->port = ps_server_port (self->server);
    ck_assert_int_gt (self->port, 0);

    ps_proxy_config_t proxy_config;
    ps_proxy_config_defaults (&proxy_config);
    for (int i = 0; i < 2; i++) {
        proxy_config.upstream = self->names[2 * i];
        proxy_config.downstream = self->names[2 * i + 1];
        self->proxies[i] = ps_proxy_new (&proxy_config);
        ck_assert_ptr_nonnull (self->proxies[i]);
    }
    ps_worker_config_t worker_config;
    ps_worker_config_defaults (&worker_config);
    worker_config.loopback = self->names[4];
    worker_config.interrupt = self->names[5];
    worker_config.upstream = self->names[1];
    worker_config.downstream = self->names[2];
    worker_config.work = prime_stage_parse;
    self->workers[0] = ps_worker_new (&worker_config);
    ck_assert_ptr_nonnull (self->workers[0]);
    worker_config.upstream = self->names[3];
    worker_config.downstream = NULL;
    worker_config.work = prime_stage_compute;
    ck_assert (compute_workers >= 1 && compute_workers <= 3);
    for (size_t i = 0; i < compute_workers; i++) {
        self->workers[1 + i] = ps_worker_new (&worker_config);
        ck_assert_ptr_nonnull (self->workers[1 + i]);
    }
    return self;
}

static void
s_pipeline_destroy (s_pipeline_t **self_p)
{
    s_pipeline_t *self = *self_p;
    for (int i = 0; i < 4; i++)
        ps_worker_destroy (&self->workers[i]);
    ps_proxy_destroy (&self->proxies[1]);
    ps_proxy_destroy (&self->proxies[0]);
    ps_server_destroy (&self->server);
    free (self);
    *self_p = NULL;
}

static int
s_connect (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge (fd, 0);
    struct sockaddr_in address;
    memset (&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) port);
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    ck_assert_int_eq (connect (fd, (struct sockaddr *) &address, sizeof address), 0);
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void
s_send_all (int fd, const char *data, size_t size)
{
    while (size > 0) {
        ssize_t sent = send (fd, data, size, MSG_NOSIGNAL);
        ck_assert_int_gt (sent, 0);
        data += sent;
        size -= (size_t) sent;
    }
}

//  Read until count responses are complete, within timeout_ms in all.
//  heads[i]: response i answers a HEAD (may be NULL). Responses go into
//  responses[]; returns how many arrived (fewer on timeout or close).
static size_t
s_read_responses (int fd, ps_http_response_t **responses, size_t count, const bool *heads,
                  int timeout_ms)
{
    ps_http_response_parser_t *parser = ps_http_response_parser_new (1 << 20);
    for (size_t i = 0; i < count; i++)
        ps_http_response_parser_expect (parser, heads && heads[i]);
    size_t done = 0;
    int64_t deadline = zclock_mono () + timeout_ms;
    while (done < count) {
        ps_http_response_t *response = ps_http_response_parser_next (parser);
        if (response) {
            responses[done++] = response;
            continue;
        }
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        struct pollfd item = {fd, POLLIN, 0};
        if (poll (&item, 1, (int) left) <= 0)
            break;
        char buffer[4096];
        ssize_t got = recv (fd, buffer, sizeof buffer, 0);
        if (got < 0)
            break;
        if (ps_http_response_parser_feed (parser, buffer, (size_t) got) != 0 || got == 0) {
            ps_http_response_t *last = ps_http_response_parser_next (parser);
            if (last)
                responses[done++] = last;
            break;
        }
    }
    ps_http_response_parser_destroy (&parser);
    return done;
}

//  One request on a new connection; the response (caller owns) or a failed
//  assertion.
static ps_http_response_t *
s_exchange (int port, const char *request, bool head, int timeout_ms)
{
    int fd = s_connect (port);
    s_send_all (fd, request, strlen (request));
    ps_http_response_t *response = NULL;
    size_t got = s_read_responses (fd, &response, 1, &head, timeout_ms);
    close (fd);
    ck_assert_msg (got == 1, "no response to: %s", request);
    return response;
}

static void
s_assert_body (const ps_http_response_t *response, const char *body)
{
    size_t size = ps_http_response_body_size (response);
    ck_assert_msg (
        size == strlen (body) && memcmp (ps_http_response_body (response), body, size) == 0,
        "body '%.*s', expected '%s'", (int) size, ps_http_response_body (response), body);
}

//  GET with the status, a JSON content type and the exact body.
static void
s_assert_get (int port, const char *target, int status, const char *body)
{
    char *request = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
    ps_http_response_t *response = s_exchange (port, request, false, 10000);
    ck_assert_msg (ps_http_response_status (response) == status, "GET %s: %d, expected %d", target,
                   ps_http_response_status (response), status);
    const char *type = ps_pairs_get (ps_http_response_headers (response), "Content-Type");
    ck_assert_msg (type && streq (type, "application/json"), "GET %s: Content-Type %s", target,
                   type ? type : "(none)");
    s_assert_body (response, body);
    ps_http_response_destroy (&response);
    zstr_free (&request);
}

static void
s_assert_verdict (int port, uint64_t n, bool prime)
{
    char target[80], body[100];
    snprintf (target, sizeof target, "/is_prime?possible_prime=%" PRIu64, n);
    snprintf (body, sizeof body, "{\"possible_prime\":%" PRIu64 ",\"is_prime\":%s}", n,
              prime ? "true" : "false");
    s_assert_get (port, target, 200, body);
}

START_TEST (test_http_verdicts)
{
    s_pipeline_t *pipeline = s_pipeline_new (0, 1);
    s_assert_verdict (pipeline->port, 0, false);
    s_assert_verdict (pipeline->port, 1, false);
    s_assert_verdict (pipeline->port, 2, true);
    s_assert_verdict (pipeline->port, 3, true);
    s_assert_verdict (pipeline->port, 4, false);
    s_assert_verdict (pipeline->port, 1000000007ULL, true);
    s_assert_verdict (pipeline->port, 1000000008ULL, false);
    s_assert_verdict (pipeline->port, 32416190071ULL, true);
    s_assert_verdict (pipeline->port, UINT64_MAX, false);
    //  Percent-decoded, leading zeros accepted, other parameters ignored
    s_assert_get (pipeline->port, "/is_prime?possible_prime=%37", 200,
                  "{\"possible_prime\":7,\"is_prime\":true}");
    s_assert_get (pipeline->port, "/is_prime?x=1&possible_prime=0011", 200,
                  "{\"possible_prime\":11,\"is_prime\":true}");
    s_pipeline_destroy (&pipeline);
}
END_TEST

START_TEST (test_http_bad_numbers)
{
    s_pipeline_t *pipeline = s_pipeline_new (0, 1);
    int port = pipeline->port;
    s_assert_get (port, "/is_prime", 400, prime_error_missing ());
    s_assert_get (port, "/is_prime?", 400, prime_error_missing ());
    s_assert_get (port, "/is_prime?possible=7", 400, prime_error_missing ());
    s_assert_get (port, "/is_prime?possible_prime=", 400, prime_error_number (PRIME_NUMBER_EMPTY));
    s_assert_get (port, "/is_prime?possible_prime", 400, prime_error_number (PRIME_NUMBER_EMPTY));
    s_assert_get (port, "/is_prime?possible_prime=3&possible_prime=5", 400,
                  prime_error_repeated ());
    s_assert_get (port, "/is_prime?possible_prime=-7", 400,
                  prime_error_number (PRIME_NUMBER_NEGATIVE));
    const char *not_decimal[] = {"abc", "7a", "0x10", "1.5", "+7", "%2B7", "%207", "1e3"};
    for (size_t i = 0; i < sizeof not_decimal / sizeof not_decimal[0]; i++) {
        char target[64];
        snprintf (target, sizeof target, "/is_prime?possible_prime=%s", not_decimal[i]);
        s_assert_get (port, target, 400, prime_error_number (PRIME_NUMBER_NOT_DECIMAL));
    }
    s_assert_get (port, "/is_prime?possible_prime=18446744073709551616", 400,
                  prime_error_number (PRIME_NUMBER_TOO_LARGE));
    s_assert_get (port, "/is_prime?possible_prime=99999999999999999999999999", 400,
                  prime_error_number (PRIME_NUMBER_TOO_LARGE));
    //  Every error says what a valid request looks like
    ck_assert_ptr_nonnull (strstr (prime_error_missing (), "GET /is_prime?possible_prime=N"));
    ck_assert_ptr_nonnull (
        strstr (prime_error_number (PRIME_NUMBER_TOO_LARGE), "18446744073709551615"));
    s_pipeline_destroy (&pipeline);
}
END_TEST

START_TEST (test_http_paths_and_methods)
{
    s_pipeline_t *pipeline = s_pipeline_new (0, 1);
    int port = pipeline->port;
    s_assert_get (port, "/", 404, prime_error_not_found ());
    s_assert_get (port, "/isprime?possible_prime=7", 404, prime_error_not_found ());
    s_assert_get (port, "/is_prime/7", 404, prime_error_not_found ());

    const char *methods[] = {"PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        char *request = zsys_sprintf (
            "%s /is_prime?possible_prime=7 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
            methods[i]);
        ps_http_response_t *response = s_exchange (port, request, false, 10000);
        ck_assert_msg (ps_http_response_status (response) == 405, "%s: %d", methods[i],
                       ps_http_response_status (response));
        const char *allow = ps_pairs_get (ps_http_response_headers (response), "Allow");
        ck_assert_msg (allow && streq (allow, "GET, HEAD, POST"), "%s: Allow %s", methods[i],
                       allow ? allow : "(none)");
        s_assert_body (response, prime_error_method ());
        ps_http_response_destroy (&response);
        zstr_free (&request);
    }
    //  Another method on another path: the path decides first
    ps_http_response_t *response = s_exchange (port, "DELETE /other HTTP/1.1\r\nHost: t\r\n\r\n",
                                               false, 10000);
    ck_assert_int_eq (ps_http_response_status (response), 404);
    ps_http_response_destroy (&response);
    s_pipeline_destroy (&pipeline);
}
END_TEST

START_TEST (test_http_head_and_post)
{
    s_pipeline_t *pipeline = s_pipeline_new (0, 1);
    int port = pipeline->port;
    const char *body = "{\"possible_prime\":1000000007,\"is_prime\":true}";

    ps_http_response_t *response = s_exchange (
        port, "HEAD /is_prime?possible_prime=1000000007 HTTP/1.1\r\nHost: t\r\n\r\n", true, 10000);
    ck_assert_int_eq (ps_http_response_status (response), 200);
    ck_assert_uint_eq (ps_http_response_body_size (response), 0);
    const char *length = ps_pairs_get (ps_http_response_headers (response), "Content-Length");
    ck_assert_ptr_nonnull (length);
    ck_assert_int_eq (atoi (length), (int) strlen (body));
    ps_http_response_destroy (&response);

    response = s_exchange (port,
                           "POST /is_prime HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n"
                           "1000000007",
                           false, 10000);
    ck_assert_int_eq (ps_http_response_status (response), 200);
    s_assert_body (response, body);
    ps_http_response_destroy (&response);

    //  One trailing newline is forgiven (echo N | curl --data-binary @-)
    response = s_exchange (
        port, "POST /is_prime HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n8\n", false, 10000);
    ck_assert_int_eq (ps_http_response_status (response), 200);
    s_assert_body (response, "{\"possible_prime\":8,\"is_prime\":false}");
    ps_http_response_destroy (&response);

    //  Chunked body
    response = s_exchange (port,
                           "POST /is_prime HTTP/1.1\r\nHost: t\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n1\r\n1\r\n1\r\n3\r\n0\r\n\r\n",
                           false, 10000);
    ck_assert_int_eq (ps_http_response_status (response), 200);
    s_assert_body (response, "{\"possible_prime\":13,\"is_prime\":true}");
    ps_http_response_destroy (&response);

    //  The body, not the query, holds the number of a POST
    response = s_exchange (port,
                           "POST /is_prime?possible_prime=7 HTTP/1.1\r\nHost: t\r\n"
                           "Content-Length: 0\r\n\r\n",
                           false, 10000);
    ck_assert_int_eq (ps_http_response_status (response), 400);
    s_assert_body (response, prime_error_number (PRIME_NUMBER_EMPTY));
    ps_http_response_destroy (&response);

    response = s_exchange (
        port, "POST /is_prime HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n-12", false, 10000);
    ck_assert_int_eq (ps_http_response_status (response), 400);
    s_assert_body (response, prime_error_number (PRIME_NUMBER_NEGATIVE));
    ps_http_response_destroy (&response);
    s_pipeline_destroy (&pipeline);
}
END_TEST

START_TEST (test_http_keep_alive_in_order)
{
    //  Three compute workers, an expensive number first: answers complete
    //  out of order but leave in request order on one connection.
    s_pipeline_t *pipeline = s_pipeline_new (0, 3);
    int fd = s_connect (pipeline->port);
    const char *requests = "GET /is_prime?possible_prime=32416190071 HTTP/1.1\r\nHost: t\r\n\r\n"
                           "HEAD /is_prime?possible_prime=9 HTTP/1.1\r\nHost: t\r\n\r\n"
                           "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n"
                           "GET /is_prime?possible_prime=2 HTTP/1.1\r\nHost: t\r\n\r\n";
    s_send_all (fd, requests, strlen (requests));
    ps_http_response_t *responses[4] = {NULL};
    bool heads[4] = {false, true, false, false};
    ck_assert_uint_eq (s_read_responses (fd, responses, 4, heads, 10000), 4);
    ck_assert_int_eq (ps_http_response_status (responses[0]), 200);
    s_assert_body (responses[0], "{\"possible_prime\":32416190071,\"is_prime\":true}");
    ck_assert_int_eq (ps_http_response_status (responses[1]), 200);
    ck_assert_uint_eq (ps_http_response_body_size (responses[1]), 0);
    ck_assert_int_eq (ps_http_response_status (responses[2]), 404);
    ck_assert_int_eq (ps_http_response_status (responses[3]), 200);
    s_assert_body (responses[3], "{\"possible_prime\":2,\"is_prime\":true}");
    for (int i = 0; i < 4; i++) {
        ck_assert (ps_http_response_keep_alive (responses[i]));
        ps_http_response_destroy (&responses[i]);
    }
    close (fd);
    s_pipeline_destroy (&pipeline);
}
END_TEST

START_TEST (test_http_timeout_frees_worker)
{
    //  One compute worker, a number that needs over ten seconds: the client
    //  gets 504 at the timeout and the worker, seeing the cancel, is free
    //  for the next request at once.
    s_pipeline_t *pipeline = s_pipeline_new (300, 1);
    int64_t start = zclock_mono ();
    ps_http_response_t *response = s_exchange (
        pipeline->port,
        "GET /is_prime?possible_prime=18446744073709551557 HTTP/1.1\r\nHost: t\r\n\r\n", false,
        5000);
    ck_assert_int_eq (ps_http_response_status (response), 504);
    ps_http_response_destroy (&response);
    ck_assert_int_lt (zclock_mono () - start, 3000);
    s_assert_verdict (pipeline->port, 7, true);
    ck_assert_int_lt (zclock_mono () - start, 4000);
    s_pipeline_destroy (&pipeline);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("prime_stages");
    TCase *pieces = tcase_create ("pieces");
    tcase_add_test (pieces, test_parse_number);
    tcase_add_test (pieces, test_trial_division_sieve);
    tcase_add_test (pieces, test_trial_division_large);
    tcase_add_test (pieces, test_trial_division_cancel);
    tcase_add_test (pieces, test_factorise);
    suite_add_tcase (suite, pieces);
    TCase *http = tcase_create ("http");
    tcase_add_test (http, test_http_verdicts);
    tcase_add_test (http, test_http_bad_numbers);
    tcase_add_test (http, test_http_paths_and_methods);
    tcase_add_test (http, test_http_head_and_post);
    tcase_add_test (http, test_http_keep_alive_in_order);
    tcase_add_test (http, test_http_timeout_frees_worker);
    suite_add_tcase (suite, http);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    zsys_shutdown ();
    return failed ? 1 : 0;
}
