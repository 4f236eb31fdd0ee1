/*  Tests of ps_envelope: the 16-byte header, byte for byte, and junk. */
#include "prime_server/prime_server.h"
#include <check.h>

START_TEST (test_layout)
{
    ps_envelope_t envelope = {.type = PS_MSG_RESULT,
                              .flags = PS_FLAG_HEAD,
                              .kind = PS_KIND_HTTP,
                              .status = 504,
                              .id = 0x0102030405060708ULL};
    zframe_t *frame = ps_envelope_encode (&envelope);
    const byte expect[PS_ENVELOPE_SIZE] = {2, 2, 2, 1, 0x01, 0xF8, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    ck_assert_uint_eq (zframe_size (frame), PS_ENVELOPE_SIZE);
    ck_assert_int_eq (memcmp (zframe_data (frame), expect, PS_ENVELOPE_SIZE), 0);
    ps_envelope_t back;
    ck_assert_int_eq (ps_envelope_decode (frame, &back), 0);
    ck_assert_uint_eq (back.type, PS_MSG_RESULT);
    ck_assert_uint_eq (back.flags, PS_FLAG_HEAD);
    ck_assert_uint_eq (back.kind, PS_KIND_HTTP);
    ck_assert_uint_eq (back.status, 504);
    ck_assert_uint_eq (back.credit, 0);
    ck_assert (back.id == 0x0102030405060708ULL);
    zframe_destroy (&frame);
}
END_TEST

//  Each field of its own: READY's credit in bytes 6-7, the liveness
//  messages as types of their own, packed without a frame the same way.
START_TEST (test_credit_and_liveness)
{
    ps_envelope_t ready = {.type = PS_MSG_READY, .credit = 1024};
    byte packed[PS_ENVELOPE_SIZE];
    ps_envelope_pack (&ready, packed);
    const byte expect[PS_ENVELOPE_SIZE] = {2, 3, 0, 0, 0, 0, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
    ck_assert_int_eq (memcmp (packed, expect, PS_ENVELOPE_SIZE), 0);
    zframe_t *frame = ps_envelope_encode (&ready);
    ck_assert_int_eq (memcmp (zframe_data (frame), expect, PS_ENVELOPE_SIZE), 0);
    ps_envelope_t back;
    ck_assert_int_eq (ps_envelope_decode (frame, &back), 0);
    ck_assert_uint_eq (back.type, PS_MSG_READY);
    ck_assert_uint_eq (back.credit, 1024);
    ck_assert (back.id == 0);
    zframe_destroy (&frame);

    ps_envelope_t busy = {.type = PS_MSG_BEAT, .flags = PS_FLAG_BUSY, .id = 77};
    frame = ps_envelope_encode (&busy);
    ck_assert_int_eq (ps_envelope_decode (frame, &back), 0);
    ck_assert_uint_eq (back.type, PS_MSG_BEAT);
    ck_assert_uint_eq (back.flags, PS_FLAG_BUSY);
    ck_assert (back.id == 77);
    zframe_destroy (&frame);

    frame = ps_envelope_encode (&(ps_envelope_t){.type = PS_MSG_PING});
    ck_assert_int_eq (ps_envelope_decode (frame, &back), 0);
    ck_assert_uint_eq (back.type, PS_MSG_PING);
    ck_assert_int_eq (ps_envelope_version (frame), PS_PROTOCOL_VERSION);
    zframe_destroy (&frame);

    frame = ps_envelope_encode (&(ps_envelope_t){.type = PS_MSG_STATS});
    ck_assert_int_eq (ps_envelope_decode (frame, &back), 0);
    ck_assert_uint_eq (back.type, PS_MSG_STATS);
    zframe_destroy (&frame);
}
END_TEST

START_TEST (test_junk)
{
    ps_envelope_t back;
    ck_assert_int_eq (ps_envelope_decode (NULL, &back), -1);
    zframe_t *frame = zframe_new ("short", 5);
    ck_assert_int_eq (ps_envelope_decode (frame, &back), -1);
    ck_assert_int_eq (ps_envelope_version (frame), -1);
    ck_assert_int_eq (ps_envelope_version (NULL), -1);
    zframe_destroy (&frame);
    byte data[PS_ENVELOPE_SIZE] = {1, PS_MSG_READY};  //  a version 1 peer
    frame = zframe_new (data, sizeof data);
    ck_assert_int_eq (ps_envelope_decode (frame, &back), -1);
    ck_assert_int_eq (ps_envelope_version (frame), 1);
    zframe_destroy (&frame);
    data[0] = 3;  //  a later one
    frame = zframe_new (data, sizeof data);
    ck_assert_int_eq (ps_envelope_decode (frame, &back), -1);
    zframe_destroy (&frame);
    data[0] = PS_PROTOCOL_VERSION;
    data[1] = PS_MSG_RETURN + 1;  //  unknown type
    frame = zframe_new (data, sizeof data);
    ck_assert_int_eq (ps_envelope_decode (frame, &back), -1);
    zframe_destroy (&frame);
    data[1] = 0;
    frame = zframe_new (data, sizeof data);
    ck_assert_int_eq (ps_envelope_decode (frame, &back), -1);
    zframe_destroy (&frame);
}
END_TEST

START_TEST (test_send)
{
    zsock_t *in = zsock_new_pull ("@inproc://check_ps_envelope");
    zsock_t *out = zsock_new_push (">inproc://check_ps_envelope");
    ck_assert_ptr_nonnull (in);
    ck_assert_ptr_nonnull (out);
    zsock_set_rcvtimeo (in, 5000);
    ps_envelope_t envelope = {.type = PS_MSG_JOB, .kind = PS_KIND_STAGE, .id = 42};
    zmsg_t *payload = zmsg_new ();
    zmsg_addstr (payload, "hello");
    ck_assert_int_eq (ps_envelope_send (&envelope, &payload, out), 0);
    ck_assert_ptr_null (payload);
    ck_assert_int_eq (ps_envelope_send (&envelope, NULL, out), 0);

    zmsg_t *msg = zmsg_recv (in);
    ck_assert_ptr_nonnull (msg);
    ck_assert_uint_eq (zmsg_size (msg), 2);
    zframe_t *head = zmsg_pop (msg);
    ps_envelope_t back;
    ck_assert_int_eq (ps_envelope_decode (head, &back), 0);
    ck_assert (back.id == 42);
    char *body = zmsg_popstr (msg);
    ck_assert_str_eq (body, "hello");
    free (body);
    zframe_destroy (&head);
    zmsg_destroy (&msg);
    msg = zmsg_recv (in);
    ck_assert_ptr_nonnull (msg);
    ck_assert_uint_eq (zmsg_size (msg), 1);
    zmsg_destroy (&msg);
    zsock_destroy (&out);
    zsock_destroy (&in);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("ps_envelope");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_layout);
    tcase_add_test (tc, test_credit_and_liveness);
    tcase_add_test (tc, test_junk);
    tcase_add_test (tc, test_send);
    suite_add_tcase (suite, tc);
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? 1 : 0;
}
