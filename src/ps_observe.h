/*  ps_observe: what the server shows its operators, as hooks the rest of
    the server calls: the metrics (ps_metrics) and the access log file
    (ps_access_log), and the client address they and the workers see.
    Not installed.

    Every hook is a no-op when its feature is off (no metrics path, no
    access log file), so the server's hot path pays a test and a branch.
*/
#ifndef PS_OBSERVE_H_INCLUDED
#define PS_OBSERVE_H_INCLUDED

#include "ps_metrics.h"
#include "ps_server_private.h"

//  Makes the metrics and opens the access log the config asks for.
//  Returns 0, or -1 if the log cannot be opened (logged).
int ps_observe_start (ps_server_self_t *server);

//  Writes what the access log holds and frees both. Sessions first: their
//  requests may still be logged.
void ps_observe_stop (ps_server_self_t *server);

//  A request was parsed on session: records what its metrics and log line
//  need, and gives parsed the client's address (the connection's, or with
//  trust_forwarded what the reverse proxy says) for its job. Returns that
//  address, borrowed until the request is destroyed.
const char *ps_observe_request (ps_server_self_t *server, ps_request_t *request,
                                ps_http_request_t *parsed);

//  True if path is the metrics path: the request is then answered with
//  the exposition.
bool ps_observe_metrics (ps_server_self_t *server, ps_request_t *request, const char *path);

//  An answer of bytes bytes is being written.
void ps_observe_answered (ps_server_self_t *server, ps_request_t *request, size_t bytes);

//  A request whose client left before its answer was written (499).
void ps_observe_abandoned (ps_server_self_t *server, ps_request_t *request);

//  Something refused outside any request (too many connections).
void ps_observe_reject (ps_server_self_t *server, ps_metrics_reject_t reason);

//  A STATS message on the loopback (parts: its first min (count, 3) frames).
void ps_observe_stats (ps_server_self_t *server, zmq_msg_t *parts, size_t count);

//  The access log's flush; returns its next deadline (INT64_MAX: none).
int64_t ps_observe_tick (ps_server_self_t *server, int64_t now);

//  Opens the access log file again (SIGUSR1, SIGHUP).
void ps_observe_reopen (ps_server_self_t *server);

#endif
