/*  ps_daemon: what only prime_server's own daemons share (not installed).

    The rest of what a daemon's main needs (the server options, --help,
    usage errors, signals, drain) is the library's ps_service, so that a
    user's service gets it too; the pipeline wiring is ps_pipeline.
*/
#ifndef PS_DAEMON_H_INCLUDED
#define PS_DAEMON_H_INCLUDED

#include "prime_server/prime_server.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

//  "true"/"false"/"1"/"0"/"yes"/"no"/"on"/"off" (any case); anything else
//  is a usage error naming what.
bool ps_daemon_parse_bool (const char *text, const char *what);

//  Endpoint checks. A bound endpoint is tcp://HOST:PORT (PORT a number or
//  *), tcp://*:PORT or ipc://PATH; a connected one is tcp://HOST:PORT with
//  a number or ipc://PATH. inproc:// means nothing between processes and is
//  refused. The bind or connect itself may still fail later: that is a
//  runtime error (exit 1), not a usage error.
bool ps_daemon_endpoint_valid (const char *endpoint, bool bind);
//  A usage error naming what ("LISTEN", "UPSTREAM", ...) when endpoint is invalid.
void ps_daemon_check_endpoint (const char *endpoint, const char *what, bool bind);

#ifdef __cplusplus
}
#endif
#endif
