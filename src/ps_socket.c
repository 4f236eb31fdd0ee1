/*  ps_socket: what the components share about their sockets.
*/
#include "ps_socket.h"
#include <string.h>

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
