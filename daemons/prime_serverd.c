/*  prime_serverd: the "is this number prime?" demo, as a simulation or a
    daemon.

        prime_serverd [OPTIONS] COUNT|START,END|ENDPOINT [WORKERS]
                      [DRAIN_SECONDS] [/HEALTH_PATH]

    Both modes run the same pipeline in one process, a graph of three pools
    wired over inproc by ps_pipeline: the server routes /is_prime and
    /factor to the parse pool (any other path: 404 from the server), which
    sends each number on to the prime pool (trial division, a verdict) or
    the factor pool (its prime factors). WORKERS workers in every pool, or
    each pool sized alone with --workers. The simulation binds the server to an ephemeral
    loopback port and fires the odd numbers of its range at it with the
    batch client; the daemon serves ENDPOINT until SIGTERM or SIGINT, then
    drains. This file is only argv, wiring and signals: the stages live in
    prime_stages.c (shared with prime_workerd), the rest in the library.
*/
#include "prime_server/prime_server.h"
#include "prime_stages.h"
#include "ps_daemon.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_WORKERS       256
#define S_MAX_WORKER_CREDIT 1024
//  Simulation: keep-alive connections and requests in flight. Enough to
//  keep every worker busy and amortise the hops, small enough that the
//  pipeline's queues stay short; at most 64 per connection, the server's
//  default max_pipelined (beyond it a connection's requests get 503).
#define S_SIM_CONNECTIONS 4
#define S_SIM_IN_FLIGHT   256

typedef enum { S_MODE_COUNT, S_MODE_RANGE, S_MODE_DAEMON } s_mode_t;

typedef struct {
    s_mode_t mode;
    uint64_t first;        //  simulation: first odd number tested
    uint64_t count;        //  simulation: how many odd numbers
    const char *endpoint;  //  daemon
    size_t workers;        //  per stage
    size_t pool[3];        //  --workers: parse, prime, factor; 0: workers
    size_t worker_credit;  //  jobs a worker may hold at once
    bool affinity;
    cpu_set_t cpus;
    //  The options every daemon with a server shares (ps_service); the
    //  simulation applies them to its in-process server too.
    ps_service_options_t server;
} s_options_t;

// clang-format off
static const char *s_usage_text =
    "usage: prime_serverd [OPTIONS] COUNT|START,END|ENDPOINT [WORKERS] [DRAIN_SECONDS] "
    "[/HEALTH_PATH]\n"
    "  COUNT          simulation: test the odd numbers 3, 5, ..., 2*COUNT+1\n"
    "  START,END      simulation: test the odd numbers in [max(START,3), END]\n"
    "  ENDPOINT       daemon: serve HTTP there until SIGTERM/SIGINT\n"
    "                 (tcp://*:8002, tcp://127.0.0.1:8002, tcp://[::1]:8002, ipc:///tmp/p)\n"
    "  WORKERS        workers in every pool, 1 to 256 (default 1)\n"
    "  DRAIN_SECONDS  the same as --drain-seconds\n"
    "  /HEALTH_PATH   the same as --health-check\n"
    "options (a simulation applies the server options to its own server):\n"
    "  -w, --worker-credit N      accepted, 1 to 1024, and moot: in one process a worker\n"
    "                             takes the next job itself when done (no proxy, no\n"
    "                             credit); prime_workerd's credit sizes a split\n"
    "  -a, --affinity CPUS        run all threads on these CPUs, e.g. 0 or 0,1 or 0-3\n"
    "                             (default: wherever the scheduler puts them)\n"
    "  -W, --workers POOLS        size each pool alone, e.g. parse=1,prime=2,factor=1\n"
    "                             (a pool not named gets WORKERS)\n"
    PS_SERVICE_USAGE
    "examples:\n"
    "  prime_serverd 100000 2     simulation: 100000 requests, 2 workers per pool\n"
    "  prime_serverd tcp://*:8002 2\n"
    "  curl 'http://localhost:8002/is_prime?possible_prime=32416190071'\n"
    "  curl 'http://localhost:8002/factor?n=600851475143'\n";
// clang-format on

