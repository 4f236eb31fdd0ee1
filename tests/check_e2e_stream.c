/*  check_e2e_stream: answers in parts, end to end over real sockets.

    A worker answers in parts (ps_work_stream_*); the client reads raw HTTP
    bytes. What must hold: parts arrive in order and byte for byte, framed
    by Content-Length, chunked or by the close as the request's version
    and the known size call for, with the answers before and after them on
    the same connection in order; HEAD gets the head alone; a worker whose
    client reads nothing stops within its grant while others are served,
    and the send timeout ends it; a client that leaves cancels its worker.
*/
#include "testutil.h"

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT 10000

//  The body of /stream answers: byte k of the body is a function of k, in
//  parts of uneven sizes, so a lost, doubled or reordered part shows.
static byte
s_pattern (uint64_t k)
{
    return (byte) (k ^ (k >> 8) ^ (k >> 16) ^ 0x5a);
}

static size_t
s_part_size (int i)
{
    return 500 + (size_t) (i * 37) % 1500;
}

static uint64_t
s_total (int parts)
{
    uint64_t total = 0;
    for (int i = 0; i < parts; i++)
        total += s_part_size (i);
    return total;
}

//  What the workers tell the test.
typedef struct {
    atomic_uint_fast64_t endless_sent;  //  body bytes sent by the /endless worker
    atomic_int endless_state;           //  0 not started, 1 running, 2 stopped (cancelled)
    atomic_uint_fast64_t sent_at_cancel;
    atomic_int calls;  //  jobs the workers were given
    size_t part;       //  /endless part size
} state_t;

static int
s_query_int (const ps_http_request_t *request, const char *name, int fallback)
{
    const char *value = ps_pairs_get (ps_http_request_query (request), name);
    return value ? atoi (value) : fallback;
}

//  Where /endless?gate=1 waits for a word from the test before it starts
#define S_GATE "inproc://e2e-stream-gate"

//  /stream?parts=N&known=0|1&frames=0|1: N parts of the pattern, size
//  given or not; frames=1: every other part a frame, taken without a copy.
//  /endless: parts of state->part until cancelled (gate=1: from S_GATE's word). /abort: a start, two parts,
//  an abort. Anything else: a small whole answer naming the path.
static int
s_work (ps_work_t *work, void *arg)
{
    state_t *state = (state_t *) arg;
    atomic_fetch_add (&state->calls, 1);
    const ps_http_request_t *request = ps_work_request (work);
    if (!request)
        return -1;
    const char *path = ps_http_request_path (request);
    if (streq (path, "/stream")) {
        int parts = s_query_int (request, "parts", 1000);
        bool known = s_query_int (request, "known", 1) != 0;
        bool frames = s_query_int (request, "frames", 0) != 0;
        ps_pairs_t *headers = ps_pairs_new (true);
        ps_pairs_add (headers, "Content-Type", "application/octet-stream");
        if (ps_work_stream_start (work, 200, &headers, known ? (int64_t) s_total (parts) : -1))
            return -1;
        uint64_t offset = 0;
        byte buffer[2048];
        for (int i = 0; i < parts; i++) {
            size_t size = s_part_size (i);
            for (size_t j = 0; j < size; j++)
                buffer[j] = s_pattern (offset + j);
            if (frames && i % 2) {
                zframe_t *frame = zframe_new (buffer, size);
                if (ps_work_stream_part_frame (work, &frame) != 0)
                    return -1;
            }
            else if (ps_work_stream_part (work, buffer, size) != 0)
                return -1;
            offset += size;
        }
        return ps_work_stream_end (work);
    }
    if (streq (path, "/endless")) {
        if (s_query_int (request, "gate", 0)) {
            //  Starts when the test says so (it waits for jobs to queue)
            zsock_t *gate = zsock_new_pull (">" S_GATE);
            zsock_set_rcvtimeo (gate, WAIT);
            char *go = zstr_recv (gate);
            zsock_destroy (&gate);
            if (!go)
                return -1;
            zstr_free (&go);
        }
        if (ps_work_stream_start (work, 200, NULL, -1))
            return -1;
        atomic_store (&state->endless_state, 1);
        byte *buffer = (byte *) zmalloc (state->part);
        while (ps_work_stream_part (work, buffer, state->part) == 0)
            atomic_store (&state->endless_sent, ps_work_stream_sent (work));
        free (buffer);
        atomic_store (&state->sent_at_cancel, ps_work_stream_sent (work));
        atomic_store (&state->endless_state, ps_work_cancelled (work) ? 2 : 3);
        return 0;
    }
    if (streq (path, "/abort")) {
        if (ps_work_stream_start (work, 200, NULL, 100000))
            return -1;
        ps_work_stream_part (work, "first", 5);
        ps_work_stream_part (work, "second", 6);
        return ps_work_stream_abort (work);
    }
    char body[256];
    snprintf (body, sizeof body, "small %s", path);
    return ps_work_reply (work, 200, NULL, body, strlen (body));
}

