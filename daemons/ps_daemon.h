/*  ps_daemon: what every prime_* daemon's main needs besides its wiring.

    Private to the daemons (not installed): the command-line conventions
    (one-line error plus usage on stderr and exit status 2 for bad
    arguments, endpoint and number validation) and the signal policy
    (SIGINT and SIGTERM blocked in every thread and taken by main with
    sigtimedwait; the first drains, a second stops at once; a hard deadline
    so a stop never takes longer than promised).

    Call ps_daemon_init first thing in main, and ps_daemon_signals_block
    before the first socket or thread exists, so every library thread
    inherits the blocked mask and czmq installs no handlers of its own.
*/
#ifndef PS_DAEMON_H_INCLUDED
#define PS_DAEMON_H_INCLUDED

#include "prime_server/prime_server.h"
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  The program name used in messages and the usage text printed after a
//  usage error (both static, borrowed for the life of the process).
void ps_daemon_init (const char *name, const char *usage);

//  The name given to ps_daemon_init.
const char *ps_daemon_name (void);

//  Bad arguments: "NAME: <message>" on one line, then the usage, exit 2.
void ps_daemon_usage_error (const char *format, ...)
    __attribute__ ((noreturn, format (printf, 1, 2)));

//  --help (usage on stdout, exit 0) and --version ("NAME X.Y.Z", exit 0).
void ps_daemon_help (void) __attribute__ ((noreturn));
void ps_daemon_version (void) __attribute__ ((noreturn));

//  The getopt_long error cases, with opterr = 0 and a leading ':' in the
//  short options: opt is '?' or ':'; never returns.
void ps_daemon_bad_option (int opt, char *argv[]) __attribute__ ((noreturn));

//  Numbers from argv; each exits 2 with a message naming what on error.
//  Seconds: a decimal number from 0 to max (fractions allowed).
double ps_daemon_parse_seconds (const char *text, const char *what, double max);
//  A whole number from min to max (no sign, no suffix).
uint64_t ps_daemon_parse_count (const char *text, const char *what, uint64_t min, uint64_t max);
//  "true"/"false"/"1"/"0"/"yes"/"no"/"on"/"off" (any case).
bool ps_daemon_parse_bool (const char *text, const char *what);

//  Endpoint checks. A bound endpoint is tcp://HOST:PORT (PORT a number or
//  *), tcp://*:PORT or ipc://PATH; a connected one is tcp://HOST:PORT with
//  a number or ipc://PATH. inproc:// means nothing between processes and is
//  refused. The bind or connect itself may still fail later: that is a
//  runtime error (exit 1), not a usage error.
bool ps_daemon_endpoint_valid (const char *endpoint, bool bind);
//  Exits 2 naming what ("LISTEN", "UPSTREAM", ...) when endpoint is invalid.
void ps_daemon_check_endpoint (const char *endpoint, const char *what, bool bind);

//  Blocks SIGINT and SIGTERM in the calling thread (and so in every thread
//  started afterwards) and tells czmq to install no handlers.
void ps_daemon_signals_block (void);

//  Waits up to timeout_ms (-1: forever, 0: just look) for SIGINT or
//  SIGTERM; returns the signal number or 0.
int ps_daemon_signal_wait (int timeout_ms);

//  The set ps_daemon_signals_block blocked (SIGINT, SIGTERM).
const sigset_t *ps_daemon_stop_signals (void);

//  After ms milliseconds the process writes a line and exits with status 1,
//  whatever is hanging (SIGALRM). The promise to orchestrators.
void ps_daemon_deadline_arm (int64_t ms);

//  The life of a daemon with a server: waits for the first signal, starts
//  the drain (drain_seconds), then waits until the server reports itself
//  drained or a second signal arrives. Arms the deadline (drain + 1 s).
//  Returns the first signal's number. Logs to stderr unless quiet. While
//  it waits, free heap memory goes back to the system every 10 s (glibc's
//  malloc_trim), so RSS falls back after a burst of connections.
int ps_daemon_serve (ps_server_t *server, double drain_seconds, bool quiet);

//  ---------------------------------------------------------------------
//  The options of every daemon that runs a server (prime_httpd,
//  prime_echod, prime_filed), so they read and mean the same everywhere.

