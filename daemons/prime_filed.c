/*  prime_filed: a one-process static file server.

        prime_filed [OPTIONS] LISTEN [ROOT]

    Serves the files under ROOT (default: the current directory) with GET
    and HEAD; see file_stage.h for what is served and how paths are kept
    inside ROOT. Server, proxy and workers run in this process over inproc.
    Drains on SIGTERM/SIGINT.
*/
#include "file_stage.h"
#include "ps_daemon.h"

#include <stdio.h>
#include <string.h>

#define S_MAX_WORKERS 256

static const char *s_usage_text =
    "usage: prime_filed [OPTIONS] LISTEN [ROOT]\n"
    "  LISTEN       bind: clients connect here (tcp://*:8002, tcp://127.0.0.1:*)\n"
    "  ROOT         the directory served (default .); nothing outside it is ever served\n"
    "options:\n"
    "  -w, --workers N            file workers, 1 to 256 (default 2)\n"
    "      --listing              HTML listings of directories without index.html\n"
    "      --max-file-size B      larger files get 500 (default: no limit; large files\n"
    "                             are streamed as the client reads them)\n"
    "      --mime-types FILE      MIME types (default /etc/mime.types if present)\n"
    "      --no-symlinks          refuse every symlink, even one pointing inside "
    "ROOT\n" PS_SERVICE_USAGE "example:\n"
    "  prime_filed --listing tcp://127.0.0.1:8080 /srv/www\n";

int
main (int argc, char *argv[])
{
    file_stage_keep_parts_memory ();
    ps_service_init ("prime_filed", s_usage_text);
    enum { OPT_LISTING = 256, OPT_MAX_FILE_SIZE, OPT_MIME_TYPES, OPT_NO_SYMLINKS };
    static const struct option long_options[] = {
        PS_SERVICE_LONG_OPTIONS,
        {"workers", required_argument, NULL, 'w'},
        {"listing", no_argument, NULL, OPT_LISTING},
        {"max-file-size", required_argument, NULL, OPT_MAX_FILE_SIZE},
        {"mime-types", required_argument, NULL, OPT_MIME_TYPES},
        {"no-symlinks", no_argument, NULL, OPT_NO_SYMLINKS},
        {NULL, 0, NULL, 0}};
    ps_service_options_t options;
    ps_service_options_defaults (&options);
    file_stage_config_t file_config;
    file_stage_config_defaults (&file_config);
    size_t workers = 2;
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, ":" PS_SERVICE_SHORT_OPTIONS "w:", long_options, NULL))
           != -1) {
        if (ps_service_option (&options, opt, optarg))
            continue;
        switch (opt) {
        case 'w':
            workers = (size_t) ps_service_parse_count (optarg, "--workers", 1, S_MAX_WORKERS);
            break;
        case OPT_LISTING:
            file_config.listing = true;
            break;
        case OPT_MAX_FILE_SIZE:
            file_config.max_file_size = (size_t) ps_service_parse_count (optarg, "--max-file-size",
                                                                         1, (uint64_t) 1 << 32);
            break;
        case OPT_MIME_TYPES:
            file_config.mime_types = optarg;
            break;
        case OPT_NO_SYMLINKS:
            file_config.no_symlinks = true;
            break;
        default:
            ps_service_bad_option (opt, argv);
        }
    }
    int positional = argc - optind;
    if (positional < 1)
        ps_service_usage_error ("missing LISTEN");
    if (positional > 2)
        ps_service_usage_error ("too many arguments, starting at '%s'", argv[optind + 2]);
    const char *listen = argv[optind];
    ps_daemon_check_endpoint (listen, "LISTEN", true);
    if (positional == 2) {
        if (argv[optind + 1][0] == '\0')
            ps_service_usage_error ("ROOT must not be empty");
        file_config.root = argv[optind + 1];
    }

    file_stage_t *files = file_stage_new (&file_config);
    if (!files) {
        fprintf (stderr, "prime_filed: cannot serve files from %s\n", file_config.root);
        zsys_shutdown ();
        return 1;
    }
    ps_server_config_t config;
    ps_service_server_config (&options, &config);
    config.listen = listen;
    ps_pipeline_t *service = ps_pipeline_new (&config);
    ps_pipeline_add_work (service, file_stage_work, workers, files);
    if (ps_pipeline_start (service)) {
        fprintf (stderr, "prime_filed: %s\n", ps_pipeline_error (service));
        ps_pipeline_destroy (&service);
        file_stage_destroy (&files);
        zsys_shutdown ();
        return 1;
    }
    if (!options.quiet)
        fprintf (stderr,
                 "prime_filed: serving %s on %s (port %d), %zu worker%s, symlinks %s, "
                 "SIGTERM drains for %g s\n",
                 file_stage_root (files), listen, ps_pipeline_port (service), workers,
                 workers == 1 ? "" : "s",
                 file_stage_follows_symlinks (files) ? "followed inside ROOT" : "refused",
                 options.drain_seconds);
    ps_service_serve (ps_pipeline_server (service), &options);
    ps_pipeline_destroy (&service);
    file_stage_destroy (&files);
    if (!options.quiet)
        fprintf (stderr, "prime_filed: stopped\n");
    zsys_shutdown ();
    return 0;
}
