/*  check_ps_client: the batch client against a tiny HTTP server written
    here (an actor with a listening POSIX socket on 127.0.0.1:0), so that the
    client is tested on its own. The server answers canned responses in the
    ways a real server may: pipelined, written in small pieces, chunked,
    after a 100 Continue, closing after N answers (with or without saying
    so), delimited by the close, held back on one connection while others
    answer, or not at all.

    Every request carries "X-Id: <n>"; the body of its response is "id=<n>",
    so the response callback checks that it sees them in production order.
*/
#include "testutil.h"
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

//  ---------------------------------------------------------------------
//  The test server

typedef struct {
    //  Behaviour
    bool split;       //  write responses a few bytes at a time
    bool chunked;     //  chunked bodies
    bool interim;     //  a 100 Continue before every response
    bool silent;      //  never answer
    int close_after;  //  with "Connection: close" after this many answers
    int drop_after;   //  close without a word after this many answers
    int cut_after;    //  close halfway through answer number N+1
    bool eof_body;    //  one answer per connection, delimited by the close
    bool slam;        //  close every connection at once
    int hold;         //  hold the answers of the connection that got id 0
                      //  until this many were sent on other connections
    bool ipv6;        //  listen on ::1 instead of 127.0.0.1
    //  Results, read after the actor is gone
    int port;
    int accepted;
    int requests;
    int held_max;  //  most answers held back at once
} server_t;

#define MAX_TCONN 64

typedef struct {
    int fd;
    char buffer[65536];
    size_t used;
    int answered;
    bool draining;  //  we said goodbye; read and discard until the peer closes
    bool holder;    //  got id 0 (hold mode)
    zlist_t *held;  //  chunks held back
} tconn_t;

static void
s_send_all (int fd, const char *data, size_t size, bool split)
{
    size_t pos = 0;
    unsigned piece = 1;
    while (pos < size) {
        size_t step = split ? 1 + (piece++ % 5) : size - pos;
        if (step > size - pos)
            step = size - pos;
        ssize_t rc = send (fd, data + pos, step, MSG_NOSIGNAL);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return;  //  the client went away; its problem is tested elsewhere
        }
        pos += (size_t) rc;
    }
}

//  Half-close and wait for the client to close, so our answers are not lost
//  to a reset caused by requests we never read
static void
s_goodbye (tconn_t *conn)
{
    shutdown (conn->fd, SHUT_WR);
    conn->draining = true;
}

static void
s_tconn_destroy (tconn_t **conn_p)
{
    tconn_t *conn = *conn_p;
    close (conn->fd);
    zchunk_t *chunk;
    while ((chunk = (zchunk_t *) zlist_pop (conn->held)))
        zchunk_destroy (&chunk);
    zlist_destroy (&conn->held);
    free (conn);
    *conn_p = NULL;
}

static zchunk_t *
s_make_response (server_t *server, const char *method, const char *id, int status, bool close)
{
    char body[64];
    int body_size = snprintf (body, sizeof body, "id=%s", id);
    bool head = strcmp (method, "HEAD") == 0;
    char text[512];
    int size = 0;
    if (server->interim)
        size += snprintf (text + size, sizeof text - size, "HTTP/1.1 100 Continue\r\n\r\n");
    size += snprintf (text + size, sizeof text - size, "HTTP/1.1 %d X\r\nX-Method: %s\r\n", status,
                      method);
    if (close)
        size += snprintf (text + size, sizeof text - size, "Connection: close\r\n");
    if (status == 204 || status == 304)
        size += snprintf (text + size, sizeof text - size, "\r\n");
    else if (server->eof_body)
        size += snprintf (text + size, sizeof text - size, "\r\n%s", head ? "" : body);
    else if (server->chunked) {
        size += snprintf (text + size, sizeof text - size, "Transfer-Encoding: chunked\r\n\r\n");
        if (!head)
            size += snprintf (text + size, sizeof text - size,
                              "2;ext=1\r\n%.2s\r\n%x\r\n%s\r\n0\r\n\r\n", body, body_size - 2,
                              body + 2);
    }
    else
        size += snprintf (text + size, sizeof text - size, "Content-Length: %d\r\n\r\n%s",
                          body_size, head ? "" : body);
    return zchunk_new (text, (size_t) size);
}

static void s_release_held (server_t *server, tconn_t **conns, size_t count, int *sent_others);

