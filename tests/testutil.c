/*  testutil: endpoints, a raw TCP client with deadlines, a fake backend and
    real pipelines for the end-to-end suites (see testutil.h).

    The response reader is deliberately separate from the library's response
    parser, so the server's bytes are checked by an independent judge.
*/
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

//  ---------------------------------------------------------------------
//  Endpoints

static int s_counter = 0;

char *
tu_endpoint (const char *transport, const char *name)
{
    int n = ++s_counter;
    if (streq (transport, "inproc"))
        return zsys_sprintf ("inproc://ps-test-%d-%d-%s", (int) getpid (), n, name);
    if (streq (transport, "ipc"))
        return zsys_sprintf ("ipc:///tmp/ps-test-%d-%d-%s.ipc", (int) getpid (), n, name);
    //  A wildcard: the kernel picks the port at bind, and the socket that
    //  binds it reports it (a port picked here, let go and bound later
    //  could be taken by another process in between)
    assert (streq (transport, "tcp"));
    return strdup ("tcp://127.0.0.1:*");
}

void
tu_endpoint_free (char **endpoint_p)
{
    char *endpoint = *endpoint_p;
    if (!endpoint)
        return;
    if (strncmp (endpoint, "ipc://", 6) == 0)
        unlink (endpoint + 6);
    zstr_free (endpoint_p);
}

//  ---------------------------------------------------------------------
//  Raw TCP client

struct _tu_client_t {
    int fd;
    char *buf;  //  received, not yet consumed
    size_t size;
    size_t max;
};

tu_client_t *
tu_client_new (int port)
{
    return tu_client_new_rcvbuf (port, 0);
}

tu_client_t *
tu_client_new_rcvbuf (int port, int rcvbuf)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        return NULL;
    if (rcvbuf > 0)
        setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof (rcvbuf));
    struct sockaddr_in addr;
    memset (&addr, 0, sizeof (addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    addr.sin_port = htons ((uint16_t) port);
    if (connect (fd, (struct sockaddr *) &addr, sizeof (addr)) != 0) {
        close (fd);
        return NULL;
    }
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
    tu_client_t *self = (tu_client_t *) zmalloc (sizeof (tu_client_t));
    self->fd = fd;
    self->max = 65536;
    self->buf = (char *) zmalloc (self->max);
    return self;
}

int
tu_client_fd (tu_client_t *self)
{
    assert (self);
    return self->fd;
}

void
tu_client_destroy (tu_client_t **self_p)
{
    tu_client_t *self = *self_p;
    if (!self)
        return;
    close (self->fd);
    free (self->buf);
    free (self);
    *self_p = NULL;
}

int
tu_client_send (tu_client_t *self, const void *data, size_t size)
{
    const char *bytes = (const char *) data;
    while (size > 0) {
        ssize_t rc = send (self->fd, bytes, size, MSG_NOSIGNAL);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        bytes += rc;
        size -= (size_t) rc;
    }
    return 0;
}

int
tu_client_sendstr (tu_client_t *self, const char *text)
{
    return tu_client_send (self, text, strlen (text));
}

//  Reads more bytes into the buffer before the deadline. Returns the bytes
//  read, 0 on close, -1 on timeout or error.
static ssize_t
s_fill (tu_client_t *self, int64_t deadline)
{
    int64_t now = zclock_mono ();
    if (now >= deadline)
        return -1;
    struct pollfd item = {self->fd, POLLIN, 0};
    int rc = poll (&item, 1, (int) (deadline - now));
    if (rc <= 0)
        return -1;
    if (self->size == self->max) {
        self->max *= 2;
        self->buf = (char *) realloc (self->buf, self->max);
        assert (self->buf);
    }
    ssize_t got = recv (self->fd, self->buf + self->size, self->max - self->size, 0);
    if (got < 0)
        return errno == ECONNRESET ? 0 : -1;
    self->size += (size_t) got;
    return got;
}

static void
s_consume (tu_client_t *self, size_t size)
{
    memmove (self->buf, self->buf + size, self->size - size);
    self->size -= size;
}

size_t
tu_client_read_bytes (tu_client_t *self, char *buf, size_t size, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (self->size < size)
        if (s_fill (self, deadline) <= 0)
            break;
    size_t got = self->size < size ? self->size : size;
    memcpy (buf, self->buf, got);
    s_consume (self, got);
    return got;
}

char *
tu_client_read_all (tu_client_t *self, int timeout_ms, size_t *size)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        ssize_t rc = s_fill (self, deadline);
        if (rc == 0)
            break;
        if (rc < 0)
            return NULL;
    }
    char *bytes = (char *) zmalloc (self->size + 1);
    memcpy (bytes, self->buf, self->size);
    *size = self->size;
    s_consume (self, self->size);
    return bytes;
}