//  A whole decimal uint64 or false (no sign, no space, no overflow): the
//  simulation's numbers go up to 2^64 - 1, as the prime stages take them.
static bool
s_parse_u64 (const char *text, uint64_t *value)
{
    return prime_parse_number (text, strlen (text), value) == PRIME_NUMBER_OK;
}

static void
s_parse_cpus (const char *text, cpu_set_t *cpus)
{
    CPU_ZERO (cpus);
    const char *p = text;
    while (true) {
        char *end = NULL;
        if (*p < '0' || *p > '9')
            break;
        unsigned long low = strtoul (p, &end, 10);
        unsigned long high = low;
        if (*end == '-') {
            if (end[1] < '0' || end[1] > '9')
                break;
            high = strtoul (end + 1, &end, 10);
        }
        if (low > high || high >= CPU_SETSIZE)
            break;
        for (unsigned long cpu = low; cpu <= high; cpu++)
            CPU_SET (cpu, cpus);
        if (*end == '\0')
            return;
        if (*end != ',')
            break;
        p = end + 1;
    }
    ps_service_usage_error ("--affinity wants a CPU list such as 0 or 0,1 or 0-3, not '%s'", text);
}

static const char *s_pool_names[3] = {"parse", "prime", "factor"};

//  "parse=1,prime=2,factor=1", any subset, each pool at most once.
static void
s_parse_pools (const char *text, size_t *pool)
{
    char *copy = strdup (text);
    assert (copy);
    char *save = NULL;
    for (char *item = strtok_r (copy, ",", &save); item; item = strtok_r (NULL, ",", &save)) {
        char *equals = strchr (item, '=');
        size_t i = 0;
        if (equals) {
            *equals = '\0';
            while (i < 3 && strneq (item, s_pool_names[i]))
                i++;
        }
        if (!equals || i == 3 || pool[i])
            ps_service_usage_error ("--workers wants pools such as parse=1,prime=2,factor=1 "
                                    "(each once), not '%s'",
                                    text);
        pool[i] = (size_t) ps_service_parse_count (equals + 1, "a pool's workers", 1,
                                                   S_MAX_WORKERS);
    }
    free (copy);
}

static void
s_parse_target (s_options_t *options, const char *target)
{
    if (strstr (target, "://")) {
        ps_daemon_check_endpoint (target, "ENDPOINT", true);
        options->mode = S_MODE_DAEMON;
        options->endpoint = target;
        return;
    }
    const char *comma = strchr (target, ',');
    if (!comma) {
        uint64_t count = 0;
        if (!s_parse_u64 (target, &count) || count == 0 || count > (UINT64_MAX - 1) / 2)
            ps_service_usage_error ("COUNT must be a positive whole number, not '%s'", target);
        options->mode = S_MODE_COUNT;
        options->first = 3;
        options->count = count;
        return;
    }
    uint64_t start = 0, end = 0;
    char *first = strndup (target, (size_t) (comma - target));
    bool valid = first && s_parse_u64 (first, &start) && s_parse_u64 (comma + 1, &end);
    free (first);
    if (!valid)
        ps_service_usage_error ("START,END must be two whole numbers, not '%s'", target);
    if (start > end)
        ps_service_usage_error ("START must not be greater than END in '%s'", target);
    options->mode = S_MODE_RANGE;
    uint64_t low = start < 3 ? 3 : start | 1;  //  first odd number >= max (START, 3)
    if (start == UINT64_MAX)
        low = UINT64_MAX;
    options->first = low;
    options->count = low <= end ? (end - low) / 2 + 1 : 0;
}