//  Handle the complete requests in the buffer. Returns false once the
//  connection is to be closed at once.
static bool
s_tconn_serve (server_t *server, tconn_t *conn, tconn_t **conns, size_t count, int *sent_others)
{
    char *end;
    while (!conn->draining && (end = (char *) memmem (conn->buffer, conn->used, "\r\n\r\n", 4))) {
        size_t length = (size_t) (end + 4 - conn->buffer);
        server->requests++;
        char method[16] = "?";
        char id[32] = "?";
        sscanf (conn->buffer, "%15s", method);
        char *header = (char *) memmem (conn->buffer, length, "X-Id: ", 6);
        if (header)
            sscanf (header + 6, "%31[0-9]", id);
        int status = 200;
        char *want = (char *) memmem (conn->buffer, length, "X-Status: ", 10);
        if (want)
            status = atoi (want + 10);
        memmove (conn->buffer, conn->buffer + length, conn->used - length);
        conn->used -= length;
        if (server->silent)
            continue;
        if (server->slam)
            return false;
        if (server->drop_after && conn->answered == server->drop_after) {
            s_goodbye (conn);
            break;
        }
        bool close = server->close_after && conn->answered + 1 == server->close_after;
        zchunk_t *response = s_make_response (server, method, id, status, close);
        conn->answered++;
        if (server->cut_after && conn->answered == server->cut_after + 1) {
            s_send_all (conn->fd, (char *) zchunk_data (response), zchunk_size (response) / 2,
                        false);
            zchunk_destroy (&response);
            s_goodbye (conn);
            break;
        }
        if (server->hold && strcmp (id, "0") == 0)
            conn->holder = true;
        if (conn->holder && *sent_others < server->hold) {
            zlist_append (conn->held, response);
            int held = (int) zlist_size (conn->held);
            if (held > server->held_max)
                server->held_max = held;
            continue;
        }
        s_send_all (conn->fd, (char *) zchunk_data (response), zchunk_size (response),
                    server->split);
        zchunk_destroy (&response);
        if (!conn->holder) {
            (*sent_others)++;
            s_release_held (server, conns, count, sent_others);
        }
        if (close || server->eof_body) {
            s_goodbye (conn);
            break;
        }
    }
    return true;
}

static void
s_release_held (server_t *server, tconn_t **conns, size_t count, int *sent_others)
{
    if (*sent_others < server->hold)
        return;
    for (size_t i = 0; i < count; i++) {
        zchunk_t *chunk;
        while (conns[i] && (chunk = (zchunk_t *) zlist_pop (conns[i]->held))) {
            s_send_all (conns[i]->fd, (char *) zchunk_data (chunk), zchunk_size (chunk),
                        server->split);
            zchunk_destroy (&chunk);
        }
    }
}