bool
tu_client_closed (tu_client_t *self, int timeout_ms)
{
    if (self->size > 0)
        return false;
    int64_t deadline = zclock_mono () + timeout_ms;
    ssize_t rc = s_fill (self, deadline);
    return rc == 0;
}

void
tu_response_destroy (tu_response_t **self_p)
{
    tu_response_t *self = *self_p;
    if (!self)
        return;
    free (self->head);
    free (self->body);
    for (size_t i = 0; i < self->header_count; i++) {
        free (self->names[i]);
        free (self->values[i]);
    }
    free (self);
    *self_p = NULL;
}

const char *
tu_response_header (const tu_response_t *self, const char *name)
{
    for (size_t i = 0; i < self->header_count; i++)
        if (strcasecmp (self->names[i], name) == 0)
            return self->values[i];
    return NULL;
}

//  Parses the header section in head (NUL-terminated, without the final
//  empty line). Returns 0 or -1.
static int
s_parse_head (tu_response_t *response)
{
    char *line = response->head;
    int major, minor, status;
    if (sscanf (line, "HTTP/%d.%d %d", &major, &minor, &status) != 3)
        return -1;
    response->version = major * 10 + minor;
    response->status = status;
    char *end = strstr (line, "\r\n");
    while (end) {
        line = end + 2;
        end = strstr (line, "\r\n");
        size_t length = end ? (size_t) (end - line) : strlen (line);
        if (length == 0)
            break;
        char *colon = memchr (line, ':', length);
        if (!colon || response->header_count == 64)
            return -1;
        char *value = colon + 1;
        while (*value == ' ')
            value++;
        response->names[response->header_count] = strndup (line, (size_t) (colon - line));
        response->values[response->header_count] = strndup (value,
                                                            length - (size_t) (value - line));
        response->header_count++;
    }
    return 0;
}

tu_response_t *
tu_client_read (tu_client_t *self, int timeout_ms, bool head)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    char *end = NULL;
    while (true) {
        if (self->size >= 4)
            end = memmem (self->buf, self->size, "\r\n\r\n", 4);
        if (end)
            break;
        if (s_fill (self, deadline) <= 0)
            return NULL;
    }
    size_t head_size = (size_t) (end - self->buf) + 2;  //  keep the last CRLF
    tu_response_t *response = (tu_response_t *) zmalloc (sizeof (tu_response_t));
    response->head = strndup (self->buf, head_size);
    if (s_parse_head (response) != 0) {
        tu_response_destroy (&response);
        return NULL;
    }
    size_t body_size = 0;
    const char *length = tu_response_header (response, "Content-Length");
    bool bodyless = head || response->status < 200 || response->status == 204
                    || response->status == 304;
    if (!bodyless) {
        if (!length) {
            tu_response_destroy (&response);  //  the server always sends one
            return NULL;
        }
        body_size = (size_t) strtoul (length, NULL, 10);
    }
    size_t total = head_size + 2 + body_size;
    while (self->size < total)
        if (s_fill (self, deadline) <= 0) {
            tu_response_destroy (&response);
            return NULL;
        }
    response->body = (char *) zmalloc (body_size + 1);
    memcpy (response->body, self->buf + head_size + 2, body_size);
    response->body_size = body_size;
    s_consume (self, total);
    return response;
}

tu_response_t *
tu_client_request (tu_client_t *self, const char *request, int timeout_ms)
{
    if (tu_client_sendstr (self, request) != 0)
        return NULL;
    return tu_client_read (self, timeout_ms, strncmp (request, "HEAD ", 5) == 0);
}

//  ---------------------------------------------------------------------
//  Fake backend

tu_backend_t *
tu_backend_new (void)
{
    tu_backend_t *self = (tu_backend_t *) zmalloc (sizeof (tu_backend_t));
    self->proxy = tu_endpoint ("inproc", "proxy");
    self->loopback = tu_endpoint ("inproc", "loopback");
    self->interrupt = tu_endpoint ("inproc", "interrupt");
    self->jobs = zsock_new (ZMQ_PULL);
    assert (self->jobs);
    int rc = zsock_bind (self->jobs, "%s", self->proxy);
    assert (rc == 0);
    return self;
}

