/*  ps_watch: a failed handshake on one of our tcp:// or ipc:// sockets
    said in the log, with the reason we can give. Private.

    A CURVE peer and a plaintext one, or a client with the wrong server
    key, or one the server does not trust, never connect, and libzmq says
    nothing: the component would just look idle. Every socket ps_socket
    attaches over tcp:// or ipc:// is watched through libzmq's socket
    monitor by one process-wide actor (refcounted, like ps_zap), which logs
    each kind of failure once per socket, never on every retry.
*/
#ifndef PS_WATCH_H_INCLUDED
#define PS_WATCH_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

//  Watch sock, named owner's role, about to bind or connect.
//  Call from sock's thread, before the bind or connect. Thread-safe.
void ps_watch_start (zsock_t *sock, const char *owner, const char *role, bool bind);

//  Stop watching sock (if watched) before it is closed. Thread-safe.
void ps_watch_stop (zsock_t *sock);

//  True once if the peer of sock, a connecting socket, refused our key
//  (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) since the last call: libzmq (4.3)
//  never retries such a connection, so only a new socket will find out
//  that the peer trusts us now. Call from sock's thread. Thread-safe.
bool ps_watch_refused (zsock_t *sock);

#endif
