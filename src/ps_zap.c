/*  ps_zap: the process's ZAP handler, shared and refcounted (see ps_zap.h).

    Why not czmq's zauth, which does this job: a refused peer must be logged
    once, with its address and its key. zauth logs each ZAP request only in
    verbose mode, one line per attempt (a refused peer reconnects every
    100 ms, so that is a flood, or nothing), and no other part of czmq sees
    the key: a zmonitor HANDSHAKE_FAILED_AUTH event carries our own bound
    endpoint, not the peer's address, and no key. zauth also keeps one
    certificate store for all domains, where one process may run components
    with different trusted directories. The handler below is the part of
    zauth we need: the ZAP request/reply frames and a lookup in the trusted
    directory (ps_trusted, a zcertstore filled by us: see there why). It
    does no cryptography; libzmq's CURVE handshake has already proved that
    the client holds the secret key of the public key it presents.
*/
#include "ps_zap.h"
#include "ps_trusted.h"
#include <czmq.h>
#include <pthread.h>
#include <string.h>

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
//  Refused peers remembered, so that each is logged once; beyond this the
//  memory starts again (a peer refused long ago may be logged a second
//  time, which is better than growing without bound)
#define S_REFUSED_MAX 4096

static pthread_mutex_t s_mutex = PTHREAD_MUTEX_INITIALIZER;
static zactor_t *s_handler;
static int s_refs;

typedef struct {
    zsock_t *pipe;
    zsock_t *zap;       //  REP, bound to the ZAP endpoint
    zhashx_t *stores;   //  domain (a trusted directory) -> ps_trusted_t
    zhashx_t *refused;  //  "address key" -> nothing, the peers logged
    bool terminated;
} s_self_t;

static void
s_store_destroy (void **item)
{
    ps_trusted_destroy ((ps_trusted_t **) item);
}

//  The store for domain, made on its first request
static ps_trusted_t *
s_store (s_self_t *self, const char *domain)
{
    ps_trusted_t *store = (ps_trusted_t *) zhashx_lookup (self->stores, domain);
    if (!store) {
        store = ps_trusted_new (domain);
        zhashx_insert (self->stores, domain, store);
    }
    return store;
}

static void
s_reply (s_self_t *self, const char *request_id, const char *status, const char *text,
         const char *user_id)
{
    zstr_sendx (self->zap, "1.0", request_id, status, text, user_id, "", NULL);
}

//  One request: [version][request id][domain][address][routing id]
//  [mechanism][credentials...]; for CURVE the credential is the client's
//  32-byte public key.
static void
s_handle_request (s_self_t *self)
{
    zmsg_t *request = zmsg_recv (self->zap);
    if (!request)
        return;  //  interrupted
    char *version = zmsg_popstr (request);
    char *request_id = zmsg_popstr (request);
    char *domain = zmsg_popstr (request);
    char *address = zmsg_popstr (request);
    zframe_t *routing_id = zmsg_pop (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *key = zmsg_pop (request);
    //  A REP must answer every request, even one it cannot read
    if (!version || !streq (version, "1.0") || !request_id || !domain || !address || !mechanism) {
        s_reply (self, request_id ? request_id : "", "500", "malformed ZAP request", "");
        goto cleanup;
    }
    char public_txt[41] = "";
    if (streq (mechanism, "CURVE") && key && zframe_size (key) == 32)
        zmq_z85_encode (public_txt, zframe_data (key), 32);
    //  An IPv4 peer of our IPv6-enabled sockets shows as ::ffff:a.b.c.d
    const char *shown = strncmp (address, "::ffff:", 7) == 0 ? address + 7 : address;
    char *peer = zsys_sprintf ("%s %s", shown, *public_txt ? public_txt : mechanism);
    assert (peer);
    bool trusted = *public_txt && *domain && ps_trusted_has (s_store (self, domain), public_txt);
    if (trusted) {
        s_reply (self, request_id, "200", "OK", public_txt);
        //  Refused again later (its key removed): said again
        zhashx_delete (self->refused, peer);
    }
    else
        s_reply (self, request_id, "400", "key not trusted", "");
    if (!trusted && !zhashx_lookup (self->refused, peer)) {
        if (zhashx_size (self->refused) >= S_REFUSED_MAX)
            zhashx_purge (self->refused);
        zhashx_insert (self->refused, peer, (void *) 1);
        zsys_warning ("ps_curve: refused the peer at %s with key %s: not in %s (logged once "
                      "per peer)",
                      shown, *public_txt ? public_txt : "(none)", *domain ? domain : "(none)");
    }
    zstr_free (&peer);
cleanup:
    zstr_free (&version);
    zstr_free (&request_id);
    zstr_free (&domain);
    zstr_free (&address);
    zstr_free (&mechanism);
    zframe_destroy (&routing_id);
    zframe_destroy (&key);
    zmsg_destroy (&request);
}

//  The actor: takes over the bound REP socket (args) and serves it
static void
s_handler_actor (zsock_t *pipe, void *args)
{
    s_self_t self = {.pipe = pipe, .zap = (zsock_t *) args};
    self.stores = zhashx_new ();
    self.refused = zhashx_new ();
    assert (self.stores && self.refused);
    zhashx_set_destructor (self.stores, s_store_destroy);
    zhashx_set_destructor (self.refused, NULL);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, self.zap, NULL);
    assert (poller);
    while (!self.terminated) {
        void *which = zpoller_wait (poller, -1);
        if (which == self.zap)
            s_handle_request (&self);
        else if (which == pipe) {
            char *command = zstr_recv (pipe);
            if (!command || streq (command, "$TERM"))
                self.terminated = true;
            zstr_free (&command);
        }
        else if (zpoller_terminated (poller))
            break;
    }
    zpoller_destroy (&poller);
    zhashx_destroy (&self.stores);
    zhashx_destroy (&self.refused);
    zsock_destroy (&self.zap);
}

int
ps_zap_acquire (void)
{
    pthread_mutex_lock (&s_mutex);
    int rc = 0;
    if (s_refs == 0) {
        //  Bound here, so that a taken endpoint is an error we can
        //  return; the socket then belongs to the actor (zactor_new is
        //  the memory barrier that moving a socket to a thread needs).
        zsock_t *zap = zsock_new (ZMQ_REP);
        assert (zap);
        if (zsock_bind (zap, S_ZAP_ENDPOINT) != 0) {
            zsys_error ("ps_curve: cannot bind the ZAP handler at %s: %s (another handler, "
                        "such as zauth, in this process?)",
                        S_ZAP_ENDPOINT, zmq_strerror (zmq_errno ()));
            zsock_destroy (&zap);
            rc = -1;
        }
        else {
            s_handler = zactor_new (s_handler_actor, zap);
            assert (s_handler);
        }
    }
    if (rc == 0)
        s_refs++;
    pthread_mutex_unlock (&s_mutex);
    return rc;
}

void
ps_zap_release (void)
{
    pthread_mutex_lock (&s_mutex);
    assert (s_refs > 0);
    if (--s_refs == 0)
        zactor_destroy (&s_handler);
    pthread_mutex_unlock (&s_mutex);
}
