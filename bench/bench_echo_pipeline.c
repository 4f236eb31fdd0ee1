/*  bench_echo_pipeline: a two-stage echo pipeline (ps_pipeline, over
    inproc) behind a server on 127.0.0.1, for load generators such as wrk. Stage 1
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

    ps_server_config_t config;
    ps_server_config_defaults (&config);
    config.listen = "tcp://127.0.0.1:*";
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    ps_pipeline_add_work (pipeline, s_forward, (size_t) workers, NULL);
    ps_pipeline_add_work (pipeline, s_answer, (size_t) workers, NULL);
    if (ps_pipeline_start (pipeline)) {
        fprintf (stderr, "bench_echo_pipeline: %s\n", ps_pipeline_error (pipeline));
        ps_pipeline_destroy (&pipeline);
        return 1;
    }
    printf ("port %d\n", ps_pipeline_port (pipeline));
    fflush (stdout);

    int64_t end = zclock_mono () + (int64_t) seconds * 1000;
    while (!s_stop && zclock_mono () < end)
        zclock_sleep (50);  //  a wait for a signal or the end, not a handshake

    ps_pipeline_destroy (&pipeline);
    return 0;
}
