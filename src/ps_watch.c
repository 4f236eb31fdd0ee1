/*  ps_watch: the handshake watcher (see ps_watch.h).

    czmq's zmonitor would give each socket an actor (a thread) of its own;
    one actor here polls the monitor PAIR of every watched socket. The
    watched socket's thread tells the actor to connect before its own bind
    or connect, and waits for it, so that no event comes before anyone
    listens (libzmq drops monitor events nobody is connected for).
*/
#include "ps_watch.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t s_mutex = PTHREAD_MUTEX_INITIALIZER;
static zactor_t *s_watcher;
static zhashx_t *s_watched;  //  zsock_t * -> nothing, under s_mutex
static unsigned s_sequence;

typedef struct {
    zsock_t *pair;  //  connected to the socket's monitor
    char *name;     //  "owner: role socket"
    bool bind;
    bool curve;  //  we speak CURVE on it
    int said;    //  events already logged (a bit mask)
} s_watch_t;

static void
s_watch_destroy (void **item)
{
    s_watch_t *watch = (s_watch_t *) *item;
    if (watch) {
        zsock_destroy (&watch->pair);
        free (watch->name);
        free (watch);
        *item = NULL;
    }
}

static size_t
s_pointer_hash (const void *key)
{
    return (size_t) key;
}

static int
s_pointer_compare (const void *a, const void *b)
{
    return a < b ? -1 : a > b;
}

static void
s_say (s_watch_t *watch, int event, uint32_t value, const char *endpoint)
{
    //  Once per kind per socket: a stranger retrying is one line
    if (watch->said & event)
        return;
    watch->said |= event;
    const char *we = watch->curve ? "we speak CURVE" : "we speak plaintext";
    const char *at = watch->bind ? "bound at" : "connected to";
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && watch->bind)
        return;  //  ps_zap said it, with the peer's address and key
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        zsys_warning ("%s %s %s: the peer refused our key (status %u): it is not among the "
                      "peer's trusted keys",
                      watch->name, at, endpoint, (unsigned) value);
    else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        zsys_warning ("%s %s %s: handshake failed: the peer's security mechanism is not ours "
                      "(%s; is one side missing --keys?)",
                      watch->name, at, endpoint, we);
    else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        zsys_warning ("%s %s %s: handshake failed: a CURVE message did not decrypt (a wrong "
                      "server key?)",
                      watch->name, at, endpoint);
    else
        zsys_warning ("%s %s %s: handshake failed (%s: a peer without it, a wrong server key, "
                      "or another protocol; event 0x%x, 0x%x)",
                      watch->name, at, endpoint, we, event, (unsigned) value);
}

//  One monitor event: [event u16, value u32, native order][endpoint]
static bool
s_handle_event (s_watch_t *watch)
{
    zmsg_t *msg = zmsg_recv (watch->pair);
    if (!msg)
        return false;
    zframe_t *head = zmsg_first (msg);
    zframe_t *where = zmsg_next (msg);
    char *endpoint = where ? zframe_strdup (where) : NULL;
    bool stopped = false;
    if (head && zframe_size (head) == 6) {
        uint16_t event;
        uint32_t value;
        memcpy (&event, zframe_data (head), 2);
        memcpy (&value, zframe_data (head) + 2, 4);
        if (event == ZMQ_EVENT_MONITOR_STOPPED)
            stopped = true;
        else
            s_say (watch, event, value, endpoint ? endpoint : "?");
    }
    zstr_free (&endpoint);
    zmsg_destroy (&msg);
    return stopped;
}

static void
s_watcher_actor (zsock_t *pipe, void *args)
{
    (void) args;
    zlistx_t *watches = zlistx_new ();
    assert (watches);
    zlistx_set_destructor (watches, s_watch_destroy);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    assert (poller);
    zsock_signal (pipe, 0);
    bool terminated = false;
    while (!terminated) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe) {
            //  "WATCH" monitor-endpoint name bind curve, or "$TERM"
            zmsg_t *msg = zmsg_recv (pipe);
            char *command = msg ? zmsg_popstr (msg) : NULL;
            if (command && streq (command, "WATCH")) {
                s_watch_t *watch = (s_watch_t *) zmalloc (sizeof (s_watch_t));
                assert (watch);
                char *endpoint = zmsg_popstr (msg);
                watch->name = zmsg_popstr (msg);
                char *flags = zmsg_popstr (msg);
                watch->bind = flags && flags[0] == 'b';
                watch->curve = flags && flags[1] == 'c';
                watch->pair = zsock_new (ZMQ_PAIR);
                assert (watch->pair && endpoint && watch->name);
                int rc = zsock_connect (watch->pair, "%s", endpoint);
                assert (rc == 0);
                zpoller_add (poller, watch->pair);
                zlistx_add_end (watches, watch);
                zstr_free (&endpoint);
                zstr_free (&flags);
                zsock_signal (pipe, 0);
            }
            else
                terminated = true;
            zstr_free (&command);
            zmsg_destroy (&msg);
        }
        else if (which) {
            for (s_watch_t *watch = (s_watch_t *) zlistx_first (watches); watch;
                 watch = (s_watch_t *) zlistx_next (watches))
                if (watch->pair == which) {
                    if (s_handle_event (watch)) {
                        zpoller_remove (poller, watch->pair);
                        zlistx_delete (watches, zlistx_cursor (watches));
                    }
                    break;
                }
        }
        else if (zpoller_terminated (poller))
            break;
    }
    zpoller_destroy (&poller);
    zlistx_destroy (&watches);
}

void
ps_watch_start (zsock_t *sock, const char *owner, const char *role, bool bind)
{
    assert (sock && owner && role);
    pthread_mutex_lock (&s_mutex);
    if (!s_watcher) {
        s_watcher = zactor_new (s_watcher_actor, NULL);
        s_watched = zhashx_new ();
        assert (s_watcher && s_watched);
        zhashx_set_destructor (s_watched, NULL);
        zhashx_set_duplicator (s_watched, NULL);
        zhashx_set_key_destructor (s_watched, NULL);
        zhashx_set_key_duplicator (s_watched, NULL);
        zhashx_set_key_comparator (s_watched, s_pointer_compare);
        zhashx_set_key_hasher (s_watched, s_pointer_hash);
    }
    char monitor[64];
    snprintf (monitor, sizeof monitor, "inproc://ps-watch-%u", s_sequence++);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                 | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_MONITOR_STOPPED;
    if (zmq_socket_monitor (zsock_resolve (sock), monitor, events) == 0) {
        char *name = zsys_sprintf ("%s: %s socket", owner, role);
        char flags[3] = {bind ? 'b' : '-', zsock_mechanism (sock) == ZMQ_CURVE ? 'c' : '-', 0};
        zstr_sendx (s_watcher, "WATCH", monitor, name, flags, NULL);
        zsock_wait (s_watcher);
        zstr_free (&name);
        zhashx_insert (s_watched, sock, (void *) 1);
    }
    pthread_mutex_unlock (&s_mutex);
}

void
ps_watch_stop (zsock_t *sock)
{
    assert (sock);
    pthread_mutex_lock (&s_mutex);
    if (s_watched && zhashx_lookup (s_watched, sock)) {
        zhashx_delete (s_watched, sock);
        //  The monitor's last event, MONITOR_STOPPED, ends its watch
        zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
        if (zhashx_size (s_watched) == 0) {
            zactor_destroy (&s_watcher);
            zhashx_destroy (&s_watched);
        }
    }
    pthread_mutex_unlock (&s_mutex);
}
