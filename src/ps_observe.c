/*  ps_observe: the server's metrics, access log and client address (see
    ps_observe.h). The hooks live here rather than in the files of the
    data flow, so those keep one line per hook.

    Which answers are refusals is read off the answer itself when it is
    written: a 408, 413, 414 or 431 the server gave (a worker may answer
    those statuses too; they are not the server refusing), a 504 of the
    server's, and a 503 of the server's outside a drain (a full pipeline
    or connection queue; while draining, 503s are the drain's).
*/
#include "ps_observe.h"
#include "ps_access_log.h"
#include "ps_envelope_private.h"
#include "ps_forwarded.h"
#include "ps_http_private.h"
#include "ps_session.h"

#include <string.h>

int
ps_observe_start (ps_server_self_t *server)
{
    assert (server);
    if (server->metrics_path)
        server->metrics = ps_metrics_new ();
    if (server->access_log_path) {
        server->access_file = ps_access_log_new (server->access_log_path);
        if (!server->access_file)
            return -1;
    }
    return 0;
}

void
ps_observe_stop (ps_server_self_t *server)
{
    assert (server);
    ps_metrics_destroy (&server->metrics);
    ps_access_log_destroy (&server->access_file);
}

const char *
ps_observe_request (ps_server_self_t *server, ps_request_t *request, ps_http_request_t *parsed)
{
    assert (server);
    assert (request);
    const char *method = ps_http_request_method (parsed);
    request->method = ps_metrics_method (method);
    const ps_pairs_t *headers = ps_http_request_headers (parsed);
    if (server->config.trust_forwarded) {
        char address[64];
        if (ps_forwarded_client (headers, address, sizeof address)) {
            zstr_free (&request->client);
            request->client = strdup (address);
        }
    }
    if (server->access_file) {
        request->access_request = ps_access_log_request (method, ps_http_request_target (parsed),
                                                         ps_http_request_version (parsed));
        request->access_headers = ps_access_log_headers (ps_pairs_get (headers, "Referer"),
                                                         ps_pairs_get (headers, "User-Agent"));
    }
    const char *client = request->client ? request->client : request->session->peer;
    ps_http_request_set_client (parsed, client);
    return client;
}

static void
s_chunk_free (void *data, void *hint)
{
    (void) data;
    zchunk_t *chunk = (zchunk_t *) hint;
    zchunk_destroy (&chunk);
}

//  A stage that is a dispatch in this process has no proxy to report it:
//  its figures are read at scrape time, as if just reported.
static void
s_dispatch_stage (const char *stage, const ps_dispatch_stats_t *stats, void *arg)
{
    ps_server_self_t *server = (ps_server_self_t *) arg;
    ps_metrics_stage_t figures = {.workers = stats->workers,
                                  .idle = stats->idle,
                                  .queued = stats->queued,
                                  .jobs = stats->jobs,
                                  .interval_ms = 1000};
    ps_metrics_stage_report (server->metrics, stage, strlen (stage), &figures, zclock_mono ());
}

bool
ps_observe_metrics (ps_server_self_t *server, ps_request_t *request, const char *path)
{
    assert (server);
    if (!server->metrics || !streq (path, server->metrics_path))
        return false;
    ps_metrics_gauges_t gauges = {0, ps_session_live (server)};
    //  Requests received and not yet written: every session's FIFO but
    //  this scrape's own
    zlistx_t *sessions = zhashx_values (server->sessions);
    assert (sessions);
    for (ps_session_t *session = (ps_session_t *) zlistx_first (sessions); session;
         session = (ps_session_t *) zlistx_next (sessions))
        if (!session->zombie)
            gauges.in_flight += zlistx_size (session->requests);
    zlistx_destroy (&sessions);
    gauges.in_flight -= gauges.in_flight > 0;
    ps_dispatch_each_stage (server->loopback, s_dispatch_stage, server);
    zchunk_t *text = ps_metrics_render (server->metrics, &gauges, zclock_mono ());
    request->answer = PS_ANSWER_RESULT;
    request->status = 200;
    request->headers = ps_pairs_new (true);
    ps_pairs_add (request->headers, "Content-Type", PS_METRICS_CONTENT_TYPE);
    zmq_msg_init_data (&request->body, zchunk_data (text), zchunk_size (text), s_chunk_free, text);
    request->has_body = true;
    return true;
}

