/*  ps_server: the front of a pipeline.

    Speaks HTTP/1.x (or netstrings) to clients on a ZMQ_STREAM socket, gives
    every complete request an id, sends it to the first proxy, and writes
    the answer back, in request order per connection, when a result arrives
    on the loopback PULL socket. Cancels jobs over the interrupt PUB socket
    when a request times out, its client goes away or the server stops.
*/
#ifndef PS_SERVER_H_INCLUDED
#define PS_SERVER_H_INCLUDED

#include "ps_curve.h"
#include "ps_export.h"
#include "ps_http.h"
#include "ps_route.h"
#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { PS_PROTOCOL_HTTP = 0, PS_PROTOCOL_NETSTRING = 1 } ps_protocol_t;

//  A zeroed field means its default, for every field; the default is
//  given with each. Where 0 already meant "off" before a default existed
//  (request_timeout_ms), the default is that "off", so old callers keep
//  their meaning; the other timeouts are turned off with a negative value.
typedef struct {
    const char *listen;        //  STREAM, bound: clients ("tcp://127.0.0.1:*" allowed); required
    const char *proxy;         //  PUSH, connected: the first proxy's upstream; NULL: none, and
                               //  every request but the health check is answered 503
    const char *loopback;      //  PULL, bound: results from any stage; NULL: none
    const char *interrupt;     //  PUB, bound: cancellations; NULL: none
    ps_protocol_t protocol;    //  0: PS_PROTOCOL_HTTP
    ps_http_limits_t limits;   //  HTTP limits (max_body also bounds netstrings); each 0 field:
                               //  its ps_http_limits_defaults value
    size_t max_connections;    //  beyond: the connection is closed at once; 0: 10000
    size_t max_in_flight;      //  requests in the pipeline; beyond: 503; 0: 10000
    size_t max_pipelined;      //  parsed requests waiting per connection; beyond: 503; 0: 64
    int request_timeout_ms;    //  504 after this; 0 (the default) or negative: none
    int header_timeout_ms;     //  complete header section within this, else 408;
                               //  0: 10000; negative: no limit
    int idle_timeout_ms;       //  idle keep-alive connections closed; 0: 60000; negative: never
    int send_timeout_ms;       //  a TCP client that takes none of our bytes for this long
                               //  is disconnected; 0: 60000; negative: the system's
    const char *health_check;  //  path answered 200 by the server itself; NULL: none
    bool access_log;           //  one zsys_info line per answer; false (default): none
    bool verbose;              //  diagnostics (bad requests, full queues, dropped clients,
                               //  lost workers) through zsys_warning; false (default): quiet
    int hwm;                   //  socket HWMs; 0: 10000
    ps_curve_t curve;          //  CURVE on proxy, loopback and interrupt (ps_curve.h);
                               //  zeroed: plaintext
    const char *metrics;       //  path answered by the server itself with its metrics in
                               //  the Prometheus text format, like the health check (also
                               //  while draining); NULL: none
    const char *access_file;   //  access log in the Combined Log Format, appended to this
                               //  file ("-": stdout), reopened by ps_server_reopen_logs;
                               //  NULL (default): none
    bool trust_forwarded;      //  the client's address (for workers and logs) from the
                               //  Forwarded or X-Forwarded-For header a reverse proxy in
                               //  front adds; false (default): the connection's address
    //  Several workflows in one service: each route (ps_route.h) sends the
    //  requests whose path it matches to a first proxy of its own, and a
    //  path no route matches is answered 404 by the server. Read at start
    //  (copied). route_count 0: no routes, every request goes to proxy.
    //  With routes, proxy must be NULL and the protocol HTTP.
    const ps_route_t *routes;
    size_t route_count;
    //  Every HTTP response, the server's own errors included, carries
    //  "Access-Control-Allow-Origin: cors_origin" (a worker's own is kept).
    //  NULL: no such header is added.
    const char *cors_origin;
    //  Streamed answers (docs/PROTOCOL.md): a worker is granted more body
    //  bytes only while what its client has not yet acknowledged is under
    //  stream_window; 0: 2 MiB.
    size_t stream_window;
    //  While a connection's queued answers reach this many bytes (not
    //  acknowledged, held, or 64 KiB reserved per request in the
    //  pipeline), its next pipelined requests wait instead of being
    //  dispatched; the first always goes (docs/DEPLOY.md, "Memory per
    //  connection"); 0: 4 MiB.
    size_t connection_budget;
} ps_server_config_t;

//  Fills config with the defaults above, written out (a zeroed config means
//  the same).
PS_EXPORT void ps_server_config_defaults (ps_server_config_t *config);

typedef struct _ps_server_t ps_server_t;

//  Start a server in its own thread. The config is read before this returns
//  (and what is kept, copied). Returns NULL with a logged reason when a bind
//  or connect fails.
PS_EXPORT ps_server_t *ps_server_new (const ps_server_config_t *config);

//  Stop at once: what is in flight gets 503, jobs are cancelled. Accepts NULL.
PS_EXPORT void ps_server_destroy (ps_server_t **self_p);

//  The TCP port the listen endpoint is bound to (for "tcp://...:*"), or -1.
PS_EXPORT int ps_server_port (ps_server_t *self);

//  The endpoints the server's sockets are bound to, as libzmq resolved them:
//  a wildcard port ("tcp://127.0.0.1:*") shows the port chosen, so a peer
//  can connect there. NULL for a socket the config did not ask for.
//  Borrowed until the server is destroyed.
PS_EXPORT const char *ps_server_listen_endpoint (ps_server_t *self);
PS_EXPORT const char *ps_server_loopback_endpoint (ps_server_t *self);
PS_EXPORT const char *ps_server_interrupt_endpoint (ps_server_t *self);

//  Start draining: the health check answers 503, responses carry
//  "Connection: close", requests in flight complete and new ones are still
//  served. After drain_ms, or once no client connection is left, what is
//  still in flight gets 503 and the server reports itself drained.
PS_EXPORT void ps_server_drain (ps_server_t *self, int drain_ms);

//  Open the access log file again, after what is buffered is written: a
//  rotated log (moved away, then this called) goes on in a new file. No
//  effect without an access log file.
PS_EXPORT void ps_server_reopen_logs (ps_server_t *self);

//  Wait up to timeout_ms (-1: forever) for the drain to finish; true if it did.
PS_EXPORT bool ps_server_wait_drained (ps_server_t *self, int timeout_ms);

//  The actor body, for users who run the server in a thread of their own.
//  It starts like every component actor (docs/PROTOCOL.md, "Actors"): a
//  signal, 0 or 1, then a message with the status and the listen, loopback
//  and interrupt endpoints as bound. Commands: "$TERM"; "DRAIN" +
//  milliseconds (answered with a signal, then "DRAINED" when the drain has
//  finished); "REOPEN" (answered with a signal).
PS_EXPORT void ps_server_actor (zsock_t *pipe, void *config);

#ifdef __cplusplus
}
#endif
#endif