void
tu_backend_destroy (tu_backend_t **self_p)
{
    tu_backend_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy (&self->jobs);
    zsock_destroy (&self->results);
    zsock_destroy (&self->cancels);
    tu_endpoint_free (&self->proxy);
    tu_endpoint_free (&self->loopback);
    tu_endpoint_free (&self->interrupt);
    free (self);
    *self_p = NULL;
}

void
tu_backend_config (tu_backend_t *self, ps_server_config_t *config)
{
    ps_server_config_defaults (config);
    config->listen = "tcp://127.0.0.1:*";
    config->proxy = self->proxy;
    config->loopback = self->loopback;
    config->interrupt = self->interrupt;
}

void
tu_backend_attach (tu_backend_t *self)
{
    self->results = zsock_new (ZMQ_PUSH);
    assert (self->results);
    zsock_set_sndtimeo (self->results, 2000);
    int rc = zsock_connect (self->results, "%s", self->loopback);
    assert (rc == 0);
    self->cancels = zsock_new (ZMQ_SUB);
    assert (self->cancels);
    zsock_set_subscribe (self->cancels, "");
    rc = zsock_connect (self->cancels, "%s", self->interrupt);
    assert (rc == 0);
}

static zmsg_t *
s_recv (zsock_t *sock, int timeout_ms)
{
    zsock_set_rcvtimeo (sock, timeout_ms);
    return zmsg_recv (sock);
}

zmsg_t *
tu_backend_job (tu_backend_t *self, int timeout_ms, ps_envelope_t *envelope)
{
    zmsg_t *msg = s_recv (self->jobs, timeout_ms);
    if (!msg)
        return NULL;
    zframe_t *frame = zmsg_pop (msg);
    int rc = frame ? ps_envelope_decode (frame, envelope) : -1;
    zframe_destroy (&frame);
    if (rc != 0 || envelope->type != PS_MSG_JOB) {
        zmsg_destroy (&msg);
        return NULL;
    }
    return msg;
}

ps_http_request_t *
tu_backend_request (tu_backend_t *self, int timeout_ms, uint64_t *id)
{
    ps_envelope_t envelope;
    zmsg_t *msg = tu_backend_job (self, timeout_ms, &envelope);
    if (!msg)
        return NULL;
    ps_http_request_t *request = envelope.kind == PS_KIND_HTTP ? ps_http_request_decode (msg)
                                                               : NULL;
    zmsg_destroy (&msg);
    if (request && id)
        *id = envelope.id;
    return request;
}

int
tu_backend_reply (tu_backend_t *self, uint64_t id, int status, const char *body,
                  const char *header_name, const char *header_value)
{
    ps_envelope_t envelope = {
        .type = PS_MSG_RESULT, .kind = PS_KIND_HTTP, .status = (uint16_t) status, .id = id};
    ps_pairs_t *headers = ps_pairs_new (true);
    if (header_name)
        ps_pairs_add (headers, header_name, header_value);
    zmsg_t *payload = zmsg_new ();
    zframe_t *frame = ps_pairs_encode (headers);
    zmsg_append (payload, &frame);
    zmsg_addmem (payload, body, body ? strlen (body) : 0);
    ps_pairs_destroy (&headers);
    return ps_envelope_send (&envelope, &payload, zsock_resolve (self->results));
}

bool
tu_backend_cancel (tu_backend_t *self, int timeout_ms, uint64_t *id)
{
    zmsg_t *msg = s_recv (self->cancels, timeout_ms);
    if (!msg)
        return false;
    ps_envelope_t envelope;
    int rc = ps_envelope_decode (zmsg_first (msg), &envelope);
    zmsg_destroy (&msg);
    if (rc != 0 || envelope.type != PS_MSG_CANCEL)
        return false;
    *id = envelope.id;
    return true;
}

//  ---------------------------------------------------------------------
//  Pipelines: ps_pipeline, with the per-worker arguments and heartbeats
//  some tests need.

#define MAX_STAGES  4
#define MAX_WORKERS 8

