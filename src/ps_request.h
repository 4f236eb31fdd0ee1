/*  ps_request: one client request inside the server, and the table of the
    requests that are in the pipeline. Private to the server (not installed).

    A request record lives from the moment its session parsed it (or had to
    answer it itself) until its answer has been written; its session's FIFO
    owns it. While its job is in the pipeline ("pending") it is also in the
    request table, found by id when its result comes back on the loopback,
    and kept in deadline order (its send time plus its route's request
    timeout; no timeout sorts last).
*/
#ifndef PS_REQUEST_H_INCLUDED
#define PS_REQUEST_H_INCLUDED

#include "prime_server/prime_server.h"

typedef struct _ps_session_t ps_session_t;
typedef struct _ps_stream_t ps_stream_t;

typedef enum {
    PS_ANSWER_NONE = 0,
    PS_ANSWER_RESULT,  //  from a worker: status, headers, body frame
    PS_ANSWER_LOCAL,   //  from the server itself: status, static text and headers
    PS_ANSWER_PARSE,   //  the parser failed: canned error naming the reason
    PS_ANSWER_STREAM   //  from a worker, in parts (ps_stream.c)
} ps_answer_t;

typedef struct {
    uint64_t id;            //  0 until sent to the pipeline; a new one for a retry
    ps_session_t *session;  //  the connection it came on (owner)
    void *flight;           //  its handle in the table's send order, while pending
    int64_t started;
    int64_t sent;              //  when it last went to the pipeline: its timeout runs from here
    ps_http_request_t *retry;  //  a GET/HEAD kept to be sent again if its worker is lost
    bool retried;
    bool pending;  //  in the pipeline and in the table
    bool head;     //  HEAD request: no body in the answer
    int version;   //  10 or 11
    ps_answer_t answer;
    int status;
    ps_pairs_t *headers;  //  owned, from a RESULT
    zmq_msg_t body;       //  owned, from a RESULT, if has_body
    bool has_body;
    const ps_pairs_t *local_headers;  //  borrowed from the server
    const char *text;                 //  static: local body or parser reason
    char *line;                       //  "METHOD target" for the access log, or NULL
    int method;                       //  label index for the metrics (ps_metrics_method); -1
    int64_t started_us;               //  zclock_usecs at arrival: durations in metrics and log
    char *client;                     //  the client's address from Forwarded headers, or NULL:
                                      //  its session's peer
    char *access_request;             //  the access log file's request line and headers
    char *access_headers;             //  fields (ps_access_log.h), or NULL
    int route;                        //  index of its route in the server's table; -1: none
    int64_t deadline;                 //  504 at this time; INT64_MAX: never (set at submission)
    ps_stream_t *stream;              //  owned, while its answer comes in parts
    ps_http_request_t *deferred;      //  parsed, held back by the byte budget (ps_stream.c)
    bool bounced;                     //  its stream came before its turn: sent again when first
} ps_request_t;

//  A new record for a request that arrived on session now (HTTP/1.1 until
//  told otherwise). The caller links it into the session's FIFO.
ps_request_t *ps_request_new (ps_session_t *session);

//  Frees the record and what it owns; it must not be pending. Accepts NULL.
void ps_request_destroy (ps_request_t **self_p);

//  A zhashx whose keys are uint64_t values living inside the items: keys
//  are neither copied nor freed, and a lookup passes the address of a
//  uint64_t. Used for requests by id and sessions by routing id.
zhashx_t *ps_request_u64_hashx_new (void);

typedef struct _ps_request_table_t ps_request_table_t;

ps_request_table_t *ps_request_table_new (void);

//  Does not free the requests (their sessions own them). Accepts NULL.
void ps_request_table_destroy (ps_request_table_t **self_p);

//  The id for the next job: never 0, never reused.
uint64_t ps_request_table_new_id (ps_request_table_t *self);

//  The request's job has been sent: it is pending, found by its id and
//  placed by its deadline (after those with the same deadline).
void ps_request_table_add (ps_request_table_t *self, ps_request_t *request);

//  Takes a pending request out of the table (answered, cancelled or lost).
void ps_request_table_remove (ps_request_table_t *self, ps_request_t *request);

//  The pending request with this id, or NULL.
ps_request_t *ps_request_table_lookup (ps_request_table_t *self, uint64_t id);

//  The pending request with the earliest deadline (the next to time
//  out), or NULL.
ps_request_t *ps_request_table_oldest (ps_request_table_t *self);

//  Number of pending requests.
size_t ps_request_table_size (ps_request_table_t *self);

#endif
