/*  check_ps_netstring: encoding, the one-shot parser and the incremental
    decoder. Every case is fed whole, byte by byte and at seeded random split
    points, and must give the same payloads, the same error and the same
    partial state each time; the one-shot parser must agree with the decoder.
*/
#include "testutil.h"
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *input;
    size_t input_size;  //  0: strlen (input)
    size_t max_size;
    const char *expect;  //  payloads as "[p1][p2]" then "!reason" or "~" (partial)
} case_t;

//  Append "[payload]" to out, a NUL byte shown as "\\0" so out stays a string
static void
s_append (char *out, size_t out_size, const void *data, size_t size)
{
    size_t used = strlen (out);
    ck_assert_uint_lt (used + 2 * size + 3, out_size);
    out[used++] = '[';
    for (size_t i = 0; i < size; i++) {
        char ch = ((const char *) data)[i];
        if (ch == 0) {
            out[used++] = '\\';
            ch = '0';
        }
        out[used++] = ch;
    }
    out[used++] = ']';
    out[used] = 0;
}

//  Render what the decoder produced as one comparable string
static void
s_drain (ps_netstring_decoder_t *decoder, int rc, char *out, size_t out_size)
{
    zframe_t *frame;
    while ((frame = ps_netstring_decoder_next (decoder))) {
        s_append (out, out_size, zframe_data (frame), zframe_size (frame));
        zframe_destroy (&frame);
    }
    (void) rc;
}

static void
s_finish (ps_netstring_decoder_t *decoder, int rc, char *out, size_t out_size)
{
    s_drain (decoder, rc, out, out_size);
    const char *error = ps_netstring_decoder_error (decoder);
    ck_assert_int_eq (rc, error ? -1 : 0);
    size_t used = strlen (out);
    if (error)
        snprintf (out + used, out_size - used, "!%s", error);
    else if (ps_netstring_decoder_partial (decoder))
        snprintf (out + used, out_size - used, "~");
}

//  Feed input cut at the given points (sorted, within input)
static void
s_decode_split (const case_t *c, const size_t *cuts, size_t ncuts, char *out, size_t out_size)
{
    size_t size = c->input_size ? c->input_size : strlen (c->input);
    ps_netstring_decoder_t *decoder = ps_netstring_decoder_new (c->max_size);
    ck_assert_ptr_nonnull (decoder);
    out[0] = 0;
    int rc = 0;
    size_t start = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t stop = i < ncuts ? cuts[i] : size;
        rc = ps_netstring_decoder_feed (decoder, c->input + start, stop - start);
        //  Take payloads as they come, as a server would
        s_drain (decoder, rc, out, out_size);
        if (rc == -1) {
            //  Stays failed whatever comes next
            ck_assert_int_eq (ps_netstring_decoder_feed (decoder, "1:a,", 4), -1);
            ck_assert_ptr_null (ps_netstring_decoder_next (decoder));
            break;
        }
        start = stop;
    }
    s_finish (decoder, rc, out, out_size);
    ps_netstring_decoder_destroy (&decoder);
    ck_assert_ptr_null (decoder);
}

//  Walk the input with the one-shot parser, rendered the same way
static void
s_parse_all (const case_t *c, char *out, size_t out_size)
{
    size_t size = c->input_size ? c->input_size : strlen (c->input);
    const char *p = c->input;
    size_t left = size;
    out[0] = 0;
    while (left) {
        const char *payload = NULL;
        size_t payload_size = 0;
        const char *error = NULL;
        ssize_t rc = ps_netstring_parse (p, left, c->max_size, &payload, &payload_size, &error);
        size_t used = strlen (out);
        if (rc == -2) {
            snprintf (out + used, out_size - used, "~");
            return;
        }
        if (rc == -1) {
            ck_assert_ptr_nonnull (error);
            snprintf (out + used, out_size - used, "!%s", error);
            return;
        }
        ck_assert_int_gt (rc, 0);
        ck_assert_ptr_eq (payload, p + (rc - 1 - (ssize_t) payload_size));
        s_append (out, out_size, payload, payload_size);
        p += rc;
        left -= (size_t) rc;
    }
}

