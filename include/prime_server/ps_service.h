/*  ps_service: what a service's main needs besides its pipeline.

    The command-line conventions of prime_server's daemons, for your own
    service too: the server options (--drain-seconds, --health-check,
    --request-timeout, the limits and timeouts, --log, --quiet) with the
    same names and meanings everywhere, --help and --version, and a bad
    argument answered with one line, the usage and exit status 2.

    And the signal policy: SIGINT and SIGTERM stay blocked in every thread
    and main collects them, so no library thread is ever interrupted. The
    first drains the server (health check 503, "Connection: close", what is
    in flight completes); a second stops at once; a hard deadline (drain +
    1 s, SIGALRM) ends the process whatever hangs. SIGUSR1 and SIGHUP
    never stop a service: while ps_service_serve runs they reopen the
    server's access log file (logrotate moves the file, then signals), and
    otherwise say so on stderr; both are blocked and collected the same way.

        int
        main (int argc, char *argv[])
        {
            ps_service_init ("my_service",
                             "usage: my_service [OPTIONS] [LISTEN]\n" PS_SERVICE_USAGE);
            ps_service_options_t options;
            int next = ps_service_parse (argc, argv, &options);
            ps_server_config_t config;
            ps_service_server_config (&options, &config);
            config.listen = next < argc ? argv[next] : "tcp://0.0.0.0:8003";
            ps_pipeline_t *pipeline = ps_pipeline_new (&config);
            ps_pipeline_add_work (pipeline, my_work, 2, NULL);
            return ps_service_run (&pipeline, &options);
        }

    Process-wide by nature (signals, argv, exit): one service per process.
    A program with options of its own runs getopt_long itself with
    PS_SERVICE_LONG_OPTIONS and PS_SERVICE_SHORT_OPTIONS and hands each
    option to ps_service_option first.
*/
#ifndef PS_SERVICE_H_INCLUDED
#define PS_SERVICE_H_INCLUDED

#include "ps_export.h"
#include "ps_pipeline.h"
#include "ps_server.h"
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Call first thing in main, before any thread starts. name is used in
//  messages; usage is printed by --help and after a usage error (include
//  PS_SERVICE_USAGE in it for the server options' lines); both borrowed
//  for the life of the process. Blocks SIGINT and SIGTERM in the calling
//  thread, so every thread started afterwards inherits the mask, and tells
//  czmq to install no handlers of its own.
PS_EXPORT void ps_service_init (const char *name, const char *usage);

//  The name given to ps_service_init.
PS_EXPORT const char *ps_service_name (void);

//  ---------------------------------------------------------------------
//  The server options

typedef struct {
    double drain_seconds;      //  default 28 (under Kubernetes' 30 s grace period)
    const char *health_check;  //  NULL: none
    double request_timeout;    //  seconds; 0: none (default 60)
    size_t max_request_size;   //  bytes; 0: the library's default
    size_t max_in_flight;      //  0: the library's default
    size_t max_connections;    //  0: the library's default
    double header_timeout;     //  seconds for a complete header section; 0: library default
    double idle_timeout;       //  seconds an idle keep-alive connection stays; 0: idem
    double send_timeout;       //  seconds a client may take none of our bytes; 0: idem
    bool log;                  //  access log, and the server's warnings
    bool quiet;                //  no startup or shutdown lines
    const char *metrics;       //  path of the Prometheus metrics; NULL: none
    const char *access_log;    //  access log file in the Combined Log Format, "-": stdout;
                               //  NULL: none
    bool trust_forwarded;      //  client address from Forwarded / X-Forwarded-For
    const char *cors_origin;   //  Access-Control-Allow-Origin on every response; NULL: none
} ps_service_options_t;

PS_EXPORT void ps_service_options_defaults (ps_service_options_t *options);

//  The whole command line of a service with no options of its own: fills
//  options (defaults, then what argv says), exits on --help, --version
//  and bad options, and returns the index in argv of the first argument
//  that is not an option (argc if none).
PS_EXPORT int ps_service_parse (int argc, char *argv[], ps_service_options_t *options);

//  Fills config: ps_server_config_defaults, then the options.
PS_EXPORT void ps_service_server_config (const ps_service_options_t *options,
                                         ps_server_config_t *config);

