/*  prime_workerd: worker threads of one built-in stage, in their own
    process.

        prime_workerd [OPTIONS] UPSTREAM DOWNSTREAM LOOPBACK INTERRUPT

    Every worker connects to its proxy's DOWNSTREAM (given here as
    UPSTREAM: where jobs come from), to the next proxy's UPSTREAM (given as
    DOWNSTREAM; only the parse stage forwards, the others answer), to the
    server's LOOPBACK and to its INTERRUPT. The stages are the ones the
    one-process daemons run (prime_stages.c, echo_stage.c, file_stage.c),
    so a service can be split over machines without a line of new code.
    The parse stage of the two-workflow graph (prime_serverd's) takes
    both its downstreams as DOWNSTREAM "prime=ENDPOINT,factor=ENDPOINT";
    with one plain endpoint it is the parse stage of the /is_prime line.

    With --proxy UP,DOWN the process also runs its stage's proxy, bound to
    UP (jobs in) and DOWN (workers of other processes), and its own workers
    take jobs from its thread directly (ps_proxy.h, "local": no socket, no
    READY): each job crosses one process boundary fewer, and no READY
    crosses one. UPSTREAM is then '-'. The stage still grows by starting
    plain prime_workerd processes on DOWN; they get the jobs that come
    while ours are busy.

    On SIGTERM/SIGINT the workers stop; a job in hand sees the cancellation
    (the prime compute stage stops dividing) and its client gets 503. The
    number of jobs taken is printed on exit, which tells an operator (and
    the tests) that a process really took part.
*/
#include "echo_stage.h"
#include "file_stage.h"
#include "prime_stages.h"
#include "ps_daemon.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_WORKERS 256

// clang-format off
static const char *s_usage_text =
    "usage: prime_workerd [OPTIONS] UPSTREAM DOWNSTREAM LOOPBACK INTERRUPT\n"
    "  UPSTREAM     connect: this stage's proxy DOWNSTREAM (jobs come from there)\n"
    "  DOWNSTREAM   connect: the next stage's proxy UPSTREAM (parse forwards there);\n"
    "               for parse in the /is_prime + /factor graph, both named:\n"
    "               prime=ENDPOINT,factor=ENDPOINT; '-' for a last stage\n"
    "               (compute, factor, echo and file ignore it)\n"
    "  LOOPBACK     connect: prime_httpd's LOOPBACK (final answers)\n"
    "  INTERRUPT    connect: prime_httpd's INTERRUPT (cancellations)\n"
    "options:\n"
    "  -s, --stage STAGE          required: parse | compute (the prime service's two\n"
    "                             stages), factor (prime factors, prime_serverd's\n"
    "                             /factor pool), echo (JSON description of the\n"
    "                             request), file (static files under --root)\n"
    "  -w, --workers N            worker threads, 1 to 256 (default 1)\n"
    "  -p, --proxy UP,DOWN        also run this stage's proxy here: bind UP (jobs in,\n"
    "                             as prime_proxyd's UPSTREAM) and DOWN (workers of\n"
    "                             other processes); ours take jobs from it in-process\n"
    "                             and report it as --stage; UPSTREAM is then '-'\n"
    "      --worker-credit N      jobs each worker may hold at once, 1 to 1024 (default 4;\n"
    "                             16 for file, 1 for factor): more saves a round trip\n"
    "                             per job, but a job may wait behind a slow one at the\n"
    "                             same worker (not behind a streamed file: those go back)\n"
    "  -r, --root DIR             file: the directory served (default .)\n"
    "      --listing              file: HTML listings of directories without index.html\n"
    "      --max-file-size B      file: larger files get 500 (default: no limit; large\n"
    "                             files are streamed as the client reads them)\n"
    "      --mime-types FILE      file: MIME types (default /etc/mime.types if present)\n"
    "      --no-symlinks          file: refuse every symlink, even one inside DIR\n"
    "  -v, --verbose              log junk frames and failed sends\n"
    "  -q, --quiet                no startup or shutdown lines\n"
    PS_DAEMON_CURVE_USAGE ("worker")
    "  -h, --help                 this text\n"
    "  -V, --version              the version\n"
    "example (see docs/DEPLOY.md):\n"
    "  prime_workerd --stage compute --workers 2 tcp://front:5558 - tcp://front:5559 "
    "tcp://front:5560\n";
