/*  ps_service: the command-line conventions and the signal policy of a
    service's main (see ps_service.h), shared by prime_server's daemons
    and any service built on the library.

    Signals are taken synchronously: SIGINT and SIGTERM stay blocked in
    every thread and main collects them with sigtimedwait, so no library
    thread is ever interrupted (zmq_poll would see EINTR) and no handler has
    to be async-signal-safe. Only the drain deadline uses a handler
    (SIGALRM), and it only writes a line and _exits.
*/
#include "prime_server/ps_service.h"
#include "ps_version.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>  //  malloc_trim
#endif

static const char *s_name = "service";
static const char *s_usage = "";
static sigset_t s_stop_signals;
//  The stop signals and the log signals (SIGUSR1, SIGHUP): what main waits for
static sigset_t s_wait_signals;
//  The server whose access log the log signals reopen (while ps_service_serve
//  runs), or NULL
static ps_server_t *s_log_server;

static void s_signals_block (void);

void
ps_service_init (const char *name, const char *usage)
{
    assert (name);
    assert (usage);
    s_name = name;
    s_usage = usage;
    s_signals_block ();
}

const char *
ps_service_name (void)
{
    return s_name;
}

void
ps_service_usage_error (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "%s: ", s_name);
    vfprintf (stderr, format, args);
    va_end (args);
    fprintf (stderr, "\n%s", s_usage);
    exit (2);
}

void
ps_service_help (void)
{
    fputs (s_usage, stdout);
    exit (0);
}

void
ps_service_version (void)
{
    printf ("%s %s\n", s_name, PS_VERSION_STRING);
    exit (0);
}

void
ps_service_bad_option (int opt, char *argv[])
{
    //  optind already points past the offending word
    const char *word = optind > 0 ? argv[optind - 1] : "?";
    if (opt == ':')
        ps_service_usage_error ("option '%s' needs a value", word);
    if (optopt && strncmp (word, "--", 2) != 0)
        ps_service_usage_error ("unknown option '-%c'", optopt);
    ps_service_usage_error ("unknown option '%s'", word);
}

double
ps_service_parse_seconds (const char *text, const char *what, double max)
{
    char *end = NULL;
    errno = 0;
    double value = strtod (text, &end);
    //  strtod takes " 5", "0x10", "inf" and "nan": refuse what a person
    //  would not write as a number of seconds
    bool plain = text[0] >= '0' && text[0] <= '9' && !strpbrk (text, "xXnNiI");
    if (!plain || *end != '\0' || errno || !isfinite (value) || value < 0 || value > max)
        ps_service_usage_error ("%s must be a number of seconds from 0 to %g, not '%s'", what, max,
                                text);
    return value;
}

