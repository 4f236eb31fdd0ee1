/*  hello_service: write your own service with prime_server, in one stage.

    GET /hello?name=Ada answers "Hello, Ada!" (plain text); anything else
    gets 404. One server, one proxy, two workers (ps_pipeline); the server
    options, --help and the drain on SIGTERM/SIGINT (a second signal stops
    at once) come from ps_service.

    Against the installed library:
        cc -std=c11 hello_service.c $(pkg-config --cflags --libs libprime_server) \
            -o hello_service
        ./hello_service tcp://127.0.0.1:8003 &
        curl 'http://127.0.0.1:8003/hello?name=Ada'
*/
#include <prime_server/prime_server.h>

//  The work function: read the request, reply. arg is what the pipeline
//  was given for this stage (here the greeting). A multi-stage service
//  would call ps_work_forward instead and let the next stage reply.
static int
s_hello (ps_work_t *work, void *arg)
{
    const ps_http_request_t *request = ps_work_request (work);
    if (!request || strneq (ps_http_request_path (request), "/hello"))
        return ps_work_reply (work, 404, NULL, "no such page\n", 13);
    const char *name = ps_pairs_get (ps_http_request_query (request), "name");
    char *text = zsys_sprintf ("%s, %s!\n", (const char *) arg, name && *name ? name : "world");
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "Content-Type", "text/plain; charset=utf-8");
    int rc = ps_work_reply (work, 200, &headers, text, strlen (text));
    zstr_free (&text);
    return rc;
}

int
main (int argc, char *argv[])
{
    //  First, before any thread starts: SIGINT and SIGTERM are blocked for
    //  ps_service_run, which collects them (the first drains, a second stops)
    ps_service_init ("hello_service", "usage: hello_service [OPTIONS] [LISTEN]\n" PS_SERVICE_USAGE);
    ps_service_options_t options;
    int next = ps_service_parse (argc, argv, &options);  //  --help, the server options
    ps_server_config_t config;
    ps_service_server_config (&options, &config);
    config.listen = next < argc ? argv[next] : "tcp://*:8003";
    //  Server -> proxy -> 2 workers running s_hello, over generated inproc names
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    ps_pipeline_add_work (pipeline, s_hello, 2, "Hello");
    return ps_service_run (&pipeline, &options);  //  start, serve, drain, stop
}