// clang-format on

typedef enum { S_PARSE, S_COMPUTE, S_ECHO, S_FILE, S_FACTOR } s_stage_t;

typedef struct {
    s_stage_t stage;
    const char *stage_name;  //  NULL until --stage names one
    size_t workers;
    size_t credit;  //  0 until --worker-credit: then the stage's default
    const char *endpoints[4];
    char *proxy_text;      //  --proxy, copied and cut at the comma
    const char *proxy_up;  //  in proxy_text, or NULL
    const char *proxy_down;
    file_stage_config_t file;
    bool verbose;
    bool quiet;
    ps_downstream_t named[2];  //  parse in the graph: prime and factor
    size_t named_count;
    char *named_text;  //  the copy named[] points into
} s_options_t;

//  Across processes a worker with credit 1 waits one READY round trip
//  (worker -> proxy -> worker, through both sides' I/O threads) between
//  two jobs; with more, the next job is already in its socket. The proxy
//  gives a job to a worker that holds none first, so a short job waits
//  behind another only when every worker is busy. Short stages take 4
//  (docs/DEPLOY.md has the figures). File takes 16: a file answered whole
//  is one read of at most 64 KiB, and one that streams for as long as its
//  client reads gives the jobs queued behind it back to the proxy
//  (RETURN); with 4 a file worker still waited for READY round trips
//  (bench_file_split.sh over ipc: 0.58-0.60 of prime_filed at 4, 0.68 at
//  16, 0.22 at 1; bench/README.md). A
//  factor job may take seconds with no sign of it beforehand, so a job
//  held behind one would wait for nothing.
static size_t
s_default_credit (s_stage_t stage)
{
    return stage == S_FACTOR ? 1 : stage == S_FILE ? 16 : 4;
}

//  DOWNSTREAM as "prime=ENDPOINT,factor=ENDPOINT" (either order, both).
static void
s_parse_named (s_options_t *options, const char *text)
{
    options->named_text = strdup (text);
    assert (options->named_text);
    char *save = NULL;
    for (char *item = strtok_r (options->named_text, ",", &save); item;
         item = strtok_r (NULL, ",", &save)) {
        char *equals = strchr (item, '=');
        if (!equals || options->named_count == 2)
            ps_service_usage_error ("DOWNSTREAM wants prime=ENDPOINT,factor=ENDPOINT, not '%s'",
                                    text);
        *equals = '\0';
        if (strneq (item, PRIME_EDGE_PRIME) && strneq (item, PRIME_EDGE_FACTOR))
            ps_service_usage_error ("DOWNSTREAM names prime and factor, not '%s'", item);
        ps_daemon_check_endpoint (equals + 1, "DOWNSTREAM", false);
        options->named[options->named_count++] = (ps_downstream_t){item, equals + 1};
    }
    if (options->named_count != 2 || streq (options->named[0].name, options->named[1].name))
        ps_service_usage_error ("DOWNSTREAM wants both prime=ENDPOINT and factor=ENDPOINT");
}