typedef struct {
    double drain_seconds;  //  default 28 (under Kubernetes' 30 s grace period)
    const char *health_check;
    double request_timeout;   //  seconds, 0 = none (default 60)
    size_t max_request_size;  //  0 = library default
    size_t max_in_flight;     //  0 = library default
    size_t max_connections;   //  0 = library default
    double header_timeout;    //  seconds for a complete header section, 0 = library default
    double idle_timeout;      //  seconds an idle keep-alive connection stays, 0 = library default
    double send_timeout;      //  seconds a client may take none of our bytes, 0 = library default
    bool netstring;           //  netstring front instead of HTTP (prime_httpd only)
    bool log;
    bool quiet;
} ps_daemon_server_options_t;

void ps_daemon_server_options_defaults (ps_daemon_server_options_t *options);

//  Long-only options get values above any character.
#define PS_DAEMON_OPT_HEADER_TIMEOUT 1001
#define PS_DAEMON_OPT_IDLE_TIMEOUT   1002
#define PS_DAEMON_OPT_SEND_TIMEOUT   1003

//  Entries for a getopt_long table and the matching short options.
// clang-format off
#define PS_DAEMON_SERVER_LONG_OPTIONS                                                              \
    {"drain-seconds", required_argument, NULL, 'd'},                                               \
    {"health-check", required_argument, NULL, 'c'},                                                \
    {"request-timeout", required_argument, NULL, 't'},                                             \
    {"max-request-size", required_argument, NULL, 'm'},                                            \
    {"max-in-flight", required_argument, NULL, 'i'},                                               \
    {"max-connections", required_argument, NULL, 'n'},                                             \
    {"header-timeout", required_argument, NULL, PS_DAEMON_OPT_HEADER_TIMEOUT},                      \
    {"idle-timeout", required_argument, NULL, PS_DAEMON_OPT_IDLE_TIMEOUT},                          \
    {"send-timeout", required_argument, NULL, PS_DAEMON_OPT_SEND_TIMEOUT},                          \
    {"log", no_argument, NULL, 'l'},                                                               \
    {"quiet", no_argument, NULL, 'q'},                                                             \
    {"help", no_argument, NULL, 'h'},                                                              \
    {"version", no_argument, NULL, 'V'}
// clang-format on
#define PS_DAEMON_SERVER_SHORT_OPTIONS "d:c:t:m:i:n:lqhV"

//  The usage lines for those options.
#define PS_DAEMON_SERVER_USAGE                                                                     \
    "  -d, --drain-seconds S      on SIGTERM/SIGINT keep serving up to S seconds while\n"          \
    "                             connections finish (default 28, fractions allowed)\n"            \
    "  -c, --health-check PATH    answer GET PATH with 200 (503 while draining)\n"                 \
    "  -t, --request-timeout S    answer 504 after S seconds (default 60, fractions allowed;\n"    \
    "                             0 = never)\n"                                                   \
    "  -m, --max-request-size B   largest request body accepted, in bytes (else 413)\n"            \
    "  -i, --max-in-flight N      requests in the pipeline at once (beyond: 503)\n"                \
    "  -n, --max-connections N    client connections at once (beyond: closed)\n"                   \
    "      --header-timeout S     408 and close when a header section takes longer (default 10)\n" \
    "      --idle-timeout S       close keep-alive connections idle this long (default 60)\n"      \
    "      --send-timeout S       disconnect a client that takes none of our bytes this long\n"    \
    "                             (default 60; TCP only)\n"                                        \
    "  -l, --log                  access log, one line per response\n"                             \
    "  -q, --quiet                no startup or shutdown lines\n"                                  \
    "  -h, --help                 this text\n"                                                     \
    "  -V, --version              the version\n"

//  Handles opt if it is one of those (exits on --help, --version and bad
//  values); false if it is not.
bool ps_daemon_server_option (ps_daemon_server_options_t *options, int opt, const char *arg);

//  Applies the options to a server config (made by ps_server_config_defaults).
void ps_daemon_server_config (const ps_daemon_server_options_t *options,
                              ps_server_config_t *config);

//  ---------------------------------------------------------------------
//  A whole one-stage service in one process (prime_echod, prime_filed):
//  server -> proxy -> workers, wired over inproc.

typedef struct {
    ps_server_t *server;
    ps_proxy_t *proxy;
    ps_worker_t **workers;
    size_t worker_count;
} ps_daemon_stage_t;

//  Starts it; config's proxy, loopback and interrupt are replaced by inproc
//  names. Returns 0, or -1 with a message on stderr (everything stopped).
int ps_daemon_stage_start (ps_daemon_stage_t *self, const ps_server_config_t *config,
                           ps_work_fn *work, void *work_arg, size_t workers);

//  Stops workers, then the proxy, then the server. Idempotent.
void ps_daemon_stage_stop (ps_daemon_stage_t *self);

#ifdef __cplusplus
}
#endif
#endif
