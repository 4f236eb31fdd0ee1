/*  testutil: helpers shared by the end-to-end test suites.

    - unique endpoint names per transport (inproc, ipc under /tmp, tcp on a
      wildcard loopback port);
    - a raw TCP client with deadlines: every read has a timeout, so a
      failure is an assertion and never a hang; responses are read with a
      small self-contained parser, independent of the library's own;
    - a fake backend (the test plays proxy and workers) for server tests;
    - ps_pipelines with per-worker arguments and heartbeats, for e2e tests.
*/
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include "prime_server/prime_server.h"
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

//  ---------------------------------------------------------------------
//  Endpoints

//  A unique endpoint for transport "inproc", "ipc" or "tcp" (for tcp,
//  "tcp://127.0.0.1:*": bind it and ask the socket for the port). Caller
//  frees with tu_endpoint_free, which also removes the ipc socket file.
char *tu_endpoint (const char *transport, const char *name);
void tu_endpoint_free (char **endpoint_p);

//  ---------------------------------------------------------------------
//  Raw TCP client

typedef struct _tu_client_t tu_client_t;

//  Connects to 127.0.0.1:port; NULL on failure.
tu_client_t *tu_client_new (int port);

//  The same with a receive buffer of rcvbuf bytes, set before connecting so
//  the window the server sees is small (a client that reads slowly or not
//  at all fills it at once).
tu_client_t *tu_client_new_rcvbuf (int port, int rcvbuf);

//  The socket, for tests that read it their own way.
int tu_client_fd (tu_client_t *self);
void tu_client_destroy (tu_client_t **self_p);

//  Sends all bytes; 0 or -1.
int tu_client_send (tu_client_t *self, const void *data, size_t size);
int tu_client_sendstr (tu_client_t *self, const char *text);

//  Reads exactly size bytes (buffered ones first) within timeout_ms; returns
//  the bytes read, fewer on close or timeout.
size_t tu_client_read_bytes (tu_client_t *self, char *buf, size_t size, int timeout_ms);

//  Everything the server sends until it closes (NUL-terminated, size in
//  *size), or NULL if it does not close within timeout_ms. Caller frees.
char *tu_client_read_all (tu_client_t *self, int timeout_ms, size_t *size);

//  True if the server closes the connection within timeout_ms without
//  sending any further byte.
bool tu_client_closed (tu_client_t *self, int timeout_ms);

//  A response read back.
typedef struct {
    int status;
    int version;  //  10 or 11
    char *head;   //  status line and header lines, NUL-terminated
    char *body;   //  NUL-terminated for convenience
    size_t body_size;
    size_t header_count;
    char *names[64];
    char *values[64];
} tu_response_t;

//  Reads one complete response within timeout_ms (head: it answers a HEAD
//  request, so no body). NULL on timeout, close or malformed bytes.
tu_response_t *tu_client_read (tu_client_t *self, int timeout_ms, bool head);
void tu_response_destroy (tu_response_t **self_p);

//  First value of a header (case-insensitive), or NULL. Borrowed.
const char *tu_response_header (const tu_response_t *self, const char *name);

//  Sends a request and reads its response (convenience).
tu_response_t *tu_client_request (tu_client_t *self, const char *request, int timeout_ms);

//  ---------------------------------------------------------------------
//  Fake backend: the test plays the first proxy and every worker

typedef struct {
    char *proxy;      //  PULL bound here: jobs from the server
    char *loopback;   //  PUSH connected: results to the server
    char *interrupt;  //  SUB connected: cancellations
    zsock_t *jobs;
    zsock_t *results;
    zsock_t *cancels;
} tu_backend_t;

//  Unique inproc names; binds the jobs socket.
tu_backend_t *tu_backend_new (void);
void tu_backend_destroy (tu_backend_t **self_p);

//  A server config on tcp://127.0.0.1:* pointing at this backend.
void tu_backend_config (tu_backend_t *self, ps_server_config_t *config);

//  Connects results and cancellations; call once the server runs.
void tu_backend_attach (tu_backend_t *self);

//  Next job within timeout_ms: fills envelope and returns the payload
//  frames (caller owns), or NULL.
zmsg_t *tu_backend_job (tu_backend_t *self, int timeout_ms, ps_envelope_t *envelope);

//  Next job decoded as an HTTP request (caller owns), or NULL.
ps_http_request_t *tu_backend_request (tu_backend_t *self, int timeout_ms, uint64_t *id);

//  Sends a RESULT with one optional header.
int tu_backend_reply (tu_backend_t *self, uint64_t id, int status, const char *body,
                      const char *header_name, const char *header_value);

//  Next CANCEL within timeout_ms; true and *id set if one came.
bool tu_backend_cancel (tu_backend_t *self, int timeout_ms, uint64_t *id);

//  ---------------------------------------------------------------------
//  A real pipeline: server -> proxy -> workers [-> proxy -> workers ...]

typedef struct {
    ps_work_fn *work;
    void *work_arg;
    size_t workers;
    ps_proxy_choose_fn *choose;  //  optional
    void *choose_arg;
    void *worker_args[8];       //  optional: overrides work_arg per worker
    const void *heartbeats[8];  //  optional initial heartbeat per worker
    size_t heartbeat_sizes[8];
} tu_stage_t;

//  A started ps_pipeline of these stages over transport ("inproc", "ipc",
//  "tcp": ps_pipeline_set_transport) in front of a server made from config
//  (listen defaults to tcp://127.0.0.1:*). NULL if anything fails to
//  start. The test uses ps_pipeline_port and the like, and destroys it.
ps_pipeline_t *tu_pipeline_new (const char *transport, const ps_server_config_t *config,
                                const tu_stage_t *stages, size_t stage_count);

//  ---------------------------------------------------------------------
//  Log lines

//  The process's log lines (zsys) sent to endpoint (inproc), and a SUB
//  that hears them, returned once it has heard a probe line: a SUB hears
//  nothing before its subscription reaches the PUB, and a line said once
//  would be missed. NULL if no probe was heard within 5 s. Finish with
//  tu_logs_destroy, which stops the sending too (without forks the next
//  test would find the sender still bound).
zsock_t *tu_logs_new (const char *endpoint);
void tu_logs_destroy (zsock_t **logs_p);

//  Work functions for pipelines:
//  echo: replies 200 with "<method> <path> <body>" (HTTP) or the payload
//  (netstring or stage jobs holding a request), header X-Stage: arg as int.
int tu_echo_work (ps_work_t *work, void *arg);
//  forward: passes the payload frames on to the next stage unchanged.
int tu_forward_work (ps_work_t *work, void *arg);

#endif