static void
s_parse_arguments (int argc, char *argv[], s_options_t *options)
{
    enum { OPT_LISTING = 256, OPT_MAX_FILE_SIZE, OPT_MIME_TYPES, OPT_NO_SYMLINKS, OPT_CREDIT };
    static const struct option long_options[] = {
        {"stage", required_argument, NULL, 's'},
        {"workers", required_argument, NULL, 'w'},
        {"proxy", required_argument, NULL, 'p'},
        {"worker-credit", required_argument, NULL, OPT_CREDIT},
        {"root", required_argument, NULL, 'r'},
        {"listing", no_argument, NULL, OPT_LISTING},
        {"max-file-size", required_argument, NULL, OPT_MAX_FILE_SIZE},
        {"mime-types", required_argument, NULL, OPT_MIME_TYPES},
        {"no-symlinks", no_argument, NULL, OPT_NO_SYMLINKS},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        PS_DAEMON_CURVE_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    memset (options, 0, sizeof *options);
    options->workers = 1;
    file_stage_config_defaults (&options->file);
    bool file_options = false;
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, ":s:w:p:r:vqhV", long_options, NULL)) != -1) {
        switch (opt) {
        case 's': {
            const char *names[] = {"parse", "compute", "echo", "file", "factor"};
            size_t i = 0;
            while (i < 5 && strneq (optarg, names[i]))
                i++;
            if (i == 5)
                ps_service_usage_error (
                    "--stage must be parse, compute, factor, echo or file, not '%s'", optarg);
            options->stage = (s_stage_t) i;
            options->stage_name = names[i];
            break;
        }
        case 'w':
            options->workers = (size_t) ps_service_parse_count (optarg, "--workers", 1,
                                                                S_MAX_WORKERS);
            break;
        case 'p': {
            free (options->proxy_text);
            options->proxy_text = strdup (optarg);
            assert (options->proxy_text);
            char *comma = strchr (options->proxy_text, ',');
            if (!comma || strchr (comma + 1, ','))
                ps_service_usage_error ("--proxy wants UP,DOWN: two endpoints, not '%s'", optarg);
            *comma = '\0';
            options->proxy_up = options->proxy_text;
            options->proxy_down = comma + 1;
            ps_daemon_check_endpoint (options->proxy_up, "--proxy UP", true);
            ps_daemon_check_endpoint (options->proxy_down, "--proxy DOWN", true);
            if (streq (options->proxy_up, options->proxy_down))
                ps_service_usage_error ("--proxy UP and DOWN are the same endpoint '%s'",
                                        options->proxy_up);
            break;
        }
        case OPT_CREDIT:
            options->credit = (size_t) ps_service_parse_count (optarg, "--worker-credit", 1, 1024);
            break;
        case 'r':
            options->file.root = optarg;
            file_options = true;
            break;
        case OPT_LISTING:
            options->file.listing = true;
            file_options = true;
            break;
        case OPT_MAX_FILE_SIZE:
            options->file.max_file_size = (size_t) ps_service_parse_count (
                optarg, "--max-file-size", 1, (uint64_t) 1 << 32);
            file_options = true;
            break;
        case OPT_MIME_TYPES:
            options->file.mime_types = optarg;
            file_options = true;
            break;
        case OPT_NO_SYMLINKS:
            options->file.no_symlinks = true;
            file_options = true;
            break;
        case 'v':
            options->verbose = true;
            break;
        case 'q':
            options->quiet = true;
            break;
        case 'h':
            ps_service_help ();
        case 'V':
            ps_service_version ();
        default:
            if (!ps_daemon_curve_option (opt, optarg))
                ps_service_bad_option (opt, argv);
        }
    }
    //  The original served the working directory's files without --stage:
    //  a worker started with a forgotten option must not publish whatever
    //  directory it happened to start in
    if (!options->stage_name)
        ps_service_usage_error ("--stage is required: parse, compute, echo or file");
    if (file_options && options->stage != S_FILE)
        ps_service_usage_error ("--root, --listing, --max-file-size, --mime-types and "
                                "--no-symlinks are for --stage file");
    int positional = argc - optind;
    if (positional < 4)
        ps_service_usage_error ("missing %s",
                                positional == 0   ? "UPSTREAM, DOWNSTREAM, LOOPBACK and INTERRUPT"
                                : positional == 1 ? "DOWNSTREAM, LOOPBACK and INTERRUPT"
                                : positional == 2 ? "LOOPBACK and INTERRUPT"
                                                  : "INTERRUPT");
    if (positional > 4)
        ps_service_usage_error ("too many arguments, starting at '%s'", argv[optind + 4]);
    const char *names[4] = {"UPSTREAM", "DOWNSTREAM", "LOOPBACK", "INTERRUPT"};
    for (int i = 0; i < 4; i++) {
        options->endpoints[i] = argv[optind + i];
        if (i == 0 && (options->proxy_up != NULL) != streq (options->endpoints[i], "-"))
            ps_service_usage_error (options->proxy_up ? "with --proxy, UPSTREAM is '-'"
                                                      : "UPSTREAM '-' is for --proxy");
        if (i == 0 && options->proxy_up)
            continue;
        if (i == 1 && streq (options->endpoints[i], "-")) {
            if (options->stage == S_PARSE)
                ps_service_usage_error ("the parse stage needs a DOWNSTREAM to forward to");
            options->endpoints[i] = NULL;
            continue;
        }
        if (i == 1 && options->stage == S_PARSE && strchr (options->endpoints[i], '=')) {
            s_parse_named (options, options->endpoints[i]);
            options->endpoints[i] = NULL;
            continue;
        }
        ps_daemon_check_endpoint (options->endpoints[i], names[i], false);
    }
    //  Only parse forwards: a last stage does not connect what it never uses
    //  (the original's users pass a placeholder such as ipc:///dev/null)
    if (options->stage != S_PARSE)
        options->endpoints[1] = NULL;
}