static void
s_server_task (zsock_t *pipe, void *args)
{
    server_t *server = (server_t *) args;
    int listener = socket (server->ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert (listener >= 0);
    struct sockaddr_storage addr;
    memset (&addr, 0, sizeof addr);
    socklen_t size;
    if (server->ipv6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &addr;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        size = sizeof *in6;
    }
    else {
        struct sockaddr_in *in = (struct sockaddr_in *) &addr;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        size = sizeof *in;
    }
    int rc = bind (listener, (struct sockaddr *) &addr, size);
    assert (rc == 0);
    rc = listen (listener, 128);
    assert (rc == 0);
    size = sizeof addr;
    getsockname (listener, (struct sockaddr *) &addr, &size);
    server->port = server->ipv6 ? ntohs (((struct sockaddr_in6 *) &addr)->sin6_port)
                                : ntohs (((struct sockaddr_in *) &addr)->sin_port);
    zsock_signal (pipe, 0);

    tconn_t *conns[MAX_TCONN] = {NULL};
    int sent_others = 0;
    bool terminated = false;
    while (!terminated) {
        zmq_pollitem_t items[2 + MAX_TCONN];
        size_t slot_of[2 + MAX_TCONN];
        int count = 0;
        items[count++] = (zmq_pollitem_t){zsock_resolve (pipe), 0, ZMQ_POLLIN, 0};
        items[count++] = (zmq_pollitem_t){NULL, listener, ZMQ_POLLIN, 0};
        for (size_t i = 0; i < MAX_TCONN; i++)
            if (conns[i]) {
                slot_of[count] = i;
                items[count++] = (zmq_pollitem_t){NULL, conns[i]->fd, ZMQ_POLLIN, 0};
            }
        if (zmq_poll (items, count, -1) == -1)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            char *command = zstr_recv (pipe);
            terminated = !command || streq (command, "$TERM");
            zstr_free (&command);
        }
        if (items[1].revents & ZMQ_POLLIN) {
            int fd = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                server->accepted++;
                size_t i = 0;
                while (i < MAX_TCONN && conns[i])
                    i++;
                if (i == MAX_TCONN || server->slam)
                    close (fd);
                else {
                    //  Small split writes go out as separate segments
                    int one = 1;
                    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conns[i] = (tconn_t *) zmalloc (sizeof (tconn_t));
                    conns[i]->fd = fd;
                    conns[i]->held = zlist_new ();
                }
            }
        }
        for (int k = 2; k < count; k++) {
            if (!(items[k].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
                continue;
            tconn_t *conn = conns[slot_of[k]];
            size_t room = sizeof conn->buffer - conn->used;
            char discard[4096];
            ssize_t got = conn->draining ? recv (conn->fd, discard, sizeof discard, 0)
                                         : recv (conn->fd, conn->buffer + conn->used, room, 0);
            bool keep = got > 0;
            if (keep && !conn->draining) {
                conn->used += (size_t) got;
                keep = s_tconn_serve (server, conn, conns, MAX_TCONN, &sent_others);
            }
            if (!keep)
                s_tconn_destroy (&conns[slot_of[k]]);
        }
    }
    for (size_t i = 0; i < MAX_TCONN; i++)
        if (conns[i])
            s_tconn_destroy (&conns[i]);
    close (listener);
}

//  ---------------------------------------------------------------------
//  The client side of the tests

typedef struct {
    int total;  //  requests to produce
    int produced;
    int received;    //  responses seen, in order
    int head_every;  //  every Nth request is HEAD (0: none)
    bool bad_order;
    bool bad_body;
    int status;  //  X-Status to ask for (0: none)
    int expect_status;
    bool empty;  //  bodies are empty (204, 304)
} run_t;

static int
s_request (zchunk_t **request_p, bool *head, void *arg)
{
    run_t *run = (run_t *) arg;
    if (run->produced == run->total)
        return -1;
    int id = run->produced++;
    *head = run->head_every && id % run->head_every == 0;
    char text[256];
    int size = snprintf (text, sizeof text, "%s /r/%d HTTP/1.1\r\nHost: test\r\nX-Id: %d\r\n",
                         *head ? "HEAD" : "GET", id, id);
    if (run->status)
        size += snprintf (text + size, sizeof text - size, "X-Status: %d\r\n", run->status);
    size += snprintf (text + size, sizeof text - size, "\r\n");
    *request_p = zchunk_new (text, (size_t) size);
    return 0;
}

static void
s_response (const ps_http_response_t *response, void *arg)
{
    run_t *run = (run_t *) arg;
    int id = run->received++;
    bool head = run->head_every && id % run->head_every == 0;
    char body[64];
    snprintf (body, sizeof body, "id=%d", id);
    if (head || run->empty) {
        if (ps_http_response_body_size (response) != 0)
            run->bad_body = true;
        if (strcmp (ps_pairs_get (ps_http_response_headers (response), "X-Method"),
                    head ? "HEAD" : "GET"))
            run->bad_order = true;
    }
    else if (strcmp (ps_http_response_body (response), body) != 0) {
        if (!run->bad_order)
            fprintf (stderr, "response %d: got body '%s'\n", id, ps_http_response_body (response));
        run->bad_order = true;
    }
    if (ps_http_response_status (response) != (run->expect_status ? run->expect_status : 200))
        run->bad_body = true;
}

static zactor_t *
s_server_start (server_t *server)
{
    zactor_t *actor = zactor_new (s_server_task, server);
    ck_assert_ptr_nonnull (actor);
    ck_assert_int_gt (server->port, 0);
    return actor;
}

static long
s_client (server_t *server, run_t *run, size_t connections, size_t max_in_flight, int timeout_ms)
{
    ps_client_config_t config;
    ps_client_config_defaults (&config);
    config.port = server->port;
    config.connections = connections;
    config.max_in_flight = max_in_flight;
    config.timeout_ms = timeout_ms;
    config.request = s_request;
    config.response = s_response;
    config.arg = run;
    return ps_client_run (&config);
}

START_TEST (test_defaults)
{
    ps_client_config_t config;
    ps_client_config_defaults (&config);
    ck_assert_str_eq (config.host, "127.0.0.1");
    ck_assert_uint_eq (config.connections, 1);
    ck_assert_uint_eq (config.max_in_flight, 64);
    ck_assert_int_eq (config.timeout_ms, 10000);
    ck_assert_ptr_null (config.request);
}
END_TEST

START_TEST (test_pipelined)
{
    server_t server = {0};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 2000};
    ck_assert_int_eq (s_client (&server, &run, 1, 64, 10000), 2000);
    ck_assert_int_eq (run.received, 2000);
    ck_assert (!run.bad_order && !run.bad_body);
    zactor_destroy (&actor);
    ck_assert_int_eq (server.accepted, 1);
    ck_assert_int_eq (server.requests, 2000);
}
END_TEST

