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
static zhashx_t *s_watched;  //  zsock_t * -> its watch's sequence + 1, under s_mutex
static unsigned s_sequence;
//  "name endpoint" of the connecting sockets whose refusal was logged: a
//  socket made anew after a refusal (ps_watch_refused) is not a new
//  story. The actor's own.
static zhashx_t *s_auth_said;
//  Sequences (+ 1) of the connecting watches refused since asked, under
//  s_refused_mutex: the actor marks them (it never takes s_mutex, which
//  ps_watch_start holds while it waits for the actor)
static pthread_mutex_t s_refused_mutex = PTHREAD_MUTEX_INITIALIZER;
static zhashx_t *s_refused;

typedef struct {
    zsock_t *pair;  //  connected to the socket's monitor
    char *name;     //  "owner: role socket"
    bool bind;
    bool curve;          //  we speak CURVE on it
    int said;            //  events already logged (a bit mask)
    uintptr_t sequence;  //  + 1, the key in s_refused
} s_watch_t;

static void
s_refused_mark (uintptr_t sequence, bool refused)
{
    pthread_mutex_lock (&s_refused_mutex);
    if (refused)
        zhashx_update (s_refused, (void *) sequence, (void *) 1);
    else
        zhashx_delete (s_refused, (void *) sequence);
    pthread_mutex_unlock (&s_refused_mutex);
}

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
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        char *key = zsys_sprintf ("%s %s", watch->name, endpoint);
        bool said = zhashx_insert (s_auth_said, key, (void *) 1) != 0;
        zstr_free (&key);
        if (said)
            return;
    }
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
        else {
            if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && !watch->bind)
                s_refused_mark (watch->sequence, true);
            s_say (watch, event, value, endpoint ? endpoint : "?");
        }
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
    s_auth_said = zhashx_new ();
    assert (s_auth_said);
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
                char *sequence = zmsg_popstr (msg);
                watch->sequence = sequence ? (uintptr_t) strtoul (sequence, NULL, 10) : 0;
                zstr_free (&sequence);
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
                        s_refused_mark (watch->sequence, false);
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
    zhashx_destroy (&s_auth_said);
}

//  A table keyed and valued by plain pointers (or numbers), owning neither
static zhashx_t *
s_pointer_table_new (void)
{
    zhashx_t *table = zhashx_new ();
    assert (table);
    zhashx_set_destructor (table, NULL);
    zhashx_set_duplicator (table, NULL);
    zhashx_set_key_destructor (table, NULL);
    zhashx_set_key_duplicator (table, NULL);
    zhashx_set_key_comparator (table, s_pointer_compare);
    zhashx_set_key_hasher (table, s_pointer_hash);
    return table;
}

void
ps_watch_start (zsock_t *sock, const char *owner, const char *role, bool bind)
{
    assert (sock && owner && role);
    pthread_mutex_lock (&s_mutex);
    if (!s_watcher) {
        s_watcher = zactor_new (s_watcher_actor, NULL);
        s_watched = s_pointer_table_new ();
        assert (s_watcher);
        pthread_mutex_lock (&s_refused_mutex);
        s_refused = s_pointer_table_new ();
        pthread_mutex_unlock (&s_refused_mutex);
    }
    uintptr_t sequence = (uintptr_t) s_sequence + 1;
    char monitor[64];
    snprintf (monitor, sizeof monitor, "inproc://ps-watch-%u", s_sequence++);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                 | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_MONITOR_STOPPED;
    if (zmq_socket_monitor (zsock_resolve (sock), monitor, events) == 0) {
        char *name = zsys_sprintf ("%s: %s socket", owner, role);
        char flags[3] = {bind ? 'b' : '-', zsock_mechanism (sock) == ZMQ_CURVE ? 'c' : '-', 0};
        char number[24];
        snprintf (number, sizeof number, "%lu", (unsigned long) sequence);
        zstr_sendx (s_watcher, "WATCH", monitor, name, flags, number, NULL);
        zsock_wait (s_watcher);
        zstr_free (&name);
        zhashx_insert (s_watched, sock, (void *) sequence);
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
            pthread_mutex_lock (&s_refused_mutex);
            zhashx_destroy (&s_refused);
            pthread_mutex_unlock (&s_refused_mutex);
        }
    }
    pthread_mutex_unlock (&s_mutex);
}

bool
ps_watch_refused (zsock_t *sock)
{
    assert (sock);
    bool refused = false;
    pthread_mutex_lock (&s_mutex);
    void *sequence = s_watched ? zhashx_lookup (s_watched, sock) : NULL;
    if (sequence) {
        pthread_mutex_lock (&s_refused_mutex);
        refused = zhashx_lookup (s_refused, sequence) != NULL;
        if (refused)
            zhashx_delete (s_refused, sequence);
        pthread_mutex_unlock (&s_refused_mutex);
    }
    pthread_mutex_unlock (&s_mutex);
    return refused;
}
