/*  ps_socket: what the components share about their sockets. Private.
*/
#ifndef PS_SOCKET_H_INCLUDED
#define PS_SOCKET_H_INCLUDED

#include <czmq.h>

//  The endpoint sock is bound to, as libzmq resolved it (a wildcard port
//  shows the port chosen), with an IPv4 address that an IPv6-enabled
//  socket reports as "[::ffff:a.b.c.d]" given back as "a.b.c.d", so a peer
//  without IPv6 can connect there too. NULL for no socket. Caller frees.
char *ps_socket_bound_endpoint (zsock_t *sock);

#endif