ps_pipeline_t *
tu_pipeline_new (const char *transport, const ps_server_config_t *config, const tu_stage_t *stages,
                 size_t stage_count)
{
    assert (stage_count <= MAX_STAGES);
    ps_server_config_t server_config = *config;
    if (!server_config.listen)
        server_config.listen = "tcp://127.0.0.1:*";
    ps_pipeline_t *self = ps_pipeline_new (&server_config);
    int rc = ps_pipeline_set_transport (self, transport);
    //  Workers with arguments or heartbeats of their own start after the
    //  pipeline, one by one; the others with it
    bool custom[MAX_STAGES] = {false};
    for (size_t s = 0; rc == 0 && s < stage_count; s++) {
        assert (stages[s].workers <= MAX_WORKERS);
        for (size_t w = 0; w < stages[s].workers; w++)
            custom[s] = custom[s] || stages[s].worker_args[w] || stages[s].heartbeats[w];
        ps_pipeline_stage_t stage;
        memset (&stage, 0, sizeof stage);
        stage.work = stages[s].work;
        stage.arg = stages[s].work_arg;
        stage.choose = stages[s].choose;
        stage.choose_arg = stages[s].choose_arg;
        stage.workers = custom[s] ? 0 : stages[s].workers;
        rc = ps_pipeline_add_stage (self, &stage) < 0 ? -1 : 0;
    }
    if (rc == 0)
        rc = ps_pipeline_start (self);
    for (size_t s = 0; rc == 0 && s < stage_count; s++)
        for (size_t w = 0; rc == 0 && custom[s] && w < stages[s].workers; w++) {
            ps_worker_config_t worker;
            ps_worker_config_defaults (&worker);
            worker.work = stages[s].work;
            worker.work_arg = stages[s].worker_args[w] ? stages[s].worker_args[w]
                                                       : stages[s].work_arg;
            worker.heartbeat = stages[s].heartbeats[w];
            worker.heartbeat_size = stages[s].heartbeat_sizes[w];
            rc = ps_pipeline_add_worker (self, s, &worker);
        }
    if (rc != 0)
        ps_pipeline_destroy (&self);
    return self;
}

//  ---------------------------------------------------------------------
//  Work functions

int
tu_echo_work (ps_work_t *work, void *arg)
{
    char stage[16];
    snprintf (stage, sizeof (stage), "%d", (int) (intptr_t) arg);
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "X-Stage", stage);
    zmsg_t *payload = ps_work_payload (work);
    const ps_http_request_t *request = ps_work_request (work);
    ps_http_request_t *decoded = NULL;
    //  A stage's payload may be a request forwarded as it came
    if (!request && ps_work_kind (work) == PS_KIND_STAGE)
        request = decoded = ps_http_request_decode (payload);
    int rc;
    if (request) {
        const char *method = ps_http_request_method (request);
        const char *path = ps_http_request_path (request);
        size_t size = strlen (method) + strlen (path) + 2 + ps_http_request_body_size (request);
        char *body = (char *) zmalloc (size + 1);
        snprintf (body, size + 1, "%s %s ", method, path);
        memcpy (body + strlen (method) + strlen (path) + 2, ps_http_request_body (request),
                ps_http_request_body_size (request));
        rc = ps_work_reply (work, 200, &headers, body, size);
        free (body);
    }
    else {
        zframe_t *frame = zmsg_first (payload);
        rc = ps_work_reply (work, 200, &headers, frame ? zframe_data (frame) : NULL,
                            frame ? zframe_size (frame) : 0);
    }
    ps_http_request_destroy (&decoded);
    ps_pairs_destroy (&headers);
    return rc;
}

int
tu_forward_work (ps_work_t *work, void *arg)
{
    (void) arg;
    zmsg_t *frames = zmsg_dup (ps_work_payload (work));
    return ps_work_forward (work, &frames);
}

//  ---------------------------------------------------------------------
//  Log lines

zsock_t *
tu_logs_new (const char *endpoint)
{
    zsys_set_logsender (endpoint);
    zsock_t *logs = zsock_new_sub (endpoint, "");
    if (!logs)
        return NULL;
    zsock_set_rcvtimeo (logs, 50);
    bool heard = false;
    for (int64_t deadline = zclock_mono () + 5000; !heard && zclock_mono () < deadline;) {
        zsys_info ("testutil: log probe");
        char *line = zstr_recv (logs);
        heard = line && strstr (line, "testutil: log probe");
        zstr_free (&line);
    }
    if (!heard)
        tu_logs_destroy (&logs);
    return logs;
}

void
tu_logs_destroy (zsock_t **logs_p)
{
    zsys_set_logsender (NULL);
    zsock_destroy (logs_p);
}
