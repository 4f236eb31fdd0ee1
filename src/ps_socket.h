/*  ps_socket: what the components share about their sockets. Private.

    Every socket of the server, the proxy and the worker is made by
    ps_socket_new and bound or connected by ps_socket_attach, so an option
    that all of them need (security, say) is set in one place.
*/
#ifndef PS_SOCKET_H_INCLUDED
#define PS_SOCKET_H_INCLUDED

#include "ps_curve_private.h"
#include <czmq.h>
#include <stdbool.h>

typedef struct {
    int hwm;              //  send and receive HWM
    int linger_ms;        //  at close
    int send_timeout_ms;  //  -1: a send may block (libzmq's default)
    //  The component's CURVE keys (borrowed; they outlive the socket);
    //  NULL: plaintext
    ps_curve_keys_t *keys;
} ps_socket_options_t;

//  A new socket of type with options, IPv6 enabled (IPv4 too) and no
//  receive timeout (the components only read what is there). NULL, logged
//  as owner's, if libzmq refuses (a terminated context).
zsock_t *ps_socket_new (int type, const ps_socket_options_t *options, const char *owner,
                        const char *role);

//  With keys, the socket is a CURVE client (see ps_curve.h) until
//  ps_socket_attach binds it.
//  Binds (libzmq's own bind: a wildcard port "tcp://127.0.0.1:*" is the
//  kernel's pick) or connects sock to endpoint. Returns 0, or -1 logged as
//  owner's role socket.
//  A socket made with keys and bound to tcp:// or ipc:// becomes a CURVE
//  server that admits the keys of its trusted directory, and holds a
//  reference on the process's ZAP handler (ps_zap.h) until
//  ps_socket_destroy: close it with that, not zsock_destroy.
int ps_socket_attach (zsock_t *sock, bool bind, const char *endpoint, const char *owner,
                      const char *role);

//  Destroys a socket made by ps_socket_new (takes it; NULL is fine):
//  stops watching its handshakes (ps_watch.h), drops its reference on the
//  ZAP handler if it holds one, and first removes the file of every ipc://
//  endpoint it bound, if that file is still the one it bound: libzmq (4.3)
//  leaves it at close, on purpose, because it cannot know whether another
//  process has bound the same path since; this can (the same inode), so a
//  clean exit leaves nothing in /run or /tmp and never takes a newer
//  process's socket away.
void ps_socket_destroy (zsock_t **sock_p);

//  Makes *sock_p, connected to endpoint, anew if its peer refused our key
//  at the CURVE handshake since the last call (ps_watch_refused): the peer
//  may trust it now (its trusted directory is reloaded while it runs), but
//  libzmq (4.3) treats the refusal as final and never connects that socket
//  again. The new socket has the old one's type and ZMQ_IMMEDIATE and the
//  given options (the ones it was made with), is watched and connected as
//  ps_socket_attach does, and replaces the old one, which is destroyed.
//  True if *sock_p is a new socket: its raw handle is new, and a SUB's
//  subscriptions are the caller's to make again. False if nothing was
//  refused, or if the new socket could not be made or connected (logged
//  by ps_socket_new or ps_socket_attach; the old one stays). ps_watch logs
//  the refusal once per owner, role and endpoint, not once per socket.
//  Call from the socket's thread.
bool ps_socket_renew_refused (zsock_t **sock_p, const ps_socket_options_t *options,
                              const char *owner, const char *role, const char *endpoint);

//  The endpoint sock is bound to, as libzmq resolved it (a wildcard port
//  shows the port chosen), with an IPv4 address that an IPv6-enabled
//  socket reports as "[::ffff:a.b.c.d]" given back as "a.b.c.d", so a peer
//  without IPv6 can connect there too. NULL for no socket. Caller frees.
char *ps_socket_bound_endpoint (zsock_t *sock);

#endif