#define DIGIT "netstring length does not start with a digit"
#define ZERO  "netstring length has a leading zero"
#define LIMIT "netstring length over the limit"
#define COLON "netstring length not followed by ':'"
#define COMMA "netstring payload not followed by ','"

static const case_t s_cases[] = {
    {"0:,", 0, 100, "[]"},
    {"5:hello,", 0, 100, "[hello]"},
    {"3:a,b,", 0, 100, "[a,b]"},
    {"4:1:a,,", 0, 100, "[1:a,]"},
    {"3:a\0b,", 6, 100, "[a\\0b]"},
    {"5:hello,0:,3:abc,1:\n,", 0, 100, "[hello][][abc][\n]"},
    {"12:hello world!,", 0, 100, "[hello world!]"},
    {"10:0123456789,", 0, 10, "[0123456789]"},
    {"0:,", 0, 0, "[]"},
    {"", 0, 100, ""},
    {"5", 0, 100, "~"},
    {"5:", 0, 100, "~"},
    {"5:hel", 0, 100, "~"},
    {"5:hello", 0, 100, "~"},
    {"1:a,2:b", 0, 100, "[a]~"},
    {"x:abc,", 0, 100, "!" DIGIT},
    {":abc,", 0, 100, "!" DIGIT},
    {"-1:a,", 0, 100, "!" DIGIT},
    {" 1:a,", 0, 100, "!" DIGIT},
    {"5hello,", 0, 100, "!" COLON},
    {"5 :hello,", 0, 100, "!" COLON},
    {"5:hello;", 0, 100, "!" COMMA},
    {"5:hello!!", 0, 100, "!" COMMA},
    {"0:x", 0, 100, "!" COMMA},
    {"5:hello,x", 0, 100, "[hello]!" DIGIT},
    {"2:ab,3:abc,4:abcde,", 0, 100, "[ab][abc]!" COMMA},
    {"01:a,", 0, 100, "!" ZERO},
    {"00:,", 0, 100, "!" ZERO},
    {"0", 0, 100, "~"},
    {"11:hello world,", 0, 10, "!" LIMIT},
    //  Over the limit as soon as the digits exceed it, before the ':'
    {"100", 0, 10, "!" LIMIT},
    {"1:a,", 0, 0, "!" LIMIT},
    {"99999999999999999999999999:", 0, SIZE_MAX, "!" LIMIT},
    {"18446744073709551616:", 0, SIZE_MAX, "!" LIMIT},
    {"999999999999999999999999999999999999999999999999999", 0, 1000, "!" LIMIT},
};
#define NCASES (sizeof s_cases / sizeof s_cases[0])

START_TEST (test_cases_whole_bytes_random)
{
    const case_t *c = &s_cases[_i];
    size_t size = c->input_size ? c->input_size : strlen (c->input);
    char whole[512], other[512];

    s_decode_split (c, NULL, 0, whole, sizeof whole);
    ck_assert_msg (strcmp (whole, c->expect) == 0, "case %d: got '%s' expected '%s'", _i, whole,
                   c->expect);

    s_parse_all (c, other, sizeof other);
    ck_assert_msg (strcmp (other, whole) == 0, "case %d: parse gave '%s', decoder '%s'", _i, other,
                   whole);

    //  Byte by byte
    size_t cuts[600];
    ck_assert_uint_lt (size, 600);
    for (size_t i = 1; i < size; i++)
        cuts[i - 1] = i;
    s_decode_split (c, cuts, size ? size - 1 : 0, other, sizeof other);
    ck_assert_msg (strcmp (other, whole) == 0, "case %d: bytewise '%s' vs '%s'", _i, other, whole);

    //  Seeded random split points (including empty slices)
    srand (1234 + (unsigned) _i);
    for (int round = 0; round < 200; round++) {
        size_t ncuts = size ? (size_t) rand () % (size + 1) : 0;
        for (size_t i = 0; i < ncuts; i++)
            cuts[i] = (size_t) rand () % (size + 1);
        //  Sort the cuts (small n)
        for (size_t i = 1; i < ncuts; i++)
            for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
                size_t t = cuts[j];
                cuts[j] = cuts[j - 1];
                cuts[j - 1] = t;
            }
        s_decode_split (c, cuts, ncuts, other, sizeof other);
        ck_assert_msg (strcmp (other, whole) == 0, "case %d round %d: '%s' vs '%s'", _i, round,
                       other, whole);
    }
}
END_TEST

