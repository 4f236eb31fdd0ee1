/*  Tests of ps_pairs: order, duplicates, case rules and the wire form. */
#include "prime_server/prime_server.h"
#include <check.h>

START_TEST (test_order_and_duplicates)
{
    ps_pairs_t *pairs = ps_pairs_new (false);
    ps_pairs_add (pairs, "a", "1");
    ps_pairs_add (pairs, "b", "2");
    ps_pairs_add (pairs, "a", "3");
    ps_pairs_append (pairs, "", 0, "", 0);
    ck_assert_uint_eq (ps_pairs_size (pairs), 4);
    ck_assert_str_eq (ps_pairs_name (pairs, 2), "a");
    ck_assert_str_eq (ps_pairs_value (pairs, 2), "3");
    ck_assert_str_eq (ps_pairs_get (pairs, "a"), "1");
    ck_assert_uint_eq (ps_pairs_count (pairs, "a"), 2);
    ck_assert_str_eq (ps_pairs_get (pairs, ""), "");
    ck_assert_ptr_null (ps_pairs_get (pairs, "A"));
    ps_pairs_destroy (&pairs);
    ck_assert_ptr_null (pairs);
    ps_pairs_destroy (&pairs);
}
END_TEST

START_TEST (test_nocase)
{
    ps_pairs_t *pairs = ps_pairs_new (true);
    ps_pairs_add (pairs, "Content-Type", "text/plain");
    ps_pairs_add (pairs, "content-type", "x");
    ck_assert_str_eq (ps_pairs_get (pairs, "CONTENT-TYPE"), "text/plain");
    ck_assert_uint_eq (ps_pairs_count (pairs, "Content-type"), 2);
    ck_assert_str_eq (ps_pairs_name (pairs, 0), "Content-Type");
    ps_pairs_destroy (&pairs);
}
END_TEST

START_TEST (test_wire_round_trip)
{
    ps_pairs_t *pairs = ps_pairs_new (false);
    ps_pairs_add (pairs, "k", "v,:1");
    ps_pairs_add (pairs, "", "");
    ps_pairs_add (pairs, "longer name", "0123456789");
    zframe_t *frame = ps_pairs_encode (pairs);
    const char expect[] = "1:k,4:v,:1,0:,0:,11:longer name,10:0123456789,";
    ck_assert_uint_eq (zframe_size (frame), strlen (expect));
    ck_assert_int_eq (memcmp (zframe_data (frame), expect, strlen (expect)), 0);
    ps_pairs_t *copy = ps_pairs_decode (zframe_data (frame), zframe_size (frame), false);
    ck_assert_ptr_nonnull (copy);
    ck_assert_uint_eq (ps_pairs_size (copy), 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq (ps_pairs_name (copy, i), ps_pairs_name (pairs, i));
        ck_assert_str_eq (ps_pairs_value (copy, i), ps_pairs_value (pairs, i));
    }
    zframe_destroy (&frame);
    ps_pairs_destroy (&copy);

    ps_pairs_t *empty = ps_pairs_new (true);
    frame = ps_pairs_encode (empty);
    ck_assert_uint_eq (zframe_size (frame), 0);
    copy = ps_pairs_decode (zframe_data (frame), 0, true);
    ck_assert_ptr_nonnull (copy);
    ck_assert_uint_eq (ps_pairs_size (copy), 0);
    zframe_destroy (&frame);
    ps_pairs_destroy (&copy);
    ps_pairs_destroy (&empty);
    ps_pairs_destroy (&pairs);
}
END_TEST

START_TEST (test_decode_junk)
{
    const char *junk[] = {
        "1:k,",      //  odd count
        "1:k,1:v",   //  missing comma
        "x:k,1:v,",  //  bad length
        "5:k,1:v,",  //  length past the end
        "1:k,99999999999999999999:v,",
    };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        ck_assert_msg (ps_pairs_decode (junk[i], strlen (junk[i]), false) == NULL,
                       "accepted junk: %s", junk[i]);
    const char nul[] = "1:k,3:a\0b,";
    ck_assert_ptr_null (ps_pairs_decode (nul, sizeof nul - 1, false));
}
END_TEST

//  Strings handed out stay where they are while the object grows past its
//  inline room (headers are looked up, then more are appended).
START_TEST (test_pointers_stable_while_growing)
{
    ps_pairs_t *pairs = ps_pairs_new (true);
    ps_pairs_add (pairs, "Host", "example.com");
    const char *host = ps_pairs_get (pairs, "host");
    const char *first_name = ps_pairs_name (pairs, 0);
    char name[32], value[600];
    for (int i = 0; i < 500; i++) {
        snprintf (name, sizeof name, "X-Field-%d", i);
        memset (value, 'a' + i % 26, (size_t) (i % 599));
        value[i % 599] = 0;
        ps_pairs_add (pairs, name, value);
    }
    ck_assert_uint_eq (ps_pairs_size (pairs), 501);
    ck_assert_ptr_eq (ps_pairs_get (pairs, "HOST"), host);
    ck_assert_ptr_eq (ps_pairs_name (pairs, 0), first_name);
    ck_assert_str_eq (host, "example.com");
    ck_assert_str_eq (ps_pairs_value (pairs, 1), "");
    ck_assert_uint_eq (strlen (ps_pairs_value (pairs, 300)), 299);
    ck_assert_str_eq (ps_pairs_get (pairs, "x-field-499"), ps_pairs_value (pairs, 500));

    //  The wire form of a large set decodes to the same entries
    zframe_t *frame = ps_pairs_encode (pairs);
    ps_pairs_t *copy = ps_pairs_decode (zframe_data (frame), zframe_size (frame), true);
    ck_assert_ptr_nonnull (copy);
    ck_assert_uint_eq (ps_pairs_size (copy), 501);
    for (size_t i = 0; i < 501; i++) {
        ck_assert_str_eq (ps_pairs_name (copy, i), ps_pairs_name (pairs, i));
        ck_assert_str_eq (ps_pairs_value (copy, i), ps_pairs_value (pairs, i));
    }
    //  A decoded set takes appends like any other
    ps_pairs_add (copy, "Last", "one");
    ck_assert_str_eq (ps_pairs_get (copy, "last"), "one");
    ck_assert_str_eq (ps_pairs_name (copy, 0), "Host");
    zframe_destroy (&frame);
    ps_pairs_destroy (&copy);
    ps_pairs_destroy (&pairs);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("ps_pairs");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_order_and_duplicates);
    tcase_add_test (tc, test_nocase);
    tcase_add_test (tc, test_wire_round_trip);
    tcase_add_test (tc, test_decode_junk);
    tcase_add_test (tc, test_pointers_stable_while_growing);
    suite_add_tcase (suite, tc);
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? 1 : 0;
}
