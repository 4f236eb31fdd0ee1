/*  check_ps_curve: CurveZMQ on the backend links, over tcp on 127.0.0.1.

    A secured pipeline serves as a plain one; strangers (no key, or a key
    not in the trusted directory) that reach the proxy's and the server's
    ports complete no handshake and receive no frame, and what they send
    reaches no one; a key added to the trusted directory admits its owner's
    next connection and a key removed refuses the next one, without a
    restart; a secret key readable by others is refused; a worker or a
    proxy refused on the links it connects is back on them, without a
    restart, once its key is trusted. The test's own
    peers are raw czmq sockets whose handshakes it watches through libzmq's
    socket monitor, so every wait ends on an event, not a sleep.
*/
#include "testutil.h"
#include <check.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT 5000
//  How long a stranger is watched for a frame it must never get, after the
//  traffic it could have stolen has all been answered
#define QUIET_MS 300

typedef struct {
    char dir[64];      //  removed at the end
    char trusted[96];  //  dir/trusted
} keys_t;

static void
s_keys_init (keys_t *keys)
{
    strcpy (keys->dir, "/tmp/ps_curve_XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (keys->dir));
    snprintf (keys->trusted, sizeof keys->trusted, "%s/trusted", keys->dir);
    ck_assert_int_eq (mkdir (keys->trusted, 0700), 0);
}

static void
s_keys_remove (keys_t *keys)
{
    zdir_t *dir = zdir_new (keys->dir, NULL);
    if (dir)
        zdir_remove (dir, true);
    zdir_destroy (&dir);
}

//  A new key pair saved as dir/name (+ "_secret", mode 0600), its public
//  half also in the trusted directory if trusted. Caller destroys.
static zcert_t *
s_cert (keys_t *keys, const char *name, bool trusted)
{
    zcert_t *cert = zcert_new ();
    ck_assert_ptr_nonnull (cert);
    char *path = zsys_sprintf ("%s/%s", keys->dir, name);
    ck_assert_int_eq (zcert_save (cert, path), 0);
    char *secret = zsys_sprintf ("%s_secret", path);
    ck_assert_int_eq (chmod (secret, 0600), 0);
    if (trusted) {
        char *public_path = zsys_sprintf ("%s/%s", keys->trusted, name);
        ck_assert_int_eq (zcert_save_public (cert, public_path), 0);
        zstr_free (&public_path);
    }
    zstr_free (&secret);
    zstr_free (&path);
    return cert;
}

//  Watch sock's handshakes: a PAIR that receives the monitor's events
static zsock_t *
s_monitor (zsock_t *sock)
{
    static int sequence;
    char *endpoint = zsys_sprintf ("inproc://curve-monitor-%d-%d", getpid (), sequence++);
    int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                 | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    ck_assert_int_eq (zmq_socket_monitor (zsock_resolve (sock), endpoint, events), 0);
    zsock_t *pair = zsock_new (ZMQ_PAIR);
    ck_assert_ptr_nonnull (pair);
    ck_assert_int_eq (zsock_connect (pair, "%s", endpoint), 0);
    zstr_free (&endpoint);
    return pair;
}

//  The next handshake event within timeout_ms, or 0
static int
s_event (zsock_t *monitor, int timeout_ms)
{
    zsock_set_rcvtimeo (monitor, timeout_ms);
    zmsg_t *msg = zmsg_recv (monitor);
    if (!msg)
        return 0;
    zframe_t *head = zmsg_first (msg);
    ck_assert (head && zframe_size (head) == 6);
    uint16_t event;
    memcpy (&event, zframe_data (head), 2);
    zmsg_destroy (&msg);
    return event;
}

static void
s_unmonitor (zsock_t *sock, zsock_t **monitor_p)
{
    zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
    zsock_destroy (monitor_p);
}

//  A peer socket: CURVE client of server_key with cert's keys, or
//  plaintext without a cert
static zsock_t *
s_peer (int type, zcert_t *cert, const char *server_key)
{
    zsock_t *sock = zsock_new (type);
    ck_assert_ptr_nonnull (sock);
    zsock_set_linger (sock, 0);
    zsock_set_sndtimeo (sock, 0);
    if (cert) {
        zcert_apply (cert, sock);
        zsock_set_curve_serverkey (sock, server_key);
    }
    if (type == ZMQ_SUB)
        zsock_set_subscribe (sock, "");
    return sock;
}

//  0, or -1 if libzmq did not take it (a refused stranger's socket has no
//  peer left to queue for: its sends time out at once)
static int
s_send_envelope (zsock_t *sock, uint8_t type, uint64_t id, const char *payload)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){ps_envelope_encode (&(ps_envelope_t){
                          .type = type, .kind = PS_KIND_STAGE, .id = id, .credit = 1})});
    if (payload)
        zmsg_addstr (msg, payload);
    int rc = zmsg_send (&msg, sock);
    zmsg_destroy (&msg);
    return rc;
}

