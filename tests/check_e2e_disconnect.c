/*  check_e2e_disconnect: clients that vanish at every moment, then service.

    A thousand connections go away mid-request, mid-body, right after a full
    request whose answer a slow worker delays, and with pipelined requests
    pending; half of them close normally, half with a reset, at jittered
    times so that some answers race the disconnect. What must hold:

    - The server never follows a failed routing-id send with a body frame.
      On a ZMQ_STREAM socket that mistake is visible from outside: libzmq
      would take the body frame as the next routing id, and from then on
      every answer's frames are shifted by one, so answers stop reaching
      their clients. Hence a probe request on a fresh connection after every
      few disconnects must get its own answer (matched by a nonce), and so
      must 10,000 requests at the end.
    - The state of vanished clients is freed: the server runs with small
      limits (64 connections; 80 requests in flight, of which the final
      phase uses 64), so leaked connections or in-flight slots would soon
      turn probes and final requests into refusals or 503s.
*/
#include "testutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TIMEOUT_MS  10000
#define DISCONNECTS 1000
#define PROBE_EVERY 10
#define REQUESTS    10000
#define CONNECTIONS 4
#define DEPTH       16  //  pipelined requests per connection at a time

//  Echo, or for /sleep/<ms> an answer after that long unless cancelled
//  first (the worker notices within a millisecond).
static int
s_slow_echo (ps_work_t *work, void *arg)
{
    const ps_http_request_t *request = ps_work_request (work);
    if (request && strncmp (ps_http_request_path (request), "/sleep/", 7) == 0) {
        int64_t until = zclock_mono () + atoi (ps_http_request_path (request) + 7);
        while (zclock_mono () < until && !ps_work_cancelled (work))
            zclock_sleep (1);
    }
    return tu_echo_work (work, arg);
}

