/*  check_ps_dispatch: a stage's jobs handed between threads without a
    proxy. The registry by endpoint, the most recently idle worker first, the
    queue and its bound, a seat's eventfd readable exactly while a job
    waits in it, a leaving worker's job, frames of every size intact, jobs
    read in place and sent from buffers, many taken at once, and many
    threads at once with every job delivered exactly once.
*/
#include "../src/ps_dispatch.h"
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>

//  The next job of seat as a zmsg, [envelope][payload...]; NULL if none
//  (the seat idle).
static zmsg_t *
s_next (ps_dispatch_seat_t *seat)
{
    ps_dispatch_job_t *job = ps_dispatch_next_job (seat);
    if (!job)
        return NULL;
    zmsg_t *msg = ps_dispatch_job_msg (job, 0);
    ps_dispatch_job_destroy (&job);
    return msg;
}

//  The next job of seat as libzmq messages, as the server's loopback seat
//  reads them: its first max parts into parts, how many it had into count.
static bool
s_next_parts (ps_dispatch_seat_t *seat, zmq_msg_t *parts, size_t max, size_t *count)
{
    ps_dispatch_job_t *job;
    if (ps_dispatch_next_batch (seat, &job, 1) == 0)
        return false;
    *count = ps_dispatch_job_take_parts (&job, parts, max);
    return true;
}

//  A job: its envelope carries id
static zmsg_t *
s_job (uint64_t id)
{
    zmsg_t *job = zmsg_new ();
    ps_envelope_t envelope = {.type = PS_MSG_JOB, .kind = PS_KIND_STAGE, .id = id};
    zframe_t *frame = ps_envelope_encode (&envelope);
    zmsg_append (job, &frame);
    zmsg_addstr (job, "payload");
    return job;
}

//  The id of a job (destroyed), or 0 for none.
static uint64_t
s_id (zmsg_t **job_p)
{
    if (!*job_p)
        return 0;
    ps_envelope_t envelope;
    ck_assert_int_eq (ps_envelope_decode (zmsg_first (*job_p), &envelope), 0);
    zmsg_destroy (job_p);
    return envelope.id;
}

static bool
s_readable (ps_dispatch_seat_t *seat, int timeout_ms)
{
    struct pollfd fd = {ps_dispatch_seat_fd (seat), POLLIN, 0};
    return poll (&fd, 1, timeout_ms) == 1;
}

START_TEST (test_registry)
{
    ps_dispatch_t *dispatch = ps_dispatch_new ("inproc://t-up", "inproc://t-down", 10, NULL, NULL);
    ck_assert_ptr_nonnull (dispatch);
    ck_assert_ptr_null (ps_dispatch_new ("inproc://t-up", "inproc://other", 10, NULL, NULL));
    ck_assert_ptr_null (ps_dispatch_new ("inproc://other", "inproc://t-down", 10, NULL, NULL));
    ck_assert_ptr_null (ps_dispatch_find ("inproc://other"));
    ck_assert_ptr_null (ps_dispatch_find (NULL));
    ps_dispatch_t *by_up = ps_dispatch_find ("inproc://t-up");
    ps_dispatch_t *by_down = ps_dispatch_find ("inproc://t-down");
    ck_assert_ptr_eq (by_up, dispatch);
    ck_assert_ptr_eq (by_down, dispatch);
    //  Registered while any reference lives, gone with the last
    ps_dispatch_destroy (&dispatch);
    ck_assert_ptr_null (dispatch);
    ps_dispatch_destroy (&by_up);
    by_up = ps_dispatch_find ("inproc://t-up");
    ck_assert_ptr_eq (by_up, by_down);
    ps_dispatch_destroy (&by_up);
    ps_dispatch_destroy (&by_down);
    ck_assert_ptr_null (ps_dispatch_find ("inproc://t-up"));
    dispatch = ps_dispatch_new ("inproc://t-up", "inproc://t-down", 10, NULL, NULL);
    ck_assert_ptr_nonnull (dispatch);
    ps_dispatch_destroy (&dispatch);
}
END_TEST

