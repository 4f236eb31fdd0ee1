/*  prime_httpd: the front of a pipeline alone, in its own process.

        prime_httpd [OPTIONS] LISTEN PROXY LOOPBACK INTERRUPT
                    [LOG] [MAX_REQUEST_SIZE] [REQUEST_TIMEOUT] [/HEALTH_PATH]

    Serves HTTP (or netstrings) on LISTEN, sends every request to the first
    proxy's upstream at PROXY, takes answers from any stage on LOOPBACK and
    publishes cancellations on INTERRUPT. LISTEN, LOOPBACK and INTERRUPT are
    bound here; PROXY is connected. The trailing positionals are the
    original's. Drains on SIGTERM/SIGINT like prime_serverd.

    With --route, several workflows: only the paths routed are served,
    each to PROXY or a proxy of its own, and any other path is answered
    404 here, as prime_serverd does.
*/
#include "ps_daemon.h"

#include <stdio.h>
#include <string.h>

#define S_MAX_ROUTES 64

typedef struct {
    ps_route_t routes[S_MAX_ROUTES];
    size_t count;
} s_routes_t;

// clang-format off
static const char *s_usage_text =
    "usage: prime_httpd [OPTIONS] LISTEN PROXY LOOPBACK INTERRUPT\n"
    "                   [LOG] [MAX_REQUEST_SIZE] [REQUEST_TIMEOUT] [/HEALTH_PATH]\n"
    "  LISTEN       bind: clients connect here (tcp://*:8002, tcp://127.0.0.1:*)\n"
    "  PROXY        connect: the first proxy's UPSTREAM (prime_proxyd)\n"
    "  LOOPBACK     bind: every stage's workers send final answers here\n"
    "  INTERRUPT    bind: workers subscribe here for cancellations\n"
    "  LOG, MAX_REQUEST_SIZE, REQUEST_TIMEOUT, /HEALTH_PATH: the original's positional\n"
    "               forms of --log (true/false), -m, -t and -c\n"
    "options:\n" PS_SERVICE_USAGE
    "  -N, --netstring            speak netstrings to clients instead of HTTP\n"
    PS_DAEMON_CURVE_USAGE ("server")
    "  -R, --route PATH[=PROXY]   serve PATH (a prefix if it ends in '*': /api/*),\n"
    "                             sending it to PROXY or to its own proxy's UPSTREAM;\n"
    "                             repeatable; with routes, other paths get 404 here\n"
    "example (see docs/DEPLOY.md):\n"
    "  prime_httpd tcp://*:8002 ipc:///tmp/parse_up ipc:///tmp/loopback ipc:///tmp/interrupt\n";
// clang-format on

//  PATH[=PROXY]; the strings stay argv's (the '=' and '*' become NULs).
static void
s_parse_route (char *arg, s_routes_t *routes)
{
    if (routes->count == S_MAX_ROUTES)
        ps_service_usage_error ("at most %d routes", S_MAX_ROUTES);
    ps_route_t *route = &routes->routes[routes->count++];
    char *equals = strchr (arg, '=');
    if (equals) {
        *equals = '\0';
        ps_daemon_check_endpoint (equals + 1, "a route's PROXY", false);
        route->proxy = equals + 1;
    }
    size_t length = strlen (arg);
    if (length > 1 && arg[length - 1] == '*') {
        arg[length - 1] = '\0';
        route->prefix = true;
    }
    if (arg[0] != '/')
        ps_service_usage_error ("--route wants a path starting with '/', not '%s'", arg);
    route->path = arg;
}

