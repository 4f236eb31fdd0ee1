/*  prime_stages: the two stages of the "is this number prime?" service.

    Shared by prime_serverd (everything in one process) and prime_workerd
    (one stage per process), so both daemons run exactly the same code:

        stage 1, prime_stage_parse:   validates the HTTP request and forwards
                                      one 8-byte big-endian frame holding N
        stage 2, prime_stage_compute: trial division of N, final JSON answer

    HTTP contract:
        GET /is_prime?possible_prime=N, HEAD alike, POST /is_prime with body N
        (decimal, 0 <= N < 2^64): 200, application/json,
        {"possible_prime":N,"is_prime":true|false}
        a bad number: 400 {"error":"..."}; another path: 404; another method
        on /is_prime: 405 with "Allow: GET, HEAD, POST".

    A second workflow in the same service, factorisation:
        stage 2', prime_stage_factor: trial division into prime factors
        GET /factor?n=N, HEAD alike, POST /factor with body N: 200,
        {"n":N,"factors":[p1,p2,...]} (ascending, with multiplicity; 0
        and 1 have none: []); the same 400, 404 and 405 rules.
    In a graph, prime_stage_parse_named sends /is_prime jobs to the stage
    named "prime" and /factor jobs to the one named "factor"; the line
    (parse -> compute) keeps prime_stage_parse, which knows only
    /is_prime.

    The pieces are exposed separately (number parsing, trial division) so
    tests can check each against independent code.
*/
#ifndef PRIME_STAGES_H_INCLUDED
#define PRIME_STAGES_H_INCLUDED

#include "prime_server/prime_server.h"
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  The path the service answers on.
#define PRIME_PATH "/is_prime"
//  The query parameter holding the number.
#define PRIME_PARAM "possible_prime"
//  The factor workflow's path and parameter.
#define PRIME_FACTOR_PATH  "/factor"
#define PRIME_FACTOR_PARAM "n"
//  The names of the parse stage's downstreams in a graph.
#define PRIME_EDGE_PRIME  "prime"
#define PRIME_EDGE_FACTOR "factor"
//  The Allow header of a 405.
#define PRIME_ALLOW "GET, HEAD, POST"

//  Why a number was refused.
typedef enum {
    PRIME_NUMBER_OK = 0,
    PRIME_NUMBER_EMPTY,
    PRIME_NUMBER_NEGATIVE,
    PRIME_NUMBER_NOT_DECIMAL,
    PRIME_NUMBER_TOO_LARGE
} prime_number_status_t;

//  Parse a decimal number in [0, 2^64) from size bytes of text (need not
//  be terminated). Only ASCII digits are accepted: no sign, no space.
prime_number_status_t prime_parse_number (const char *text, size_t size, uint64_t *number);

//  Write number in decimal into dest (room for 20 bytes), no NUL; returns
//  the digits written. Cheaper than snprintf on the per-request paths.
size_t prime_format_number (uint64_t number, char *dest);

//  The JSON body {"error":"..."} a client gets for a refused number, a
//  missing or repeated parameter, an unknown path or method (static).
const char *prime_error_missing (void);
const char *prime_error_repeated (void);
const char *prime_error_number (prime_number_status_t status);
const char *prime_error_not_found (void);
const char *prime_error_method (void);

//  Asked every PRIME_CANCEL_CHECK divisions; true stops the division.
typedef bool (prime_cancelled_fn) (void *arg);
#define PRIME_CANCEL_CHECK 8192

//  Trial division as the original does it: every d = 2, 3, 4, ... with
//  d * d <= n, one division each, no sieve and no cache. Returns 1 if n is
//  prime, 0 if not (0 and 1 are not), -1 if cancelled said stop (cancelled
//  may be NULL).
int prime_trial_division (uint64_t n, prime_cancelled_fn *cancelled, void *arg);

//  Factor workflow: the same errors, naming n and /factor.
const char *prime_factor_error_missing (void);
const char *prime_factor_error_repeated (void);
const char *prime_factor_error_number (prime_number_status_t status);

//  n's prime factors, ascending, with multiplicity, into factors (room for
//  64) and *count (0 for n < 2), by trial division: 2, then every odd d
//  while d * d <= the cofactor left. Returns 0, or -1 if cancelled said
//  stop (asked every PRIME_CANCEL_CHECK divisions; may be NULL).
int prime_factorise (uint64_t n, uint64_t *factors, size_t *count, prime_cancelled_fn *cancelled,
                     void *arg);

//  Stage 1 work function (arg unused): validates the request and forwards
//  N to stage 2, or answers 400/404/405 itself.
int prime_stage_parse (ps_work_t *work, void *arg);

//  Stage 1 of a graph (arg unused): the same checks for /is_prime and
//  /factor, forwarding N to the downstream named PRIME_EDGE_PRIME or
//  PRIME_EDGE_FACTOR.
int prime_stage_parse_named (ps_work_t *work, void *arg);

//  Factor stage (arg unused): answers 200 with the JSON factors; a
//  cancelled job gets 503 (which the server drops).
int prime_stage_factor (ps_work_t *work, void *arg);

//  Stage 2 work function (arg unused): answers 200 with the JSON verdict;
//  a cancelled job gets 503 (which the server drops).
int prime_stage_compute (ps_work_t *work, void *arg);

#ifdef __cplusplus
}
#endif
#endif
