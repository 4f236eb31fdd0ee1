/*  bench_stream_floor: what a ZMQ_STREAM front costs before it does
    anything, for bench_cost.sh and bench_prime_serverd.sh to measure
    beside prime_serverd and nginx.

        bench_stream_floor PORT

    One application thread and libzmq's one I/O thread; a STREAM socket on
    127.0.0.1:PORT answers every request with a fixed 200, at once, from the
    thread that read it. No HTTP parser, no request table, no pipeline and
    no hand-off but libzmq's own: the blocking zmq_msg_recv sleeps in
    libzmq's mailbox, the cheapest way to wait there is. So its CPU,
    switches and syscalls per request are a floor for any server whose
    front is a ZMQ_STREAM socket, prime_server's included.

    A request is taken to end at its blank line ("\r\n\r\n" in one read):
    ab's GETs arrive whole, which is all this is for. It is a bench
    program, not a server: a request split across reads goes unanswered.
    Serves until SIGTERM or SIGINT.
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

//  The cheap request's answer, as prime_serverd and bench_cost's nginx give it
#define S_BODY "{\"possible_prime\":7,\"is_prime\":true}"
static const char s_answer[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: application/json\r\n"
                               "Content-Length: 36\r\n"
                               "Connection: keep-alive\r\n"
                               "\r\n" S_BODY;
_Static_assert (sizeof S_BODY - 1 == 36, "Content-Length is the body's");

static volatile sig_atomic_t s_stop = 0;

static void
s_on_signal (int signum)
{
    (void) signum;
    s_stop = 1;
}

//  How many requests end in these bytes
static int
s_requests_in (const char *data, size_t size)
{
    int count = 0;
    const char *end = data + size;
    while (data < end) {
        const char *blank = memmem (data, (size_t) (end - data), "\r\n\r\n", 4);
        if (!blank)
            break;
        count++;
        data = blank + 4;
    }
    return count;
}

int
main (int argc, char **argv)
{
    char *rest = NULL;
    long port = argc == 2 ? strtol (argv[1], &rest, 10) : 0;
    if (argc != 2 || *rest || port < 1 || port > 65535) {
        fprintf (stderr, "usage: bench_stream_floor PORT (1..65535)\n");
        return 2;
    }
    struct sigaction action = {.sa_handler = s_on_signal};  //  no SA_RESTART: recv returns
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);

    void *context = zmq_ctx_new ();
    void *stream = zmq_socket (context, ZMQ_STREAM);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%ld", port);
    if (zmq_bind (stream, endpoint) != 0) {
        fprintf (stderr, "bench_stream_floor: cannot bind %s: %s\n", endpoint, zmq_strerror (errno));
        zmq_close (stream);
        zmq_ctx_term (context);
        return 1;
    }
    zmq_msg_t id, data;
    zmq_msg_init (&id);
    zmq_msg_init (&data);
    while (!s_stop) {
        if (zmq_msg_recv (&id, stream, 0) < 0 || zmq_msg_recv (&data, stream, 0) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        //  An empty data frame is a connection made or gone: no request
        int count = s_requests_in (zmq_msg_data (&data), zmq_msg_size (&data));
        for (int answer = 0; answer < count; answer++) {
            zmq_send (stream, zmq_msg_data (&id), zmq_msg_size (&id), ZMQ_SNDMORE);
            zmq_send (stream, s_answer, sizeof s_answer - 1, 0);
        }
    }
    zmq_msg_close (&id);
    zmq_msg_close (&data);
    zmq_close (stream);
    zmq_ctx_term (context);
    return 0;
}