//  For programs that run getopt_long themselves (opterr = 0, and a leading
//  ':' in the short options): these entries in the table and these letters
//  in the short options, and every option handed to ps_service_option.
//  Long-only options get values above any character.
#define PS_SERVICE_OPT_HEADER_TIMEOUT 1001
#define PS_SERVICE_OPT_IDLE_TIMEOUT   1002
#define PS_SERVICE_OPT_SEND_TIMEOUT   1003
#define PS_SERVICE_OPT_METRICS        1004
#define PS_SERVICE_OPT_ACCESS_LOG     1005
#define PS_SERVICE_OPT_FORWARDED      1006
#define PS_SERVICE_OPT_CORS           1007
// clang-format off
#define PS_SERVICE_LONG_OPTIONS                                                                    \
    {"drain-seconds", required_argument, NULL, 'd'},                                               \
    {"health-check", required_argument, NULL, 'c'},                                                \
    {"request-timeout", required_argument, NULL, 't'},                                             \
    {"max-request-size", required_argument, NULL, 'm'},                                            \
    {"max-in-flight", required_argument, NULL, 'i'},                                               \
    {"max-connections", required_argument, NULL, 'n'},                                             \
    {"header-timeout", required_argument, NULL, PS_SERVICE_OPT_HEADER_TIMEOUT},                     \
    {"idle-timeout", required_argument, NULL, PS_SERVICE_OPT_IDLE_TIMEOUT},                         \
    {"send-timeout", required_argument, NULL, PS_SERVICE_OPT_SEND_TIMEOUT},                         \
    {"metrics", required_argument, NULL, PS_SERVICE_OPT_METRICS},                                   \
    {"access-log", required_argument, NULL, PS_SERVICE_OPT_ACCESS_LOG},                             \
    {"trust-forwarded", no_argument, NULL, PS_SERVICE_OPT_FORWARDED},                               \
    {"cors", required_argument, NULL, PS_SERVICE_OPT_CORS},                                         \
    {"log", no_argument, NULL, 'l'},                                                               \
    {"quiet", no_argument, NULL, 'q'},                                                             \
    {"help", no_argument, NULL, 'h'},                                                              \
    {"version", no_argument, NULL, 'V'}
// clang-format on
#define PS_SERVICE_SHORT_OPTIONS "d:c:t:m:i:n:lqhV"

//  The usage lines of those options, for the program's usage text.
#define PS_SERVICE_USAGE                                                                           \
    "  -d, --drain-seconds S      on SIGTERM/SIGINT keep serving up to S seconds while\n"          \
    "                             connections finish (default 28, fractions allowed)\n"            \
    "  -c, --health-check PATH    answer GET PATH with 200 (503 while draining)\n"                 \
    "  -t, --request-timeout S    answer 504 after S seconds (default 60, fractions allowed;\n"    \
    "                             0 = never)\n"                                                    \
    "  -m, --max-request-size B   largest request body accepted, in bytes (else 413)\n"            \
    "  -i, --max-in-flight N      requests in the pipeline at once (beyond: 503)\n"                \
    "  -n, --max-connections N    client connections at once (beyond: closed)\n"                   \
    "      --header-timeout S     408 and close when a header section takes longer (default 10)\n" \
    "      --idle-timeout S       close keep-alive connections idle this long (default 60)\n"      \
    "      --send-timeout S       disconnect a client that takes none of our bytes this long\n"    \
    "                             (default 60; TCP only)\n"                                        \
    "      --metrics PATH         answer GET PATH with the Prometheus metrics (also draining)\n"   \
    "      --access-log FILE      access log in the Combined Log Format plus the duration,\n"      \
    "                             appended to FILE ('-': stdout); SIGUSR1 or SIGHUP reopens it\n"  \
    "      --trust-forwarded      take the client's address from Forwarded/X-Forwarded-For\n"      \
    "                             (only behind a reverse proxy that sets them)\n"                  \
    "      --cors ORIGIN          every response carries Access-Control-Allow-Origin: ORIGIN\n"    \
    "  -l, --log                  access log, one line per response\n"                             \
    "  -q, --quiet                no startup or shutdown lines\n"                                  \
    "  -h, --help                 this text\n"                                                     \
    "  -V, --version              the version\n"

