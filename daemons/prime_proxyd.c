/*  prime_proxyd: one proxy (the load balancer in front of a stage) in its
    own process.

        prime_proxyd [OPTIONS] UPSTREAM DOWNSTREAM

    Binds UPSTREAM (jobs from the server or from the previous stage's
    workers) and DOWNSTREAM (this stage's workers connect there). A proxy
    holds no request state that outlives a hand-off, so on SIGTERM/SIGINT it
    simply stops: jobs still queued in it are lost, and the server answers
    them when they time out (or, with worker liveness, at once).
*/
#include "ps_daemon.h"

#include <stdio.h>
#include <string.h>

// clang-format off
static const char *s_usage_text =
    "usage: prime_proxyd [OPTIONS] UPSTREAM DOWNSTREAM\n"
    "  UPSTREAM     bind: prime_httpd's PROXY or the previous stage's DOWNSTREAM\n"
    "               connect here with jobs\n"
    "  DOWNSTREAM   bind: this stage's workers (prime_workerd UPSTREAM) connect here\n"
    "options:\n"
    "  -l, --loopback ENDPOINT    prime_httpd's LOOPBACK: jobs lost with a dead worker are\n"
    "                             reported there (GET/HEAD retried, else 502 at once)\n"
    "  -s, --stage NAME           report this stage's workers and jobs as NAME to the\n"
    "                             server's metrics (every second, over --loopback)\n"
    "  -v, --verbose              log junk frames and workers coming and going\n"
    "  -q, --quiet                no startup or shutdown lines\n"
    PS_DAEMON_CURVE_USAGE ("server")
    "  -h, --help                 this text\n"
    "  -V, --version              the version\n"
    "example (see docs/DEPLOY.md):\n"
    "  prime_proxyd tcp://*:5555 tcp://*:5556\n";
// clang-format on

int
main (int argc, char *argv[])
{
    ps_service_init ("prime_proxyd", s_usage_text);
    static const struct option long_options[] = {{"loopback", required_argument, NULL, 'l'},
                                                 {"verbose", no_argument, NULL, 'v'},
                                                 {"stage", required_argument, NULL, 's'},
                                                 {"quiet", no_argument, NULL, 'q'},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {"version", no_argument, NULL, 'V'},
                                                 PS_DAEMON_CURVE_LONG_OPTIONS,
                                                 {NULL, 0, NULL, 0}};
    bool verbose = false, quiet = false;
    const char *loopback = NULL;
    const char *stage = NULL;
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, ":l:s:vqhV", long_options, NULL)) != -1) {
        switch (opt) {
        case 'l':
            loopback = optarg;
            ps_daemon_check_endpoint (loopback, "--loopback", false);
            break;
        case 's':
            if (optarg[0] == '\0' || strlen (optarg) > 128)
                ps_service_usage_error ("--stage wants a name of 1 to 128 bytes");
            stage = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        case 'q':
            quiet = true;
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
    int positional = argc - optind;
    if (positional < 2)
        ps_service_usage_error ("missing %s",
                                positional == 0 ? "UPSTREAM and DOWNSTREAM" : "DOWNSTREAM");
    if (positional > 2)
        ps_service_usage_error ("too many arguments, starting at '%s'", argv[optind + 2]);
    const char *upstream = argv[optind];
    const char *downstream = argv[optind + 1];
    ps_daemon_check_endpoint (upstream, "UPSTREAM", true);
    ps_daemon_check_endpoint (downstream, "DOWNSTREAM", true);
    if (streq (upstream, downstream))
        ps_service_usage_error ("UPSTREAM and DOWNSTREAM are the same endpoint '%s'", upstream);
    if (stage && !loopback)
        ps_service_usage_error ("--stage reports over the loopback: give --loopback too");

    ps_proxy_config_t config;
    ps_proxy_config_defaults (&config);
    config.upstream = upstream;
    config.downstream = downstream;
    config.verbose = verbose;
    config.loopback = loopback;
    ps_daemon_curve_config ("server", &config.curve);
    config.stage = stage;
    ps_proxy_t *proxy = ps_proxy_new (&config);
    if (!proxy) {
        fprintf (stderr, "prime_proxyd: cannot bind %s and %s\n", upstream, downstream);
        zsys_shutdown ();
        return 1;
    }
    if (!quiet)
        fprintf (stderr, "prime_proxyd: jobs in on %s, workers on %s%s\n", upstream, downstream,
                 config.curve.cert ? ", CURVE-secured" : "");
    ps_service_notify ("READY=1");  //  both ends are bound
    int signum = ps_service_signal_wait (-1);
    ps_service_notify ("STOPPING=1");
    //  Stopping a proxy is bounded by its linger; the deadline is a backstop
    ps_service_deadline_arm (2000);
    ps_proxy_destroy (&proxy);
    if (!quiet)
        fprintf (stderr, "prime_proxyd: %s, stopped\n", strsignal (signum));
    zsys_shutdown ();
    return 0;
}