static ps_pipeline_t *
s_pipeline (state_t *state, ps_server_config_t *config, size_t workers)
{
    tu_stage_t stage = {.work = s_work, .work_arg = state, .workers = workers};
    ps_pipeline_t *pipeline = tu_pipeline_new ("inproc", config, &stage, 1);
    ck_assert_ptr_nonnull (pipeline);
    return pipeline;
}

//  Reads a response head (up to the blank line) byte by byte.
static char *
s_read_head (tu_client_t *client)
{
    char *head = (char *) zmalloc (8192);
    size_t size = 0;
    while (size < 8191) {
        if (tu_client_read_bytes (client, head + size, 1, WAIT) != 1)
            break;
        size++;
        if (size >= 4 && memcmp (head + size - 4, "\r\n\r\n", 4) == 0)
            return head;
    }
    free (head);
    ck_abort_msg ("no response head");
    return NULL;
}

static bool
s_has (const char *head, const char *line)
{
    return strstr (head, line) != NULL;
}

//  Reads a chunked body whole (the last chunk and the blank line too).
static byte *
s_read_chunked (tu_client_t *client, size_t *size_p)
{
    size_t capacity = 1 << 20, size = 0;
    byte *body = (byte *) malloc (capacity);
    while (true) {
        char line[32];
        size_t n = 0;
        while (n < sizeof line - 1) {
            ck_assert_uint_eq (tu_client_read_bytes (client, line + n, 1, WAIT), 1);
            if (++n >= 2 && line[n - 2] == '\r' && line[n - 1] == '\n')
                break;
        }
        line[n] = 0;
        size_t chunk = strtoul (line, NULL, 16);
        if (chunk == 0) {
            char end[2];
            ck_assert_uint_eq (tu_client_read_bytes (client, end, 2, WAIT), 2);
            ck_assert (memcmp (end, "\r\n", 2) == 0);
            break;
        }
        if (size + chunk > capacity) {
            capacity = (size + chunk) * 2;
            body = (byte *) realloc (body, capacity);
        }
        ck_assert_uint_eq (tu_client_read_bytes (client, (char *) body + size, chunk, WAIT), chunk);
        size += chunk;
        char crlf[2];
        ck_assert_uint_eq (tu_client_read_bytes (client, crlf, 2, WAIT), 2);
        ck_assert (memcmp (crlf, "\r\n", 2) == 0);
    }
    *size_p = size;
    return body;
}

static void
s_check_pattern (const byte *body, size_t size, uint64_t expected)
{
    ck_assert_uint_eq (size, expected);
    for (size_t k = 0; k < size; k++)
        if (body[k] != s_pattern (k))
            ck_abort_msg ("body byte %zu is %d, expected %d", k, body[k], s_pattern (k));
}

static void
s_expect_small (tu_client_t *client, const char *body)
{
    tu_response_t *response = tu_client_read (client, WAIT, false);
    ck_assert_ptr_nonnull (response);
    ck_assert_int_eq (response->status, 200);
    ck_assert_str_eq (response->body, body);
    tu_response_destroy (&response);
}

//  ---------------------------------------------------------------------
//  Order and framing

