/*  bench_trial_division: the time of one trial division, measured alone.

        bench_trial_division [N [REPEAT]]   (default 32416190071, 50)

    Prints the median time of one prime_trial_division (N) in microseconds
    and what that means for requests/s on this machine's cores: the compute
    limit that bench_prime_serverd.sh compares the daemon against.
*/
#include "prime_stages.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
s_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

int
main (int argc, char *argv[])
{
    uint64_t n = 32416190071ULL;
    if (argc > 1 && prime_parse_number (argv[1], strlen (argv[1]), &n) != PRIME_NUMBER_OK) {
        fprintf (stderr, "usage: bench_trial_division [N [REPEAT]]\n");
        return 2;
    }
    int repeat = argc > 2 ? atoi (argv[2]) : 50;
    if (repeat < 1 || repeat > 100000)
        repeat = 50;
    double *us = (double *) calloc ((size_t) repeat, sizeof (double));
    assert (us);
    int prime = 0;
    for (int i = 0; i < repeat; i++) {
        struct timespec start, end;
        clock_gettime (CLOCK_MONOTONIC, &start);
        prime = prime_trial_division (n, NULL, NULL);
        clock_gettime (CLOCK_MONOTONIC, &end);
        us[i] = (double) (end.tv_sec - start.tv_sec) * 1e6
                + (double) (end.tv_nsec - start.tv_nsec) / 1e3;
    }
    qsort (us, (size_t) repeat, sizeof (double), s_compare);
    double median = us[repeat / 2];
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    printf ("n: %" PRIu64 ", prime: %s, us: %.1f, cores: %ld, limit requests/s: %.0f\n", n,
            prime ? "yes" : "no", median, cores, median > 0 ? (double) cores * 1e6 / median : 0);
    free (us);
    return 0;
}
