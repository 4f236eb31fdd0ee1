/*  bench_pluripotent: the prime service's two workflows in one pool of
    workers that each do everything (parse, trial division, factors), the
    set-up the graph of pools replaces. bench_isolation.sh compares it with
    prime_serverd's separate pools.

        bench_pluripotent [SERVICE OPTIONS] LISTEN WORKERS

    The answers are prime_serverd's, from the same pieces (prime_stages.c);
    only the wiring differs: one stage, so a cheap /is_prime question waits
    for a free worker behind every factorisation in flight.
*/
#include "prime_server/prime_server.h"
#include "prime_stages.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool
s_cancelled (void *arg)
{
    return ps_work_cancelled ((ps_work_t *) arg);
}

static int
s_reply (ps_work_t *work, int status, const char *body, size_t size)
{
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "Content-Type", "application/json");
    return ps_work_reply (work, status, &headers, body, size);
}

static int
s_both (ps_work_t *work, void *arg)
{
    (void) arg;
    const ps_http_request_t *request = ps_work_request (work);
    if (!request)
        return -1;
    bool factor = streq (ps_http_request_path (request), PRIME_FACTOR_PATH);
    const char *text = ps_pairs_get (ps_http_request_query (request),
                                     factor ? PRIME_FACTOR_PARAM : PRIME_PARAM);
    uint64_t n = 0;
    prime_number_status_t status = text ? prime_parse_number (text, strlen (text), &n)
                                        : PRIME_NUMBER_EMPTY;
    if (status != PRIME_NUMBER_OK) {
        const char *error = factor ? prime_factor_error_number (status)
                                   : prime_error_number (status);
        return s_reply (work, 400, error, strlen (error));
    }
    char body[32 + 21 * 65];
    size_t size;
    if (factor) {
        uint64_t factors[64];
        size_t count = 0;
        if (prime_factorise (n, factors, &count, s_cancelled, work) < 0)
            return s_reply (work, 503, "{}", 2);
        size = (size_t) snprintf (body, sizeof body, "{\"n\":%" PRIu64 ",\"factors\":[", n);
        for (size_t i = 0; i < count; i++)
            size += (size_t) snprintf (body + size, sizeof body - size, "%s%" PRIu64, i ? "," : "",
                                       factors[i]);
        size += (size_t) snprintf (body + size, sizeof body - size, "]}");
    }
    else {
        int prime = prime_trial_division (n, s_cancelled, work);
        if (prime < 0)
            return s_reply (work, 503, "{}", 2);
        size = (size_t) snprintf (body, sizeof body,
                                  "{\"possible_prime\":%" PRIu64 ",\"is_prime\":%s}", n,
                                  prime ? "true" : "false");
    }
    return s_reply (work, 200, body, size);
}

int
main (int argc, char *argv[])
{
    ps_service_init ("bench_pluripotent",
                     "usage: bench_pluripotent [OPTIONS] LISTEN WORKERS\n" PS_SERVICE_USAGE);
    ps_service_options_t options;
    int next = ps_service_parse (argc, argv, &options);
    if (argc - next != 2)
        ps_service_usage_error ("wants LISTEN and WORKERS");
    ps_server_config_t config;
    ps_service_server_config (&options, &config);
    config.listen = argv[next];
    ps_pipeline_t *pipeline = ps_pipeline_new (&config);
    size_t workers = (size_t) ps_service_parse_count (argv[next + 1], "WORKERS", 1, 256);
    ps_pipeline_add_work (pipeline, s_both, workers, NULL);
    return ps_service_run (&pipeline, &options);
}