//  1,000 parts between two small answers on one connection, pipelined
//  at once; _i 0: size known (Content-Length), 1: unknown (chunked); 2
//  and 3 the same with every other part sent as a frame.
START_TEST (test_thousand_parts_in_order)
{
    state_t state = {.part = 65536};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    ps_pipeline_t *pipeline = s_pipeline (&state, &config, 3);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    bool known = _i % 2 == 0;
    char requests[512];
    snprintf (requests, sizeof requests,
              "GET /before HTTP/1.1\r\nHost: a\r\n\r\n"
              "GET /stream?parts=1000&known=%d&frames=%d HTTP/1.1\r\nHost: a\r\n\r\n"
              "GET /after HTTP/1.1\r\nHost: a\r\n\r\n",
              known, _i >= 2);
    ck_assert_int_eq (tu_client_sendstr (client, requests), 0);
    s_expect_small (client, "small /before");

    char *head = s_read_head (client);
    ck_assert_msg (strncmp (head, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", head);
    ck_assert (s_has (head, "Content-Type: application/octet-stream\r\n"));
    uint64_t total = s_total (1000);
    size_t size = 0;
    byte *body;
    if (known) {
        char line[64];
        snprintf (line, sizeof line, "Content-Length: %" PRIu64 "\r\n", total);
        ck_assert_msg (s_has (head, line), "%s", head);
        ck_assert (!s_has (head, "Transfer-Encoding"));
        body = (byte *) malloc (total);
        size = tu_client_read_bytes (client, (char *) body, total, WAIT);
    }
    else {
        ck_assert_msg (s_has (head, "Transfer-Encoding: chunked\r\n"), "%s", head);
        ck_assert (!s_has (head, "Content-Length"));
        body = s_read_chunked (client, &size);
    }
    s_check_pattern (body, size, total);
    free (body);
    free (head);
    s_expect_small (client, "small /after");
    //  And the connection is still good for more
    tu_response_t *response = tu_client_request (client, "GET /again HTTP/1.1\r\nHost: a\r\n\r\n",
                                                 WAIT);
    ck_assert_ptr_nonnull (response);
    ck_assert_str_eq (response->body, "small /again");
    tu_response_destroy (&response);
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  HTTP/1.0 and no size: the body ends with the connection.
START_TEST (test_http10_close_delimited)
{
    state_t state = {.part = 65536};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    ps_pipeline_t *pipeline = s_pipeline (&state, &config, 2);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    ck_assert_int_eq (tu_client_sendstr (client, "GET /stream?parts=50&known=0 HTTP/1.0\r\n"
                                                 "Connection: keep-alive\r\n\r\n"),
                      0);
    size_t size = 0;
    char *all = tu_client_read_all (client, WAIT, &size);
    ck_assert_ptr_nonnull (all);
    char *end = strstr (all, "\r\n\r\n");
    ck_assert_ptr_nonnull (end);
    *end = 0;
    ck_assert_msg (strncmp (all, "HTTP/1.0 200 OK\r\n", 17) == 0, "%s", all);
    ck_assert (s_has (all, "Connection: close\r\n"));
    ck_assert (!s_has (all, "Content-Length"));
    ck_assert (!s_has (all, "Transfer-Encoding"));
    size_t head_size = (size_t) (end - all) + 4;
    s_check_pattern ((byte *) all + head_size, size - head_size, s_total (50));
    free (all);
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  HEAD: the head alone (with the size when known), and the connection
//  goes on; _i 0: size known, 1: unknown.
START_TEST (test_head_headers_only)
{
    state_t state = {.part = 65536};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    ps_pipeline_t *pipeline = s_pipeline (&state, &config, 2);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    char requests[256];
    snprintf (requests, sizeof requests,
              "HEAD /stream?parts=20&known=%d HTTP/1.1\r\nHost: a\r\n\r\nGET /after "
              "HTTP/1.1\r\nHost: a\r\n\r\n",
              _i == 0);
    ck_assert_int_eq (tu_client_sendstr (client, requests), 0);
    char *head = s_read_head (client);
    ck_assert (strncmp (head, "HTTP/1.1 200 OK\r\n", 17) == 0);
    if (_i == 0) {
        char line[64];
        snprintf (line, sizeof line, "Content-Length: %" PRIu64 "\r\n", s_total (20));
        ck_assert_msg (s_has (head, line), "%s", head);
    }
    else
        ck_assert_msg (s_has (head, "Transfer-Encoding: chunked\r\n"), "%s", head);
    free (head);
    //  The next bytes are the next answer's: no body came
    s_expect_small (client, "small /after");
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  An abort after the status: the connection ends short of the body.
START_TEST (test_abort_closes)
{
    state_t state = {.part = 65536};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    ps_pipeline_t *pipeline = s_pipeline (&state, &config, 2);
    tu_client_t *client = tu_client_new (ps_pipeline_port (pipeline));
    ck_assert_ptr_nonnull (client);
    ck_assert_int_eq (tu_client_sendstr (client, "GET /abort HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    size_t size = 0;
    char *all = tu_client_read_all (client, WAIT, &size);
    ck_assert_ptr_nonnull (all);
    ck_assert (s_has (all, "Content-Length: 100000\r\n"));
    char *end = strstr (all, "\r\n\r\n");
    ck_assert_ptr_nonnull (end);
    ck_assert_str_eq (end + 4, "firstsecond");
    free (all);
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  ---------------------------------------------------------------------
//  Flow control

//  Waits until the /endless worker's count stays the same for still_ms
//  (it is held up), within WAIT; returns the count.
static uint64_t
s_wait_stalled (state_t *state, int still_ms)
{
    int64_t deadline = zclock_mono () + WAIT;
    uint64_t last = atomic_load (&state->endless_sent);
    int64_t since = zclock_mono ();
    while (zclock_mono () < deadline) {
        zclock_sleep (20);  //  sampling a count that must not move: no event to wait for
        uint64_t now = atomic_load (&state->endless_sent);
        if (now != last) {
            last = now;
            since = zclock_mono ();
        }
        else if (atomic_load (&state->endless_state) == 1 && zclock_mono () - since >= still_ms)
            return last;
    }
    ck_abort_msg ("the worker's stream never stopped (%" PRIu64 " bytes)", last);
    return 0;
}

static void
s_wait_state (state_t *state, int value)
{
    int64_t deadline = zclock_mono () + WAIT;
    while (atomic_load (&state->endless_state) != value && zclock_mono () < deadline)
        zclock_sleep (5);
    ck_assert_int_eq (atomic_load (&state->endless_state), value);
}

//  Waits until the proxy has handed out this many jobs in all
static void
s_wait_proxy_jobs (ps_proxy_t *proxy, uint64_t jobs)
{
    int64_t deadline = zclock_mono () + WAIT;
    ps_proxy_stats_t stats = {0};
    while (ps_proxy_stats (proxy, &stats) == 0 && stats.jobs < jobs && zclock_mono () < deadline)
        zclock_sleep (5);
    ck_assert_uint_eq (stats.jobs, jobs);
}

//  A client that reads nothing: its worker stops within the grant (the
//  window, a part in flight, and what the client's small receive buffer
//  took), another client is served meanwhile, and the send timeout ends
//  the connection, which cancels the worker.
START_TEST (test_non_reader_stops_worker)
{
    state_t state = {.part = 16384};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.stream_window = 256 * 1024;
    config.send_timeout_ms = 1500;
    ps_pipeline_t *pipeline = s_pipeline (&state, &config, 2);
    int port = ps_pipeline_port (pipeline);
    tu_client_t *stuck = tu_client_new_rcvbuf (port, 16384);
    ck_assert_ptr_nonnull (stuck);
    ck_assert_int_eq (tu_client_sendstr (stuck, "GET /endless HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    uint64_t sent = s_wait_stalled (&state, 300);
    //  Window + initial grant + a part + the client's buffer (doubled by
    //  the kernel) and the loopback's segments in flight: well under 1 MiB
    ck_assert_msg (sent < 1024 * 1024, "the worker sent %" PRIu64 " bytes", sent);
    ck_assert_uint_gt (sent, 0);

    tu_client_t *other = tu_client_new (port);
    ck_assert_ptr_nonnull (other);
    tu_response_t *response = tu_client_request (other, "GET /other HTTP/1.1\r\nHost: a\r\n\r\n",
                                                 WAIT);
    ck_assert_ptr_nonnull (response);
    ck_assert_str_eq (response->body, "small /other");
    tu_response_destroy (&response);
    ck_assert_uint_eq (atomic_load (&state.endless_sent), sent);  //  still stopped

    //  The send timeout disconnects the client; its worker is cancelled
    s_wait_state (&state, 2);
    ck_assert_uint_eq (atomic_load (&state.sent_at_cancel), sent);
    tu_client_destroy (&other);
    tu_client_destroy (&stuck);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  A client that reads part of a stream and leaves: the worker is
//  cancelled, having sent at most what its grant allowed since.
START_TEST (test_disconnect_cancels_stream)
{
    state_t state = {.part = 16384};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.stream_window = 128 * 1024;
    ps_pipeline_t *pipeline = s_pipeline (&state, &config, 2);
    tu_client_t *client = tu_client_new_rcvbuf (ps_pipeline_port (pipeline), 16384);
    ck_assert_ptr_nonnull (client);
    ck_assert_int_eq (tu_client_sendstr (client, "GET /endless HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    char *head = s_read_head (client);
    free (head);
    char buffer[65536];
    ck_assert_uint_eq (tu_client_read_bytes (client, buffer, sizeof buffer, WAIT), sizeof buffer);
    uint64_t at_close = atomic_load (&state.endless_sent);
    int64_t closed = zclock_mono ();
    tu_client_destroy (&client);
    s_wait_state (&state, 2);
    int64_t took = zclock_mono () - closed;
    uint64_t after = atomic_load (&state.sent_at_cancel) - at_close;
    //  At most the window and the grant in flight: a few parts
    ck_assert_msg (after <= 128 * 1024 + 2 * 16384, "%" PRIu64 " bytes after the close", after);
    ck_assert_msg (took < 2000, "cancelled %" PRId64 " ms after the close", took);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  ---------------------------------------------------------------------
//  The byte budget

//  Waits until the number of jobs given out stays the same for still_ms.
static int
s_wait_calls_settle (state_t *state, int still_ms)
{
    int64_t deadline = zclock_mono () + WAIT;
    int last = atomic_load (&state->calls);
    int64_t since = zclock_mono ();
    while (zclock_mono () < deadline) {
        zclock_sleep (20);  //  sampling a count that must not move: no event to wait for
        int now = atomic_load (&state->calls);
        if (now != last) {
            last = now;
            since = zclock_mono ();
        }
        else if (zclock_mono () - since >= still_ms)
            return last;
    }
    ck_abort_msg ("jobs kept being given out (%d)", last);
    return 0;
}

//  Ten pipelined streams to a client that reads nothing at first: only
//  the ones the budget allows reach the workers; once the client reads,
//  the rest follow, and all ten arrive whole and in order.
START_TEST (test_budget_defers_pipelined)
{
    state_t state = {.part = 16384};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.stream_window = 128 * 1024;
    config.connection_budget = 256 * 1024;
    ps_pipeline_t *pipeline = s_pipeline (&state, &config, 4);
    tu_client_t *client = tu_client_new_rcvbuf (ps_pipeline_port (pipeline), 16384);
    ck_assert_ptr_nonnull (client);
    char requests[1024] = "";
    for (int i = 0; i < 10; i++)
        strcat (requests, "GET /stream?parts=200&known=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq (tu_client_sendstr (client, requests), 0);
    //  The first, and those the budget lets in (64 KiB each); streams
    //  whose turn has not come are sent back, to go again in their turn
    int dispatched = s_wait_calls_settle (&state, 300);
    ck_assert_int_ge (dispatched, 1);
    ck_assert_msg (dispatched <= 5, "%d of 10 dispatched within a 256 KiB budget", dispatched);

    uint64_t total = s_total (200);
    byte *body = (byte *) malloc (total);
    for (int i = 0; i < 10; i++) {
        char *head = s_read_head (client);
        ck_assert_msg (strncmp (head, "HTTP/1.1 200 OK\r\n", 17) == 0, "%d: %s", i, head);
        free (head);
        size_t size = tu_client_read_bytes (client, (char *) body, total, WAIT);
        s_check_pattern (body, size, total);
    }
    free (body);
    ck_assert_int_ge (atomic_load (&state.calls), 10);
    tu_client_destroy (&client);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  Two workers; a client pipelines four large GETs and reads nothing.
//  Only its first answer holds a worker (the others' streams are sent
//  back until their turn), so another client is still served, at once.
START_TEST (test_slow_pipeliner_holds_one_worker)
{
    state_t state = {.part = 16384};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.stream_window = 128 * 1024;
    ps_pipeline_t *pipeline = s_pipeline (&state, &config, 2);
    int port = ps_pipeline_port (pipeline);
    tu_client_t *slow = tu_client_new_rcvbuf (port, 16384);
    ck_assert_ptr_nonnull (slow);
    char requests[1024] = "";
    for (int i = 0; i < 4; i++)
        strcat (requests, "GET /stream?parts=2000&known=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq (tu_client_sendstr (slow, requests), 0);
    s_wait_calls_settle (&state, 300);
    for (int i = 0; i < 3; i++) {
        tu_client_t *other = tu_client_new (port);
        ck_assert_ptr_nonnull (other);
        int64_t started = zclock_mono ();
        tu_response_t *response = tu_client_request (
            other, "GET /other HTTP/1.1\r\nHost: a\r\n\r\n", WAIT);
        ck_assert_ptr_nonnull (response);
        ck_assert_str_eq (response->body, "small /other");
        ck_assert_msg (zclock_mono () - started < 2000, "answered after %" PRId64 " ms",
                       zclock_mono () - started);
        tu_response_destroy (&response);
        tu_client_destroy (&other);
    }
    //  And the slow client, reading at last, gets its four answers whole
    uint64_t total = s_total (2000);
    byte *body = (byte *) malloc (total);
    for (int i = 0; i < 4; i++) {
        char *head = s_read_head (slow);
        ck_assert_msg (strncmp (head, "HTTP/1.1 200 OK\r\n", 17) == 0, "%d: %s", i, head);
        free (head);
        size_t size = tu_client_read_bytes (slow, (char *) body, total, WAIT);
        s_check_pattern (body, size, total);
    }
    free (body);
    tu_client_destroy (&slow);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

//  Between processes, with credit above 1, jobs queue at a worker behind
//  its job in hand. A stream lasts as long as its client reads, so the
//  jobs queued behind one go back to the proxy and another worker answers
//  them while the stream is still stalled.
START_TEST (test_stream_returns_queued)
{
    state_t state = {.part = 16384};
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    config.stream_window = 128 * 1024;
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    ck_assert_int_eq (ps_pipeline_set_transport (pipeline, _i ? "tcp" : "ipc"), 0);
    ps_pipeline_stage_t stage = {.work = s_work, .arg = &state};
    ck_assert_int_eq (ps_pipeline_add_stage (pipeline, &stage), 0);
    ck_assert_int_eq (ps_pipeline_start (pipeline), 0);
    ps_proxy_t *proxy = ps_pipeline_proxy (pipeline, 0);
    ck_assert_ptr_nonnull (proxy);
    ps_worker_config_t worker;
    ps_worker_config_defaults (&worker);
    worker.work = s_work;
    worker.work_arg = &state;
    worker.credit = 4;
    ck_assert_int_eq (ps_pipeline_add_worker (pipeline, 0, &worker), 0);
    zsock_t *gate = zsock_new_push ("@" S_GATE);
    ck_assert_ptr_nonnull (gate);
    int port = ps_pipeline_port (pipeline);

    //  The stream's job first, then two small ones: all three at the
    //  one worker (credit 4), the stream not yet started
    tu_client_t *stuck = tu_client_new_rcvbuf (port, 16384);
    ck_assert_ptr_nonnull (stuck);
    ck_assert_int_eq (tu_client_sendstr (stuck, "GET /endless?gate=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
                      0);
    s_wait_proxy_jobs (proxy, 1);
    tu_client_t *small[2];
    for (int i = 0; i < 2; i++) {
        small[i] = tu_client_new (port);
        ck_assert_ptr_nonnull (small[i]);
        ck_assert_int_eq (tu_client_sendstr (small[i], "GET /small HTTP/1.1\r\nHost: a\r\n\r\n"),
                          0);
    }
    s_wait_proxy_jobs (proxy, 3);
    ck_assert_int_eq (zstr_send (gate, "go"), 0);
    s_wait_stalled (&state, 300);

    //  A second worker joins and answers both while the stream stalls
    ck_assert_int_eq (ps_pipeline_add_worker (pipeline, 0, &worker), 0);
    for (int i = 0; i < 2; i++) {
        tu_response_t *response = tu_client_read (small[i], WAIT, false);
        ck_assert_msg (response != NULL, "small request %d not answered", i);
        ck_assert_str_eq (response->body, "small /small");
        tu_response_destroy (&response);
        tu_client_destroy (&small[i]);
    }
    ck_assert_int_eq (atomic_load (&state.endless_state), 1);  //  still streaming
    ps_proxy_stats_t stats;
    ck_assert_int_eq (ps_proxy_stats (proxy, &stats), 0);
    ck_assert_uint_eq (stats.returned, 2);
    tu_client_destroy (&stuck);
    s_wait_state (&state, 2);  //  the client gone cancels the stream
    zsock_destroy (&gate);
    ps_pipeline_destroy (&pipeline);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("e2e_stream");
    TCase *tc = tcase_create ("stream");
    tcase_set_timeout (tc, 60);
    tcase_add_loop_test (tc, test_thousand_parts_in_order, 0, 4);
    tcase_add_test (tc, test_http10_close_delimited);
    tcase_add_loop_test (tc, test_head_headers_only, 0, 2);
    tcase_add_test (tc, test_abort_closes);
    tcase_add_test (tc, test_non_reader_stops_worker);
    tcase_add_test (tc, test_disconnect_cancels_stream);
    tcase_add_test (tc, test_budget_defers_pipelined);
    tcase_add_test (tc, test_slow_pipeliner_holds_one_worker);
    tcase_add_loop_test (tc, test_stream_returns_queued, 0, 2);
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
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
