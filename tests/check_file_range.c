/*  check_file_range: the Range header of the file stage, case by case.

    Every case gives a header value and a file size, and the answer the
    stage must give: the whole file (200), bytes [first, last] (206), or
    416. The end-to-end side (Content-Range, If-Range, HEAD) is in
    check_file_stage.c and tests/test_prime_filed.sh.
*/
#include "file_range.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *value;
    uint64_t size;
    file_range_t expected;
    uint64_t first, last;
} s_case_t;

#define WHOLE   FILE_RANGE_WHOLE, 0, 0
#define NONE416 FILE_RANGE_UNSATISFIABLE, 0, 0
#define PART    FILE_RANGE_PARTIAL

static const s_case_t s_cases[] = {
    //  No header, other units, other syntax: the whole file
    {NULL, 100, WHOLE},
    {"", 100, WHOLE},
    {"items=0-3", 100, WHOLE},
    {"bytes", 100, WHOLE},
    {"bytes=", 100, WHOLE},
    {"bytes=-", 100, WHOLE},
    {"bytes=a-3", 100, WHOLE},
    {"bytes=3-a", 100, WHOLE},
    {"bytes=0-3x", 100, WHOLE},
    {"bytes=5-3", 100, WHOLE},  //  last before first: invalid, ignored
    {"bytes=--3", 100, WHOLE},
    {"bytes=+1-3", 100, WHOLE},
    {"bytes 0-3", 100, WHOLE},
    //  Several ranges: we serve one range only, so the whole file
    {"bytes=0-3,5-7", 100, WHOLE},
    {"bytes=0-3, -5", 100, WHOLE},
    {"bytes=-1,0-0", 100, WHOLE},
    //  First bytes, a middle range, the end clamped
    {"bytes=0-3", 100, PART, 0, 3},
    {"bytes=0-0", 100, PART, 0, 0},
    {"bytes=10-19", 100, PART, 10, 19},
    {"bytes=90-200", 100, PART, 90, 99},
    {"bytes=99-99", 100, PART, 99, 99},
    {"bytes=0-18446744073709551615", 100, PART, 0, 99},
    {"bytes=0-99999999999999999999999", 100, PART, 0, 99},
    //  Open and suffix ranges
    {"bytes=10-", 100, PART, 10, 99},
    {"bytes=0-", 100, PART, 0, 99},
    {"bytes=-10", 100, PART, 90, 99},
    {"bytes=-100", 100, PART, 0, 99},
    {"bytes=-1000", 100, PART, 0, 99},
    //  Case and spaces, empty list elements
    {"BYTES=1-2", 100, PART, 1, 2},
    {"Bytes = 1-2 ", 100, PART, 1, 2},
    {" bytes=\t1-2", 100, PART, 1, 2},
    {"bytes=, 1-2 ,", 100, PART, 1, 2},
    //  Unsatisfiable
    {"bytes=100-", 100, NONE416},
    {"bytes=100-200", 100, NONE416},
    {"bytes=99999999999999999999999-", 100, NONE416},
    {"bytes=-0", 100, NONE416},
    {"bytes=0-0", 0, NONE416},
    {"bytes=-5", 0, NONE416},
    {"bytes=0-", 0, NONE416},
};

START_TEST (test_cases)
{
    const s_case_t *c = &s_cases[_i];
    uint64_t first = 12345, last = 12345;
    file_range_t got = file_range_parse (c->value, c->size, &first, &last);
    ck_assert_msg (got == c->expected, "'%s' on %llu bytes: %d, expected %d",
                   c->value ? c->value : "(null)", (unsigned long long) c->size, got, c->expected);
    if (got == FILE_RANGE_PARTIAL) {
        ck_assert_msg (first == c->first && last == c->last,
                       "'%s' on %llu bytes: %llu-%llu, expected %llu-%llu", c->value,
                       (unsigned long long) c->size, (unsigned long long) first,
                       (unsigned long long) last, (unsigned long long) c->first,
                       (unsigned long long) c->last);
        ck_assert (last < c->size);
        ck_assert (first <= last);
    }
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("file_range");
    TCase *tc = tcase_create ("parse");
    tcase_add_loop_test (tc, test_cases, 0, (int) (sizeof s_cases / sizeof s_cases[0]));
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? 0 : 1;
}