//  Raw sockets of our own: the test needs resets and half-sent requests.
static int
s_connect (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge (fd, 0);
    struct sockaddr_in addr;
    memset (&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    addr.sin_port = htons ((uint16_t) port);
    ck_assert_int_eq (connect (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void
s_send (int fd, const char *text)
{
    //  the server may have closed already (e.g. after a refusal): fine
    if (send (fd, text, strlen (text), MSG_NOSIGNAL) < 0)
        ck_assert_msg (errno == EPIPE || errno == ECONNRESET, "send: %s", strerror (errno));
}

//  Waits up to ms for the server to say something, reading what comes:
//  jitter that lets some answers arrive before we vanish, some after.
static void
s_linger_ms (int fd, int ms)
{
    char buf[4096];
    struct pollfd item = {fd, POLLIN, 0};
    if (ms > 0 && poll (&item, 1, ms) == 1)
        if (recv (fd, buf, sizeof buf, MSG_DONTWAIT) < 0)
            ck_assert_msg (errno == ECONNRESET || errno == EAGAIN, "recv: %s", strerror (errno));
}

//  Closes normally, or with a reset (SO_LINGER 0) so the server's next send
//  to it fails at once.
static void
s_vanish (int fd, bool reset)
{
    if (reset) {
        struct linger linger = {1, 0};
        setsockopt (fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    }
    close (fd);
}

static void
s_probe (int port, unsigned nonce)
{
    tu_client_t *client = tu_client_new (port);
    ck_assert (client);
    char request[128], expected[64];
    snprintf (request, sizeof request, "GET /probe/%u HTTP/1.1\r\nHost: x\r\n\r\n", nonce);
    snprintf (expected, sizeof expected, "GET /probe/%u ", nonce);
    tu_response_t *response = tu_client_request (client, request, TIMEOUT_MS);
    ck_assert_msg (response, "probe %u not answered", nonce);
    ck_assert_msg (response->status == 200 && streq (response->body, expected),
                   "probe %u answered %d '%s'", nonce, response->status, response->body);
    tu_response_destroy (&response);
    tu_client_destroy (&client);
}

//  The requests on one connection, in order; DEPTH kept in flight.
typedef struct {
    tu_client_t *client;
    unsigned sent;
    unsigned received;
    unsigned first;  //  nonce of request 0 on this connection
} s_stream_t;

static void
s_stream_send (s_stream_t *stream, unsigned count)
{
    char batch[DEPTH * 64];
    size_t size = 0;
    for (unsigned index = 0; index < count; index++)
        size += (size_t) snprintf (batch + size, sizeof batch - size,
                                   "GET /n/%u HTTP/1.1\r\nHost: x\r\n\r\n",
                                   stream->first + stream->sent++);
    ck_assert_int_eq (tu_client_send (stream->client, batch, size), 0);
}

START_TEST (test_disconnects_then_service)
{
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.max_connections = 64;
    config.max_in_flight = 80;
    tu_stage_t stage = {.work = s_slow_echo, .workers = 4};
    ps_pipeline_t *pipeline = tu_pipeline_new ("inproc", &config, &stage, 1);
    ck_assert (pipeline);
    int port = ps_pipeline_port (pipeline);

    srandom (20240601);
    const char *head = "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
    for (unsigned round = 0; round < DISCONNECTS; round++) {
        int fd = s_connect (port);
        bool reset = round % 2 == 1;
        int jitter = (int) (random () % 4);
        char request[512];
        switch ((round / 2) % 4) {
        case 0:  //  mid-request: part of a header section
            s_send (fd, "GET /partial HTTP/1.1\r\nHo");
            s_linger_ms (fd, jitter);
            break;
        case 1:  //  mid-body
            s_send (fd, head);
            s_send (fd, "0123456789");
            s_linger_ms (fd, jitter);
            break;
        case 2:  //  a full request whose answer is on its way
            snprintf (request, sizeof request, "GET /sleep/%ld HTTP/1.1\r\nHost: x\r\n\r\n",
                      random () % 4);
            s_send (fd, request);
            s_linger_ms (fd, jitter);
            break;
        default:  //  pipelined requests: vanish as the first answer
                  //  arrives, while the others are on their way
            snprintf (request, sizeof request,
                      "GET /sleep/%ld HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /now HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /sleep/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /now HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /now HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /sleep/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /now HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /now HTTP/1.1\r\nHost: x\r\n\r\n"
                      "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
                      random () % 3);
            s_send (fd, request);
            s_linger_ms (fd, jitter ? 100 : 0);
            break;
        }
        s_vanish (fd, reset);
        if (round % PROBE_EVERY == PROBE_EVERY - 1)
            s_probe (port, round);
    }

    //  Then 10,000 correct requests, all answered, each by its own answer
    s_stream_t streams[CONNECTIONS];
    unsigned per_stream = REQUESTS / CONNECTIONS;
    for (unsigned index = 0; index < CONNECTIONS; index++) {
        streams[index].client = tu_client_new (port);
        ck_assert (streams[index].client);
        streams[index].sent = streams[index].received = 0;
        streams[index].first = index * per_stream;
        s_stream_send (&streams[index], DEPTH);
    }
    unsigned answered = 0;
    while (answered < CONNECTIONS * per_stream) {
        for (unsigned index = 0; index < CONNECTIONS; index++) {
            s_stream_t *stream = &streams[index];
            if (stream->received == per_stream)
                continue;
            tu_response_t *response = tu_client_read (stream->client, TIMEOUT_MS, false);
            ck_assert_msg (response, "request %u not answered", stream->first + stream->received);
            char expected[64];
            snprintf (expected, sizeof expected, "GET /n/%u ", stream->first + stream->received);
            ck_assert_msg (response->status == 200 && streq (response->body, expected),
                           "request %u answered %d '%s'", stream->first + stream->received,
                           response->status, response->body);
            tu_response_destroy (&response);
            stream->received++;
            answered++;
            if (stream->sent < per_stream && stream->sent - stream->received < DEPTH / 2) {
                unsigned more = per_stream - stream->sent;
                s_stream_send (stream, more < DEPTH / 2 ? more : DEPTH / 2);
            }
        }
    }
    ck_assert_uint_eq (answered, REQUESTS);
    for (unsigned index = 0; index < CONNECTIONS; index++)
        tu_client_destroy (&streams[index].client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("e2e_disconnect");
    TCase *tcase = tcase_create ("disconnect");
    tcase_add_test (tcase, test_disconnects_then_service);
    suite_add_tcase (suite, tcase);
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
