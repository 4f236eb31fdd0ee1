/*  stagetest: what the proxy and worker suites share. The test plays the
    server: a PUSH into the first proxy's upstream, a bound PULL as loopback
    and a bound PUB as interrupt channel. Workers run small work functions
    whose arguments (records) say what happened; a record is read only after
    its worker is destroyed (its thread joined). Every wait is bounded.
*/
#ifndef STAGETEST_H
#define STAGETEST_H

#include "prime_server/prime_server.h"
#include <check.h>
#include <inttypes.h>
#include <stdbool.h>

#define ST_TIMEOUT 10000  //  ms: any single expected message arrives well within

enum { ST_INPROC, ST_TCP, ST_IPC, ST_TRANSPORTS };

extern int st_sequence;

//  Bind sock on tcp to a port the kernel picks, writing the endpoint to buf.
//  (czmq's own "*" scans ports upwards from 49152, which hands the same port
//  out again as soon as a probe is closed; libzmq's wildcard asks the kernel.)
void st_bind_tcp (zsock_t *sock, char *buf, size_t size);

//  ipc endpoints live in one directory per run, removed at the end: libzmq
//  does not unlink ipc files when a socket closes.
extern char st_ipc_dir[64];

//  A fresh endpoint a component can bind. For tcp, a random port below the
//  kernel's ephemeral range (so no connecting socket can be sitting on it);
//  components that bind it retry with another one if it is taken.
void st_endpoint (int transport, char *buf, size_t size);

//  Bind sock to a fresh endpoint of transport, writing it to buf.
void st_bind (zsock_t *sock, int transport, char *buf, size_t size);

//  --------------------------------------------------------------------------
//  The test's server side

typedef struct {
    int transport;
    zsock_t *push;       //  jobs out, connected to the first proxy's upstream
    zsock_t *loopback;   //  results in
    zsock_t *interrupt;  //  cancels out
    char loopback_ep[256];
    char interrupt_ep[256];
    char upstream_ep[256];  //  first proxy's upstream
} server_t;

server_t *st_server_new (int transport);

void st_server_destroy (server_t **self_p);

void st_send_job (zsock_t *sock, uint64_t id, const char *payload);

bool st_wait_readable (zsock_t *sock, int timeout_ms);

typedef struct {
    ps_envelope_t envelope;
    char body[256];
    char worker[64];  //  X-Worker header, if any
} result_t;

//  Receive one RESULT within timeout_ms; false if none came.
bool st_recv_result (server_t *server, int timeout_ms, result_t *result);

void st_expect_result (server_t *server, result_t *result);

//  --------------------------------------------------------------------------
//  Work functions and their records

typedef struct {
    char name[32];
    int calls;            //  work function calls
    int cleanups;         //  cleanup calls
    int cancels_seen;     //  long jobs that saw ps_work_cancelled
    zsock_t *started;     //  optional PUSH: a long job says it started
    char heartbeat[32];   //  initial heartbeat, "" for none
    int send_timeout_ms;  //  0 for the tests' 500
    int oddities;         //  unexpected API results seen in the worker thread
    int heartbeat_ms;     //  0 for the library's default, -1 for none
    int expiry_ms;        //  0 for the library's default
    int compute_ms;       //  st_compute: how long to keep the thread
    size_t credit;        //  0 for the library's default
} record_t;

void st_cleanup (void *arg);

//  Body: "name|frame|frame..." over all payload frames.
char *st_join (record_t *record, zmsg_t *payload);

int st_reply_text (ps_work_t *work, record_t *record, int status, const char *text);

int st_echo (ps_work_t *work, void *arg);

//  Stage 1: "bad" is answered here with 400; anything else goes on with
//  this worker's name appended.
int st_stage1 (ps_work_t *work, void *arg);

ps_worker_t *st_worker_new (server_t *server, const char *upstream, const char *downstream,
                            ps_work_fn *work, record_t *record);

//  Start a proxy like config (its endpoints ignored) on fresh endpoints of
//  transport, written to upstream and downstream (each at least 256 bytes);
//  retried while a tcp port is taken.
ps_proxy_t *st_proxy_new_config (int transport, char *upstream, char *downstream,
                                 const ps_proxy_config_t *model);

ps_proxy_t *st_proxy_new (int transport, char *upstream, char *downstream,
                          ps_proxy_choose_fn *choose, void *choose_arg);

//  The first proxy, into which the server pushes.
ps_proxy_t *st_front_proxy_new (server_t *server, char *downstream, ps_proxy_choose_fn *choose,
                                void *choose_arg);

//  --------------------------------------------------------------------------
//  Chooser

//  Send the job to the idle worker whose heartbeat equals the payload.
int st_choose_match (zmsg_t *job, zframe_t **heartbeats, size_t count, void *arg);

//  --------------------------------------------------------------------------
//  Cancellation

zsock_t *st_started_pair (int transport, zsock_t **pull_p);

void st_expect_started (zsock_t *started, uint64_t id);

//  --------------------------------------------------------------------------
//  Worker liveness

//  Short intervals, so a test waits for an expiry in about a second
#define ST_BEAT_MS   100
#define ST_EXPIRY_MS 1000

//  Keeps the worker thread for compute_ms without ever asking whether the
//  job was cancelled, as a long computation would.
int st_compute (ps_work_t *work, void *arg);

//  One Check case per test (CK_RUN_CASE=name runs one), looped over
//  transports; Check's timeout raised for loaded machines unless
//  CK_DEFAULT_TIMEOUT is set (valgrind runs).
void st_add (Suite *suite, const char *name, const TTest *test, int transports);
//  The same over the transports from first (ST_TCP: not inproc) on.
void st_add_from (Suite *suite, const char *name, const TTest *test, int first, int transports);

//  Runs suite with a fresh directory for ipc endpoints, removed at the end;
//  returns main's exit status.
int st_run (Suite *suite);

#endif
