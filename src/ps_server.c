/*  ps_server: the HTTP (or netstring) front of a pipeline.

    One actor owns four sockets: a ZMQ_STREAM facing clients, a PUSH towards
    the first proxy, the loopback PULL on which every stage's final answer
    arrives, and the interrupt PUB that cancels jobs. Each client connection
    has its own incremental parser and a FIFO of its requests; answers are
    stored when they arrive and leave strictly in request order (RFC 9112
    9.3.2), several ready ones batched into one STREAM frame.

    Timeouts are constant per kind, so lists kept in start order give the
    deadline order for free: requests in flight (504), connections waiting
    for a header section (408) and idle connections (silent close). The poll
    timeout is the time to the earliest of them.

    A proxy that loses a worker holding a job says so on the loopback (a
    RESULT 502 with PS_FLAG_LOST). A GET or HEAD is then sent again, once,
    with a new id (its parsed request is kept until it is answered, for
    that); anything else is answered 502.

    Sends never block the front: the STREAM and PUSH sockets are used with
    ZMQ_DONTWAIT. A failed send of the routing-id frame is never followed by
    the data frame; a client whose queue is full (it stopped reading) loses
    its state and is closed as soon as libzmq lets us. A TCP client that
    takes none of our bytes for the send timeout is cut off by the kernel
    (see s_socket), which frees what libzmq still queues for it.
*/
#include "prime_server/prime_server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  libzmq gives the peers of a bound STREAM socket 5-byte routing ids; we
//  accept up to 7 so an id packs, with its size, into one 64-bit key.
#define RID_MAX 7

//  Messages taken from one socket before looking at the others again.
#define BATCH 256

//  Recycled request records kept at most.
#define FREE_MAX 4096

//  Retry period for closing connections whose send queue was full.
#define ZOMBIE_RETRY_MS 100

//  Bounded linger so the last answers and cancellations can still leave
//  at process exit, without ever hanging it.
#define LINGER_MS 500

typedef enum { TIMER_NONE = 0, TIMER_HEADER, TIMER_IDLE, TIMER_ZOMBIE } timer_kind_t;

typedef enum {
    ANSWER_NONE = 0,
    ANSWER_RESULT,  //  from a worker: status, headers, body frame
    ANSWER_LOCAL,   //  from the server itself: status, static text and headers
    ANSWER_PARSE    //  the parser failed: canned error naming the reason
} answer_t;

typedef struct _conn_t conn_t;
typedef struct _request_t request_t;

struct _request_t {
    uint64_t id;  //  0 until sent to the pipeline
    conn_t *conn;
    request_t *next;   //  in the connection's FIFO
    request_t *fprev;  //  in the in-flight list, while pending
    request_t *fnext;
    int64_t started;
    int64_t sent;              //  when it last went to the pipeline: its timeout runs from here
    ps_http_request_t *retry;  //  a GET/HEAD kept to be sent again if its worker is lost
    bool retried;
    bool pending;  //  in the pipeline and in the id table
    bool head;     //  HEAD request: no body in the answer
    int version;   //  10 or 11
    answer_t answer;
    int status;
    ps_pairs_t *headers;  //  owned, from a RESULT
    zmq_msg_t body;       //  owned, from a RESULT, if has_body
    bool has_body;
    const ps_pairs_t *local_headers;  //  borrowed from self
    const char *text;                 //  static: local body or parser reason
    char *line;                       //  "METHOD target" for the access log, or NULL
};

struct _conn_t {
    uint64_t key;
    uint8_t rid[RID_MAX];
    size_t rid_size;
    ps_http_parser_t *parser;         //  PS_PROTOCOL_HTTP
    ps_netstring_decoder_t *decoder;  //  PS_PROTOCOL_NETSTRING
    request_t *head;                  //  FIFO of requests not yet written
    request_t *tail;
    size_t queued;
    bool closing;  //  take no more requests; close after the last answer
    bool served;   //  a complete request was seen (header vs idle timer)
    bool zombie;   //  send queue was full: state gone, close pending
    timer_kind_t timer;
    int64_t timer_start;
    conn_t *tprev;
    conn_t *tnext;
};

//  Open-addressing hash table from nonzero 64-bit keys to pointers.
typedef struct {
    uint64_t key;
    void *value;
} slot_t;

typedef struct {
    slot_t *slots;
    size_t mask;
    size_t count;
} table_t;

typedef struct {
    conn_t *head;
    conn_t *tail;
} conn_list_t;

typedef struct {
    zsock_t *pipe;
    ps_server_config_t config;  //  strings below are our copies
    char *listen;
    char *proxy;
    char *loopback;
    char *interrupt;
    char *health_check;
    zsock_t *stream;
    zsock_t *push;
    zsock_t *pull;
    zsock_t *pub;
    void *stream_h;
    void *push_h;
    void *pull_h;
    void *pub_h;
    int port;
    table_t conns;
    table_t requests;
    size_t zombies;
    int64_t zombie_retry;  //  next attempt to close the zombies
    uint64_t next_id;
    size_t in_flight;
    request_t *flight_head;  //  pending requests, oldest first
    request_t *flight_tail;
    conn_list_t header_list;  //  waiting for a header section, oldest first
    conn_list_t idle_list;    //  idle or slow body, least recently active first
    conn_list_t zombie_list;
    request_t *free_requests;
    size_t free_count;
    ps_pairs_t *text_headers;   //  Content-Type: text/plain
    ps_pairs_t *retry_headers;  //  the same plus Retry-After: 1
    zframe_t *scratch;          //  for decoding envelopes
    bool draining;
    bool drained;
    int64_t drain_deadline;
    bool terminated;
} self_t;

//  ---------------------------------------------------------------------
//  Hash table

static size_t
s_hash (uint64_t key, size_t mask)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t) key & mask;
}

static void
s_table_init (table_t *table, size_t capacity)
{
    table->slots = (slot_t *) zmalloc (capacity * sizeof (slot_t));
    table->mask = capacity - 1;
    table->count = 0;
}

static void *
s_table_get (table_t *table, uint64_t key)
{
    size_t i = s_hash (key, table->mask);
    while (table->slots[i].key) {
        if (table->slots[i].key == key)
            return table->slots[i].value;
        i = (i + 1) & table->mask;
    }
    return NULL;
}