//  The worker idle for the shortest time gets the next job: the likeliest
//  to be awake still (ps_dispatch.c)
START_TEST (test_latest_idle_first)
{
    ps_dispatch_t *dispatch = ps_dispatch_new ("inproc://i-up", "inproc://i-down", 10, NULL, NULL);
    ps_dispatch_seat_t *a = ps_dispatch_seat_new (dispatch);
    ps_dispatch_seat_t *b = ps_dispatch_seat_new (dispatch);
    ck_assert_ptr_null (s_next (a));  //  idle first
    ck_assert_ptr_null (s_next (b));  //  idle last
    ck_assert_ptr_null (s_next (a));  //  still idle: its place is kept
    ps_dispatch_stats_t stats;
    ps_dispatch_stats (dispatch, &stats);
    ck_assert_uint_eq (stats.workers, 2);
    ck_assert_uint_eq (stats.idle, 2);
    ck_assert (!s_readable (a, 0) && !s_readable (b, 0));

    zmsg_t *job = s_job (1);
    ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 0), 0);
    ck_assert_ptr_null (job);
    ck_assert (s_readable (b, 0) && !s_readable (a, 0));
    job = s_job (2);
    ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 0), 0);
    ck_assert (s_readable (a, 0));
    job = s_job (3);  //  nobody idle: queued
    ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 0), 0);
    ps_dispatch_stats (dispatch, &stats);
    ck_assert_uint_eq (stats.idle, 0);
    ck_assert_uint_eq (stats.queued, 1);

    job = s_next (b);
    ck_assert_uint_eq (s_id (&job), 1);
    ck_assert (!s_readable (b, 0));  //  cleared by taking the job
    job = s_next (b);      //  done with 1: takes the queued one
    ck_assert_uint_eq (s_id (&job), 3);
    ck_assert_ptr_null (s_next (b));  //  idle again
    job = s_next (a);
    ck_assert_uint_eq (s_id (&job), 2);
    ck_assert (!s_readable (a, 0));
    ck_assert_ptr_null (s_next (a));  //  idle now, after b
    job = s_job (4);
    ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 0), 0);
    ck_assert (s_readable (a, 0) && !s_readable (b, 0));
    job = s_next (a);
    ck_assert_uint_eq (s_id (&job), 4);
    ps_dispatch_stats (dispatch, &stats);
    ck_assert_uint_eq (stats.jobs, 4);
    ck_assert_uint_eq (stats.queued, 0);
    ck_assert_uint_eq (stats.idle, 1);

    ps_dispatch_seat_destroy (&a);
    ps_dispatch_seat_destroy (&b);
    ck_assert_ptr_null (a);
    ps_dispatch_stats (dispatch, &stats);
    ck_assert_uint_eq (stats.workers, 0);
    ck_assert_uint_eq (stats.idle, 0);
    ps_dispatch_destroy (&dispatch);
}
END_TEST

//  A worker that leaves with a job handed to it gives it back to the
//  others, first in line.
START_TEST (test_leaving_worker)
{
    ps_dispatch_t *dispatch = ps_dispatch_new ("inproc://l-up", "inproc://l-down", 10, NULL, NULL);
    ps_dispatch_seat_t *leaving = ps_dispatch_seat_new (dispatch);
    ck_assert_ptr_null (s_next (leaving));
    zmsg_t *job = s_job (1);
    ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 0), 0);
    job = s_job (2);
    ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 0), 0);
    ps_dispatch_seat_destroy (&leaving);
    ps_dispatch_seat_t *staying = ps_dispatch_seat_new (dispatch);
    job = s_next (staying);
    ck_assert_uint_eq (s_id (&job), 1);
    job = s_next (staying);
    ck_assert_uint_eq (s_id (&job), 2);
    ps_dispatch_seat_destroy (&staying);
    ps_dispatch_destroy (&dispatch);
}
END_TEST

typedef struct {
    ps_dispatch_t *dispatch;
    uint64_t id;
    int rc;
} s_submit_t;

static void *
s_submit_thread (void *arg)
{
    s_submit_t *submit = (s_submit_t *) arg;
    zmsg_t *job = s_job (submit->id);
    submit->rc = ps_dispatch_submit (submit->dispatch, &job, -1);
    return NULL;
}

