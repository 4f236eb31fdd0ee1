/*  prime_echod: a one-process echo service.

        prime_echod [OPTIONS] LISTEN [WORKERS] [DRAIN_SECONDS]

    Every request is answered with a JSON description of the request as the
    worker received it (echo_stage.c): handy for smoke tests, and for seeing
    exactly what the front forwards. Server, proxy and WORKERS workers run
    in this process over inproc. Drains on SIGTERM/SIGINT.
*/
#include "echo_stage.h"
#include "ps_daemon.h"

#include <stdio.h>
#include <string.h>

#define S_MAX_WORKERS 256

static const char *s_usage_text =
    "usage: prime_echod [OPTIONS] LISTEN [WORKERS] [DRAIN_SECONDS]\n"
    "  LISTEN         bind: clients connect here (tcp://*:8002, tcp://127.0.0.1:*)\n"
    "  WORKERS        echo workers, 1 to 256 (default 1)\n"
    "  DRAIN_SECONDS  the same as --drain-seconds\n"
    "options:\n"
    "  -w, --workers N            the same as WORKERS\n" PS_SERVICE_USAGE "example:\n"
    "  prime_echod tcp://127.0.0.1:8002 &\n"
    "  curl -s 'http://127.0.0.1:8002/some/path?a=1&a=2' -d 'hello'\n";

int
main (int argc, char *argv[])
{
    ps_service_init ("prime_echod", s_usage_text);
    static const struct option long_options[] = {
        PS_SERVICE_LONG_OPTIONS, {"workers", required_argument, NULL, 'w'}, {NULL, 0, NULL, 0}};
    ps_service_options_t options;
    ps_service_options_defaults (&options);
    size_t workers = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, ":" PS_SERVICE_SHORT_OPTIONS "w:", long_options, NULL))
           != -1) {
        if (ps_service_option (&options, opt, optarg))
            continue;
        if (opt == 'w')
            workers = (size_t) ps_service_parse_count (optarg, "--workers", 1, S_MAX_WORKERS);
        else
            ps_service_bad_option (opt, argv);
    }
    int positional = argc - optind;
    if (positional < 1)
        ps_service_usage_error ("missing LISTEN");
    if (positional > 3)
        ps_service_usage_error ("too many arguments, starting at '%s'", argv[optind + 3]);
    const char *listen = argv[optind];
    ps_daemon_check_endpoint (listen, "LISTEN", true);
    if (positional >= 2)
        workers = (size_t) ps_service_parse_count (argv[optind + 1], "WORKERS", 1, S_MAX_WORKERS);
    if (positional >= 3)
        ps_service_option (&options, 'd', argv[optind + 2]);

    ps_server_config_t config;
    ps_service_server_config (&options, &config);
    config.listen = listen;
    ps_pipeline_t *service = ps_pipeline_new (&config);
    ps_pipeline_add_work (service, echo_stage_work, workers, NULL);
    if (ps_pipeline_start (service)) {
        fprintf (stderr, "prime_echod: %s\n", ps_pipeline_error (service));
        ps_pipeline_destroy (&service);
        zsys_shutdown ();
        return 1;
    }
    if (!options.quiet)
        fprintf (stderr,
                 "prime_echod: serving http on %s (port %d), %zu worker%s, SIGTERM drains for "
                 "%g s\n",
                 listen, ps_pipeline_port (service), workers, workers == 1 ? "" : "s",
                 options.drain_seconds);
    ps_service_serve (ps_pipeline_server (service), &options);
    ps_pipeline_destroy (&service);
    if (!options.quiet)
        fprintf (stderr, "prime_echod: stopped\n");
    zsys_shutdown ();
    return 0;
}