static void s_table_put (table_t *table, uint64_t key, void *value);

static void
s_table_grow (table_t *table)
{
    slot_t *old = table->slots;
    size_t capacity = table->mask + 1;
    s_table_init (table, capacity * 2);
    for (size_t i = 0; i < capacity; i++)
        if (old[i].key)
            s_table_put (table, old[i].key, old[i].value);
    free (old);
}

//  The key must not be present yet.
static void
s_table_put (table_t *table, uint64_t key, void *value)
{
    assert (key);
    if ((table->count + 1) * 2 > table->mask + 1)
        s_table_grow (table);
    size_t i = s_hash (key, table->mask);
    while (table->slots[i].key)
        i = (i + 1) & table->mask;
    table->slots[i].key = key;
    table->slots[i].value = value;
    table->count++;
}

//  Removal with backward shift (Knuth's algorithm R), so lookups never
//  meet tombstones.
static void
s_table_remove (table_t *table, uint64_t key)
{
    size_t i = s_hash (key, table->mask);
    while (table->slots[i].key != key) {
        if (!table->slots[i].key)
            return;
        i = (i + 1) & table->mask;
    }
    size_t j = i;
    while (true) {
        j = (j + 1) & table->mask;
        if (!table->slots[j].key)
            break;
        size_t home = s_hash (table->slots[j].key, table->mask);
        bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            table->slots[i] = table->slots[j];
            i = j;
        }
    }
    table->slots[i].key = 0;
    table->slots[i].value = NULL;
    table->count--;
}

//  A snapshot of the values, for loops that may free entries. Caller frees.
static void **
s_table_values (table_t *table, size_t *count)
{
    void **values = (void **) zmalloc ((table->count + 1) * sizeof (void *));
    size_t n = 0;
    for (size_t i = 0; i <= table->mask; i++)
        if (table->slots[i].key)
            values[n++] = table->slots[i].value;
    *count = n;
    return values;
}

//  ---------------------------------------------------------------------
//  Connection timer lists

static conn_list_t *
s_timer_list (self_t *self, timer_kind_t kind)
{
    switch (kind) {
    case TIMER_HEADER:
        return &self->header_list;
    case TIMER_IDLE:
        return &self->idle_list;
    case TIMER_ZOMBIE:
        return &self->zombie_list;
    default:
        return NULL;
    }
}

static void
s_timer_unlink (self_t *self, conn_t *conn)
{
    conn_list_t *list = s_timer_list (self, conn->timer);
    if (!list)
        return;
    if (conn->tprev)
        conn->tprev->tnext = conn->tnext;
    else
        list->head = conn->tnext;
    if (conn->tnext)
        conn->tnext->tprev = conn->tprev;
    else
        list->tail = conn->tprev;
    conn->tprev = conn->tnext = NULL;
    conn->timer = TIMER_NONE;
}

//  Starts (or restarts) the connection's timer of this kind now.
static void
s_timer_start (self_t *self, conn_t *conn, timer_kind_t kind, int64_t now)
{
    s_timer_unlink (self, conn);
    conn_list_t *list = s_timer_list (self, kind);
    if (!list)
        return;
    conn->timer = kind;
    conn->timer_start = now;
    conn->tprev = list->tail;
    conn->tnext = NULL;
    if (list->tail)
        list->tail->tnext = conn;
    else
        list->head = conn;
    list->tail = conn;
}

//  ---------------------------------------------------------------------
//  Requests

static request_t *
s_request_new (self_t *self, conn_t *conn)
{
    request_t *request = self->free_requests;
    if (request) {
        self->free_requests = request->next;
        self->free_count--;
        memset (request, 0, sizeof (request_t));
    }
    else
        request = (request_t *) zmalloc (sizeof (request_t));
    request->conn = conn;
    request->version = 11;
    request->started = zclock_mono ();
    if (conn->tail)
        conn->tail->next = request;
    else
        conn->head = request;
    conn->tail = request;
    conn->queued++;
    return request;
}

static void
s_request_free (self_t *self, request_t *request)
{
    assert (!request->pending);
    ps_pairs_destroy (&request->headers);
    ps_http_request_destroy (&request->retry);
    if (request->has_body)
        zmq_msg_close (&request->body);
    zstr_free (&request->line);
    if (self->free_count < FREE_MAX) {
        request->next = self->free_requests;
        self->free_requests = request;
        self->free_count++;
    }
    else
        free (request);
}

//  Takes a request out of the pipeline's books (table, in-flight list).
static void
s_request_unregister (self_t *self, request_t *request)
{
    assert (request->pending);
    s_table_remove (&self->requests, request->id);
    if (request->fprev)
        request->fprev->fnext = request->fnext;
    else
        self->flight_head = request->fnext;
    if (request->fnext)
        request->fnext->fprev = request->fprev;
    else
        self->flight_tail = request->fprev;
    request->fprev = request->fnext = NULL;
    request->pending = false;
    self->in_flight--;
}

static void
s_publish_cancel (self_t *self, uint64_t id)
{
    if (!self->pub)
        return;
    ps_envelope_t envelope = {PS_MSG_CANCEL, 0, 0, 0, id};
    if (ps_envelope_send (&envelope, NULL, self->pub_h) != 0 && self->config.verbose)
        zsys_warning ("ps_server: could not publish CANCEL for %" PRIu64, id);
}

//  Cancels a pending request: workers are told, a late result is dropped.
static void
s_request_cancel (self_t *self, request_t *request)
{
    s_publish_cancel (self, request->id);
    s_request_unregister (self, request);
}

//  A local answer (health check, 503, 504, 502): status and static text.
static void
s_request_answer_local (self_t *self, request_t *request, int status, const char *text,
                        const ps_pairs_t *headers)
{
    request->answer = ANSWER_LOCAL;
    request->status = status;
    request->text = text;
    request->local_headers = headers ? headers : self->text_headers;
}

//  ---------------------------------------------------------------------
//  Writing to clients

static void
s_chunk_free (void *data, void *hint)
{
    (void) data;
    zchunk_t *chunk = (zchunk_t *) hint;
    zchunk_destroy (&chunk);
}