//  Handles opt if it is one of those and returns true; false if it is not.
//  Exits on bad values, --help (the usage on stdout, 0) and --version
//  ("NAME X.Y.Z" with the library's version, 0; a service with a version
//  of its own handles 'V' before calling this).
PS_EXPORT bool ps_service_option (ps_service_options_t *options, int opt, const char *arg);

//  --help: the usage on stdout, exit 0. --version: "NAME X.Y.Z" (the
//  library's version), exit 0. For programs whose getopt sees them first.
PS_EXPORT void ps_service_help (void) __attribute__ ((noreturn));
PS_EXPORT void ps_service_version (void) __attribute__ ((noreturn));

//  Bad arguments: "NAME: <message>" on one line, then the usage, exit 2.
PS_EXPORT void ps_service_usage_error (const char *format, ...)
    __attribute__ ((noreturn, format (printf, 1, 2)));

//  getopt_long's error cases ('?' or ':' in opt): a usage error naming the
//  option. Never returns.
PS_EXPORT void ps_service_bad_option (int opt, char *argv[]) __attribute__ ((noreturn));

//  Numbers from argv; each is a usage error naming what when invalid.
//  Seconds: a decimal number from 0 to max (fractions allowed).
PS_EXPORT double ps_service_parse_seconds (const char *text, const char *what, double max);
//  A whole number from min to max (no sign, no suffix).
PS_EXPORT uint64_t ps_service_parse_count (const char *text, const char *what, uint64_t min,
                                           uint64_t max);

//  ---------------------------------------------------------------------
//  Signals and the life of a service

//  The life of a service with a server: waits for SIGINT or SIGTERM, starts
//  the drain (options' drain_seconds), then waits until the server reports
//  itself drained or a second signal arrives. Arms the deadline (drain +
//  1 s). Returns the first signal's number. Says so on stderr unless quiet.
//  While it waits, free heap memory goes back to the system every 10 s, so
//  RSS falls back after a burst of connections. The caller then destroys
//  its pipeline. Under systemd (NOTIFY_SOCKET) it sends READY=1 as it
//  starts and STOPPING=1 when the drain starts (ps_service_notify).
PS_EXPORT int ps_service_serve (ps_server_t *server, const ps_service_options_t *options);

//  The whole life of a service whose pipeline is described: starts it
//  (on failure says why on stderr), says where it listens on stderr
//  ("NAME: serving on ENDPOINT (port N), SIGTERM drains for S s") unless
//  quiet, serves as ps_service_serve, then destroys the pipeline (takes
//  it). Returns main's exit status: 0, or 1 if the pipeline did not start.
PS_EXPORT int ps_service_run (ps_pipeline_t **pipeline_p, const ps_service_options_t *options);

//  Waits up to timeout_ms (-1: forever, 0: just look) for SIGINT or
//  SIGTERM; returns the signal number or 0. SIGUSR1 and SIGHUP that come
//  meanwhile reopen the logs (see above) and the wait goes on.
PS_EXPORT int ps_service_signal_wait (int timeout_ms);

//  The signals ps_service_init blocked (SIGINT, SIGTERM).
PS_EXPORT const sigset_t *ps_service_stop_signals (void);

//  After ms milliseconds the process writes a line and exits with status
//  1, whatever is hanging (SIGALRM): the promise to orchestrators.
PS_EXPORT void ps_service_deadline_arm (int64_t ms);

//  ---------------------------------------------------------------------
//  The service manager (systemd's Type=notify)

//  Tells the service manager how the service is doing: state is one or
//  more newline-separated "NAME=value" lines, such as "READY=1" or
//  "STOPPING=1" (sd_notify(3) lists them). Sent as one datagram to the unix
//  socket that the environment's NOTIFY_SOCKET names (a path, or "@name"
//  in the abstract namespace); without NOTIFY_SOCKET it does nothing.
//  Returns 1 sent, 0 nothing to send to, -1 failed (a warning, once per
//  process). ps_service_serve sends READY=1 as it starts (call it once
//  every socket is bound) and STOPPING=1 when the drain starts; a program
//  that waits for its signals itself sends both.
PS_EXPORT int ps_service_notify (const char *state);

#ifdef __cplusplus
}
#endif
#endif