static void
s_get (int port, const char *path, int *status, char *body, size_t size)
{
    tu_client_t *client = tu_client_new (port);
    ck_assert_ptr_nonnull (client);
    char *request = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path);
    tu_response_t *response = tu_client_request (client, request, WAIT);
    ck_assert_msg (response != NULL, "no response for %s", path);
    *status = response->status;
    snprintf (body, size, "%s", response->body);
    tu_response_destroy (&response);
    zstr_free (&request);
    tu_client_destroy (&client);
}

//  A secured pipeline over tcp serves; two strangers per socket (no key;
//  a key the pipeline does not trust) are refused at the handshake, get
//  no frame while 50 requests are answered, and their forged READY, JOB
//  and RESULT messages change no answer.
START_TEST (test_strangers_get_nothing)
{
    keys_t keys;
    s_keys_init (&keys);
    zcert_t *server = s_cert (&keys, "server", true);
    zcert_t *untrusted = s_cert (&keys, "stranger", false);
    char *cert_path = zsys_sprintf ("%s/server", keys.dir);

    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.curve = (ps_curve_t){.cert = cert_path, .trusted = keys.trusted};
    tu_stage_t stage = {.work = tu_echo_work, .work_arg = (void *) 1, .workers = 2};
    ps_pipeline_t *pipeline = tu_pipeline_new ("tcp", &config, &stage, 1);
    ck_assert_ptr_nonnull (pipeline);
    int port = ps_pipeline_port (pipeline);

    //  Each stranger: a DEALER that offers to work, a PUSH of forged jobs
    //  to the proxy, a PUSH of forged results to the loopback, a SUB on
    //  the interrupts
    const char *endpoints[4] = {
        ps_pipeline_downstream_endpoint (pipeline, 0), ps_pipeline_upstream_endpoint (pipeline, 0),
        ps_pipeline_loopback_endpoint (pipeline), ps_pipeline_interrupt_endpoint (pipeline)};
    int types[4] = {ZMQ_DEALER, ZMQ_PUSH, ZMQ_PUSH, ZMQ_SUB};
    zsock_t *strangers[8];
    for (int i = 0; i < 8; i++) {
        strangers[i] = s_peer (types[i % 4], i < 4 ? NULL : untrusted, zcert_public_txt (server));
        zsock_t *monitor = s_monitor (strangers[i]);
        ck_assert_int_eq (zsock_connect (strangers[i], "%s", endpoints[i % 4]), 0);
        //  Refused at the handshake: a plaintext peer for its mechanism
        //  (libzmq reports that without detail), an untrusted key by the
        //  ZAP handler
        int event = s_event (monitor, WAIT);
        ck_assert_msg (i < 4 ? event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                   || event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                             : event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
                       "stranger %d (%s): event 0x%x", i, endpoints[i % 4], event);
        s_unmonitor (strangers[i], &monitor);
    }
    //  What they try (a refused socket has no peer: libzmq may take none)
    for (int i = 0; i < 8; i += 4) {
        (void) s_send_envelope (strangers[i], PS_MSG_READY, 0, NULL);
        for (uint64_t id = 1; id <= 100; id++) {
            (void) s_send_envelope (strangers[i + 1], PS_MSG_JOB, id, "forged job");
            (void) s_send_envelope (strangers[i + 2], PS_MSG_RESULT, id, "forged result");
        }
    }
    for (int i = 0; i < 50; i++) {
        char path[32], body[256], expected[64];
        int status;
        snprintf (path, sizeof path, "/curve/%d", i);
        s_get (port, path, &status, body, sizeof body);
        snprintf (expected, sizeof expected, "GET %s ", path);
        ck_assert_int_eq (status, 200);
        ck_assert_str_eq (body, expected);
    }
    for (int i = 0; i < 8; i++) {
        if (types[i % 4] == ZMQ_PUSH)
            continue;
        zsock_set_rcvtimeo (strangers[i], QUIET_MS);
        zmsg_t *stolen = zmsg_recv (strangers[i]);
        ck_assert_msg (stolen == NULL, "stranger %d received a frame", i);
    }
    for (int i = 0; i < 8; i++)
        zsock_destroy (&strangers[i]);
    ps_pipeline_destroy (&pipeline);
    zcert_destroy (&server);
    zcert_destroy (&untrusted);
    zstr_free (&cert_path);
    s_keys_remove (&keys);
}
END_TEST

