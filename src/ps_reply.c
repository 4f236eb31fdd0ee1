/*  ps_reply: results coming back and the answers they make (see ps_reply.h).

    Every stage's final answer arrives on the loopback PULL as a RESULT
    [envelope][headers][body], or from a worker of this process through the
    loopback's dispatch, if the pipeline made one (ps_dispatch.h). Its id finds the pending request; a result
    for an id no longer pending (timed out, cancelled, its client left) is
    dropped quietly. The body frame moves into the request, so its bytes
    are copied once, into the response.

    A proxy that loses a worker holding a job says so on the loopback (a
    RESULT 502 with PS_FLAG_LOST). A GET or HEAD is then sent again, once,
    with a new id (its parsed request is kept until it is answered, for
    that); anything else is answered 502.
*/
#include "ps_reply.h"
#include "ps_cors.h"
#include "ps_envelope_private.h"
#include "ps_observe.h"
#include "ps_session.h"
#include "ps_stream.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  ---------------------------------------------------------------------
//  Answers

void
ps_reply_local (ps_request_t *request, int status, const char *text, const ps_pairs_t *headers)
{
    assert (request);
    request->answer = PS_ANSWER_LOCAL;
    request->status = status;
    request->text = text;
    request->local_headers = headers ? headers : request->session->server->text_headers;
}

static zchunk_t *
s_format_http (ps_request_t *request, bool keep_alive)
{
    if (request->answer == PS_ANSWER_PARSE)
        return ps_http_response_error (request->version, request->status, request->text,
                                       keep_alive);
    if (request->answer == PS_ANSWER_LOCAL) {
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
s_format_netstring (ps_request_t *request)
{
    if (request->answer == PS_ANSWER_RESULT)
        return ps_netstring_encode (zmq_msg_data (&request->body), zmq_msg_size (&request->body));
    char text[160];
    if (request->answer == PS_ANSWER_LOCAL && request->text)
        snprintf (text, sizeof (text), "%s", request->text);
    else
        snprintf (text, sizeof (text), "error: %d %s", request->status,
                  request->text ? request->text : ps_http_status_reason (request->status));
    return ps_netstring_encode (text, strlen (text));
}

zchunk_t *
ps_reply_format (ps_request_t *request, ps_protocol_t protocol, bool keep_alive)
{
    assert (request);
    assert (request->answer != PS_ANSWER_NONE);
    if (protocol == PS_PROTOCOL_NETSTRING)
        return s_format_netstring (request);
    zchunk_t *chunk = s_format_http (request, keep_alive);
    const char *origin = request->session->server->cors_origin;
    if (origin
        && !(request->answer == PS_ANSWER_RESULT && request->headers
             && ps_pairs_get (request->headers, "Access-Control-Allow-Origin")))
        ps_cors_add (&chunk, origin);
    return chunk;
}

void
ps_reply_log (ps_request_t *request, size_t bytes)
{
    assert (request);
    double ms = (double) (zclock_mono () - request->started);
    zsys_info ("ps_server: %" PRIu64 " %s %d %zu %.0fms", request->id,
               request->line ? request->line : "-", request->status, bytes, ms);
}

//  Writes what is ready if the request was the one its session waits for.
static void
s_flush_if_first (ps_request_t *request)
{
    ps_session_t *session = request->session;
    if (ps_session_first (session) == request)
        ps_session_flush (&session);
}

//  ---------------------------------------------------------------------
//  Results on the loopback

//  A proxy lost the worker that held this request's job (out of the table
//  already). A worker that was only slow is told to stop; a GET or HEAD
//  goes to the pipeline again, from its start, with a new id; anything
//  else, or a second loss, is answered 502.
static void
s_handle_lost (ps_server_self_t *server, ps_request_t *request)
{
    ps_server_publish_cancel (server, request->id);
    if (server->config.verbose)
        zsys_warning ("ps_server: the worker of %" PRIu64 " was lost%s", request->id,
                      request->retry && !request->retried ? ", sending it again" : "");
    if (request->retry && !request->retried) {
        request->retried = true;
        if (ps_server_submit_http (server, request, request->retry) == 0)
            return;
    }
    ps_reply_local (request, 502, "502 Bad Gateway: worker lost\n", NULL);
    s_flush_if_first (request);
}

//  parts holds the first min (count, 3) frames of a loopback message.
static void
s_handle_result (ps_server_self_t *server, zmq_msg_t *parts, size_t count)
{
    ps_envelope_t envelope;
    //  A reused scratch frame: resetting it to 16 bytes allocates nothing.
    zframe_reset (server->scratch, zmq_msg_data (&parts[0]), zmq_msg_size (&parts[0]));
    int rc = ps_envelope_decode (server->scratch, &envelope);
    if (rc == 0 && envelope.type == PS_MSG_STATS) {
        ps_observe_stats (server, parts, count);
        return;
    }
    if (rc == 0 && envelope.type >= PS_MSG_START && envelope.type <= PS_MSG_ABORT) {
        ps_stream_handle (server, &envelope, parts, count);
        return;
    }
    if (rc != 0 || envelope.type != PS_MSG_RESULT) {
        ps_envelope_log_junk ("ps_server", "loopback", server->scratch, count,
                              server->config.verbose, &server->loopback_version_warned);
        return;
    }
    ps_request_t *request = ps_request_table_lookup (server->requests, envelope.id);
    if (!request) {
        //  A stream's worker lost mid-answer ends its stream
        if (envelope.flags & PS_FLAG_LOST)
            ps_stream_lost (server, envelope.id);
        return;  //  timed out, cancelled or its client left: dropped quietly
    }
    ps_request_table_remove (server->requests, request);
    if (envelope.flags & PS_FLAG_LOST) {
        s_handle_lost (server, request);
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
        ps_reply_local (request, 502, NULL, NULL);
    }
    else {
        request->answer = PS_ANSWER_RESULT;
        request->status = envelope.status;
        request->headers = headers;
        zmq_msg_init (&request->body);
        zmq_msg_move (&request->body, &parts[2]);
        request->has_body = true;
    }
    s_flush_if_first (request);
}

bool
ps_reply_handle_loopback (ps_server_self_t *server)
{
    assert (server);
    for (int n = 0; n < PS_SERVER_BATCH; n++) {
        zmq_msg_t parts[3];
        zmq_msg_init (&parts[0]);
        if (zmq_msg_recv (&parts[0], server->pull_h, ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&parts[0]);
            return errno == EAGAIN;
        }
        size_t count = 1;
        bool more = zmq_msg_more (&parts[0]);
        while (more) {
            zmq_msg_t extra;
            zmq_msg_init (&extra);
            if (zmq_msg_recv (&extra, server->pull_h, 0) == -1) {
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
        s_handle_result (server, parts, count);
        for (size_t i = 0; i < count && i < 3; i++)
            zmq_msg_close (&parts[i]);
    }
    return false;
}

bool
ps_reply_handle_seat (ps_server_self_t *server)
{
    assert (server);
    assert (server->results_seat);
    //  What the workers queued meanwhile, taken in one hold of the lock
    //  they send under
    ps_dispatch_job_t *jobs[PS_SERVER_BATCH];
    size_t taken = ps_dispatch_next_batch (server->results_seat, jobs, PS_SERVER_BATCH);
    for (size_t n = 0; n < taken; n++) {
        zmq_msg_t parts[3];
        size_t count = ps_dispatch_job_take_parts (&jobs[n], parts, 3);
        s_handle_result (server, parts, count);
        for (size_t i = 0; i < count && i < 3; i++)
            zmq_msg_close (&parts[i]);
    }
    return taken == 0;
}