static void
s_parse_arguments (int argc, char *argv[], ps_service_options_t *options, bool *netstring,
                   const char *endpoints[4], s_routes_t *routes)
{
    static const struct option long_options[] = {PS_SERVICE_LONG_OPTIONS,
                                                 {"netstring", no_argument, NULL, 'N'},
                                                 PS_DAEMON_CURVE_LONG_OPTIONS,
                                                 {"route", required_argument, NULL, 'R'},
                                                 {NULL, 0, NULL, 0}};
    ps_service_options_defaults (options);
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, ":" PS_SERVICE_SHORT_OPTIONS "NR:", long_options, NULL))
           != -1) {
        if (ps_service_option (options, opt, optarg) || ps_daemon_curve_option (opt, optarg))
            continue;
        if (opt == 'N')
            *netstring = true;
        else if (opt == 'R')
            s_parse_route (optarg, routes);
        else
            ps_service_bad_option (opt, argv);
    }
    int positional = argc - optind;
    if (positional < 4)
        ps_service_usage_error ("missing %s", positional == 0
                                                  ? "LISTEN, PROXY, LOOPBACK and INTERRUPT"
                                              : positional == 1 ? "PROXY, LOOPBACK and INTERRUPT"
                                              : positional == 2 ? "LOOPBACK and INTERRUPT"
                                                                : "INTERRUPT");
    if (positional > 8)
        ps_service_usage_error ("too many arguments, starting at '%s'", argv[optind + 8]);
    const char *names[4] = {"LISTEN", "PROXY", "LOOPBACK", "INTERRUPT"};
    for (int i = 0; i < 4; i++) {
        endpoints[i] = argv[optind + i];
        ps_daemon_check_endpoint (endpoints[i], names[i], i != 1);
    }
    //  The original's [enable_logging] [max_request_size] [timeout] [/health]
    int next = optind + 4;
    if (next < argc && argv[next][0] != '/')
        options->log = ps_daemon_parse_bool (argv[next++], "LOG");
    if (next < argc && argv[next][0] != '/')
        ps_service_option (options, 'm', argv[next++]);
    if (next < argc && argv[next][0] != '/')
        ps_service_option (options, 't', argv[next++]);
    if (next < argc)
        ps_service_option (options, 'c', argv[next++]);
    if (next < argc)
        ps_service_usage_error ("unexpected argument '%s'", argv[next]);
    //  The same address bound twice would fail later with a vaguer message
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (streq (endpoints[i], endpoints[j]))
                ps_service_usage_error ("%s and %s are the same endpoint '%s'", names[i], names[j],
                                        endpoints[i]);
}

int
main (int argc, char *argv[])
{
    ps_service_init ("prime_httpd", s_usage_text);
    ps_service_options_t options;
    bool netstring = false;
    const char *endpoints[4];
    s_routes_t routes;
    memset (&routes, 0, sizeof routes);
    s_parse_arguments (argc, argv, &options, &netstring, endpoints, &routes);
    if (routes.count && netstring)
        ps_service_usage_error ("--route needs HTTP, not --netstring");

    ps_server_config_t config;
    ps_service_server_config (&options, &config);
    config.listen = endpoints[0];
    config.proxy = endpoints[1];
    config.loopback = endpoints[2];
    config.interrupt = endpoints[3];
    if (netstring)
        config.protocol = PS_PROTOCOL_NETSTRING;
    ps_daemon_curve_config ("server", &config.curve);
    for (size_t i = 0; i < routes.count; i++)
        if (!routes.routes[i].proxy)
            routes.routes[i].proxy = endpoints[1];
    if (routes.count) {
        config.routes = routes.routes;
        config.route_count = routes.count;
        config.proxy = NULL;
    }
    ps_server_t *server = ps_server_new (&config);
    if (!server) {
        fprintf (stderr, "prime_httpd: cannot start (is an endpoint in use or unreachable?)\n");
        zsys_shutdown ();
        return 1;
    }
    if (!options.quiet) {
        int port = ps_server_port (server);
        fprintf (stderr,
                 "prime_httpd: serving %s on %s (port %d), jobs to %s, answers on %s, "
                 "interrupts on %s, SIGTERM drains for %g s%s\n",
                 netstring ? "netstrings" : "http", endpoints[0], port, endpoints[1], endpoints[2],
                 endpoints[3], options.drain_seconds,
                 config.curve.cert ? ", backend links CURVE-secured" : "");
    }
    ps_service_serve (server, &options);
    ps_server_destroy (&server);
    if (!options.quiet)
        fprintf (stderr, "prime_httpd: stopped\n");
    zsys_shutdown ();
    return 0;
}