START_TEST (test_encode)
{
    ck_assert_uint_eq (ps_netstring_encoded_size (0), 3);
    ck_assert_uint_eq (ps_netstring_encoded_size (9), 12);
    ck_assert_uint_eq (ps_netstring_encoded_size (10), 14);
    ck_assert_uint_eq (ps_netstring_encoded_size (12345), 12345 + 5 + 2);

    char buf[32];
    ck_assert_uint_eq (ps_netstring_write (buf, "", 0), 3);
    ck_assert (memcmp (buf, "0:,", 3) == 0);
    ck_assert_uint_eq (ps_netstring_write (buf, "hello world!", 12), 16);
    ck_assert (memcmp (buf, "12:hello world!,", 16) == 0);
    //  no data: the length and the comma around room left as it was
    memset (buf, '.', sizeof buf);
    ck_assert_uint_eq (ps_netstring_write (buf, NULL, 11), 15);
    ck_assert (memcmp (buf, "11:...........,.", 16) == 0);

    zchunk_t *chunk = ps_netstring_encode ("a\0b", 3);
    ck_assert_uint_eq (zchunk_size (chunk), 6);
    ck_assert (memcmp (zchunk_data (chunk), "3:a\0b,", 6) == 0);
    zchunk_destroy (&chunk);

    //  Round trip of every length from 0 to 1200 through the decoder
    ps_netstring_decoder_t *decoder = ps_netstring_decoder_new (2000);
    char *payload = (char *) malloc (1200);
    for (size_t i = 0; i < 1200; i++)
        payload[i] = (char) (i * 7);
    for (size_t size = 0; size < 1200; size++) {
        chunk = ps_netstring_encode (payload, size);
        ck_assert_uint_eq (zchunk_size (chunk), ps_netstring_encoded_size (size));
        ck_assert_int_eq (
            ps_netstring_decoder_feed (decoder, (char *) zchunk_data (chunk), zchunk_size (chunk)),
            0);
        zchunk_destroy (&chunk);
        zframe_t *frame = ps_netstring_decoder_next (decoder);
        ck_assert_ptr_nonnull (frame);
        ck_assert_uint_eq (zframe_size (frame), size);
        ck_assert (size == 0 || memcmp (zframe_data (frame), payload, size) == 0);
        zframe_destroy (&frame);
        ck_assert (!ps_netstring_decoder_partial (decoder));
    }
    free (payload);
    ps_netstring_decoder_destroy (&decoder);
    ps_netstring_decoder_destroy (&decoder);  //  NULL is fine
}
END_TEST

//  Many netstrings in one feed, and a batch cut into uneven slices
START_TEST (test_many_in_one_feed)
{
    zchunk_t *all = zchunk_new (NULL, 0);
    char item[64];
    for (int i = 0; i < 5000; i++) {
        int len = snprintf (item, sizeof item, "item-%d", i);
        zchunk_t *chunk = ps_netstring_encode (item, (size_t) len);
        zchunk_extend (all, zchunk_data (chunk), zchunk_size (chunk));
        zchunk_destroy (&chunk);
    }
    const char *data = (const char *) zchunk_data (all);
    size_t size = zchunk_size (all);
    for (int mode = 0; mode < 3; mode++) {
        ps_netstring_decoder_t *decoder = ps_netstring_decoder_new (64);
        srand (99);
        size_t pos = 0;
        int seen = 0;
        while (pos < size) {
            size_t step = mode == 0 ? size : mode == 1 ? 1 : 1 + (size_t) rand () % 97;
            if (step > size - pos)
                step = size - pos;
            ck_assert_int_eq (ps_netstring_decoder_feed (decoder, data + pos, step), 0);
            pos += step;
            zframe_t *frame;
            while ((frame = ps_netstring_decoder_next (decoder))) {
                int len = snprintf (item, sizeof item, "item-%d", seen++);
                ck_assert_uint_eq (zframe_size (frame), (size_t) len);
                ck_assert (memcmp (zframe_data (frame), item, (size_t) len) == 0);
                zframe_destroy (&frame);
            }
        }
        ck_assert_int_eq (seen, 5000);
        ck_assert (!ps_netstring_decoder_partial (decoder));
        ck_assert_ptr_null (ps_netstring_decoder_error (decoder));
        ps_netstring_decoder_destroy (&decoder);
    }
    zchunk_destroy (&all);
}
END_TEST

