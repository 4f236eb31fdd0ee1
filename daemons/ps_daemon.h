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

//  CurveZMQ for the backend links of prime_httpd, prime_proxyd and
//  prime_workerd: --keys DIR (the deployment's certificates, as
//  prime_keygen writes them) and --key NAME (this daemon's, DIR/NAME and
//  DIR/NAME_secret). Long options only, so no short letter is taken.
enum { PS_DAEMON_OPT_KEYS = 0x1000, PS_DAEMON_OPT_KEY };
#define PS_DAEMON_CURVE_LONG_OPTIONS                                                               \
    {"keys", required_argument, NULL, PS_DAEMON_OPT_KEYS},                                         \
    {                                                                                              \
        "key", required_argument, NULL, PS_DAEMON_OPT_KEY                                          \
    }
#define PS_DAEMON_CURVE_USAGE(DEFAULT_NAME)                                                        \
    "      --keys DIR             CurveZMQ on every backend link: DIR holds the public\n"          \
    "                             certificates of the deployment (prime_keygen), every one\n"      \
    "                             trusted, and this daemon's key pair; peers of the binders\n"     \
    "                             use DIR/server's public key. Keys added to or removed\n"         \
    "                             from DIR count from the next connection (milliseconds),\n"       \
    "                             without a restart\n"                                             \
    "      --key NAME             this daemon's certificate, DIR/NAME and DIR/NAME_secret\n"       \
    "                             (mode 0600, else exit 1); default " DEFAULT_NAME "\n"

//  Takes --keys and --key; false for any other option.
bool ps_daemon_curve_option (int opt, const char *arg);

//  The ps_curve_t of the options seen (zeroed without --keys), with
//  default_name for a missing --key. Exits 1 with a message on stderr if
//  the keys cannot be used, such as a secret readable by group or others.
//  Its strings live until exit.
void ps_daemon_curve_config (const char *default_name, ps_curve_t *curve);

#ifdef __cplusplus
}
#endif
#endif
