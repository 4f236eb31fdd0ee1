/*  ps_metrics: the server's figures, and their exposition in the
    Prometheus text format (version 0.0.4). Not installed.

    The registry only counts and renders: the server tells it what happened
    (a request answered, a request refused, a stage's report) and hands it
    the gauges it knows at scrape time (connections, requests in flight).
    It knows nothing of sockets or sessions, so it is tested on its own.

    A stage's figures come from its proxy (a STATS message on the loopback,
    docs/PROTOCOL.md); the same figures frame is written by the proxy with
    ps_metrics_stage_encode. A stage whose reports stop is shown as
    prime_server_stage_up 0 and nothing else: never stale numbers.
*/
#ifndef PS_METRICS_H_INCLUDED
#define PS_METRICS_H_INCLUDED

#include <czmq.h>
#include <stdint.h>

//  The reasons of prime_server_rejected_total, each with its label value.
typedef enum {
    PS_METRICS_OVERLOAD = 0,          //  503: pipeline or connection queue full
    PS_METRICS_TOO_MANY_CONNECTIONS,  //  a connection closed at once (max_connections)
    PS_METRICS_HEADER_TIMEOUT,        //  408
    PS_METRICS_BODY_TOO_LARGE,        //  413
    PS_METRICS_URI_TOO_LONG,          //  414
    PS_METRICS_HEADERS_TOO_LARGE,     //  431
    PS_METRICS_REQUEST_TIMEOUT,       //  504
    PS_METRICS_CLIENT_GONE,           //  the client left before its answer
    PS_METRICS_REJECT_COUNT
} ps_metrics_reject_t;

//  A stage's figures, as its proxy reports them.
typedef struct {
    uint64_t workers;      //  known workers
    uint64_t idle;         //  of them, able to take a job now
    uint64_t queued;       //  jobs waiting for a worker to start them (see PROTOCOL.md)
    uint64_t jobs;         //  jobs handed to workers since the proxy started
    uint64_t lost;         //  jobs lost with their worker since the proxy started
    uint32_t interval_ms;  //  the proxy reports this often
} ps_metrics_stage_t;

//  The figures frame of a STATS message: a version byte (1), then the
//  fields above in that order, big-endian, 5 x 8 + 4 bytes.
#define PS_METRICS_STAGE_VERSION 1
#define PS_METRICS_STAGE_SIZE    45
//  Stage names: 1 to this many bytes, no NUL.
#define PS_METRICS_STAGE_NAME_MAX 128
//  A stage is down once no report came for this many of its intervals.
#define PS_METRICS_STAGE_MISSED 3

void ps_metrics_stage_encode (const ps_metrics_stage_t *stage, byte out[PS_METRICS_STAGE_SIZE]);
//  0, or -1 if the frame is not a figures frame of a version we read. A
//  longer frame of version 1 is read (fields may be appended).
int ps_metrics_stage_decode (const byte *data, size_t size, ps_metrics_stage_t *stage);

typedef struct _ps_metrics_t ps_metrics_t;

ps_metrics_t *ps_metrics_new (void);
void ps_metrics_destroy (ps_metrics_t **self_p);

//  The method's label index (a standard method, or "other"), for a
//  request record to keep until its answer.
int ps_metrics_method (const char *method);

//  A request answered (or abandoned: status 499) after duration_us;
//  method as ps_metrics_method gave it.
void ps_metrics_request (ps_metrics_t *self, int method, int status, int64_t duration_us);

void ps_metrics_reject (ps_metrics_t *self, ps_metrics_reject_t reason);

//  A stage's report, received at now (zclock_mono). name is not
//  NUL-terminated. Returns 0, or -1 for a bad name (nothing recorded).
int ps_metrics_stage_report (ps_metrics_t *self, const char *name, size_t name_size,
                             const ps_metrics_stage_t *stage, int64_t now);

//  What the server knows at scrape time.
typedef struct {
    size_t in_flight;    //  requests received and not yet answered
    size_t connections;  //  client connections
} ps_metrics_gauges_t;

//  The whole exposition at now (zclock_mono). Caller owns the chunk.
zchunk_t *ps_metrics_render (ps_metrics_t *self, const ps_metrics_gauges_t *gauges, int64_t now);

//  The Content-Type of the exposition.
#define PS_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