//  A payload above the size that is allocated up front still arrives whole,
//  and a claim of a huge length costs no memory until bytes come
START_TEST (test_large_payload)
{
    size_t size = 3 * 1024 * 1024 + 17;
    char *payload = (char *) malloc (size);
    for (size_t i = 0; i < size; i++)
        payload[i] = (char) (i % 251);
    zchunk_t *chunk = ps_netstring_encode (payload, size);
    ps_netstring_decoder_t *decoder = ps_netstring_decoder_new (size);
    const char *data = (const char *) zchunk_data (chunk);
    size_t total = zchunk_size (chunk);
    for (size_t pos = 0; pos < total; pos += 65536) {
        size_t step = total - pos < 65536 ? total - pos : 65536;
        ck_assert_int_eq (ps_netstring_decoder_feed (decoder, data + pos, step), 0);
        ck_assert (pos + step == total || ps_netstring_decoder_partial (decoder));
    }
    zframe_t *frame = ps_netstring_decoder_next (decoder);
    ck_assert_ptr_nonnull (frame);
    ck_assert_uint_eq (zframe_size (frame), size);
    ck_assert (memcmp (zframe_data (frame), payload, size) == 0);
    zframe_destroy (&frame);
    ps_netstring_decoder_destroy (&decoder);
    zchunk_destroy (&chunk);
    free (payload);

    decoder = ps_netstring_decoder_new (SIZE_MAX);
    ck_assert_int_eq (ps_netstring_decoder_feed (decoder, "18446744073709551615:abc", 24), 0);
    ck_assert (ps_netstring_decoder_partial (decoder));
    ck_assert_ptr_null (ps_netstring_decoder_next (decoder));
    ps_netstring_decoder_destroy (&decoder);
}
END_TEST

START_TEST (test_parse_edges)
{
    const char *payload = NULL;
    size_t payload_size = 99;
    const char *error = NULL;
    ck_assert_int_eq (ps_netstring_parse ("", 0, 10, &payload, &payload_size, &error), -2);
    ck_assert_int_eq (ps_netstring_parse ("3:abc,rest", 10, 10, &payload, &payload_size, NULL), 6);
    ck_assert_uint_eq (payload_size, 3);
    ck_assert (memcmp (payload, "abc", 3) == 0);
    //  error may be NULL
    ck_assert_int_eq (ps_netstring_parse ("x", 1, 10, &payload, &payload_size, NULL), -1);
    ck_assert_int_eq (ps_netstring_parse ("x", 1, 10, &payload, &payload_size, &error), -1);
    ck_assert_str_eq (error, DIGIT);
    //  The limit is a payload size: exactly max_size passes
    ck_assert_int_eq (ps_netstring_parse ("3:abc,", 6, 3, &payload, &payload_size, &error), 6);
    ck_assert_int_eq (ps_netstring_parse ("3:abc,", 6, 2, &payload, &payload_size, &error), -1);
    ck_assert_str_eq (error, LIMIT);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_netstring");
    TCase *tc = tcase_create ("core");
    tcase_add_loop_test (tc, test_cases_whole_bytes_random, 0, (int) NCASES);
    tcase_add_test (tc, test_encode);
    tcase_add_test (tc, test_many_in_one_feed);
    tcase_add_test (tc, test_large_payload);
    tcase_add_test (tc, test_parse_edges);
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
    return failed ? 1 : 0;
}