//  The queue holds hwm jobs: past that a submit fails at once, or after
//  its timeout, or waits for room for good.
START_TEST (test_bound)
{
    ps_dispatch_t *dispatch = ps_dispatch_new ("inproc://b-up", "inproc://b-down", 2, NULL, NULL);
    for (uint64_t id = 1; id <= 2; id++) {
        zmsg_t *job = s_job (id);
        ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 0), 0);
    }
    zmsg_t *job = s_job (3);
    ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 0), -1);
    ck_assert_int_eq (errno, EAGAIN);
    ck_assert_ptr_null (job);  //  destroyed
    job = s_job (3);
    ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 20), -1);
    ck_assert_int_eq (errno, EAGAIN);

    //  A blocked submit goes through once a worker takes a job
    s_submit_t submit = {dispatch, 4, 99};
    pthread_t thread;
    ck_assert_int_eq (pthread_create (&thread, NULL, s_submit_thread, &submit), 0);
    ps_dispatch_seat_t *seat = ps_dispatch_seat_new (dispatch);
    job = s_next (seat);
    ck_assert_uint_eq (s_id (&job), 1);
    pthread_join (thread, NULL);
    ck_assert_int_eq (submit.rc, 0);

    //  Full again; the jobs come out in order
    job = s_job (5);
    ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 0), -1);
    ck_assert_int_eq (errno, EAGAIN);
    job = s_next (seat);
    ck_assert_uint_eq (s_id (&job), 2);
    job = s_next (seat);
    ck_assert_uint_eq (s_id (&job), 4);
    ck_assert_ptr_null (s_next (seat));
    ps_dispatch_seat_destroy (&seat);
    ps_dispatch_destroy (&dispatch);
}
END_TEST

//  ps_sink_send to a dispatch: the envelope goes in front of the payload.
START_TEST (test_sink_send)
{
    ps_dispatch_t *dispatch = ps_dispatch_new ("inproc://s-up", "inproc://s-down", 4, NULL, NULL);
    ps_sink_t sink = {.dispatch = dispatch};
    zmsg_t *payload = zmsg_new ();
    zmsg_addstr (payload, "a");
    zmsg_addstr (payload, "b");
    ps_envelope_t envelope = {.type = PS_MSG_JOB, .kind = PS_KIND_STAGE, .id = 42};
    ck_assert_int_eq (ps_sink_send (&sink, &envelope, &payload, 0), 0);
    ck_assert_ptr_null (payload);
    ck_assert_int_eq (ps_sink_send (&sink, &envelope, NULL, 0), 0);
    ps_dispatch_seat_t *seat = ps_dispatch_seat_new (dispatch);
    zmsg_t *job = s_next (seat);
    ck_assert_uint_eq (zmsg_size (job), 3);
    char *last = zframe_strdup (zmsg_last (job));
    ck_assert_str_eq (last, "b");
    free (last);
    ck_assert_uint_eq (s_id (&job), 42);
    job = s_next (seat);
    ck_assert_uint_eq (zmsg_size (job), 1);
    ck_assert_uint_eq (s_id (&job), 42);
    ps_dispatch_seat_destroy (&seat);
    ps_dispatch_destroy (&dispatch);
}
END_TEST

//  A job's frames arrive as they were sent, whatever their sizes: empty,
//  small ones (copied inline) and large ones (moved whole), in order; a
//  job still queued when the dispatch goes is freed with it.
START_TEST (test_frames_intact)
{
    ps_dispatch_t *dispatch = ps_dispatch_new ("inproc://f-up", "inproc://f-down", 4, NULL, NULL);
    ps_sink_t sink = {.dispatch = dispatch};
    size_t sizes[] = {0, 1, 4096, 4097, 200000, 3};
    size_t count = sizeof (sizes) / sizeof (sizes[0]);
    zmsg_t *payload = zmsg_new ();
    for (size_t index = 0; index < count; index++) {
        zframe_t *frame = zframe_new (NULL, sizes[index]);
        for (size_t at = 0; at < sizes[index]; at++)
            zframe_data (frame)[at] = (byte) (at * 31 + index);
        zmsg_append (payload, &frame);
    }
    zmsg_t *copy = zmsg_dup (payload);
    ps_envelope_t envelope = {.type = PS_MSG_JOB, .kind = PS_KIND_STAGE, .id = 7};
    ck_assert_int_eq (ps_sink_send (&sink, &envelope, &payload, 0), 0);
    ck_assert_ptr_null (payload);
    ps_dispatch_seat_t *seat = ps_dispatch_seat_new (dispatch);
    zmsg_t *job = s_next (seat);
    ck_assert_uint_eq (zmsg_size (job), count + 1);
    zmsg_first (job);
    zframe_t *got = zmsg_next (job);  //  after the envelope
    for (zframe_t *want = zmsg_first (copy); want; want = zmsg_next (copy)) {
        ck_assert_ptr_nonnull (got);
        ck_assert_msg (zframe_eq (got, want), "a frame of %zu bytes came as %zu",
                       zframe_size (want), zframe_size (got));
        got = zmsg_next (job);
    }
    ck_assert_uint_eq (s_id (&job), 7);
    //  the same again, left queued: freed with the dispatch
    ck_assert_int_eq (ps_sink_send (&sink, &envelope, &copy, 0), 0);
    ps_dispatch_seat_destroy (&seat);
    ps_dispatch_destroy (&dispatch);
}
END_TEST