START_TEST (test_ipv6)
{
    server_t server = {.ipv6 = true};
    zactor_t *actor = s_server_start (&server);
    ps_client_config_t config;
    ps_client_config_defaults (&config);
    config.host = "::1";
    config.port = server.port;
    config.connections = 2;
    config.request = s_request;
    config.response = s_response;
    run_t run = {.total = 100};
    config.arg = &run;
    ck_assert_int_eq (ps_client_run (&config), 100);
    ck_assert (!run.bad_order && !run.bad_body);
    zactor_destroy (&actor);
    ck_assert_int_eq (server.accepted, 2);
}
END_TEST

START_TEST (test_one_at_a_time)
{
    server_t server = {0};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 50, .head_every = 4};
    ck_assert_int_eq (s_client (&server, &run, 3, 1, 10000), 50);
    ck_assert (!run.bad_order && !run.bad_body);
    zactor_destroy (&actor);
    //  One in flight: the least loaded connection is always the first
    ck_assert_int_eq (server.accepted, 1);
}
END_TEST

//  Responses on the connection of request 0 are held back until others
//  have been answered: the client must buffer those until their turn
START_TEST (test_order_across_connections)
{
    server_t server = {.hold = 20};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 1000, .head_every = 7};
    ck_assert_int_eq (s_client (&server, &run, 4, 32, 10000), 1000);
    ck_assert (!run.bad_order && !run.bad_body);
    zactor_destroy (&actor);
    ck_assert_int_eq (server.accepted, 4);
    ck_assert_int_gt (server.held_max, 0);
}
END_TEST

START_TEST (test_split_and_chunked)
{
    server_t server = {.split = true, .chunked = true};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 300, .head_every = 5};
    ck_assert_int_eq (s_client (&server, &run, 2, 16, 10000), 300);
    ck_assert (!run.bad_order && !run.bad_body);
    zactor_destroy (&actor);
}
END_TEST

START_TEST (test_interim_and_head)
{
    server_t server = {.interim = true, .split = true};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 200, .head_every = 3};
    ck_assert_int_eq (s_client (&server, &run, 2, 8, 10000), 200);
    ck_assert (!run.bad_order && !run.bad_body);
    zactor_destroy (&actor);
}
END_TEST

//  "Connection: close" after every 7th answer: the requests written behind
//  it were not answered at all, so they go again on a new connection
START_TEST (test_close_after)
{
    server_t server = {.close_after = 7};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 200, .head_every = 9};
    ck_assert_int_eq (s_client (&server, &run, 2, 16, 10000), 200);
    ck_assert (!run.bad_order && !run.bad_body);
    zactor_destroy (&actor);
    ck_assert_int_ge (server.accepted, 200 / 7);
    ck_assert_int_ge (server.requests, 200);
}
END_TEST

//  The server closes without a word after 5 answers (an idle timeout race)
START_TEST (test_drop_after)
{
    server_t server = {.drop_after = 5};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 100};
    ck_assert_int_eq (s_client (&server, &run, 1, 10, 10000), 100);
    ck_assert (!run.bad_order && !run.bad_body);
    zactor_destroy (&actor);
    ck_assert_int_ge (server.accepted, 100 / 5);
}
END_TEST

//  One response per connection, its body ending with the close
START_TEST (test_eof_delimited)
{
    server_t server = {.eof_body = true, .split = true};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 30, .head_every = 4};
    ck_assert_int_eq (s_client (&server, &run, 2, 4, 10000), 30);
    ck_assert (!run.bad_order && !run.bad_body);
    zactor_destroy (&actor);
    ck_assert_int_ge (server.accepted, 30);
}
END_TEST

