/*  fuzz_util: what the libFuzzer harnesses in fuzz/ share.

    A harness checks properties, not just "no crash": when two ways of
    decoding the same bytes disagree it calls FUZZ_CHECK, which prints the
    property and aborts, so libFuzzer saves the input as a crash artifact.
*/
#ifndef FUZZ_UTIL_H_INCLUDED
#define FUZZ_UTIL_H_INCLUDED

#include "prime_server/prime_server.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

//  Same strings, or both NULL.
static inline int
fuzz_str_equal (const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp (a, b) == 0;
}

//  Same entries in the same order, names and values byte for byte.
static inline int
fuzz_pairs_equal (const ps_pairs_t *a, const ps_pairs_t *b)
{
    if (ps_pairs_size (a) != ps_pairs_size (b))
        return 0;
    for (size_t index = 0; index < ps_pairs_size (a); index++)
        if (strcmp (ps_pairs_name (a, index), ps_pairs_name (b, index)) != 0
            || strcmp (ps_pairs_value (a, index), ps_pairs_value (b, index)) != 0)
            return 0;
    return 1;
}

//  Two requests agree on everything a worker can see.
static inline int
fuzz_request_equal (const ps_http_request_t *a, const ps_http_request_t *b)
{
    return strcmp (ps_http_request_method (a), ps_http_request_method (b)) == 0
           && strcmp (ps_http_request_target (a), ps_http_request_target (b)) == 0
           && strcmp (ps_http_request_path (a), ps_http_request_path (b)) == 0
           && fuzz_pairs_equal (ps_http_request_query (a), ps_http_request_query (b))
           && fuzz_pairs_equal (ps_http_request_headers (a), ps_http_request_headers (b))
           && fuzz_pairs_equal (ps_http_request_trailers (a), ps_http_request_trailers (b))
           && ps_http_request_body_size (a) == ps_http_request_body_size (b)
           && memcmp (ps_http_request_body (a), ps_http_request_body (b),
                      ps_http_request_body_size (a))
                  == 0
           && ps_http_request_version (a) == ps_http_request_version (b)
           && ps_http_request_keep_alive (a) == ps_http_request_keep_alive (b)
           && ps_http_request_expect_continue (a) == ps_http_request_expect_continue (b);
}

#endif