uint64_t
ps_service_parse_count (const char *text, const char *what, uint64_t min, uint64_t max)
{
    uint64_t value = 0;
    bool valid = text[0] != '\0';
    for (const char *p = text; valid && *p; p++) {
        if (*p < '0' || *p > '9' || value > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
            valid = false;
        else
            value = value * 10 + (uint64_t) (*p - '0');
    }
    if (!valid || value < min || value > max)
        ps_service_usage_error ("%s must be a whole number from %llu to %llu, not '%s'", what,
                                (unsigned long long) min, (unsigned long long) max, text);
    return value;
}

//  ---------------------------------------------------------------------
//  Signals

static void
s_write_stderr (const char *text)
{
    ssize_t rc = write (STDERR_FILENO, text, strlen (text));
    (void) rc;
}

static void
s_on_deadline (int signum)
{
    (void) signum;
    //  Async-signal-safe: write and _exit only
    s_write_stderr (s_name);
    s_write_stderr (": shutdown took longer than promised, exiting anyway\n");
    _exit (1);
}

static void
s_signals_block (void)
{
    sigemptyset (&s_stop_signals);
    sigaddset (&s_stop_signals, SIGINT);
    sigaddset (&s_stop_signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &s_stop_signals, NULL);
    //  SIGUSR1 (logrotate's convention) and SIGHUP (a closed terminal, or
    //  an operator's habit) reopen the logs instead of killing the process
    sigemptyset (&s_wait_signals);
    sigaddset (&s_wait_signals, SIGINT);
    sigaddset (&s_wait_signals, SIGTERM);
    sigaddset (&s_wait_signals, SIGUSR1);
    sigaddset (&s_wait_signals, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &s_wait_signals, NULL);
    //  A shell's "daemon ... &" may hand us SIGINT ignored; POSIX leaves
    //  open whether an ignored signal stays pending while blocked (Linux
    //  keeps it), and the drain on SIGINT is a promise.
    signal (SIGINT, SIG_DFL);
    signal (SIGTERM, SIG_DFL);
    //  Before the first socket, or czmq installs handlers of its own
    zsys_handler_set (NULL);
}

const sigset_t *
ps_service_stop_signals (void)
{
    return &s_stop_signals;
}

//  SIGUSR1 or SIGHUP: the access log is opened again (a rotated file is
//  left to logrotate), and the process goes on.
static void
s_reopen_logs (int signum)
{
    if (s_log_server) {
        ps_server_reopen_logs (s_log_server);
        fprintf (stderr, "%s: %s, logs reopened\n", s_name, strsignal (signum));
    }
    else
        fprintf (stderr, "%s: %s, no log file to reopen; going on\n", s_name, strsignal (signum));
}

int
ps_service_signal_wait (int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : zclock_mono () + timeout_ms;
    while (true) {
        int signum;
        if (timeout_ms < 0)
            signum = sigwaitinfo (&s_wait_signals, NULL);
        else {
            int64_t left = MAX (deadline - zclock_mono (), 0);
            struct timespec timeout = {(time_t) (left / 1000), (long) (left % 1000) * 1000000};
            signum = sigtimedwait (&s_wait_signals, NULL, &timeout);
        }
        if (signum == SIGUSR1 || signum == SIGHUP) {
            s_reopen_logs (signum);
            continue;
        }
        if (signum > 0)
            return signum;
        if (errno == EAGAIN)
            return 0;
        //  EINTR: another signal came by (SIGALRM is handled); wait again
    }
}

void
ps_service_deadline_arm (int64_t ms)
{
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_deadline;
    sigaction (SIGALRM, &action, NULL);
    struct itimerval timer;
    memset (&timer, 0, sizeof timer);
    if (ms < 1)
        ms = 1;
    timer.it_value.tv_sec = (time_t) (ms / 1000);
    timer.it_value.tv_usec = (suseconds_t) ((ms % 1000) * 1000);
    setitimer (ITIMER_REAL, &timer, NULL);
}

//  How often a serving daemon hands free heap memory back to the system.
#define S_TRIM_MS 10000

//  After a burst (hundreds of connections at once, then gone) glibc keeps
//  the freed memory in its heaps, so RSS stays at the burst's level; what
//  is live is about 1 MiB. Giving it back keeps RSS a measure of what the
//  daemon holds, for operators and their memory limits.
static void
s_memory_trim (void)
{
#ifdef __GLIBC__
    malloc_trim (0);
#endif
}

int
ps_service_serve (ps_server_t *server, const ps_service_options_t *options)
{
    assert (server);
    assert (options);
    double drain_seconds = options->drain_seconds;
    bool quiet = options->quiet;
    //  The caller started the server: every socket is bound
    ps_service_notify ("READY=1");
    int signum;
    s_log_server = server;
    while ((signum = ps_service_signal_wait (S_TRIM_MS)) == 0)
        s_memory_trim ();
    int64_t drain_ms = (int64_t) llround (drain_seconds * 1000);
    //  Gone within drain + 1 s, whatever hangs; the caller's teardown is
    //  bounded by the library's send timeouts and linger.
    ps_service_deadline_arm (drain_ms + 900);
    if (!quiet)
        fprintf (stderr, "%s: %s, draining for up to %g s\n", s_name, strsignal (signum),
                 drain_seconds);
    ps_server_drain (server, (int) drain_ms);
    //  After the server's ack: whoever hears STOPPING=1 finds the drain
    //  begun (health checks answer 503), not a server still saying 200.
    ps_service_notify ("STOPPING=1");
    while (!ps_server_wait_drained (server, 50)) {
        if (ps_service_signal_wait (0)) {
            if (!quiet)
                fprintf (stderr, "%s: second signal, stopping at once\n", s_name);
            break;
        }
    }
    s_log_server = NULL;
    return signum;
}

int
ps_service_run (ps_pipeline_t **pipeline_p, const ps_service_options_t *options)
{
    assert (pipeline_p);
    assert (*pipeline_p);
    assert (options);
    ps_pipeline_t *pipeline = *pipeline_p;
    int rc = 0;
    if (ps_pipeline_start (pipeline) == 0) {
        if (!options->quiet) {
            int port = ps_pipeline_port (pipeline);
            char port_text[32] = "";
            if (port >= 0)
                snprintf (port_text, sizeof port_text, " (port %d)", port);
            fprintf (stderr, "%s: serving on %s%s, SIGTERM drains for %g s\n", s_name,
                     ps_pipeline_listen_endpoint (pipeline), port_text, options->drain_seconds);
        }
        ps_service_serve (ps_pipeline_server (pipeline), options);
    }
    else {
        fprintf (stderr, "%s: %s\n", s_name, ps_pipeline_error (pipeline));
        rc = 1;
    }
    ps_pipeline_destroy (pipeline_p);
    if (rc == 0 && !options->quiet)
        fprintf (stderr, "%s: stopped\n", s_name);
    return rc;
}

//  ---------------------------------------------------------------------
//  Server options

#define S_MAX_SECONDS 86400.0

void
ps_service_options_defaults (ps_service_options_t *options)
{
    assert (options);
    memset (options, 0, sizeof *options);
    options->drain_seconds = 28;
    //  A gateway's usual bound (nginx's proxy_read_timeout): a job lost
    //  where nobody can report it (a proxy that died with it queued) is
    //  answered 504 then, not never. 0 on the command line turns it off.
    options->request_timeout = 60;
}

bool
ps_service_option (ps_service_options_t *options, int opt, const char *arg)
{
    assert (options);
    switch (opt) {
    case 'd':
        options->drain_seconds = ps_service_parse_seconds (arg, "--drain-seconds", S_MAX_SECONDS);
        return true;
    case 'c':
        if (arg[0] != '/')
            ps_service_usage_error ("--health-check wants a path starting with '/', not '%s'", arg);
        options->health_check = arg;
        return true;
    case 't':
        options->request_timeout = ps_service_parse_seconds (arg, "--request-timeout",
                                                             S_MAX_SECONDS);
        return true;
    case 'm':
        options->max_request_size = (size_t) ps_service_parse_count (arg, "--max-request-size", 1,
                                                                     (uint64_t) 1 << 30);
        return true;
    case 'i':
        options->max_in_flight = (size_t) ps_service_parse_count (arg, "--max-in-flight", 1,
                                                                  1000000);
        return true;
    case 'n':
        options->max_connections = (size_t) ps_service_parse_count (arg, "--max-connections", 1,
                                                                    1000000);
        return true;
    case PS_SERVICE_OPT_HEADER_TIMEOUT:
        options->header_timeout = ps_service_parse_seconds (arg, "--header-timeout", S_MAX_SECONDS);
        return true;
    case PS_SERVICE_OPT_IDLE_TIMEOUT:
        options->idle_timeout = ps_service_parse_seconds (arg, "--idle-timeout", S_MAX_SECONDS);
        return true;
    case PS_SERVICE_OPT_SEND_TIMEOUT:
        options->send_timeout = ps_service_parse_seconds (arg, "--send-timeout", S_MAX_SECONDS);
        return true;
    case PS_SERVICE_OPT_METRICS:
        if (arg[0] != '/')
            ps_service_usage_error ("--metrics wants a path starting with '/', not '%s'", arg);
        options->metrics = arg;
        return true;
    case PS_SERVICE_OPT_ACCESS_LOG:
        if (arg[0] == '\0')
            ps_service_usage_error ("--access-log wants a file name or '-'");
        options->access_log = arg;
        return true;
    case PS_SERVICE_OPT_FORWARDED:
        options->trust_forwarded = true;
        return true;
    case PS_SERVICE_OPT_CORS:
        //  One header line: a CR or LF would let the value write others
        if (!*arg || strpbrk (arg, "\r\n") || strlen (arg) > 256)
            ps_service_usage_error ("--cors wants an origin such as https://example.org or *, "
                                    "not '%s'",
                                    arg);
        options->cors_origin = arg;
        return true;
    case 'l':
        options->log = true;
        return true;
    case 'q':
        options->quiet = true;
        return true;
    case 'h':
        ps_service_help ();
    case 'V':
        ps_service_version ();
    default:
        return false;
    }
}

void
ps_service_server_config (const ps_service_options_t *options, ps_server_config_t *config)
{
    assert (options);
    assert (config);
    ps_server_config_defaults (config);
    config->health_check = options->health_check;
    config->metrics = options->metrics;
    config->access_file = options->access_log;
    config->trust_forwarded = options->trust_forwarded;
    config->cors_origin = options->cors_origin;
    config->access_log = options->log;
    config->verbose = options->log;  //  --log always showed the warnings too
    config->request_timeout_ms = (int) llround (options->request_timeout * 1000);
    if (options->max_in_flight)
        config->max_in_flight = options->max_in_flight;
    if (options->max_connections)
        config->max_connections = options->max_connections;
    if (options->header_timeout > 0)
        config->header_timeout_ms = (int) llround (options->header_timeout * 1000);
    if (options->idle_timeout > 0)
        config->idle_timeout_ms = (int) llround (options->idle_timeout * 1000);
    if (options->send_timeout > 0)
        config->send_timeout_ms = (int) llround (options->send_timeout * 1000);
    if (options->max_request_size) {
        config->limits.max_body = options->max_request_size;
        if (config->limits.max_header_bytes > options->max_request_size)
            config->limits.max_header_bytes = options->max_request_size;
    }
}

int
ps_service_parse (int argc, char *argv[], ps_service_options_t *options)
{
    assert (options);
    static const struct option long_options[] = {PS_SERVICE_LONG_OPTIONS, {NULL, 0, NULL, 0}};
    ps_service_options_defaults (options);
    opterr = 0;  //  our own one-line messages
    int opt;
    while ((opt = getopt_long (argc, argv, ":" PS_SERVICE_SHORT_OPTIONS, long_options, NULL)) != -1)
        if (!ps_service_option (options, opt, optarg))
            ps_service_bad_option (opt, argv);
    return optind;
}