//  Which refusal an answer is, or PS_METRICS_REJECT_COUNT for none.
static ps_metrics_reject_t
s_refusal (ps_server_self_t *server, const ps_request_t *request)
{
    if (request->answer == PS_ANSWER_RESULT)
        return PS_METRICS_REJECT_COUNT;
    switch (request->status) {
    case 408:
        return PS_METRICS_HEADER_TIMEOUT;
    case 413:
        return PS_METRICS_BODY_TOO_LARGE;
    case 414:
        return PS_METRICS_URI_TOO_LONG;
    case 431:
        return PS_METRICS_HEADERS_TOO_LARGE;
    case 504:
        return PS_METRICS_REQUEST_TIMEOUT;
    case 503:
        return server->draining ? PS_METRICS_REJECT_COUNT : PS_METRICS_OVERLOAD;
    default:
        return PS_METRICS_REJECT_COUNT;
    }
}

static void
s_log (ps_server_self_t *server, ps_request_t *request, int status, size_t bytes,
       int64_t duration_us)
{
    const char *client = request->client ? request->client : request->session->peer;
    ps_access_log_line (server->access_file, client, request->access_request, status, bytes,
                        request->access_headers, time (NULL), duration_us, zclock_mono ());
}

void
ps_observe_answered (ps_server_self_t *server, ps_request_t *request, size_t bytes)
{
    assert (server);
    assert (request);
    if (!server->metrics && !server->access_file)
        return;
    int64_t duration_us = zclock_usecs () - request->started_us;
    if (server->metrics) {
        ps_metrics_request (server->metrics, request->method, request->status, duration_us);
        ps_metrics_reject_t reason = s_refusal (server, request);
        if (reason != PS_METRICS_REJECT_COUNT)
            ps_metrics_reject (server->metrics, reason);
    }
    if (server->access_file)
        s_log (server, request, request->status, bytes, duration_us);
}

void
ps_observe_abandoned (ps_server_self_t *server, ps_request_t *request)
{
    assert (server);
    assert (request);
    if (!server->metrics && !server->access_file)
        return;
    int64_t duration_us = zclock_usecs () - request->started_us;
    if (server->metrics) {
        ps_metrics_request (server->metrics, request->method, 499, duration_us);
        ps_metrics_reject (server->metrics, PS_METRICS_CLIENT_GONE);
    }
    if (server->access_file)
        s_log (server, request, 499, 0, duration_us);
}

void
ps_observe_reject (ps_server_self_t *server, ps_metrics_reject_t reason)
{
    assert (server);
    if (server->metrics)
        ps_metrics_reject (server->metrics, reason);
}

//  [envelope type=STATS][stage name][figures]
void
ps_observe_stats (ps_server_self_t *server, zmq_msg_t *parts, size_t count)
{
    assert (server);
    ps_metrics_stage_t stage;
    bool valid = count == 3
                 && ps_metrics_stage_decode ((const byte *) zmq_msg_data (&parts[2]),
                                             zmq_msg_size (&parts[2]), &stage)
                        == 0;
    if (valid && server->metrics)
        valid = ps_metrics_stage_report (server->metrics, (const char *) zmq_msg_data (&parts[1]),
                                         zmq_msg_size (&parts[1]), &stage, zclock_mono ())
                == 0;
    if (!valid && server->config.verbose)
        zsys_warning ("ps_server: dropped a malformed STATS message (%zu frames)", count);
}

int64_t
ps_observe_tick (ps_server_self_t *server, int64_t now)
{
    assert (server);
    return server->access_file ? ps_access_log_tick (server->access_file, now) : INT64_MAX;
}

void
ps_observe_reopen (ps_server_self_t *server)
{
    assert (server);
    if (server->access_file)
        ps_access_log_reopen (server->access_file);
}
