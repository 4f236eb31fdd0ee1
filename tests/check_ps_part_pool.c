/*  check_ps_part_pool: buffers lent to zmq messages come back to the pool,
    from any thread, and the pool outlives its owner while messages hold its
    buffers. Real zmq messages over a real inproc PAIR.
*/
#include "../src/ps_part_pool.h"
#include <check.h>
#include <string.h>

#define S_SIZE 4096

static void
s_fill (byte *data, size_t size, byte seed)
{
    for (size_t i = 0; i < size; i++)
        data[i] = (byte) (seed + i * 7);
}

START_TEST (test_lend_and_reuse)
{
    ps_part_pool_t *pool = ps_part_pool_new (S_SIZE, 2);
    ck_assert_uint_eq (ps_part_pool_size (pool), S_SIZE);
    byte data[S_SIZE];
    s_fill (data, sizeof data, 3);
    zmq_msg_t msg;
    ck_assert_int_eq (ps_part_pool_msg (pool, &msg, data, 1000), 0);
    ck_assert_uint_eq (zmq_msg_size (&msg), 1000);
    ck_assert_mem_eq (zmq_msg_data (&msg), data, 1000);
    void *lent = zmq_msg_data (&msg);
    zmq_msg_close (&msg);
    //  The buffer came back, and is lent again
    ck_assert_int_eq (ps_part_pool_msg (pool, &msg, data, S_SIZE), 0);
    ck_assert_ptr_eq (zmq_msg_data (&msg), lent);
    ck_assert_mem_eq (zmq_msg_data (&msg), data, S_SIZE);
    zmq_msg_close (&msg);
    ps_part_pool_destroy (&pool);
    ck_assert_ptr_null (pool);
}
END_TEST

//  Through a socket pair, the receiver on another thread of libzmq's; the
//  owner lets go of the pool while messages are still queued.
START_TEST (test_outlives_owner)
{
    zsock_t *pull = zsock_new_pair ("@inproc://check-part-pool");
    zsock_t *push = zsock_new_pair (">inproc://check-part-pool");
    ck_assert_ptr_nonnull (pull);
    ck_assert_ptr_nonnull (push);
    ps_part_pool_t *pool = ps_part_pool_new (S_SIZE, 4);
    byte data[S_SIZE];
    for (int i = 0; i < 10; i++) {
        s_fill (data, sizeof data, (byte) i);
        zmq_msg_t msg;
        ck_assert_int_eq (ps_part_pool_msg (pool, &msg, data, sizeof data), 0);
        ck_assert_int_eq (zmq_msg_send (&msg, zsock_resolve (push), 0), S_SIZE);
    }
    ps_part_pool_destroy (&pool);
    for (int i = 0; i < 10; i++) {
        s_fill (data, sizeof data, (byte) i);
        zframe_t *frame = zframe_recv (pull);
        ck_assert_ptr_nonnull (frame);
        ck_assert_uint_eq (zframe_size (frame), S_SIZE);
        ck_assert_mem_eq (zframe_data (frame), data, S_SIZE);
        zframe_destroy (&frame);
    }
    //  The last buffer freed the pool (ASan and valgrind check)
    zsock_destroy (&push);
    zsock_destroy (&pull);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("ps_part_pool");
    TCase *tcase = tcase_create ("pool");
    tcase_add_test (tcase, test_lend_and_reuse);
    tcase_add_test (tcase, test_outlives_owner);
    suite_add_tcase (suite, tcase);
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? 1 : 0;
}