//  A server's loopback seat reads parts as libzmq messages: small ones
//  copied out of the block, large ones handed over without a copy (a
//  pooled stream part stays the pool's until the server closes it), parts
//  past the caller's room dropped but counted.
static void
s_note_free (void *data, void *hint)
{
    (void) data;
    (*(int *) hint)++;
}

START_TEST (test_parts)
{
    ps_dispatch_t *dispatch = ps_dispatch_new ("inproc://p-up", "inproc://p-down", 4, NULL, NULL);
    ps_sink_t sink = {.dispatch = dispatch};
    ps_dispatch_seat_t *seat = ps_dispatch_seat_new (dispatch);
    size_t count;
    zmq_msg_t parts[3];
    ck_assert (!s_next_parts (seat, parts, 3, &count));

    //  [envelope][a large message of our own]: the same bytes, not a copy
    static byte large[10000];
    for (size_t at = 0; at < sizeof large; at++)
        large[at] = (byte) (at * 7);
    int freed = 0;
    zmq_msg_t data;
    zmq_msg_init_data (&data, large, sizeof large, s_note_free, &freed);
    ps_envelope_t envelope = {.type = PS_MSG_PART, .kind = PS_KIND_HTTP, .id = 9};
    ck_assert_int_eq (ps_sink_send_msg (&sink, &envelope, &data, 0), 0);
    //  and a small one, copied
    zmq_msg_init_size (&data, 5);
    memcpy (zmq_msg_data (&data), "hello", 5);
    envelope.id = 10;
    ck_assert_int_eq (ps_sink_send_msg (&sink, &envelope, &data, 0), 0);

    ck_assert (s_next_parts (seat, parts, 3, &count));
    ck_assert_uint_eq (count, 2);
    ps_envelope_t got;
    zframe_t *head = zframe_new (zmq_msg_data (&parts[0]), zmq_msg_size (&parts[0]));
    ck_assert_int_eq (ps_envelope_decode (head, &got), 0);
    zframe_destroy (&head);
    ck_assert_uint_eq (got.type, PS_MSG_PART);
    ck_assert_uint_eq (got.id, 9);
    ck_assert_ptr_eq (zmq_msg_data (&parts[1]), large);
    ck_assert_uint_eq (zmq_msg_size (&parts[1]), sizeof large);
    ck_assert_int_eq (freed, 0);
    zmq_msg_close (&parts[0]);
    zmq_msg_close (&parts[1]);
    ck_assert_int_eq (freed, 1);

    ck_assert (s_next_parts (seat, parts, 3, &count));
    ck_assert_uint_eq (count, 2);
    ck_assert_uint_eq (zmq_msg_size (&parts[1]), 5);
    ck_assert_mem_eq (zmq_msg_data (&parts[1]), "hello", 5);
    zmq_msg_close (&parts[0]);
    zmq_msg_close (&parts[1]);

    //  A job of 6 frames, one of them large, into room for 3
    zmsg_t *payload = zmsg_new ();
    size_t sizes[] = {3, 5000, 0, 8, 6000};
    for (size_t index = 0; index < 5; index++) {
        zframe_t *frame = zframe_new (NULL, sizes[index]);
        memset (zframe_data (frame), 'a' + (int) index, sizes[index]);
        zmsg_append (payload, &frame);
    }
    envelope = (ps_envelope_t){.type = PS_MSG_RESULT, .status = 200, .id = 11};
    ck_assert_int_eq (ps_sink_send (&sink, &envelope, &payload, 0), 0);
    ck_assert (s_next_parts (seat, parts, 3, &count));
    ck_assert_uint_eq (count, 6);
    ck_assert_uint_eq (zmq_msg_size (&parts[1]), 3);
    ck_assert_mem_eq (zmq_msg_data (&parts[1]), "aaa", 3);
    ck_assert_uint_eq (zmq_msg_size (&parts[2]), 5000);
    for (size_t at = 0; at < 5000; at++)
        ck_assert_int_eq (((byte *) zmq_msg_data (&parts[2]))[at], 'b');
    for (size_t index = 0; index < 3; index++)
        zmq_msg_close (&parts[index]);
    ck_assert (!s_next_parts (seat, parts, 3, &count));

    //  Left queued, a large message is released with the dispatch
    zmq_msg_init_data (&data, large, sizeof large, s_note_free, &freed);
    ck_assert_int_eq (ps_sink_send_msg (&sink, &envelope, &data, 0), 0);
    ps_dispatch_seat_destroy (&seat);
    ck_assert_int_eq (freed, 1);
    ps_dispatch_destroy (&dispatch);
    ck_assert_int_eq (freed, 2);
}
END_TEST