static void
s_parse_arguments (int argc, char *argv[], s_options_t *options)
{
    static const struct option long_options[] = {PS_SERVICE_LONG_OPTIONS,
                                                 {"worker-credit", required_argument, NULL, 'w'},
                                                 {"affinity", required_argument, NULL, 'a'},
                                                 {"workers", required_argument, NULL, 'W'},
                                                 {NULL, 0, NULL, 0}};
    memset (options, 0, sizeof *options);
    options->workers = 1;
    //  4, not the library's 1: every job of the prime service is short, and
    //  in bench runs (cheap, expensive and a 1-in-10 mix, wrk -c64) credit 4
    //  served as many or more requests than 1 with a p99 no worse.
    options->worker_credit = 4;
    ps_service_options_defaults (&options->server);

    opterr = 0;  //  our own one-line messages
    int opt;
    while (
        (opt = getopt_long (argc, argv, ":" PS_SERVICE_SHORT_OPTIONS "w:a:W:", long_options, NULL))
        != -1) {
        if (ps_service_option (&options->server, opt, optarg))
            continue;
        if (opt == 'w')
            options->worker_credit = (size_t) ps_service_parse_count (optarg, "--worker-credit", 1,
                                                                      S_MAX_WORKER_CREDIT);
        else if (opt == 'W')
            s_parse_pools (optarg, options->pool);
        else if (opt == 'a') {
            s_parse_cpus (optarg, &options->cpus);
            options->affinity = true;
        }
        else
            ps_service_bad_option (opt, argv);
    }
    int positional = argc - optind;
    if (positional < 1)
        ps_service_usage_error ("missing COUNT, START,END or ENDPOINT");
    if (positional > 4)
        ps_service_usage_error ("too many arguments, starting at '%s'", argv[optind + 4]);
    s_parse_target (options, argv[optind]);
    if (positional >= 2)
        options->workers = (size_t) ps_service_parse_count (argv[optind + 1], "WORKERS", 1,
                                                            S_MAX_WORKERS);
    //  The original's positional [drain_seconds] [/health_check_path]
    for (int i = optind + 2; i < argc; i++) {
        if (argv[i][0] == '/' && !options->server.health_check)
            ps_service_option (&options->server, 'c', argv[i]);
        else if (argv[i][0] != '/' && i == optind + 2)
            ps_service_option (&options->server, 'd', argv[i]);
        else
            ps_service_usage_error ("unexpected argument '%s'", argv[i]);
    }
}

//  ---------------------------------------------------------------------
//  The pipeline: server -> proxy -> parse workers -> proxy -> compute
//  workers, every stage answering through the server's loopback. Every
//  thread runs where main's CPU mask says (--affinity, or the scheduler's
//  choice): placement is the user's to give, since what is best depends on
//  the machine.

static ps_pipeline_t *
s_pipeline_start (const s_options_t *options, const char *listen)
{
    ps_server_config_t config;
    ps_service_server_config (&options->server, &config);
    config.listen = listen;
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    ps_work_fn *works[3] = {prime_stage_parse_named, prime_stage_compute, prime_stage_factor};
    ps_pipeline_stage_t stage;
    memset (&stage, 0, sizeof stage);
    for (size_t i = 0; i < 3; i++) {
        stage.work = works[i];
        stage.name = s_pool_names[i];
        stage.workers = options->pool[i] ? options->pool[i] : options->workers;
        //  A factor job may take seconds: a second one held behind it at
        //  the same worker would wait for nothing
        stage.credit = i == 2 ? 1 : options->worker_credit;
        ps_pipeline_add_stage (pipeline, &stage);
    }
    ps_pipeline_add_edge (pipeline, 0, PRIME_EDGE_PRIME, 1);
    ps_pipeline_add_edge (pipeline, 0, PRIME_EDGE_FACTOR, 2);
    ps_pipeline_add_route (pipeline, &(ps_route_t){.path = PRIME_PATH}, 0);
    ps_pipeline_add_route (pipeline, &(ps_route_t){.path = PRIME_FACTOR_PATH}, 0);
    if (ps_pipeline_start (pipeline)) {
        fprintf (stderr, "prime_serverd: %s\n", ps_pipeline_error (pipeline));
        ps_pipeline_destroy (&pipeline);
    }
    return pipeline;
}

//  ---------------------------------------------------------------------
//  Signals. SIGINT and SIGTERM are blocked before the first thread starts,
//  so every library thread inherits the mask and only main ever sees them
//  (the daemon waits for them with sigtimedwait; the simulation unblocks
//  them in main under a handler). SIGALRM is the hard deadline of a drain.

static volatile sig_atomic_t s_interrupted = 0;

