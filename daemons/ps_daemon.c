/*  ps_daemon: what only prime_server's own daemons share besides the
    service helper of the library (ps_service: options, --help, signals,
    drain): the endpoint checks of the split daemons, which refuse inproc
    because their endpoints cross processes, and yes/no values.
*/
#include "ps_daemon.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool
ps_daemon_parse_bool (const char *text, const char *what)
{
    const char *yes[] = {"true", "1", "yes", "on"};
    const char *no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp (text, yes[i]) == 0)
            return true;
        if (strcasecmp (text, no[i]) == 0)
            return false;
    }
    ps_service_usage_error ("%s must be true or false, not '%s'", what, text);
}

bool
ps_daemon_endpoint_valid (const char *endpoint, bool bind)
{
    assert (endpoint);
    if (strncmp (endpoint, "ipc://", 6) == 0)
        //  Linux limits a socket path to 107 bytes; "@name" is abstract
        return endpoint[6] != '\0' && strlen (endpoint + 6) < 108;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || colon == host)
        return false;
    if (host[0] == '[' && colon[-1] != ']')
        return false;  //  tcp://[::1]:8002, never tcp://[::1
    if (!bind && (host[0] == '*' || strchr (host, '*')))
        return false;  //  nothing to connect to
    const char *port = colon + 1;
    if (streq (port, "*"))
        return bind;
    if (*port == '\0' || strlen (port) > 5 || strspn (port, "0123456789") != strlen (port))
        return false;
    long number = strtol (port, NULL, 10);
    return number >= 1 && number <= 65535;
}

void
ps_daemon_check_endpoint (const char *endpoint, const char *what, bool bind)
{
    if (!ps_daemon_endpoint_valid (endpoint, bind))
        ps_service_usage_error ("%s '%s' is not an endpoint to %s, such as %s or ipc:///tmp/name",
                                what, endpoint, bind ? "bind" : "connect to",
                                bind ? "tcp://*:8002" : "tcp://10.0.0.1:8002");
}
