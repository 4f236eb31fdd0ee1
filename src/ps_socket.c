/*  ps_socket: what the components share about their sockets.
*/
#include "ps_socket.h"
#include "ps_watch.h"
#include "ps_zap.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  The ipc files this process bound, each with the socket that bound it
//  and the file's identity at the time (ps_socket_destroy removes them).
//  Sockets are made and destroyed in several threads (the actors), hence
//  the lock; the list is as long as the ipc endpoints bound, a handful.
typedef struct {
    zsock_t *sock;
    char *path;
    dev_t device;
    ino_t inode;
} s_ipc_file_t;

static pthread_mutex_t s_ipc_lock = PTHREAD_MUTEX_INITIALIZER;
static zlistx_t *s_ipc_files;  //  of s_ipc_file_t, made at the first ipc bind

static void
s_ipc_file_destroy (s_ipc_file_t **self_p)
{
    if (*self_p) {
        free ((*self_p)->path);
        free (*self_p);
        *self_p = NULL;
    }
}

//  After a bind: remember the file behind an ipc:// endpoint (not an
//  abstract "@name", which has none). The resolved endpoint, since
//  "ipc://*" is a name libzmq makes up.
static void
s_ipc_file_remember (zsock_t *sock)
{
    char *endpoint = zsock_last_endpoint (sock);
    if (endpoint && strncmp (endpoint, "ipc://", 6) == 0 && endpoint[6] != '@') {
        struct stat info;
        if (stat (endpoint + 6, &info) == 0) {
            s_ipc_file_t *file = (s_ipc_file_t *) zmalloc (sizeof *file);
            assert (file);
            file->sock = sock;
            file->path = strdup (endpoint + 6);
            assert (file->path);
            file->device = info.st_dev;
            file->inode = info.st_ino;
            pthread_mutex_lock (&s_ipc_lock);
            if (!s_ipc_files) {
                s_ipc_files = zlistx_new ();
                assert (s_ipc_files);
                zlistx_set_destructor (s_ipc_files, (zlistx_destructor_fn *) s_ipc_file_destroy);
            }
            zlistx_add_end (s_ipc_files, file);
            pthread_mutex_unlock (&s_ipc_lock);
        }
    }
    zstr_free (&endpoint);
}

//  Before a close: remove the ipc files sock bound, if still its own
static void
s_ipc_file_forget (zsock_t *sock)
{
    pthread_mutex_lock (&s_ipc_lock);
    s_ipc_file_t *file = s_ipc_files ? (s_ipc_file_t *) zlistx_first (s_ipc_files) : NULL;
    while (file) {
        void *handle = zlistx_cursor (s_ipc_files);
        bool mine = file->sock == sock;
        if (mine) {
            //  A process that bound the path since has a file of its own
            struct stat info;
            if (stat (file->path, &info) == 0 && info.st_dev == file->device
                && info.st_ino == file->inode)
                unlink (file->path);
        }
        file = (s_ipc_file_t *) zlistx_next (s_ipc_files);
        if (mine)
            zlistx_delete (s_ipc_files, handle);
    }
    pthread_mutex_unlock (&s_ipc_lock);
}

zsock_t *
ps_socket_new (int type, const ps_socket_options_t *options, const char *owner, const char *role)
{
    assert (options);
    zsock_t *sock = zsock_new (type);
    if (!sock) {
        zsys_error ("%s: cannot create the %s socket", owner, role);
        return NULL;
    }
    zsock_set_sndhwm (sock, options->hwm);
    zsock_set_rcvhwm (sock, options->hwm);
    zsock_set_linger (sock, options->linger_ms);
    zsock_set_sndtimeo (sock, options->send_timeout_ms);
    zsock_set_rcvtimeo (sock, 0);
    zsock_set_ipv6 (sock, 1);
    //  A STREAM socket speaks raw TCP (the HTTP clients): no ZMTP, no CURVE
    if (options->keys && type != ZMQ_STREAM)
        ps_curve_keys_apply (options->keys, sock);
    return sock;
}

int
ps_socket_attach (zsock_t *sock, bool bind, const char *endpoint, const char *owner,
                  const char *role)
{
    assert (sock);
    assert (endpoint);
    void *handle = zsock_resolve (sock);
    //  inproc:// has no handshake: security would be a no-op there
    if (bind && zsock_mechanism (sock) == ZMQ_CURVE && strncmp (endpoint, "inproc://", 9) != 0) {
        //  Without a ZAP domain libzmq would admit every key
        char *domain = zsock_zap_domain (sock);
        bool trusted = domain && *domain;
        zstr_free (&domain);
        if (!trusted) {
            zsys_error ("%s: cannot bind the %s socket to %s with CURVE: no trusted directory",
                        owner, role, endpoint);
            return -1;
        }
        if (ps_zap_acquire () != 0)
            return -1;
        zsock_set_curve_server (sock, 1);
    }
    //  inproc:// has no handshake, a STREAM socket no ZMTP
    if (strncmp (endpoint, "inproc://", 9) != 0 && zsock_type (sock) != ZMQ_STREAM)
        ps_watch_start (sock, owner, role, bind);
    int rc = bind ? zmq_bind (handle, endpoint) : zmq_connect (handle, endpoint);
    if (rc != 0)
        zsys_error ("%s: cannot %s the %s socket to %s: %s", owner, bind ? "bind" : "connect", role,
                    endpoint, zmq_strerror (errno));
    else if (bind && strncmp (endpoint, "ipc://", 6) == 0)
        s_ipc_file_remember (sock);
    return rc == 0 ? 0 : -1;
}

void
ps_socket_destroy (zsock_t **sock_p)
{
    assert (sock_p);
    if (!*sock_p)
        return;
    //  Only attach makes a CURVE server, after taking the reference; a
    //  failed bind keeps it too, until here
    bool referenced = zsock_curve_server (*sock_p) != 0;
    ps_watch_stop (*sock_p);
    s_ipc_file_forget (*sock_p);
    zsock_destroy (sock_p);
    if (referenced)
        ps_zap_release ();
}

bool
ps_socket_renew_refused (zsock_t **sock_p, const ps_socket_options_t *options, const char *owner,
                         const char *role, const char *endpoint)
{
    assert (sock_p);
    if (!*sock_p || !ps_watch_refused (*sock_p))
        return false;
    assert (endpoint);  //  a connected socket has one
    zsock_t *sock = ps_socket_new (zsock_type (*sock_p), options, owner, role);
    if (!sock)
        return false;
    //  IMMEDIATE counts at the connect: set it first
    zsock_set_immediate (sock, zsock_immediate (*sock_p));
    if (ps_socket_attach (sock, false, endpoint, owner, role) != 0) {
        ps_socket_destroy (&sock);
        return false;
    }
    ps_socket_destroy (sock_p);
    *sock_p = sock;
    return true;
}

char *
ps_socket_bound_endpoint (zsock_t *sock)
{
    char *endpoint = sock ? zsock_last_endpoint (sock) : NULL;
    if (!endpoint)
        return NULL;
    static const char mapped[] = "tcp://[::ffff:";
    char *close = strchr (endpoint, ']');
    if (strncmp (endpoint, mapped, strlen (mapped)) == 0 && close && strchr (close, ':')) {
        //  tcp://[::ffff:a.b.c.d]:port -> tcp://a.b.c.d:port
        char *plain = zsys_sprintf ("tcp://%.*s%s", (int) (close - endpoint - strlen (mapped)),
                                    endpoint + strlen (mapped), close + 1);
        zstr_free (&endpoint);
        return plain;
    }
    return endpoint;
}
