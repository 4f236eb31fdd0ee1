/*  hello_service: write your own service with prime_server, in one stage.

    GET /hello?name=Ada answers "Hello, Ada!" (plain text); anything else
    gets 404. One server, one proxy, two workers; SIGINT/SIGTERM drains.

    Against the installed library:
        cc -std=c11 hello_service.c $(pkg-config --cflags --libs libprime_server) \
            -o hello_service
        ./hello_service tcp://127.0.0.1:8003 &
        curl 'http://127.0.0.1:8003/hello?name=Ada'
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  //  sigwait, pthread_sigmask under -std=c11
#endif
#include <prime_server/prime_server.h>
#include <signal.h>

//  The work function: read the request, reply. A multi-stage service would
//  call ps_work_forward instead and let the next stage reply.
static int
s_hello (ps_work_t *work, void *arg)
{
    (void) arg;
    const ps_http_request_t *request = ps_work_request (work);
    if (!request || strneq (ps_http_request_path (request), "/hello"))
        return ps_work_reply (work, 404, NULL, "no such page\n", 13);
    const char *name = ps_pairs_get (ps_http_request_query (request), "name");
    char *text = zsys_sprintf ("Hello, %s!\n", name && *name ? name : "world");
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "Content-Type", "text/plain; charset=utf-8");
    int rc = ps_work_reply (work, 200, &headers, text, strlen (text));
    zstr_free (&text);
    return rc;
}

int
main (int argc, char *argv[])
{
    //  Signals are ours to handle: block them before any thread starts.
    sigset_t stop;
    sigemptyset (&stop);
    sigaddset (&stop, SIGINT);
    sigaddset (&stop, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &stop, NULL);
    zsys_handler_set (NULL);

    ps_server_config_t server_config;
    ps_server_config_defaults (&server_config);
    server_config.listen = argc > 1 ? argv[1] : "tcp://*:8003";
    server_config.proxy = "inproc://hello-jobs";
    server_config.loopback = "inproc://hello-loopback";
    server_config.interrupt = "inproc://hello-interrupt";
    ps_server_t *server = ps_server_new (&server_config);
    if (!server)
        return 1;

    ps_proxy_config_t proxy_config;
    ps_proxy_config_defaults (&proxy_config);
    proxy_config.upstream = "inproc://hello-jobs";
    proxy_config.downstream = "inproc://hello-workers";
    ps_proxy_t *proxy = ps_proxy_new (&proxy_config);

    ps_worker_config_t worker_config;
    ps_worker_config_defaults (&worker_config);
    worker_config.upstream = "inproc://hello-workers";
    worker_config.loopback = "inproc://hello-loopback";
    worker_config.interrupt = "inproc://hello-interrupt";
    worker_config.work = s_hello;
    ps_worker_t *workers[2] = {ps_worker_new (&worker_config), ps_worker_new (&worker_config)};

    fprintf (stderr, "hello_service: listening on port %d\n", ps_server_port (server));
    int signum = 0;
    sigwait (&stop, &signum);
    ps_server_drain (server, 1000);  //  finish what is in flight, for up to 1 s
    ps_server_wait_drained (server, 2000);

    ps_worker_destroy (&workers[0]);
    ps_worker_destroy (&workers[1]);
    ps_proxy_destroy (&proxy);
    ps_server_destroy (&server);
    return 0;
}