//  The simulation's Ctrl-C: the first stops asking, a second ends at once.
static void
s_on_interrupt (int signum)
{
    (void) signum;
    if (s_interrupted++ == 0)
        return;
    const char text[] = "\nprime_serverd: second signal, stopping at once\n";
    ssize_t rc = write (STDERR_FILENO, text, sizeof text - 1);
    (void) rc;
    _exit (130);
}

//  ---------------------------------------------------------------------
//  Daemon

static int
s_run_daemon (const s_options_t *options)
{
    ps_pipeline_t *pipeline = s_pipeline_start (options, options->endpoint);
    if (!pipeline)
        return 1;
    if (!options->server.quiet)
        fprintf (stderr,
                 "prime_serverd: serving http on %s, workers parse=%zu,prime=%zu,factor=%zu, "
                 "SIGTERM drains for %g s\n",
                 options->endpoint, options->pool[0] ? options->pool[0] : options->workers,
                 options->pool[1] ? options->pool[1] : options->workers,
                 options->pool[2] ? options->pool[2] : options->workers,
                 options->server.drain_seconds);
    ps_service_serve (ps_pipeline_server (pipeline), &options->server);
    //  Drained, or a second signal: what is still in flight gets 503
    ps_pipeline_destroy (&pipeline);
    if (!options->server.quiet)
        fprintf (stderr, "prime_serverd: stopped\n");
    return 0;
}

//  ---------------------------------------------------------------------
//  Simulation

typedef struct {
    uint64_t next_request;   //  the next odd number to ask about
    uint64_t next_response;  //  the number the next response must be about
    uint64_t requested;
    uint64_t answered;
    uint64_t count;
    uint64_t primes;
    uint64_t errors;
    bool progress;
    int64_t last_progress;
} s_simulation_t;

static int
s_sim_request (zchunk_t **request_p, bool *head, void *arg)
{
    s_simulation_t *self = (s_simulation_t *) arg;
    if (self->requested == self->count || s_interrupted)
        return -1;
    //  By hand rather than snprintf: this runs once per request in the
    //  thread that drives the whole benchmark
    static const char line[] = "GET /is_prime?possible_prime=";
    static const char rest[] = " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char text[sizeof line + 20 + sizeof rest];
    char *p = text;
    memcpy (p, line, sizeof line - 1);
    p += sizeof line - 1;
    p += prime_format_number (self->next_request, p);
    memcpy (p, rest, sizeof rest - 1);
    p += sizeof rest - 1;
    *request_p = zchunk_new (text, (size_t) (p - text));
    *head = false;
    self->requested++;
    self->next_request += 2;
    return 0;
}

static void
s_sim_progress (s_simulation_t *self, bool last)
{
    int64_t now = zclock_mono ();
    if (!last && now - self->last_progress < 200)
        return;
    self->last_progress = now;
    fprintf (stderr, "\r%" PRIu64 "/%" PRIu64 " tested, %" PRIu64 " primes", self->answered,
             self->count, self->primes);
    if (last)
        fprintf (stderr, "\r\033[K");
    fflush (stderr);
}

static void
s_sim_response (const ps_http_response_t *response, void *arg)
{
    s_simulation_t *self = (s_simulation_t *) arg;
    uint64_t expected = self->next_response;
    self->next_response += 2;
    self->answered++;

    //  Expect exactly {"possible_prime":N,"is_prime":true|false} about
    //  the number asked for: responses come back in request order.
    static const char head[] = "{\"possible_prime\":";
    static const char tail[] = ",\"is_prime\":";
    char want[sizeof head + 20 + sizeof tail];
    char *p = want;
    memcpy (p, head, sizeof head - 1);
    p += sizeof head - 1;
    p += prime_format_number (expected, p);
    memcpy (p, tail, sizeof tail - 1);
    p += sizeof tail - 1;
    size_t want_size = (size_t) (p - want);
    const char *body = ps_http_response_body (response);
    size_t body_size = ps_http_response_body_size (response);
    bool valid = ps_http_response_status (response) == 200 && body_size > want_size
                 && memcmp (body, want, want_size) == 0;
    if (valid && body_size == want_size + 5 && memcmp (body + want_size, "true}", 5) == 0)
        self->primes++;
    else if (!(valid && body_size == want_size + 6
               && memcmp (body + want_size, "false}", 6) == 0)) {
        if (self->errors++ < 5)
            fprintf (stderr, "prime_serverd: unexpected answer for %" PRIu64 ": %d %.*s\n",
                     expected, ps_http_response_status (response), (int) (body_size % 200), body);
    }
    if (self->progress && (self->answered & 1023) == 0)
        s_sim_progress (self, false);
}