//  Sends bytes to one client; takes the chunk. Returns 0, or -1 with errno
//  set when the routing-id frame could not be sent (client gone or its
//  queue full); the data frame is then never sent.
static int
s_send_client (self_t *self, conn_t *conn, zchunk_t **chunk_p)
{
    zchunk_t *chunk = *chunk_p;
    *chunk_p = NULL;
    assert (zchunk_size (chunk) > 0);  //  an empty frame would close
    if (zmq_send (self->stream_h, conn->rid, conn->rid_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        int error = errno;
        zchunk_destroy (&chunk);
        errno = error;
        return -1;
    }
    zmq_msg_t msg;
    //  The bytes travel to the I/O thread without a copy.
    zmq_msg_init_data (&msg, zchunk_data (chunk), zchunk_size (chunk), s_chunk_free, chunk);
    if (zmq_msg_send (&msg, self->stream_h, ZMQ_DONTWAIT) == -1)
        zmq_msg_close (&msg);  //  libzmq accepts any data frame after an id frame
    return 0;
}

//  Asks libzmq to close the TCP connection once what we sent is written.
static int
s_send_close (self_t *self, const uint8_t *rid, size_t rid_size)
{
    if (zmq_send (self->stream_h, rid, rid_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
        return -1;
    zmq_send (self->stream_h, "", 0, ZMQ_DONTWAIT);
    return 0;
}

//  ---------------------------------------------------------------------
//  Connections

static uint64_t
s_rid_key (const uint8_t *rid, size_t size)
{
    uint64_t key = (uint64_t) size << 56;
    for (size_t i = 0; i < size; i++)
        key |= (uint64_t) rid[i] << (8 * i);
    return key;
}

static conn_t *
s_conn_new (self_t *self, const uint8_t *rid, size_t rid_size)
{
    conn_t *conn = (conn_t *) zmalloc (sizeof (conn_t));
    conn->key = s_rid_key (rid, rid_size);
    memcpy (conn->rid, rid, rid_size);
    conn->rid_size = rid_size;
    if (self->config.protocol == PS_PROTOCOL_NETSTRING)
        conn->decoder = ps_netstring_decoder_new (self->config.limits.max_body);
    else
        conn->parser = ps_http_parser_new (&self->config.limits);
    s_table_put (&self->conns, conn->key, conn);
    return conn;
}

//  Frees a connection's requests; pending ones are cancelled.
static void
s_conn_drop_requests (self_t *self, conn_t *conn)
{
    while (conn->head) {
        request_t *request = conn->head;
        conn->head = request->next;
        if (request->pending)
            s_request_cancel (self, request);
        s_request_free (self, request);
    }
    conn->tail = NULL;
    conn->queued = 0;
    ps_http_parser_destroy (&conn->parser);
    ps_netstring_decoder_destroy (&conn->decoder);
}

static void
s_conn_destroy (self_t *self, conn_t **conn_p)
{
    conn_t *conn = *conn_p;
    *conn_p = NULL;
    s_conn_drop_requests (self, conn);
    if (conn->zombie)
        self->zombies--;
    s_timer_unlink (self, conn);
    s_table_remove (&self->conns, conn->key);
    free (conn);
}

//  A send to the client failed. Its state goes; if libzmq still knows the
//  peer (queue full) it stays as a zombie until a close frame gets through
//  or its disconnect arrives.
static void
s_conn_broken (self_t *self, conn_t **conn_p, int error)
{
    conn_t *conn = *conn_p;
    if (self->config.verbose)
        zsys_warning ("ps_server: dropping a client that cannot be written to (%s)",
                      zmq_strerror (error));
    if (error == EAGAIN) {
        s_conn_drop_requests (self, conn);
        conn->zombie = true;
        conn->closing = true;
        self->zombies++;
        if (!self->zombie_list.head)
            self->zombie_retry = zclock_mono () + ZOMBIE_RETRY_MS;
        s_timer_start (self, conn, TIMER_ZOMBIE, zclock_mono ());
        *conn_p = NULL;
    }
    else
        s_conn_destroy (self, conn_p);
}

//  Closes after what was sent, and forgets the connection.
static void
s_conn_close (self_t *self, conn_t **conn_p)
{
    conn_t *conn = *conn_p;
    if (s_send_close (self, conn->rid, conn->rid_size) == -1 && errno == EAGAIN)
        s_conn_broken (self, conn_p, EAGAIN);
    else
        s_conn_destroy (self, conn_p);
}

static bool
s_conn_partial (conn_t *conn)
{
    if (conn->parser)
        return ps_http_parser_partial (conn->parser);
    if (conn->decoder)
        return ps_netstring_decoder_partial (conn->decoder);
    return false;
}

//  Picks the timer the connection's state calls for: a partial header
//  section (or nothing at all since connect) runs against the header
//  timeout from its start; a partial body or an idle keep-alive
//  connection against the idle timeout from the last activity; a
//  connection waiting for answers has none (the request timeout bounds it).
static void
s_conn_update_timer (self_t *self, conn_t *conn, bool activity)
{
    if (conn->zombie)
        return;
    timer_kind_t kind;
    bool partial = s_conn_partial (conn);
    if (conn->closing)
        kind = TIMER_NONE;
    else if (partial && conn->parser && ps_http_parser_in_headers (conn->parser))
        kind = TIMER_HEADER;
    else if (partial)
        kind = TIMER_IDLE;
    else if (conn->head)
        kind = TIMER_NONE;
    else if (!conn->served)
        kind = TIMER_HEADER;
    else
        kind = TIMER_IDLE;

    if (kind == TIMER_NONE)
        s_timer_unlink (self, conn);
    else if (kind != conn->timer || (kind == TIMER_IDLE && activity))
        s_timer_start (self, conn, kind, zclock_mono ());
}

//  Answers "100 Continue" once the request that asked for it is the next
//  to be answered, so it never overtakes earlier responses.
static int
s_conn_maybe_continue (self_t *self, conn_t *conn)
{
    if (!conn->parser || conn->head || conn->closing
        || !ps_http_parser_wants_continue (conn->parser))
        return 0;
    ps_http_parser_continue_sent (conn->parser);
    zchunk_t *chunk = zchunk_new ("HTTP/1.1 100 Continue\r\n\r\n", 25);
    return s_send_client (self, conn, &chunk);
}

static void
s_access_log (self_t *self, request_t *request, size_t bytes)
{
    double ms = (double) (zclock_mono () - request->started);
    zsys_info ("ps_server: %" PRIu64 " %s %d %zu %.0fms", request->id,
               request->line ? request->line : "-", request->status, bytes, ms);
    (void) self;
}

static zchunk_t *
s_format_http (self_t *self, request_t *request, bool keep_alive)
{
    (void) self;
    if (request->answer == ANSWER_PARSE)
        return ps_http_response_error (request->version, request->status, request->text,
                                       keep_alive);
    if (request->answer == ANSWER_LOCAL) {
        char text[128];
        const char *body = request->text;
        if (!body) {
            snprintf (text, sizeof (text), "%d %s\n", request->status,
                      ps_http_status_reason (request->status));
            body = text;
        }
        return ps_http_response_format (request->version, request->status, request->local_headers,
                                        body, strlen (body), request->head, keep_alive);
    }
    return ps_http_response_format (request->version, request->status, request->headers,
                                    zmq_msg_data (&request->body), zmq_msg_size (&request->body),
                                    request->head, keep_alive);
}

//  Netstring answers: a result's body as it is; local answers and errors
//  as "error: <status> <reason>".
static zchunk_t *
s_format_netstring (request_t *request)
{
    if (request->answer == ANSWER_RESULT)
        return ps_netstring_encode (zmq_msg_data (&request->body), zmq_msg_size (&request->body));
    char text[160];
    if (request->answer == ANSWER_LOCAL && request->text)
        snprintf (text, sizeof (text), "%s", request->text);
    else
        snprintf (text, sizeof (text), "error: %d %s", request->status,
                  request->text ? request->text : ps_http_status_reason (request->status));
    return ps_netstring_encode (text, strlen (text));
}

//  Writes the answered requests at the head of the FIFO, in order, as one
//  frame; closes the connection after the last answer if it is closing.
//  Returns 0, or -1 if the connection is gone (*conn_p is then NULL).
static int
s_conn_flush (self_t *self, conn_t **conn_p)
{
    conn_t *conn = *conn_p;
    zchunk_t *out = NULL;
    while (conn->head && conn->head->answer != ANSWER_NONE) {
        request_t *request = conn->head;
        conn->head = request->next;
        if (!conn->head)
            conn->tail = NULL;
        conn->queued--;
        //  While draining, the connection ends with the last answer that
        //  has been asked for so far.
        if (self->draining)
            conn->closing = true;
        bool keep_alive = !(conn->closing && !conn->head);
        zchunk_t *chunk = self->config.protocol == PS_PROTOCOL_NETSTRING
                              ? s_format_netstring (request)
                              : s_format_http (self, request, keep_alive);
        if (self->config.access_log)
            s_access_log (self, request, zchunk_size (chunk));
        s_request_free (self, request);
        if (!out)
            out = chunk;
        else {
            zchunk_extend (out, zchunk_data (chunk), zchunk_size (chunk));
            zchunk_destroy (&chunk);
        }
    }
    if (out && s_send_client (self, conn, &out) == -1) {
        s_conn_broken (self, conn_p, errno);
        return -1;
    }
    if (conn->closing && !conn->head) {
        s_conn_close (self, conn_p);
        return -1;
    }
    s_conn_update_timer (self, conn, false);
    if (s_conn_maybe_continue (self, conn) == -1) {
        s_conn_broken (self, conn_p, errno);
        return -1;
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Requests from clients

//  Sends a job to the first proxy; on success the request is pending.
static int
s_submit (self_t *self, request_t *request, ps_kind_t kind, zmsg_t **payload_p)
{
    if (!self->push || self->in_flight >= self->config.max_in_flight) {
        zmsg_destroy (payload_p);
        return -1;
    }
    request->id = self->next_id++;
    //  A retry goes to the back of the in-flight list, which stays in
    //  deadline order because its time starts again.
    request->sent = request->retried ? zclock_mono () : request->started;
    ps_envelope_t envelope = {PS_MSG_JOB, request->head ? PS_FLAG_HEAD : 0, (uint8_t) kind, 0,
                              request->id};
    if (ps_envelope_send (&envelope, payload_p, self->push_h) != 0) {
        zmsg_destroy (payload_p);
        if (self->config.verbose)
            zsys_warning ("ps_server: the queue towards the proxy is full, answering 503");
        return -1;
    }
    request->pending = true;
    s_table_put (&self->requests, request->id, request);
    request->fprev = self->flight_tail;
    if (self->flight_tail)
        self->flight_tail->fnext = request;
    else
        self->flight_head = request;
    self->flight_tail = request;
    self->in_flight++;
    return 0;
}

static void
s_accept_http (self_t *self, conn_t *conn, ps_http_request_t **parsed_p)
{
    ps_http_request_t *parsed = *parsed_p;
    request_t *request = s_request_new (self, conn);
    const char *method = ps_http_request_method (parsed);
    request->head = streq (method, "HEAD");
    request->version = ps_http_request_version (parsed);
    if (self->config.access_log)
        request->line = zsys_sprintf ("%s %s", method, ps_http_request_target (parsed));
    conn->served = true;
    if (!ps_http_request_keep_alive (parsed))
        conn->closing = true;

    if (conn->queued > self->config.max_pipelined) {
        //  Too many requests waiting on this connection: answer and end it,
        //  which bounds what a client can make us hold.
        s_request_answer_local (self, request, 503, NULL, self->retry_headers);
        conn->closing = true;
    }
    else if (self->health_check && streq (ps_http_request_path (parsed), self->health_check))
        s_request_answer_local (self, request, self->draining ? 503 : 200,
                                self->draining ? "draining\n" : "OK\n", NULL);
    else {
        zmsg_t *payload = ps_http_request_encode (parsed);
        if (!payload || s_submit (self, request, PS_KIND_HTTP, &payload) != 0)
            s_request_answer_local (self, request, 503, NULL, self->retry_headers);
        else if (request->head || streq (method, "GET")) {
            //  Safe to send again if its worker dies: keep it (not a copy)
            request->retry = *parsed_p;
            *parsed_p = NULL;
        }
    }
    ps_http_request_destroy (parsed_p);
}

static void
s_accept_netstring (self_t *self, conn_t *conn, zframe_t **payload_p)
{
    request_t *request = s_request_new (self, conn);
    conn->served = true;
    if (conn->queued > self->config.max_pipelined) {
        zframe_destroy (payload_p);
        s_request_answer_local (self, request, 503, NULL, NULL);
        conn->closing = true;
        return;
    }
    zmsg_t *payload = zmsg_new ();
    zmsg_append (payload, payload_p);
    if (s_submit (self, request, PS_KIND_NETSTRING, &payload) != 0)
        s_request_answer_local (self, request, 503, NULL, NULL);
}

//  Bytes from a client: parse, hand out complete requests, answer errors
//  in order, then write whatever is ready.
static void
s_conn_feed (self_t *self, conn_t **conn_p, const char *data, size_t size)
{
    conn_t *conn = *conn_p;
    if (conn->parser) {
        int status = ps_http_parser_feed (conn->parser, data, size);
        ps_http_request_t *parsed;
        while ((parsed = ps_http_parser_next (conn->parser))) {
            if (conn->closing)
                ps_http_request_destroy (&parsed);  //  after "close": not processed
            else
                s_accept_http (self, conn, &parsed);
        }
        if (status != 0 && !conn->closing) {
            request_t *request = s_request_new (self, conn);
            request->answer = ANSWER_PARSE;
            request->status = status;
            request->text = ps_http_parser_reason (conn->parser);
            if (self->config.access_log)
                request->line = strdup ("-");
            if (self->config.verbose)
                zsys_warning ("ps_server: bad request: %d %s", status, request->text);
            conn->closing = true;
        }
    }
    else {
        int rc = ps_netstring_decoder_feed (conn->decoder, data, size);
        zframe_t *payload;
        while ((payload = ps_netstring_decoder_next (conn->decoder))) {
            if (conn->closing)
                zframe_destroy (&payload);
            else
                s_accept_netstring (self, conn, &payload);
        }
        if (rc != 0 && !conn->closing) {
            request_t *request = s_request_new (self, conn);
            const char *reason = ps_netstring_decoder_error (conn->decoder);
            request->answer = ANSWER_PARSE;
            request->status = 400;
            request->text = reason ? reason : "malformed netstring";
            if (self->config.verbose)
                zsys_warning ("ps_server: bad netstring: %s", request->text);
            conn->closing = true;
        }
    }
    if (self->draining && conn->head)
        conn->closing = true;
    s_conn_update_timer (self, conn, true);
    s_conn_flush (self, conn_p);
}

static void
s_handle_client (self_t *self, const uint8_t *rid, size_t rid_size, const char *data, size_t size)
{
    if (rid_size == 0 || rid_size > RID_MAX) {
        zsys_warning ("ps_server: unexpected STREAM routing id of %zu bytes", rid_size);
        return;
    }
    uint64_t key = s_rid_key (rid, rid_size);
    conn_t *conn = (conn_t *) s_table_get (&self->conns, key);
    if (!conn) {
        if (size > 0)
            return;  //  bytes from a connection we closed already
        if (self->conns.count >= self->config.max_connections) {
            if (self->config.verbose)
                zsys_warning ("ps_server: max_connections reached, refusing a client");
            s_send_close (self, rid, rid_size);
            return;
        }
        conn = s_conn_new (self, rid, rid_size);
        s_conn_update_timer (self, conn, true);
        return;
    }
    if (size == 0) {
        //  The client went away: cancel its work, forget it.
        s_conn_destroy (self, &conn);
        return;
    }
    if (conn->closing)
        return;  //  nothing more is read after an error or "close"
    s_conn_feed (self, &conn, data, size);
}

static void
s_handle_stream (self_t *self)
{
    for (int n = 0; n < BATCH; n++) {
        zmq_msg_t rid, data;
        zmq_msg_init (&rid);
        if (zmq_msg_recv (&rid, self->stream_h, ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&rid);
            return;
        }
        if (!zmq_msg_more (&rid)) {
            zmq_msg_close (&rid);
            continue;
        }
        zmq_msg_init (&data);
        if (zmq_msg_recv (&data, self->stream_h, 0) == -1) {
            zmq_msg_close (&data);
            zmq_msg_close (&rid);
            return;
        }
        while (zmq_msg_more (&data)) {  //  STREAM never sends more, but be safe
            zmq_msg_t extra;
            zmq_msg_init (&extra);
            int rc = zmq_msg_recv (&extra, self->stream_h, 0);
            bool more = rc != -1 && zmq_msg_more (&extra);
            zmq_msg_close (&extra);
            if (!more)
                break;
        }
        s_handle_client (self, (const uint8_t *) zmq_msg_data (&rid), zmq_msg_size (&rid),
                         (const char *) zmq_msg_data (&data), zmq_msg_size (&data));
        zmq_msg_close (&data);
        zmq_msg_close (&rid);
    }
}

//  ---------------------------------------------------------------------
//  Results on the loopback

//  A proxy lost the worker that held this request's job (unregistered
//  already). A worker that was only slow is told to stop; a GET or HEAD
//  goes to the pipeline again, from its start, with a new id; anything
//  else, or a second loss, is answered 502.
static void
s_handle_lost (self_t *self, request_t *request)
{
    s_publish_cancel (self, request->id);
    if (self->config.verbose)
        zsys_warning ("ps_server: the worker of %" PRIu64 " was lost%s", request->id,
                      request->retry && !request->retried ? ", sending it again" : "");
    if (request->retry && !request->retried) {
        request->retried = true;
        zmsg_t *payload = ps_http_request_encode (request->retry);
        if (s_submit (self, request, PS_KIND_HTTP, &payload) == 0)
            return;
    }
    s_request_answer_local (self, request, 502, "502 Bad Gateway: worker lost\n", NULL);
    conn_t *conn = request->conn;
    if (conn->head == request)
        s_conn_flush (self, &conn);
}

//  A RESULT is [envelope][headers][body]; parts holds the first
//  min (count, 3) frames. The body frame moves into the request, so its
//  bytes are copied once, into the response.
static void
s_handle_result (self_t *self, zmq_msg_t *parts, size_t count)
{
    ps_envelope_t envelope;
    //  A reused scratch frame: resetting it to 16 bytes allocates nothing.
    zframe_reset (self->scratch, zmq_msg_data (&parts[0]), zmq_msg_size (&parts[0]));
    int rc = ps_envelope_decode (self->scratch, &envelope);
    if (rc != 0 || envelope.type != PS_MSG_RESULT) {
        zsys_warning ("ps_server: dropping junk on the loopback (%zu frames, no RESULT "
                      "envelope)",
                      count);
        return;
    }
    request_t *request = (request_t *) s_table_get (&self->requests, envelope.id);
    if (!request)
        return;  //  timed out, cancelled or its client left: dropped quietly
    s_request_unregister (self, request);
    if (envelope.flags & PS_FLAG_LOST) {
        s_handle_lost (self, request);
        return;
    }
    ps_pairs_t *headers = NULL;
    bool valid = count == 3 && envelope.status >= 100 && envelope.status <= 599;
    if (valid && zmq_msg_size (&parts[1]) > 0) {
        headers = ps_pairs_decode (zmq_msg_data (&parts[1]), zmq_msg_size (&parts[1]), true);
        valid = headers != NULL;
    }
    if (!valid) {
        //  The request is known but its answer is malformed: the client
        //  gets a 502 rather than waiting for a timeout that may not come.
        zsys_warning ("ps_server: malformed RESULT for %" PRIu64 " (%zu frames, status %d)",
                      envelope.id, count, envelope.status);
        s_request_answer_local (self, request, 502, NULL, NULL);
    }
    else {
        request->answer = ANSWER_RESULT;
        request->status = envelope.status;
        request->headers = headers;
        zmq_msg_init (&request->body);
        zmq_msg_move (&request->body, &parts[2]);
        request->has_body = true;
    }
    conn_t *conn = request->conn;
    if (conn->head == request)
        s_conn_flush (self, &conn);
}

static void
s_handle_loopback (self_t *self)
{
    for (int n = 0; n < BATCH; n++) {
        zmq_msg_t parts[3];
        zmq_msg_init (&parts[0]);
        if (zmq_msg_recv (&parts[0], self->pull_h, ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&parts[0]);
            return;
        }
        size_t count = 1;
        bool more = zmq_msg_more (&parts[0]);
        while (more) {
            zmq_msg_t extra;
            zmq_msg_init (&extra);
            if (zmq_msg_recv (&extra, self->pull_h, 0) == -1) {
                zmq_msg_close (&extra);
                break;
            }
            more = zmq_msg_more (&extra);
            if (count < 3) {
                zmq_msg_init (&parts[count]);
                zmq_msg_move (&parts[count], &extra);
            }
            zmq_msg_close (&extra);
            count++;
        }
        s_handle_result (self, parts, count);
        for (size_t i = 0; i < count && i < 3; i++)
            zmq_msg_close (&parts[i]);
    }
}

//  ---------------------------------------------------------------------
//  Timers, drain and shutdown

static size_t
s_live_connections (self_t *self)
{
    return self->conns.count - self->zombies;
}

//  Answers 503 to everything still in flight, cancels it, and ends every
//  connection after its answers.
static void
s_close_all (self_t *self)
{
    size_t count;
    void **conns = s_table_values (&self->conns, &count);
    for (size_t i = 0; i < count; i++) {
        conn_t *conn = (conn_t *) conns[i];
        if (conn->zombie)
            continue;
        for (request_t *request = conn->head; request; request = request->next)
            if (request->pending) {
                s_request_cancel (self, request);
                s_request_answer_local (self, request, 503, NULL, self->retry_headers);
            }
        conn->closing = true;
        s_conn_flush (self, &conn);
    }
    free (conns);
}

static void
s_drain_check (self_t *self, int64_t now)
{
    if (!self->draining || self->drained)
        return;
    if (s_live_connections (self) > 0 && now < self->drain_deadline)
        return;
    s_close_all (self);
    self->drained = true;
    zstr_send (self->pipe, "DRAINED");
}

static void
s_handle_timers (self_t *self)
{
    int64_t now = zclock_mono ();
    const ps_server_config_t *config = &self->config;
    if (config->request_timeout_ms > 0)
        while (self->flight_head && self->flight_head->sent + config->request_timeout_ms <= now) {
            request_t *request = self->flight_head;
            s_request_cancel (self, request);
            s_request_answer_local (self, request, 504, NULL, NULL);
            conn_t *conn = request->conn;
            if (conn->head == request)
                s_conn_flush (self, &conn);
        }
    if (config->header_timeout_ms > 0)
        while (self->header_list.head
               && self->header_list.head->timer_start + config->header_timeout_ms <= now) {
            conn_t *conn = self->header_list.head;
            s_timer_unlink (self, conn);
            if (conn->parser) {
                request_t *request = s_request_new (self, conn);
                s_request_answer_local (self, request, 408, NULL, NULL);
                request->line = config->access_log ? strdup ("-") : NULL;
                conn->closing = true;
                s_conn_flush (self, &conn);
            }
            else {
                conn->closing = true;
                if (!conn->head)
                    s_conn_close (self, &conn);
            }
        }
    if (config->idle_timeout_ms > 0)
        while (self->idle_list.head
               && self->idle_list.head->timer_start + config->idle_timeout_ms <= now) {
            conn_t *conn = self->idle_list.head;
            s_timer_unlink (self, conn);
            conn->closing = true;
            if (conn->parser && s_conn_partial (conn)) {
                //  A body that stopped arriving.
                request_t *request = s_request_new (self, conn);
                s_request_answer_local (self, request, 408, NULL, NULL);
                s_conn_flush (self, &conn);
            }
            else if (!conn->head)
                s_conn_close (self, &conn);
        }
    if (self->zombie_list.head && now >= self->zombie_retry) {
        self->zombie_retry = now + ZOMBIE_RETRY_MS;
        conn_t *conn = self->zombie_list.head;
        while (conn) {
            conn_t *next = conn->tnext;
            if (s_send_close (self, conn->rid, conn->rid_size) == 0)
                s_conn_destroy (self, &conn);
            conn = next;
        }
    }
    s_drain_check (self, now);
}

static long
s_poll_timeout (self_t *self)
{
    int64_t deadline = INT64_MAX;
    const ps_server_config_t *config = &self->config;
    if (config->request_timeout_ms > 0 && self->flight_head)
        deadline = self->flight_head->sent + config->request_timeout_ms;
    if (config->header_timeout_ms > 0 && self->header_list.head)
        deadline = MIN (deadline, self->header_list.head->timer_start + config->header_timeout_ms);
    if (config->idle_timeout_ms > 0 && self->idle_list.head)
        deadline = MIN (deadline, self->idle_list.head->timer_start + config->idle_timeout_ms);
    if (self->draining && !self->drained)
        deadline = MIN (deadline, self->drain_deadline);
    int64_t now = zclock_mono ();
    if (self->zombie_list.head)
        deadline = MIN (deadline, self->zombie_retry);
    if (deadline == INT64_MAX)
        return -1;
    return deadline <= now ? 0 : (long) (deadline - now);
}

static void
s_handle_pipe (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg) {
        self->terminated = true;
        return;
    }
    char *command = zmsg_popstr (msg);
    if (command && streq (command, "$TERM"))
        self->terminated = true;
    else if (command && streq (command, "DRAIN")) {
        char *value = zmsg_popstr (msg);
        int ms = value ? atoi (value) : 0;
        zstr_free (&value);
        if (!self->draining) {
            self->draining = true;
            self->drain_deadline = zclock_mono () + (ms > 0 ? ms : 0);
        }
        //  Acknowledge first: the caller knows the drain has begun, and a
        //  DRAINED that follows at once is not taken for the ack.
        zsock_signal (self->pipe, 0);
        if (self->drained)
            zstr_send (self->pipe, "DRAINED");  //  a repeated DRAIN's ack ate it
        s_drain_check (self, zclock_mono ());
    }
    else
        zsys_warning ("ps_server: unknown command on the pipe: %s", command ? command : "");
    zstr_free (&command);
    zmsg_destroy (&msg);
}

//  ---------------------------------------------------------------------
//  Set-up

static char *
s_strdup_or_null (const char *text)
{
    return text ? strdup (text) : NULL;
}

static int
s_parse_port (void *handle)
{
    char endpoint[256] = "";
    size_t size = sizeof (endpoint);
    if (zmq_getsockopt (handle, ZMQ_LAST_ENDPOINT, endpoint, &size) != 0)
        return -1;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return -1;
    const char *colon = strrchr (endpoint, ':');
    if (!colon || colon < endpoint + 6)
        return -1;
    return atoi (colon + 1);
}

//  Gives every zero field its default (the header's "0: ..."), so the rest
//  of the server only meets explicit values; a timeout <= 0 after this is off.
static void
s_config_resolve (ps_server_config_t *config)
{
    ps_server_config_t defaults;
    ps_server_config_defaults (&defaults);
    ps_http_limits_t *limits = &config->limits;
    if (!limits->max_target)
        limits->max_target = defaults.limits.max_target;
    if (!limits->max_header_bytes)
        limits->max_header_bytes = defaults.limits.max_header_bytes;
    if (!limits->max_headers)
        limits->max_headers = defaults.limits.max_headers;
    if (!limits->max_body)
        limits->max_body = defaults.limits.max_body;
    if (!config->max_connections)
        config->max_connections = defaults.max_connections;
    if (!config->max_in_flight)
        config->max_in_flight = defaults.max_in_flight;
    if (!config->max_pipelined)
        config->max_pipelined = defaults.max_pipelined;
    if (!config->header_timeout_ms)
        config->header_timeout_ms = defaults.header_timeout_ms;
    if (!config->idle_timeout_ms)
        config->idle_timeout_ms = defaults.idle_timeout_ms;
    if (!config->send_timeout_ms)
        config->send_timeout_ms = defaults.send_timeout_ms;
    if (config->hwm <= 0)
        config->hwm = defaults.hwm;
}

static zsock_t *
s_socket (self_t *self, int type, const char *endpoint, bool bind, const char *role)
{
    zsock_t *sock = zsock_new (type);
    if (!sock) {
        zsys_error ("ps_server: cannot create the %s socket", role);
        return NULL;
    }
    void *handle = zsock_resolve (sock);
    zsock_set_sndhwm (sock, self->config.hwm);
    zsock_set_rcvhwm (sock, self->config.hwm);
    zsock_set_sndtimeo (sock, 0);
    zsock_set_rcvtimeo (sock, 0);
    zsock_set_ipv6 (sock, 1);
    if (type == ZMQ_STREAM) {
        zsock_set_backlog (sock, 1024);  //  bursts of new clients
        //  The send timeout. ZMQ_STREAM shows us neither a peer's socket nor
        //  how much of what we queued it has taken, so the kernel keeps the
        //  time: TCP_USER_TIMEOUT (Linux >= 5.11 also counts a receive
        //  window that stays closed) aborts the connection, and libzmq
        //  reports it gone like any other disconnect.
        if (self->config.send_timeout_ms > 0)
            zsock_set_tcp_maxrt (sock, self->config.send_timeout_ms);
    }
    int rc = bind ? zmq_bind (handle, endpoint) : zmq_connect (handle, endpoint);
    if (rc != 0) {
        zsys_error ("ps_server: cannot %s the %s socket to %s: %s", bind ? "bind" : "connect", role,
                    endpoint, zmq_strerror (errno));
        zsock_destroy (&sock);
    }
    return sock;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    if (self->conns.slots) {
        size_t count;
        void **conns = s_table_values (&self->conns, &count);
        for (size_t i = 0; i < count; i++) {
            conn_t *conn = (conn_t *) conns[i];
            s_conn_destroy (self, &conn);
        }
        free (conns);
    }
    while (self->free_requests) {
        request_t *request = self->free_requests;
        self->free_requests = request->next;
        free (request);
    }
    free (self->conns.slots);
    free (self->requests.slots);
    zsock_destroy (&self->stream);
    zsock_destroy (&self->push);
    zsock_destroy (&self->pull);
    zsock_destroy (&self->pub);
    ps_pairs_destroy (&self->text_headers);
    ps_pairs_destroy (&self->retry_headers);
    zframe_destroy (&self->scratch);
    zstr_free (&self->listen);
    zstr_free (&self->proxy);
    zstr_free (&self->loopback);
    zstr_free (&self->interrupt);
    zstr_free (&self->health_check);
    free (self);
    *self_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const ps_server_config_t *config)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    self->pipe = pipe;
    self->config = *config;
    self->listen = s_strdup_or_null (config->listen);
    self->proxy = s_strdup_or_null (config->proxy);
    self->loopback = s_strdup_or_null (config->loopback);
    self->interrupt = s_strdup_or_null (config->interrupt);
    self->health_check = s_strdup_or_null (config->health_check);
    self->config.listen = self->listen;
    self->config.proxy = self->proxy;
    self->config.loopback = self->loopback;
    self->config.interrupt = self->interrupt;
    self->config.health_check = self->health_check;
    s_config_resolve (&self->config);
    self->next_id = 1;
    self->port = -1;
    s_table_init (&self->conns, 1024);
    s_table_init (&self->requests, 1024);
    self->text_headers = ps_pairs_new (true);
    ps_pairs_add (self->text_headers, "Content-Type", "text/plain");
    self->scratch = zframe_new_empty ();
    self->retry_headers = ps_pairs_new (true);
    ps_pairs_add (self->retry_headers, "Content-Type", "text/plain");
    ps_pairs_add (self->retry_headers, "Retry-After", "1");

    if (!self->listen) {
        zsys_error ("ps_server: no listen endpoint");
        goto failed;
    }
    self->stream = s_socket (self, ZMQ_STREAM, self->listen, true, "listen");
    if (!self->stream)
        goto failed;
    self->stream_h = zsock_resolve (self->stream);
    zsock_set_linger (self->stream, LINGER_MS);
    self->port = s_parse_port (self->stream_h);
    if (self->proxy) {
        self->push = s_socket (self, ZMQ_PUSH, self->proxy, false, "proxy");
        if (!self->push)
            goto failed;
        self->push_h = zsock_resolve (self->push);
        zsock_set_linger (self->push, 0);
    }
    if (self->loopback) {
        self->pull = s_socket (self, ZMQ_PULL, self->loopback, true, "loopback");
        if (!self->pull)
            goto failed;
        self->pull_h = zsock_resolve (self->pull);
        zsock_set_linger (self->pull, 0);
    }
    if (self->interrupt) {
        self->pub = s_socket (self, ZMQ_PUB, self->interrupt, true, "interrupt");
        if (!self->pub)
            goto failed;
        self->pub_h = zsock_resolve (self->pub);
        zsock_set_linger (self->pub, LINGER_MS);
    }
    return self;

failed:
    s_self_destroy (&self);
    return NULL;
}

//  ---------------------------------------------------------------------
//  The actor

void
ps_server_actor (zsock_t *pipe, void *args)
{
    assert (pipe);
    assert (args);
    self_t *self = s_self_new (pipe, (const ps_server_config_t *) args);
    //  The signal releases zactor_new; the port (or -2: failed) follows.
    zsock_signal (pipe, self ? 0 : 1);
    zsock_send (pipe, "i", self ? self->port : -2);
    if (!self)
        return;

    zmq_pollitem_t items[] = {{zsock_resolve (pipe), 0, ZMQ_POLLIN, 0},
                              {self->stream_h, 0, ZMQ_POLLIN, 0},
                              {self->pull_h, 0, ZMQ_POLLIN, 0}};
    int count = self->pull_h ? 3 : 2;
    while (!self->terminated) {
        int rc = zmq_poll (items, count, s_poll_timeout (self));
        if (rc == -1) {
            if (errno == EINTR)
                continue;  //  signals belong to the application (it may drain)
            break;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            s_handle_pipe (self);
            if (self->terminated)
                break;
        }
        if (items[1].revents & ZMQ_POLLIN)
            s_handle_stream (self);
        if (count > 2 && items[2].revents & ZMQ_POLLIN)
            s_handle_loopback (self);
        s_handle_timers (self);
    }
    //  Stop at once: what is in flight gets 503 and is cancelled.
    s_close_all (self);
    s_self_destroy (&self);
}

//  ---------------------------------------------------------------------
//  The public class

struct _ps_server_t {
    zactor_t *actor;
    int port;
    bool drained;
};

void
ps_server_config_defaults (ps_server_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof (*config));
    config->protocol = PS_PROTOCOL_HTTP;
    ps_http_limits_defaults (&config->limits);
    config->max_connections = 10000;
    config->max_in_flight = 10000;
    config->max_pipelined = 64;
    config->request_timeout_ms = 0;
    config->header_timeout_ms = 10000;
    config->idle_timeout_ms = 60000;
    config->send_timeout_ms = 60000;
    config->health_check = NULL;
    config->access_log = false;
    config->verbose = false;
    config->hwm = 10000;
}

ps_server_t *
ps_server_new (const ps_server_config_t *config)
{
    assert (config);
    ps_server_t *self = (ps_server_t *) zmalloc (sizeof (ps_server_t));
    self->actor = zactor_new (ps_server_actor, (void *) config);
    int port = -2;
    if (!self->actor || zsock_recv (self->actor, "i", &port) != 0 || port == -2) {
        zactor_destroy (&self->actor);
        free (self);
        return NULL;
    }
    self->port = port;
    return self;
}

void
ps_server_destroy (ps_server_t **self_p)
{
    assert (self_p);
    ps_server_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy (&self->actor);
    free (self);
    *self_p = NULL;
}

int
ps_server_port (ps_server_t *self)
{
    assert (self);
    return self->port;
}

void
ps_server_drain (ps_server_t *self, int drain_ms)
{
    assert (self);
    zsock_send (self->actor, "si", "DRAIN", drain_ms);
    zsock_wait (self->actor);
}

bool
ps_server_wait_drained (ps_server_t *self, int timeout_ms)
{
    assert (self);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : zclock_mono () + timeout_ms;
    while (!self->drained) {
        int64_t now = zclock_mono ();
        if (now >= deadline)
            break;
        long wait = deadline == INT64_MAX ? -1 : (long) (deadline - now);
        zmq_pollitem_t item = {zsock_resolve (self->actor), 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll (&item, 1, wait);
        if (rc == -1 && errno != EINTR)
            break;
        if (rc <= 0)
            continue;
        char *reply = zstr_recv (self->actor);
        if (reply && streq (reply, "DRAINED"))
            self->drained = true;
        zstr_free (&reply);
    }
    return self->drained;
}