//  Many senders and workers at once, workers sleeping in poll(2) on their
//  fds as ps_worker does: every job arrives exactly once.
#define S_SENDERS 3
#define S_WORKERS 3
#define S_JOBS    20000  //  per sender

typedef struct {
    ps_dispatch_t *dispatch;
    size_t index;
    uint64_t sum;
    uint64_t count;
    _Atomic bool *done;
} s_party_t;

static void *
s_sender (void *arg)
{
    s_party_t *party = (s_party_t *) arg;
    for (uint64_t i = 1; i <= S_JOBS; i++) {
        zmsg_t *job = s_job (party->index * S_JOBS + i);
        ck_assert_int_eq (ps_dispatch_submit (party->dispatch, &job, 10000), 0);
    }
    return NULL;
}

static void *
s_worker (void *arg)
{
    s_party_t *party = (s_party_t *) arg;
    ps_dispatch_seat_t *seat = ps_dispatch_seat_new (party->dispatch);
    int64_t deadline = zclock_mono () + 30000;
    while (zclock_mono () < deadline) {
        //  Read before looking: done is set after the last submit, so an
        //  empty look after it means nothing more will come to us
        bool finished = *party->done;
        zmsg_t *job = s_next (seat);
        if (job) {
            party->sum += s_id (&job);
            party->count++;
            continue;
        }
        if (finished)
            break;
        s_readable (seat, 10);  //  the timeout only to look at done
    }
    ps_dispatch_seat_destroy (&seat);
    return NULL;
}