//  Counts jobs for the exit line; every worker thread shares the counter.
typedef struct {
    ps_work_fn *work;
    void *arg;
    atomic_ullong jobs;
} s_counter_t;

static int
s_counted_work (ps_work_t *work, void *arg)
{
    s_counter_t *counter = (s_counter_t *) arg;
    atomic_fetch_add_explicit (&counter->jobs, 1, memory_order_relaxed);
    return counter->work (work, counter->arg);
}

//  The stage's proxy in this process (--proxy): bound to UP and DOWN for
//  the others; our own workers take their jobs from its thread directly
//  under a local name (*local_p; ps_proxy.h, "local"); its figures go to
//  the loopback under the stage's name.
static ps_proxy_t *
s_proxy_new (const s_options_t *options, char **local_p)
{
    *local_p = zsys_sprintf ("inproc://prime_workerd-%d-proxy", (int) getpid ());
    ps_proxy_config_t config;
    ps_proxy_config_defaults (&config);
    config.upstream = options->proxy_up;
    config.downstream = options->proxy_down;
    config.local = *local_p;
    config.loopback = options->endpoints[2];
    config.stage = options->stage_name;
    config.verbose = options->verbose;
    return ps_proxy_new (&config);
}

int
main (int argc, char *argv[])
{
    ps_service_init ("prime_workerd", s_usage_text);
    s_options_t options;
    s_parse_arguments (argc, argv, &options);

    s_counter_t counter;
    memset (&counter, 0, sizeof counter);
    atomic_init (&counter.jobs, 0);
    file_stage_t *files = NULL;
    switch (options.stage) {
    case S_PARSE:
        counter.work = options.named_count ? prime_stage_parse_named : prime_stage_parse;
        break;
    case S_COMPUTE:
        counter.work = prime_stage_compute;
        break;
    case S_FACTOR:
        counter.work = prime_stage_factor;
        break;
    case S_ECHO:
        counter.work = echo_stage_work;
        break;
    case S_FILE:
        file_stage_keep_parts_memory ();
        files = file_stage_new (&options.file);
        if (!files) {
            fprintf (stderr, "prime_workerd: cannot serve files from %s\n", options.file.root);
            zsys_shutdown ();
            return 1;
        }
        counter.work = file_stage_work;
        counter.arg = files;
        break;
    }

    ps_worker_config_t config;
    ps_worker_config_defaults (&config);
    config.upstream = options.endpoints[0];
    config.downstream = options.endpoints[1];
    config.loopback = options.endpoints[2];
    config.interrupt = options.endpoints[3];
    config.work = s_counted_work;
    config.work_arg = &counter;
    config.verbose = options.verbose;
    //  Whoever sizes the pools reads the credit taken in the startup line
    config.credit = options.credit ? options.credit : s_default_credit (options.stage);
    ps_daemon_curve_config ("worker", &config.curve);
    config.downstreams = options.named_count ? options.named : NULL;
    config.downstream_count = options.named_count;
    ps_proxy_t *proxy = NULL;
    char *local = NULL;
    if (options.proxy_up) {
        if (config.curve.cert)
            ps_service_usage_error ("--proxy does not take --keys yet: for a CURVE-secured "
                                    "stage, run prime_proxyd");
        proxy = s_proxy_new (&options, &local);
        if (!proxy) {
            fprintf (stderr, "prime_workerd: cannot bind the proxy to %s and %s\n",
                     options.proxy_up, options.proxy_down);
            zstr_free (&local);
            free (options.proxy_text);
            free (options.named_text);
            file_stage_destroy (&files);
            zsys_shutdown ();
            return 1;
        }
        config.upstream = local;
    }
    ps_worker_t **workers = (ps_worker_t **) zmalloc (options.workers * sizeof (ps_worker_t *));
    assert (workers);
    int rc = 0;
    for (size_t i = 0; i < options.workers && rc == 0; i++) {
        workers[i] = ps_worker_new (&config);
        if (!workers[i]) {
            fprintf (stderr, "prime_workerd: cannot connect the workers\n");
            rc = 1;
        }
    }
    if (rc == 0) {
        if (!options.quiet) {
            fprintf (stderr, "prime_workerd: %zu %s worker%s (credit %zu), jobs from %s",
                     options.workers, options.stage_name, options.workers == 1 ? "" : "s",
                     config.credit, proxy ? "the proxy here" : options.endpoints[0]);
            if (proxy)
                fprintf (stderr, " (jobs in on %s, workers elsewhere on %s)", options.proxy_up,
                         options.proxy_down);
            if (options.endpoints[1])
                fprintf (stderr, ", forwarding to %s", options.endpoints[1]);
            for (size_t i = 0; i < options.named_count; i++)
                fprintf (stderr, ", %s to %s", options.named[i].name, options.named[i].endpoint);
            if (files)
                fprintf (stderr, ", files from %s (symlinks %s)", file_stage_root (files),
                         file_stage_follows_symlinks (files) ? "followed inside it" : "refused");
            fprintf (stderr, ", answers to %s\n", options.endpoints[2]);
        }
        //  Workers only connect, and a connection completes whenever its
        //  peer is there: started is all there is to be ready
        ps_service_notify ("READY=1");
        int signum = ps_service_signal_wait (-1);
        ps_service_notify ("STOPPING=1");
        //  Each worker's stop is bounded by its send timeout (1 s) and linger
        ps_service_deadline_arm (3000);
        if (!options.quiet)
            fprintf (stderr, "prime_workerd: %s, stopping\n", strsignal (signum));
    }
    for (size_t i = 0; i < options.workers; i++)
        ps_worker_destroy (&workers[i]);
    free (workers);
    //  After the workers, so none waits for a proxy that is gone
    ps_proxy_destroy (&proxy);
    zstr_free (&local);
    free (options.proxy_text);
    file_stage_destroy (&files);
    free (options.named_text);
    if (rc == 0 && !options.quiet)
        fprintf (stderr, "prime_workerd: stopped after %llu jobs\n",
                 (unsigned long long) atomic_load (&counter.jobs));
    zsys_shutdown ();
    return rc;
}