//  A proxy's trusted directory changes under it: a refused worker key is
//  admitted on its next connection once its certificate is added (and a
//  job reaches it), and refused again on a new connection once the
//  certificate is removed. (libzmq does not retry a connection refused at
//  the handshake: each attempt is a new socket, as a ps_worker's
//  reconnection after expiry_ms is.)
START_TEST (test_trusted_set_changes_without_restart)
{
    keys_t keys;
    s_keys_init (&keys);
    zcert_t *server = s_cert (&keys, "server", true);
    zcert_t *worker = s_cert (&keys, "worker", false);
    char *cert_path = zsys_sprintf ("%s/server", keys.dir);
    ps_proxy_config_t config;
    ps_proxy_config_defaults (&config);
    config.upstream = "tcp://127.0.0.1:*";
    config.downstream = "tcp://127.0.0.1:*";
    config.heartbeat_ms = -1;
    config.curve = (ps_curve_t){.cert = cert_path, .trusted = keys.trusted};
    ps_proxy_t *proxy = ps_proxy_new (&config);
    ck_assert_ptr_nonnull (proxy);
    const char *server_key = zcert_public_txt (server);

    zsock_t *dealer = s_peer (ZMQ_DEALER, worker, server_key);
    zsock_t *monitor = s_monitor (dealer);
    ck_assert_int_eq (zsock_connect (dealer, "%s", ps_proxy_downstream_endpoint (proxy)), 0);
    ck_assert_int_eq (s_event (monitor, WAIT), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    s_unmonitor (dealer, &monitor);
    zsock_destroy (&dealer);

    //  Trusted now: the next connection is admitted
    char *public_path = zsys_sprintf ("%s/worker", keys.trusted);
    int64_t added = zclock_mono ();
    ck_assert_int_eq (zcert_save_public (worker, public_path), 0);
    dealer = s_peer (ZMQ_DEALER, worker, server_key);
    monitor = s_monitor (dealer);
    ck_assert_int_eq (zsock_connect (dealer, "%s", ps_proxy_downstream_endpoint (proxy)), 0);
    ck_assert_int_eq (s_event (monitor, WAIT), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    printf ("check_ps_curve: a key added, its next connection admitted %" PRId64 " ms later\n",
            zclock_mono () - added);
    s_unmonitor (dealer, &monitor);
    ck_assert_int_eq (s_send_envelope (dealer, PS_MSG_READY, 0, NULL), 0);

    zsock_t *jobs = s_peer (ZMQ_PUSH, server, server_key);
    ck_assert_int_eq (zsock_connect (jobs, "%s", ps_proxy_upstream_endpoint (proxy)), 0);
    ck_assert_int_eq (s_send_envelope (jobs, PS_MSG_JOB, 42, "for the admitted worker"), 0);
    zsock_set_rcvtimeo (dealer, WAIT);
    zmsg_t *job = zmsg_recv (dealer);
    ck_assert_ptr_nonnull (job);
    ps_envelope_t envelope;
    ck_assert_int_eq (ps_envelope_decode (zmsg_first (job), &envelope), 0);
    ck_assert_int_eq (envelope.type, PS_MSG_JOB);
    ck_assert_uint_eq (envelope.id, 42);
    zmsg_destroy (&job);

    //  Removed: a new connection with that key is refused
    ck_assert_int_eq (unlink (public_path), 0);
    zsock_t *again = s_peer (ZMQ_DEALER, worker, server_key);
    monitor = s_monitor (again);
    ck_assert_int_eq (zsock_connect (again, "%s", ps_proxy_downstream_endpoint (proxy)), 0);
    ck_assert_int_eq (s_event (monitor, WAIT), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    s_unmonitor (again, &monitor);

    zsock_destroy (&again);
    zsock_destroy (&jobs);
    zsock_destroy (&dealer);
    ps_proxy_destroy (&proxy);
    zstr_free (&public_path);
    zstr_free (&cert_path);
    zcert_destroy (&server);
    zcert_destroy (&worker);
    s_keys_remove (&keys);
}
END_TEST

//  Two files of the trusted directory with one key (a backup copy, say):
//  the key is trusted, and the process goes on (czmq's own directory
//  store would abort on it)
START_TEST (test_duplicate_key_trusted)
{
    keys_t keys;
    s_keys_init (&keys);
    zcert_t *server = s_cert (&keys, "server", true);
    zcert_t *worker = s_cert (&keys, "worker", true);
    char *copy = zsys_sprintf ("%s/worker.bak", keys.trusted);
    ck_assert_int_eq (zcert_save_public (worker, copy), 0);
    char *cert_path = zsys_sprintf ("%s/server", keys.dir);
    ps_proxy_config_t config;
    ps_proxy_config_defaults (&config);
    config.upstream = "tcp://127.0.0.1:*";
    config.downstream = "tcp://127.0.0.1:*";
    config.curve = (ps_curve_t){.cert = cert_path, .trusted = keys.trusted};
    ps_proxy_t *proxy = ps_proxy_new (&config);
    ck_assert_ptr_nonnull (proxy);
    zsock_t *dealer = s_peer (ZMQ_DEALER, worker, zcert_public_txt (server));
    zsock_t *monitor = s_monitor (dealer);
    ck_assert_int_eq (zsock_connect (dealer, "%s", ps_proxy_downstream_endpoint (proxy)), 0);
    ck_assert_int_eq (s_event (monitor, WAIT), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    s_unmonitor (dealer, &monitor);
    zsock_destroy (&dealer);
    ps_proxy_destroy (&proxy);
    zstr_free (&copy);
    zstr_free (&cert_path);
    zcert_destroy (&server);
    zcert_destroy (&worker);
    s_keys_remove (&keys);
}
END_TEST

//  A secret key that group or others may read is refused, by the check and
//  by a component, which then does not start
START_TEST (test_open_secret_refused)
{
    keys_t keys;
    s_keys_init (&keys);
    zcert_t *server = s_cert (&keys, "server", true);
    char *cert_path = zsys_sprintf ("%s/server", keys.dir);
    char *secret = zsys_sprintf ("%s_secret", cert_path);
    ps_curve_t curve = {.cert = cert_path, .trusted = keys.trusted};
    ck_assert_int_eq (ps_curve_check (&curve), 0);
    ck_assert_int_eq (chmod (secret, 0644), 0);
    ck_assert_int_eq (ps_curve_check (&curve), -1);
    ps_proxy_config_t config;
    ps_proxy_config_defaults (&config);
    config.upstream = "tcp://127.0.0.1:*";
    config.downstream = "tcp://127.0.0.1:*";
    config.curve = curve;
    ps_proxy_t *proxy = ps_proxy_new (&config);
    ck_assert_ptr_null (proxy);
    ck_assert_int_eq (chmod (secret, 0640), 0);
    ck_assert_int_eq (ps_curve_check (&curve), -1);
    //  No trusted directory: nothing to admit with, so no CURVE bind
    ck_assert_int_eq (chmod (secret, 0600), 0);
    config.curve.trusted = NULL;
    proxy = ps_proxy_new (&config);
    ck_assert_ptr_null (proxy);
    zstr_free (&secret);
    zstr_free (&cert_path);
    zcert_destroy (&server);
    s_keys_remove (&keys);
}
END_TEST

//  inproc:// has no handshake: a pipeline with keys serves over it
START_TEST (test_inproc_needs_no_trust)
{
    keys_t keys;
    s_keys_init (&keys);
    zcert_t *server = s_cert (&keys, "server", false);
    char *cert_path = zsys_sprintf ("%s/server", keys.dir);
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.curve = (ps_curve_t){.cert = cert_path};
    tu_stage_t stage = {.work = tu_echo_work, .work_arg = (void *) 1, .workers = 1};
    ps_pipeline_t *pipeline = tu_pipeline_new ("inproc", &config, &stage, 1);
    ck_assert_ptr_nonnull (pipeline);
    char body[256];
    int status;
    s_get (ps_pipeline_port (pipeline), "/inproc", &status, body, sizeof body);
    ck_assert_int_eq (status, 200);
    ck_assert_str_eq (body, "GET /inproc ");
    ps_pipeline_destroy (&pipeline);
    zstr_free (&cert_path);
    zcert_destroy (&server);
    s_keys_remove (&keys);
}
END_TEST

//  The worker of test_refused_worker_recovers: echoes, except /long, which
//  runs until its CANCEL arrives (or 10 s) and counts the cancellation
static atomic_int s_long_started;
static atomic_int s_cancels_seen;

static int
s_long_or_echo (ps_work_t *work, void *arg)
{
    const ps_http_request_t *request = ps_work_request (work);
    if (!request || strcmp (ps_http_request_path (request), "/long") != 0)
        return tu_echo_work (work, arg);
    atomic_fetch_add (&s_long_started, 1);
    int64_t deadline = zclock_mono () + 10000;
    while (!ps_work_cancelled (work) && zclock_mono () < deadline)
        zclock_sleep (5);  //  the work a busy job does between looks
    if (ps_work_cancelled (work))
        atomic_fetch_add (&s_cancels_seen, 1);
    return ps_work_reply (work, 200, NULL, "done", 4);
}

//  Wait for log lines (zsys's log sender) naming each of component's
//  ("ps_worker", "ps_proxy") sockets in roles (NULL-terminated, at most 8)
//  as refused, in any order; false after timeout_ms
static bool
s_logs_refused (zsock_t *logs, const char *component, const char *const *roles, int timeout_ms)
{
    bool seen[8] = {false};
    size_t count = 0, left = 0;
    while (roles[count])
        count++;
    ck_assert_uint_le (count, 8);
    left = count;
    int64_t deadline = zclock_mono () + timeout_ms;
    while (left > 0 && zclock_mono () < deadline) {
        zsock_set_rcvtimeo (logs, (int) (deadline - zclock_mono ()));
        char *line = zstr_recv (logs);
        if (!line)
            break;
        for (size_t i = 0; i < count; i++) {
            char *name = zsys_sprintf ("%s: %s socket", component, roles[i]);
            if (!seen[i] && strstr (line, "refused our key") && strstr (line, name)) {
                seen[i] = true;
                left--;
            }
            zstr_free (&name);
        }
        zstr_free (&line);
    }
    return left == 0;
}

//  Ask port for path until it answers 200 with body, for at most
//  timeout_ms; each try waits a second for its answer. False if it never
//  did.
static bool
s_served_within (int port, const char *path, const char *body, int timeout_ms)
{
    char *request = zsys_sprintf ("GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path);
    int64_t start = zclock_mono ();
    bool served = false;
    while (!served && zclock_mono () - start < timeout_ms) {
        tu_client_t *client = tu_client_new (port);
        ck_assert_ptr_nonnull (client);
        tu_response_t *response = tu_client_request (client, request, 1000);
        served = response && response->status == 200 && strcmp (response->body, body) == 0;
        tu_response_destroy (&response);
        tu_client_destroy (&client);
    }
    zstr_free (&request);
    return served;
}

//  What the refusal tests share: a server key, trusted; a peer's key
//  (name), not yet; and the process's log lines on a SUB, to see the
//  refusals as the peer logs them. Each test has its own log endpoint:
//  without forks (check-valgrind) the sender of the last may linger.
typedef struct {
    keys_t keys;
    zcert_t *server;
    zcert_t *peer;
    char *server_path;  //  the server's certificate, for .cert and .server
    char *peer_path;    //  the peer's, for its .cert
    char *public_path;  //  where s_refused_trust saves the peer's public key
    zsock_t *logs;
} refused_t;

static void
s_refused_init (refused_t *self, const char *peer, const char *logs_endpoint)
{
    s_keys_init (&self->keys);
    self->server = s_cert (&self->keys, "server", true);
    self->peer = s_cert (&self->keys, peer, false);
    self->server_path = zsys_sprintf ("%s/server", self->keys.dir);
    self->peer_path = zsys_sprintf ("%s/%s", self->keys.dir, peer);
    self->public_path = zsys_sprintf ("%s/%s", self->keys.trusted, peer);
    self->logs = tu_logs_new (logs_endpoint);
    ck_assert_ptr_nonnull (self->logs);
}

//  The peer's key joins the trusted directory; returns when, for the
//  recovery time the tests print.
static int64_t
s_refused_trust (refused_t *self)
{
    int64_t added = zclock_mono ();
    ck_assert_int_eq (zcert_save_public (self->peer, self->public_path), 0);
    return added;
}

static void
s_refused_fini (refused_t *self)
{
    tu_logs_destroy (&self->logs);
    zstr_free (&self->public_path);
    zstr_free (&self->peer_path);
    zstr_free (&self->server_path);
    zcert_destroy (&self->server);
    zcert_destroy (&self->peer);
    s_keys_remove (&self->keys);
}

//  A worker whose key the pipeline does not trust is refused on every
//  socket it connects; once the key is added to the trusted directory it
//  recovers without a restart: a request is answered by it (its result
//  reaches the server's loopback) and a client's disconnection cancels its
//  job (the CANCEL reaches its interrupt SUB). libzmq never retries a
//  connection refused at the handshake, so the worker has to make those
//  sockets anew.
START_TEST (test_refused_worker_recovers)
{
    refused_t refused;
    s_refused_init (&refused, "worker", "inproc://curve-logs");

    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.curve = (ps_curve_t){.cert = refused.server_path, .trusted = refused.keys.trusted};
    tu_stage_t stage = {.work = tu_echo_work, .workers = 0};
    ps_pipeline_t *pipeline = tu_pipeline_new ("tcp", &config, &stage, 1);
    ck_assert_ptr_nonnull (pipeline);
    int port = ps_pipeline_port (pipeline);

    ps_worker_config_t worker_config;
    ps_worker_config_defaults (&worker_config);
    worker_config.upstream = ps_pipeline_downstream_endpoint (pipeline, 0);
    worker_config.loopback = ps_pipeline_loopback_endpoint (pipeline);
    worker_config.interrupt = ps_pipeline_interrupt_endpoint (pipeline);
    worker_config.work = s_long_or_echo;
    worker_config.heartbeat_ms = 100;
    worker_config.expiry_ms = 300;
    worker_config.curve = (ps_curve_t){.cert = refused.peer_path, .server = refused.server_path};
    ps_worker_t *worker = ps_worker_new (&worker_config);
    ck_assert_ptr_nonnull (worker);
    ck_assert (s_logs_refused (refused.logs, "ps_worker",
                               (const char *[]){"loopback", "interrupt", NULL}, WAIT));

    int64_t added = s_refused_trust (&refused);
    //  Until the worker is back on every socket, a request is not answered
    //  (no worker, or an answer that cannot leave it): ask again
    ck_assert_msg (s_served_within (port, "/back", "GET /back ", 10000),
                   "the worker was not back within 10 s of its key being trusted");
    printf ("check_ps_curve: a refused worker answered %" PRId64 " ms after its key was added\n",
            zclock_mono () - added);

    //  A job its client leaves is cancelled: the CANCEL reaches the worker
    tu_client_t *client = tu_client_new (port);
    ck_assert_ptr_nonnull (client);
    ck_assert_int_eq (tu_client_sendstr (client, "GET /long HTTP/1.1\r\nHost: test\r\n\r\n"), 0);
    int64_t deadline = zclock_mono () + WAIT;
    while (atomic_load (&s_long_started) == 0 && zclock_mono () < deadline)
        zclock_sleep (10);  //  polling the worker's state, bounded
    ck_assert_int_eq (atomic_load (&s_long_started), 1);
    tu_client_destroy (&client);
    while (atomic_load (&s_cancels_seen) == 0 && zclock_mono () < deadline)
        zclock_sleep (10);  //  polling the worker's state, bounded
    ck_assert_int_eq (atomic_load (&s_cancels_seen), 1);

    ps_worker_destroy (&worker);
    ps_pipeline_destroy (&pipeline);
    s_refused_fini (&refused);
}
END_TEST

//  The worker of test_refused_named_downstream_recovers: passes every job
//  on to the stage it names "next"
static int
s_forward_to_next (ps_work_t *work, void *arg)
{
    (void) arg;
    zmsg_t *frames = zmsg_dup (ps_work_payload (work));
    return ps_work_forward_to (work, "next", &frames);
}

//  A worker of a graph's stage, refused as test_refused_worker_recovers's
//  is, recovers its named downstream too once its key is trusted: a
//  request it forwards by name to the next stage (a pipeline worker that
//  echoes) is answered. libzmq never connects the refused PUSH again, so
//  the worker has to make it anew.
START_TEST (test_refused_named_downstream_recovers)
{
    refused_t refused;
    s_refused_init (&refused, "worker", "inproc://curve-logs-named");

    //  The first stage's pool is the test's worker; the next stage's
    //  worker is the pipeline's, trusted
    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.curve = (ps_curve_t){.cert = refused.server_path, .trusted = refused.keys.trusted};
    tu_stage_t stages[2] = {{.work = tu_echo_work, .workers = 0},
                            {.work = tu_echo_work, .workers = 1}};
    ps_pipeline_t *pipeline = tu_pipeline_new ("tcp", &config, stages, 2);
    ck_assert_ptr_nonnull (pipeline);
    int port = ps_pipeline_port (pipeline);

    ps_downstream_t next = {.name = "next",
                            .endpoint = ps_pipeline_upstream_endpoint (pipeline, 1)};
    ps_worker_config_t worker_config;
    ps_worker_config_defaults (&worker_config);
    worker_config.upstream = ps_pipeline_downstream_endpoint (pipeline, 0);
    worker_config.loopback = ps_pipeline_loopback_endpoint (pipeline);
    worker_config.interrupt = ps_pipeline_interrupt_endpoint (pipeline);
    worker_config.downstreams = &next;
    worker_config.downstream_count = 1;
    worker_config.work = s_forward_to_next;
    worker_config.heartbeat_ms = 100;
    worker_config.expiry_ms = 300;
    worker_config.curve = (ps_curve_t){.cert = refused.peer_path, .server = refused.server_path};
    ps_worker_t *worker = ps_worker_new (&worker_config);
    ck_assert_ptr_nonnull (worker);
    //  Refused on the named downstream too, before its key is trusted
    ck_assert (s_logs_refused (refused.logs, "ps_worker",
                               (const char *[]){"loopback", "interrupt", "next", NULL}, WAIT));

    int64_t added = s_refused_trust (&refused);
    ck_assert_msg (s_served_within (port, "/next", "GET /next ", 10000),
                   "the worker's named downstream was not back within 10 s of its "
                   "key being trusted");
    printf ("check_ps_curve: a refused worker forwarded by name %" PRId64
            " ms after its key was added\n",
            zclock_mono () - added);

    ps_worker_destroy (&worker);
    ps_pipeline_destroy (&pipeline);
    s_refused_fini (&refused);
}
END_TEST

//  A proxy run apart from its server (prime_proxyd's case) whose key the
//  server does not trust is refused on its loopback, so its stage reports
//  go nowhere; once its key is trusted it makes the loopback anew (libzmq
//  never connects a socket refused at the handshake again) and the server's
//  metrics show its stage up.
START_TEST (test_refused_proxy_recovers)
{
    refused_t refused;
    s_refused_init (&refused, "proxy", "inproc://curve-logs-proxy");

    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    config.loopback = "tcp://127.0.0.1:*";
    config.metrics = "/metrics";
    config.curve = (ps_curve_t){.cert = refused.server_path, .trusted = refused.keys.trusted};
    ps_server_t *server = ps_server_new (&config);
    ck_assert_ptr_nonnull (server);
    int port = ps_server_port (server);

    ps_proxy_config_t proxy_config;
    ps_proxy_config_defaults (&proxy_config);
    proxy_config.upstream = "tcp://127.0.0.1:*";
    proxy_config.downstream = "tcp://127.0.0.1:*";
    proxy_config.loopback = ps_server_loopback_endpoint (server);
    proxy_config.stage = "apart";
    proxy_config.report_ms = 100;
    proxy_config.heartbeat_ms = 100;
    proxy_config.curve = (ps_curve_t){
        .cert = refused.peer_path, .trusted = refused.keys.trusted, .server = refused.server_path};
    ps_proxy_t *proxy = ps_proxy_new (&proxy_config);
    ck_assert_ptr_nonnull (proxy);
    ck_assert (s_logs_refused (refused.logs, "ps_proxy", (const char *[]){"loopback", NULL}, WAIT));
    int status;
    char body[8192];
    s_get (port, "/metrics", &status, body, sizeof body);
    ck_assert_int_eq (status, 200);
    ck_assert_msg (!strstr (body, "stage=\"apart\""), "a refused proxy's report arrived");

    int64_t added = s_refused_trust (&refused);
    bool up = false;
    while (!up && zclock_mono () - added < 10000) {
        s_get (port, "/metrics", &status, body, sizeof body);
        up = status == 200 && strstr (body, "prime_server_stage_up{stage=\"apart\"} 1");
        if (!up)
            zclock_sleep (50);  //  the next report is report_ms away
    }
    ck_assert_msg (up, "the proxy's stage was not up within 10 s of its key being trusted");
    printf ("check_ps_curve: a refused proxy reported %" PRId64 " ms after its key was added\n",
            zclock_mono () - added);

    ps_proxy_destroy (&proxy);
    ps_server_destroy (&server);
    s_refused_fini (&refused);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_curve");
    TCase *tc = tcase_create ("curve");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_strangers_get_nothing);
    tcase_add_test (tc, test_trusted_set_changes_without_restart);
    tcase_add_test (tc, test_duplicate_key_trusted);
    tcase_add_test (tc, test_open_secret_refused);
    tcase_add_test (tc, test_inproc_needs_no_trust);
    tcase_add_test (tc, test_refused_worker_recovers);
    tcase_add_test (tc, test_refused_named_downstream_recovers);
    tcase_add_test (tc, test_refused_proxy_recovers);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? 0 : 1;
}