START_TEST (test_status_passed_through)
{
    server_t server = {0};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 10, .status = 404, .expect_status = 404};
    ck_assert_int_eq (s_client (&server, &run, 1, 4, 10000), 10);
    ck_assert (!run.bad_order && !run.bad_body);
    //  No body follows a 204 or a 304, pipelined among HEAD requests
    run_t run204 = {
        .total = 30, .status = 204, .expect_status = 204, .empty = true, .head_every = 2};
    ck_assert_int_eq (s_client (&server, &run204, 1, 8, 10000), 30);
    ck_assert (!run204.bad_order && !run204.bad_body);
    run_t run304 = {.total = 30, .status = 304, .expect_status = 304, .empty = true};
    ck_assert_int_eq (s_client (&server, &run304, 2, 8, 10000), 30);
    ck_assert (!run304.bad_order && !run304.bad_body);
    zactor_destroy (&actor);
}
END_TEST

START_TEST (test_nothing_to_send)
{
    //  No connection is made when there is nothing to ask
    run_t run = {.total = 0};
    server_t server = {.port = 1};
    ck_assert_int_eq (s_client (&server, &run, 2, 4, 1000), 0);
}
END_TEST

START_TEST (test_timeout)
{
    server_t server = {.silent = true};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 5};
    int64_t start = zclock_mono ();
    ck_assert_int_eq (s_client (&server, &run, 1, 4, 300), -1);
    int64_t took = zclock_mono () - start;
    ck_assert_int_ge (took, 290);
    ck_assert_int_lt (took, 5000);
    ck_assert_int_eq (run.received, 0);
    zactor_destroy (&actor);
}
END_TEST

START_TEST (test_refused)
{
    //  A port nobody listens on: bind one, then close it
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
    ck_assert_int_eq (bind (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    socklen_t size = sizeof addr;
    getsockname (fd, (struct sockaddr *) &addr, &size);
    server_t server = {.port = ntohs (addr.sin_port)};
    close (fd);
    run_t run = {.total = 5};
    ck_assert_int_eq (s_client (&server, &run, 1, 4, 5000), -1);

    //  A name that does not resolve
    ps_client_config_t config;
    ps_client_config_defaults (&config);
    config.host = "no-such-host.invalid";
    config.port = 80;
    config.request = s_request;
    run_t other = {.total = 1};
    config.arg = &other;
    ck_assert_int_eq (ps_client_run (&config), -1);
}
END_TEST

//  Closed halfway through a response: some of its bytes were answered, so
//  it may not be sent again; the run fails after delivering what came whole
START_TEST (test_cut_mid_response)
{
    server_t server = {.cut_after = 3};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 10};
    ck_assert_int_eq (s_client (&server, &run, 1, 10, 10000), -1);
    ck_assert_int_eq (run.received, 3);
    ck_assert (!run.bad_order);
    zactor_destroy (&actor);
}
END_TEST

//  A server that closes every connection at once never gets a retry loop
START_TEST (test_slammed)
{
    server_t server = {.slam = true};
    zactor_t *actor = s_server_start (&server);
    run_t run = {.total = 10};
    ck_assert_int_eq (s_client (&server, &run, 1, 10, 10000), -1);
    ck_assert_int_eq (run.received, 0);
    zactor_destroy (&actor);
    ck_assert_int_le (server.accepted, 3);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_client");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_defaults);
    tcase_add_test (tc, test_pipelined);
    tcase_add_test (tc, test_one_at_a_time);
    tcase_add_test (tc, test_ipv6);
    tcase_add_test (tc, test_order_across_connections);
    tcase_add_test (tc, test_split_and_chunked);
    tcase_add_test (tc, test_interim_and_head);
    tcase_add_test (tc, test_close_after);
    tcase_add_test (tc, test_drop_after);
    tcase_add_test (tc, test_eof_delimited);
    tcase_add_test (tc, test_status_passed_through);
    tcase_add_test (tc, test_nothing_to_send);
    tcase_add_test (tc, test_timeout);
    tcase_add_test (tc, test_refused);
    tcase_add_test (tc, test_cut_mid_response);
    tcase_add_test (tc, test_slammed);
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