//  A worker reads a job's frames where the sender put them, and builds a
//  zmsg of them only when asked; a sender sends bytes it holds, with no
//  zmsg, to a dispatch or a socket alike.
START_TEST (test_spans)
{
    ps_dispatch_t *dispatch = ps_dispatch_new ("inproc://s-up", "inproc://s-down", 4, NULL, NULL);
    ps_sink_t sink = {.dispatch = dispatch};
    ps_dispatch_seat_t *seat = ps_dispatch_seat_new (dispatch);
    ck_assert_ptr_null (ps_dispatch_next_job (seat));

    static char big[5000];
    memset (big, 'x', sizeof big);
    ps_span_t frames[] = {{"abc", 3}, {NULL, 0}, {big, sizeof big}};
    ps_envelope_t envelope = {.type = PS_MSG_JOB, .kind = PS_KIND_HTTP, .id = 21};
    ck_assert_int_eq (ps_sink_send_spans (&sink, &envelope, frames, 3, 0), 0);
    ps_dispatch_job_t *job = ps_dispatch_next_job (seat);
    ck_assert_ptr_nonnull (job);
    ps_span_t seen[8];
    ck_assert_uint_eq (ps_dispatch_job_frames (job, seen, 8), 4);
    byte head[PS_ENVELOPE_SIZE];
    ps_envelope_pack (&envelope, head);
    ck_assert_uint_eq (seen[0].size, PS_ENVELOPE_SIZE);
    ck_assert_mem_eq (seen[0].data, head, PS_ENVELOPE_SIZE);
    ck_assert_uint_eq (seen[1].size, 3);
    ck_assert_mem_eq (seen[1].data, "abc", 3);
    ck_assert_uint_eq (seen[2].size, 0);
    ck_assert_uint_eq (seen[3].size, sizeof big);
    ck_assert_mem_eq (seen[3].data, big, sizeof big);
    ck_assert_ptr_ne (seen[3].data, big);  //  copied: the sender's buffer is its own
    //  Fewer asked for than there are: the count is still the whole
    ck_assert_uint_eq (ps_dispatch_job_frames (job, seen, 2), 4);
    //  The payload as a zmsg, the envelope left out
    zmsg_t *msg = ps_dispatch_job_msg (job, 1);
    ck_assert_uint_eq (zmsg_size (msg), 3);
    ck_assert (zframe_streq (zmsg_first (msg), "abc"));
    ck_assert_uint_eq (zframe_size (zmsg_next (msg)), 0);
    zframe_t *last = zmsg_next (msg);
    ck_assert_uint_eq (zframe_size (last), sizeof big);
    ck_assert_mem_eq (zframe_data (last), big, sizeof big);
    zmsg_destroy (&msg);
    ps_dispatch_job_destroy (&job);
    ck_assert_ptr_null (job);

    //  A large frame sent as a zmsg travels moved: the span of it is its
    //  data, and stays so once the zmsg made of the job holds it
    zmsg_t *payload = zmsg_new ();
    zmsg_addmem (payload, big, sizeof big);
    const void *moved = zframe_data (zmsg_first (payload));
    ck_assert_int_eq (ps_sink_send (&sink, &envelope, &payload, 0), 0);
    job = ps_dispatch_next_job (seat);
    ck_assert_uint_eq (ps_dispatch_job_frames (job, seen, 8), 2);
    ck_assert_ptr_eq (seen[1].data, moved);
    msg = ps_dispatch_job_msg (job, 0);
    ck_assert_uint_eq (zmsg_size (msg), 2);
    ck_assert_ptr_eq (zframe_data (zmsg_last (msg)), moved);
    ps_dispatch_job_destroy (&job);
    ck_assert_mem_eq (zframe_data (zmsg_last (msg)), big, sizeof big);
    zmsg_destroy (&msg);
    ps_dispatch_seat_destroy (&seat);
    ps_dispatch_destroy (&dispatch);

    //  To a socket: the same message a zmsg would have made, and an
    //  envelope alone when there are no frames
    zsock_t *pull = zsock_new_pull ("inproc://s-socket");
    zsock_t *push = zsock_new_push (">inproc://s-socket");
    ps_sink_t socket_sink = {.handle = zsock_resolve (push)};
    ck_assert_int_eq (ps_sink_send_spans (&socket_sink, &envelope, frames, 3, 0), 0);
    ck_assert_int_eq (ps_sink_send_spans (&socket_sink, &envelope, NULL, 0, 0), 0);
    msg = zmsg_recv (pull);
    ck_assert_uint_eq (zmsg_size (msg), 4);
    ps_envelope_t got;
    ck_assert_int_eq (ps_envelope_decode (zmsg_first (msg), &got), 0);
    ck_assert_uint_eq (got.id, 21);
    ck_assert (zframe_streq (zmsg_next (msg), "abc"));
    ck_assert_uint_eq (zframe_size (zmsg_next (msg)), 0);
    ck_assert_uint_eq (zframe_size (zmsg_next (msg)), sizeof big);
    zmsg_destroy (&msg);
    msg = zmsg_recv (pull);
    ck_assert_uint_eq (zmsg_size (msg), 1);
    ck_assert_int_eq (ps_envelope_decode (zmsg_first (msg), &got), 0);
    zmsg_destroy (&msg);
    zsock_destroy (&push);
    zsock_destroy (&pull);
}
END_TEST