static int
s_run_simulation (const s_options_t *options)
{
    ps_pipeline_t *pipeline = s_pipeline_start (options, "tcp://127.0.0.1:*");
    if (!pipeline)
        return 1;
    int port = ps_pipeline_port (pipeline);
    //  main goes on as the client

    //  Ctrl-C: stop asking, let what is in flight come back, report; a
    //  second one ends the process at once.
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_interrupt;
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    pthread_sigmask (SIG_UNBLOCK, ps_service_stop_signals (), NULL);

    s_simulation_t simulation;
    memset (&simulation, 0, sizeof simulation);
    simulation.next_request = simulation.next_response = options->first;
    simulation.count = options->count;
    simulation.progress = isatty (STDERR_FILENO);

    ps_client_config_t client_config;
    ps_client_config_defaults (&client_config);
    client_config.host = "127.0.0.1";
    client_config.port = port;
    client_config.connections = S_SIM_CONNECTIONS;
    client_config.max_in_flight = S_SIM_IN_FLIGHT;
    //  Within the server's own limits, or it would close or refuse us
    if (options->server.max_in_flight
        && options->server.max_in_flight < client_config.max_in_flight)
        client_config.max_in_flight = options->server.max_in_flight;
    if (options->server.max_connections
        && options->server.max_connections < client_config.connections)
        client_config.connections = options->server.max_connections;
    if (client_config.connections > client_config.max_in_flight)
        client_config.connections = client_config.max_in_flight;
    client_config.request = s_sim_request;
    client_config.response = s_sim_response;
    client_config.arg = &simulation;

    int64_t start = zclock_mono ();
    long responses = port > 0 ? ps_client_run (&client_config) : -1;
    double seconds = (double) (zclock_mono () - start) / 1000.0;
    if (simulation.progress)
        s_sim_progress (&simulation, true);

    pthread_sigmask (SIG_BLOCK, ps_service_stop_signals (), NULL);
    ps_pipeline_destroy (&pipeline);

    int rc = 0;
    if (responses < 0 || (uint64_t) responses != simulation.answered) {
        fprintf (stderr, "prime_serverd: the client failed after %" PRIu64 " responses\n",
                 simulation.answered);
        rc = 1;
    }
    else if (simulation.errors) {
        fprintf (stderr, "prime_serverd: %" PRIu64 " wrong answers\n", simulation.errors);
        rc = 1;
    }
    else if (s_interrupted) {
        fprintf (stderr, "prime_serverd: interrupted after %" PRIu64 " of %" PRIu64 " numbers\n",
                 simulation.answered, simulation.count);
        rc = 130;
    }
    if (rc == 0 || rc == 130) {
        printf ("%" PRIu64 " primes found\n", simulation.primes);
        printf ("requests: %" PRIu64 ", seconds: %.3f, requests/s: %.0f\n", simulation.answered,
                seconds, seconds > 0 ? (double) simulation.answered / seconds : 0.0);
    }
    return rc;
}

int
main (int argc, char *argv[])
{
    ps_service_init ("prime_serverd", s_usage_text);
    s_options_t options;
    s_parse_arguments (argc, argv, &options);
    if (options.affinity && sched_setaffinity (0, sizeof options.cpus, &options.cpus)) {
        fprintf (stderr, "prime_serverd: --affinity: %s\n", strerror (errno));
        return 1;
    }
    //  Before any thread: they all inherit the affinity (and the signal
    //  mask, from ps_service_init).
    //  czmq logs to stdout by default; stdout is for the results.
    zsys_set_logstream (stderr);
    int rc = options.mode == S_MODE_DAEMON ? s_run_daemon (&options) : s_run_simulation (&options);
    zsys_shutdown ();
    return rc;
}
