/*  bench_echo_pipeline: a two-stage echo pipeline over inproc behind a
    ps_server on 127.0.0.1, for load generators such as wrk. Stage 1
    forwards the request frames, stage 2 answers "hello world\n": the cost
    measured is the pipeline's (parsing, thread hops, answers), not work.

        bench_echo_pipeline [WORKERS_PER_STAGE] [SECONDS]

    Prints "port N" on stdout once listening, then serves for SECONDS
    (default 30) or until SIGTERM/SIGINT. bench/bench_echo_pipeline.sh
    drives it.
*/
#include "prime_server/prime_server.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static volatile sig_atomic_t s_stop = 0;

static void
s_on_signal (int signum)
{
    (void) signum;
    s_stop = 1;
}

static int
s_forward (ps_work_t *work, void *arg)
{
    (void) arg;
    zmsg_t *frames = zmsg_dup (ps_work_payload (work));
    return ps_work_forward (work, &frames);
}

static int
s_answer (ps_work_t *work, void *arg)
{
    (void) arg;
    return ps_work_reply (work, 200, NULL, "hello world\n", 12);
}

int
main (int argc, char **argv)
{
    int workers = argc > 1 ? atoi (argv[1]) : 2;
    int seconds = argc > 2 ? atoi (argv[2]) : 30;
    if (workers < 1 || workers > 64 || seconds < 1) {
        fprintf (stderr, "usage: bench_echo_pipeline [WORKERS_PER_STAGE 1..64] [SECONDS]\n");
        return 2;
    }
    zsys_handler_set (NULL);
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);

    ps_proxy_config_t proxy_config;
    ps_proxy_config_defaults (&proxy_config);
    proxy_config.upstream = "inproc://bench-stage1-jobs";
    proxy_config.downstream = "inproc://bench-stage1-workers";
    ps_proxy_t *stage1 = ps_proxy_new (&proxy_config);
    proxy_config.upstream = "inproc://bench-stage2-jobs";
    proxy_config.downstream = "inproc://bench-stage2-workers";
    ps_proxy_t *stage2 = ps_proxy_new (&proxy_config);

    ps_server_config_t server_config;
    ps_server_config_defaults (&server_config);
    server_config.listen = "tcp://127.0.0.1:*";
    server_config.proxy = "inproc://bench-stage1-jobs";
    server_config.loopback = "inproc://bench-loopback";
    server_config.interrupt = "inproc://bench-interrupt";
    ps_server_t *server = ps_server_new (&server_config);
    if (!stage1 || !stage2 || !server) {
        fprintf (stderr, "bench_echo_pipeline: could not start the pipeline\n");
        return 1;
    }

    ps_worker_t *pool[128];
    int count = 0;
    for (int i = 0; i < workers; i++) {
        ps_worker_config_t config;
        ps_worker_config_defaults (&config);
        config.loopback = server_config.loopback;
        config.interrupt = server_config.interrupt;
        config.upstream = "inproc://bench-stage1-workers";
        config.downstream = "inproc://bench-stage2-jobs";
        config.work = s_forward;
        pool[count++] = ps_worker_new (&config);
        config.upstream = "inproc://bench-stage2-workers";
        config.downstream = NULL;
        config.work = s_answer;
        pool[count++] = ps_worker_new (&config);
    }
    printf ("port %d\n", ps_server_port (server));
    fflush (stdout);

    int64_t end = zclock_mono () + (int64_t) seconds * 1000;
    while (!s_stop && zclock_mono () < end)
        zclock_sleep (50);  //  a wait for a signal or the end, not a handshake

    ps_server_destroy (&server);
    for (int i = 0; i < count; i++)
        ps_worker_destroy (&pool[i]);
    ps_proxy_destroy (&stage2);
    ps_proxy_destroy (&stage1);
    return 0;
}