//  A seat that drains many per wake-up takes the handed job and then the
//  queued ones in order, in one call, and goes idle only when none is left.
START_TEST (test_batch)
{
    ps_dispatch_t *dispatch = ps_dispatch_new ("inproc://b-up", "inproc://b-down", 8, NULL, NULL);
    ps_dispatch_seat_t *seat = ps_dispatch_seat_new (dispatch);
    ps_dispatch_job_t *jobs[8];
    ck_assert_uint_eq (ps_dispatch_next_batch (seat, jobs, 8), 0);  //  idle now
    for (uint64_t id = 1; id <= 4; id++) {
        zmsg_t *job = s_job (id);
        ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 0), 0);
    }
    ck_assert (s_readable (seat, 0));  //  1 was handed to it, 2 to 4 queued
    ps_dispatch_stats_t stats;
    ps_dispatch_stats (dispatch, &stats);
    ck_assert_uint_eq (stats.queued, 3);
    ck_assert_uint_eq (ps_dispatch_next_batch (seat, jobs, 3), 3);
    ck_assert_uint_eq (ps_dispatch_next_batch (seat, jobs + 3, 8), 1);
    for (uint64_t id = 1; id <= 4; id++) {
        zmq_msg_t parts[2];
        ck_assert_uint_eq (ps_dispatch_job_take_parts (&jobs[id - 1], parts, 2), 2);
        ck_assert_ptr_null (jobs[id - 1]);
        ps_envelope_t envelope;
        zframe_t *head = zframe_new (zmq_msg_data (&parts[0]), zmq_msg_size (&parts[0]));
        ck_assert_int_eq (ps_envelope_decode (head, &envelope), 0);
        zframe_destroy (&head);
        ck_assert_uint_eq (envelope.id, id);
        ck_assert_uint_eq (zmq_msg_size (&parts[1]), 7);
        ck_assert_mem_eq (zmq_msg_data (&parts[1]), "payload", 7);
        zmq_msg_close (&parts[0]);
        zmq_msg_close (&parts[1]);
    }
    ps_dispatch_stats (dispatch, &stats);
    ck_assert_uint_eq (stats.queued, 0);
    ck_assert_uint_eq (stats.jobs, 4);
    ck_assert_uint_eq (stats.idle, 0);
    ck_assert_uint_eq (ps_dispatch_next_batch (seat, jobs, 8), 0);
    ps_dispatch_stats (dispatch, &stats);
    ck_assert_uint_eq (stats.idle, 1);
    ck_assert (!s_readable (seat, 0));
    zmsg_t *job = s_job (5);
    ck_assert_int_eq (ps_dispatch_submit (dispatch, &job, 0), 0);
    ck_assert (s_readable (seat, 0));  //  handed, not queued
    ck_assert_uint_eq (ps_dispatch_next_batch (seat, jobs, 8), 1);
    ps_dispatch_job_destroy (&jobs[0]);
    ps_dispatch_seat_destroy (&seat);
    ps_dispatch_destroy (&dispatch);
}
END_TEST

START_TEST (test_threads)
{
    //  A small queue, so senders also wait for room
    ps_dispatch_t *dispatch = ps_dispatch_new ("inproc://m-up", "inproc://m-down", 64, NULL, NULL);
    _Atomic bool done = false;
    s_party_t senders[S_SENDERS], workers[S_WORKERS];
    pthread_t sender_threads[S_SENDERS], worker_threads[S_WORKERS];
    for (size_t i = 0; i < S_WORKERS; i++) {
        workers[i] = (s_party_t){.dispatch = dispatch, .done = &done};
        pthread_create (&worker_threads[i], NULL, s_worker, &workers[i]);
    }
    for (size_t i = 0; i < S_SENDERS; i++) {
        senders[i] = (s_party_t){.dispatch = dispatch, .index = i, .done = &done};
        pthread_create (&sender_threads[i], NULL, s_sender, &senders[i]);
    }
    for (size_t i = 0; i < S_SENDERS; i++)
        pthread_join (sender_threads[i], NULL);
    done = true;
    uint64_t sum = 0, count = 0;
    for (size_t i = 0; i < S_WORKERS; i++) {
        pthread_join (worker_threads[i], NULL);
        sum += workers[i].sum;
        count += workers[i].count;
    }
    uint64_t total = (uint64_t) S_SENDERS * S_JOBS;
    ck_assert_uint_eq (count, total);
    ck_assert_uint_eq (sum, total * (total + 1) / 2);
    ps_dispatch_stats_t stats;
    ps_dispatch_stats (dispatch, &stats);
    ck_assert_uint_eq (stats.jobs, total);
    ck_assert_uint_eq (stats.queued, 0);
    ps_dispatch_destroy (&dispatch);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("ps_dispatch");
    TCase *tcase = tcase_create ("dispatch");
    tcase_set_timeout (tcase, 60);
    tcase_add_test (tcase, test_registry);
    tcase_add_test (tcase, test_latest_idle_first);
    tcase_add_test (tcase, test_leaving_worker);
    tcase_add_test (tcase, test_bound);
    tcase_add_test (tcase, test_sink_send);
    tcase_add_test (tcase, test_frames_intact);
    tcase_add_test (tcase, test_parts);
    tcase_add_test (tcase, test_spans);
    tcase_add_test (tcase, test_batch);
    tcase_add_test (tcase, test_threads);
    suite_add_tcase (suite, tcase);
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? 1 : 0;
}
