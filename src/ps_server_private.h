/*  ps_server_private: the state of one server actor, shared by the files
    that make up the server. Not installed.

    The data flow, file by file: ps_session.c reads client bytes off the
    STREAM socket into a session (one per connection), which parses them
    into requests (ps_request.c); ps_server.c turns each request into a job
    for the first proxy or answers it itself, and runs the actor (sockets,
    poll loop, timers, drain); ps_reply.c takes the results coming back on
    the loopback, matches them to their requests and formats the answers,
    which the session writes in request order. ps_observe.c holds the
    hooks those files call for the metrics, the access log file and the
    client's address.
*/
#ifndef PS_SERVER_PRIVATE_H_INCLUDED
#define PS_SERVER_PRIVATE_H_INCLUDED

#include "ps_curve_private.h"
#include "ps_dispatch.h"
#include "ps_loop.h"
#include "ps_request.h"
#include "ps_route.h"

//  Messages taken from one socket before looking at the others again.
#define PS_SERVER_BATCH 256

typedef struct {
    zsock_t *pipe;
    ps_server_config_t config;  //  zero fields resolved; strings below are our copies
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
    ps_sink_t push_sink;  //  the PUSH's handle, or the first stage's dispatch
    void *pull_h;
    //  The loopback's dispatch, if ps_pipeline made one: the results of
    //  the workers in this process, without libzmq's hand-off (ps_dispatch.h)
    ps_dispatch_t *results;
    ps_dispatch_seat_t *results_seat;
    void *pub_h;
    ps_loop_t *loop;
    int stream_id;       //  in the loop: every write to the stream marks it dirty
    zhashx_t *sessions;  //  by routing id (ps_session.c); zombies included
    size_t zombies;
    int64_t zombie_retry;          //  next attempt to close the zombies
    zlistx_t *header_timers;       //  sessions waiting for a header section, oldest first
    zlistx_t *idle_timers;         //  idle or slow body, least recently active first
    zlistx_t *zombie_timers;       //  sessions whose close is still to be sent
    ps_request_table_t *requests;  //  pending, by id and in deadline order
    ps_pairs_t *text_headers;      //  Content-Type: text/plain
    ps_pairs_t *retry_headers;     //  the same plus Retry-After: 1
    zframe_t *scratch;             //  for decoding envelopes
    bool loopback_version_warned;  //  said that a peer speaks another version
    bool draining;
    bool drained;
    int64_t drain_deadline;
    ps_curve_keys_t *keys;  //  NULL: plaintext backend
    char *metrics_path;     //  our copies of the config's strings
    char *access_log_path;
    struct _ps_metrics_t *metrics;         //  NULL unless a metrics path is set (ps_observe.c)
    struct _ps_access_log_t *access_file;  //  NULL unless an access log file is set
    ps_route_table_t *routes;              //  NULL: no routes, every request goes to push
    zsock_t **route_push;                  //  PUSH to each route's proxy, by route index
    ps_sink_t *route_sinks;                //  each route's PUSH handle, or its dispatch
    size_t max_body;                       //  the server's own body limit (limits.max_body is
                                           //  raised to the largest route's, for the parser)
    char *cors_origin;
    zhashx_t *streams;       //  answers coming in parts, by id (ps_stream.c)
    zlistx_t *stream_watch;  //  sessions to look at again (ps_stream.c)
    int64_t stream_poll_at;
    int stream_poll_ms;
} ps_server_self_t;

//  Submission (ps_server.c). A complete request from a session becomes a
//  job for the first proxy, or is answered by the server itself (health
//  check, 503 when the pipeline or the session is full). Takes *parsed_p.
void ps_server_accept_http (ps_server_self_t *self, ps_session_t *session,
                            ps_http_request_t **parsed_p);

//  Sends a parsed request of the session on to the first proxy (503 if it
//  cannot go); takes *parsed_p. Used by the above, and for the requests
//  the byte budget held back (ps_stream.c).
void ps_server_dispatch_http (ps_server_self_t *self, ps_request_t *request,
                              ps_http_request_t **parsed_p);

//  The same for a netstring payload; takes *payload_p.
void ps_server_accept_netstring (ps_server_self_t *self, ps_session_t *session,
                                 zframe_t **payload_p);

//  Sends a job, its payload the count frames' bytes (copied), to the
//  first proxy; on success (0) the request is pending.
int ps_server_submit (ps_server_self_t *self, ps_request_t *request, ps_kind_t kind,
                      const ps_span_t *frames, size_t count);

//  The same for an HTTP request, sent in its wire form.
int ps_server_submit_http (ps_server_self_t *self, ps_request_t *request,
                           const ps_http_request_t *parsed);

//  Tells the workers to drop job id (a late result is dropped anyway).
void ps_server_publish_cancel (ps_server_self_t *self, uint64_t id);

//  Cancels a pending request: workers are told, and it leaves the table.
void ps_server_cancel (ps_server_self_t *self, ps_request_t *request);

#endif
