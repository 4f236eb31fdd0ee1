/*  ps_client: a batch HTTP client over real TCP connections.

    One thread, plain POSIX sockets and poll(2): the client is what the
    benchmarks measure the server with, so it must cost little. Each of the
    `connections` keep-alive connections pipelines requests; a request is
    kept (its chunk) until its response arrives, so that when a server closes
    a connection the requests it did not answer at all can be sent again on a
    new one. Requests go to the least loaded connection; every request gets a
    sequence number, and a response that arrives before those of earlier
    requests (on another connection) waits in a slot until its turn, so the
    callback sees responses in exactly the order the requests were produced.
    At most max_in_flight requests are produced and not yet delivered, which
    also bounds the slots.
*/
#include "prime_server/prime_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define S_READ_SIZE 65536
#define S_MAX_IOV   64
//  Responses larger than this are a malformed stream for our purposes
#define S_MAX_BODY (256 * 1024 * 1024)
//  A server that closes this many new connections in a row without
//  answering anything is not going to answer
#define S_MAX_FRUITLESS 3

void
ps_client_config_defaults (ps_client_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof *config);
    config->host = "127.0.0.1";
    config->port = 80;
    config->connections = 1;
    config->max_in_flight = 64;
    config->timeout_ms = 10000;
}

typedef struct {
    zchunk_t *request;  //  kept until answered, to send again after a close
    size_t seq;
    bool head;
} s_entry_t;

//  The requests of a connection and the responses waiting to be delivered
//  in order are fixed windows of max_in_flight entries, allocated once at
//  start: the writer walks a connection's entries by position (written,
//  offset) and the reorder buffer is indexed by sequence number, which a
//  list (zlistx) cannot do; nothing is allocated per request.
typedef struct {
    int fd;                       //  -1 while closed
    bool connecting;              //  non-blocking connect under way
    bool closing;                 //  no more answers will come on this socket
    const struct addrinfo *addr;  //  address in use
    s_entry_t *ring;              //  requests sent or to send, oldest first
    size_t head;
    size_t count;
    size_t written;  //  entries from head fully written
    size_t offset;   //  bytes written of the next entry
    ps_http_response_parser_t *parser;
    size_t answered;  //  responses on this socket
    int fruitless;    //  sockets in a row closed without answers
} s_conn_t;

typedef struct {
    const ps_client_config_t *config;
    struct addrinfo *addrs;
    s_conn_t *conns;
    size_t capacity;             //  max_in_flight: ring and slot size
    ps_http_response_t **slots;  //  early responses, by seq % capacity
    size_t next_seq;             //  sequence of the next request produced
    size_t next_deliver;         //  sequence of the next response delivered
    bool exhausted;              //  the request function said no more
    long delivered;
    char *buffer;
    int64_t last_progress;
    bool failed;
} s_client_t;

static int
s_fail (s_client_t *self, const char *what, const char *detail)
{
    if (!self->failed)
        zsys_error ("ps_client: %s:%d: %s%s%s", self->config->host, self->config->port, what,
                    detail ? ": " : "", detail ? detail : "");
    self->failed = true;
    return -1;
}

static s_entry_t *
s_entry_at (s_client_t *self, s_conn_t *conn, size_t index)
{
    return &conn->ring[(conn->head + index) % self->capacity];
}

//  ---------------------------------------------------------------------
//  Delivery in production order

static void
s_deliver (s_client_t *self, size_t seq, ps_http_response_t *response)
{
    if (seq != self->next_deliver) {
        assert (!self->slots[seq % self->capacity]);
        self->slots[seq % self->capacity] = response;
        return;
    }
    while (response) {
        if (self->config->response)
            self->config->response (response, self->config->arg);
        ps_http_response_destroy (&response);
        self->delivered++;
        self->next_deliver++;
        ps_http_response_t **slot = &self->slots[self->next_deliver % self->capacity];
        if (self->next_deliver < self->next_seq && *slot) {
            response = *slot;
            *slot = NULL;
        }
    }
}

//  ---------------------------------------------------------------------
//  Connections

static void
s_conn_close (s_conn_t *conn)
{
    if (conn->fd >= 0)
        close (conn->fd);
    conn->fd = -1;
    conn->connecting = false;
    conn->closing = false;
    ps_http_response_parser_destroy (&conn->parser);
}

//  Start a connection from addr on; a failure here moves to the next address
static int
s_conn_open (s_client_t *self, s_conn_t *conn, const struct addrinfo *addr)
{
    assert (conn->fd < 0);
    int error = 0;
    for (; addr; addr = addr->ai_next) {
        int fd = socket (addr->ai_family, addr->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                         addr->ai_protocol);
        if (fd < 0) {
            error = errno;
            continue;
        }
        int one = 1;
        //  Pipelined small requests must not wait for Nagle
        setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int rc = connect (fd, addr->ai_addr, addr->ai_addrlen);
        if (rc == 0 || errno == EINPROGRESS) {
            conn->fd = fd;
            conn->connecting = rc != 0;
            conn->addr = addr;
            break;
        }
        error = errno;
        close (fd);
    }
    if (conn->fd < 0)
        return s_fail (self, "cannot connect", strerror (error));
    //  A new socket: everything still queued is sent again from the start,
    //  and its parser learns which of those are HEAD requests
    conn->parser = ps_http_response_parser_new (S_MAX_BODY);
    conn->written = 0;
    conn->offset = 0;
    conn->answered = 0;
    for (size_t i = 0; i < conn->count; i++)
        ps_http_response_parser_expect (conn->parser, s_entry_at (self, conn, i)->head);
    return 0;
}

static int
s_conn_connected (s_client_t *self, s_conn_t *conn)
{
    int error = 0;
    socklen_t size = sizeof error;
    if (getsockopt (conn->fd, SOL_SOCKET, SO_ERROR, &error, &size) == -1)
        error = errno;
    if (error == 0) {
        conn->connecting = false;
        self->last_progress = zclock_mono ();
        return 0;
    }
    //  Try the next address, if any
    const struct addrinfo *next = conn->addr->ai_next;
    s_conn_close (conn);
    if (!next)
        return s_fail (self, "cannot connect", strerror (error));
    return s_conn_open (self, conn, next);
}

//  The socket is done: deliver what it completed, then send what it left
//  unanswered again on a new socket. A response cut short is an error.
static int
s_conn_reset (s_client_t *self, s_conn_t *conn)
{
    if (ps_http_response_parser_partial (conn->parser))
        return s_fail (self, "connection closed in the middle of a response", NULL);
    if (conn->count && conn->answered == 0) {
        if (++conn->fruitless >= S_MAX_FRUITLESS)
            return s_fail (self, "server keeps closing connections without answering", NULL);
    }
    s_conn_close (conn);
    if (conn->count)
        return s_conn_open (self, conn, self->addrs);
    return 0;
}

//  Hand over the responses the parser completed, oldest request first
static int
s_conn_take (s_client_t *self, s_conn_t *conn)
{
    ps_http_response_t *response;
    while ((response = ps_http_response_parser_next (conn->parser))) {
        if (conn->count == 0) {
            ps_http_response_destroy (&response);
            return s_fail (self, "response without a request", NULL);
        }
        s_entry_t *entry = s_entry_at (self, conn, 0);
        size_t seq = entry->seq;
        zchunk_destroy (&entry->request);
        conn->head = (conn->head + 1) % self->capacity;
        conn->count--;
        if (conn->written)
            conn->written--;
        else {
            //  Answered before it was all sent: the rest of it would be
            //  taken for a new request, so this socket is finished
            conn->offset = 0;
            conn->closing = true;
        }
        conn->answered++;
        conn->fruitless = 0;
        if (!ps_http_response_keep_alive (response))
            conn->closing = true;
        s_deliver (self, seq, response);
    }
    return 0;
}

static int
s_conn_feed (s_client_t *self, s_conn_t *conn, const char *data, size_t size)
{
    if (ps_http_response_parser_feed (conn->parser, data, size) == -1) {
        //  Deliver what was complete before the bad bytes
        s_conn_take (self, conn);
        return s_fail (self, "malformed response", ps_http_response_parser_error (conn->parser));
    }
    return s_conn_take (self, conn);
}

//  Read what is there. Returns -1 on failure, 1 when the socket ended.
static int
s_conn_read (s_client_t *self, s_conn_t *conn)
{
    while (true) {
        ssize_t rc = recv (conn->fd, self->buffer, S_READ_SIZE, 0);
        if (rc > 0) {
            self->last_progress = zclock_mono ();
            if (s_conn_feed (self, conn, self->buffer, (size_t) rc))
                return -1;
            if (conn->closing)
                return 1;
            if (rc < S_READ_SIZE)
                return 0;
            continue;
        }
        if (rc == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            //  The peer closed (or reset): that may end a response
            if (s_conn_feed (self, conn, NULL, 0))
                return -1;
            return 1;
        }
        if (errno != EINTR)
            return 0;
    }
}

//  Write as much as the socket takes. Returns -1 on failure, 1 when the
//  socket ended.
static int
s_conn_write (s_client_t *self, s_conn_t *conn)
{
    while (conn->written < conn->count) {
        struct iovec iov[S_MAX_IOV];
        int count = 0;
        for (size_t i = conn->written; i < conn->count && count < S_MAX_IOV; i++) {
            s_entry_t *entry = s_entry_at (self, conn, i);
            size_t skip = i == conn->written ? conn->offset : 0;
            iov[count].iov_base = zchunk_data (entry->request) + skip;
            iov[count].iov_len = zchunk_size (entry->request) - skip;
            count++;
        }
        struct msghdr msg = {0};
        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t) count;
        ssize_t rc = sendmsg (conn->fd, &msg, MSG_NOSIGNAL);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            //  The server went away; answers may still wait to be read
            int ended = s_conn_read (self, conn);
            return ended < 0 ? -1 : 1;
        }
        self->last_progress = zclock_mono ();
        size_t sent = (size_t) rc;
        while (sent) {
            s_entry_t *entry = s_entry_at (self, conn, conn->written);
            size_t left = zchunk_size (entry->request) - conn->offset;
            if (sent >= left) {
                sent -= left;
                conn->written++;
                conn->offset = 0;
            }
            else {
                conn->offset += sent;
                sent = 0;
            }
        }
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  The run

static int
s_produce (s_client_t *self)
{
    const ps_client_config_t *config = self->config;
    while (!self->exhausted && self->next_seq - self->next_deliver < self->capacity) {
        zchunk_t *request = NULL;
        bool head = false;
        if (config->request (&request, &head, config->arg) != 0) {
            self->exhausted = true;
            zchunk_destroy (&request);
            break;
        }
        assert (request);
        assert (zchunk_size (request) > 0);
        s_conn_t *conn = &self->conns[0];
        for (size_t i = 1; i < config->connections; i++)
            if (self->conns[i].count < conn->count)
                conn = &self->conns[i];
        assert (conn->count < self->capacity);
        s_entry_t *entry = s_entry_at (self, conn, conn->count);
        entry->request = request;
        entry->seq = self->next_seq++;
        entry->head = head;
        conn->count++;
        if (conn->fd < 0) {
            if (s_conn_open (self, conn, self->addrs))
                return -1;
        }
        else
            ps_http_response_parser_expect (conn->parser, head);
    }
    return 0;
}

static int
s_resolve (s_client_t *self)
{
    struct addrinfo hints;
    memset (&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port[16];
    snprintf (port, sizeof port, "%d", self->config->port);
    int rc = getaddrinfo (self->config->host, port, &hints, &self->addrs);
    if (rc != 0) {
        self->addrs = NULL;
        return s_fail (self, "cannot resolve", gai_strerror (rc));
    }
    return 0;
}

static int
s_run (s_client_t *self)
{
    const ps_client_config_t *config = self->config;
    size_t nconns = config->connections;
    struct pollfd *fds = (struct pollfd *) calloc (nconns, sizeof *fds);
    size_t *index = (size_t *) calloc (nconns, sizeof *index);
    assert (fds && index);
    int rc = 0;
    self->last_progress = zclock_mono ();

    while (true) {
        if (s_produce (self)) {
            rc = -1;
            break;
        }
        if (self->exhausted && self->next_deliver == self->next_seq)
            break;
        //  Send what was just produced without waiting for poll
        size_t npoll = 0;
        for (size_t i = 0; i < nconns && rc == 0; i++) {
            s_conn_t *conn = &self->conns[i];
            if (conn->fd >= 0 && !conn->connecting && conn->written < conn->count) {
                int ended = s_conn_write (self, conn);
                if (ended == 1)
                    ended = s_conn_reset (self, conn);
                if (ended < 0)
                    rc = -1;
            }
            if (conn->fd < 0)
                continue;
            fds[npoll].fd = conn->fd;
            fds[npoll].events = POLLIN;
            if (conn->connecting || conn->written < conn->count)
                fds[npoll].events |= POLLOUT;
            fds[npoll].revents = 0;
            index[npoll++] = i;
        }
        if (rc)
            break;
        if (npoll == 0)
            continue;  //  sockets were reset and reopened, or nothing to wait for

        int64_t wait = self->last_progress + config->timeout_ms - zclock_mono ();
        if (wait <= 0) {
            zsys_error ("ps_client: %s:%d: no progress for %d ms, %zu responses outstanding",
                        config->host, config->port, config->timeout_ms,
                        self->next_seq - self->next_deliver);
            rc = -1;
            break;
        }
        int ready = poll (fds, (nfds_t) npoll, (int) wait);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            rc = s_fail (self, "poll failed", strerror (errno));
            break;
        }
        for (size_t k = 0; k < npoll && rc == 0; k++) {
            if (!fds[k].revents)
                continue;
            s_conn_t *conn = &self->conns[index[k]];
            if (conn->fd != fds[k].fd)
                continue;
            if (conn->connecting) {
                rc = s_conn_connected (self, conn);
                continue;  //  writes happen at the top of the loop
            }
            int ended = 0;
            if (fds[k].revents & (POLLIN | POLLHUP | POLLERR))
                ended = s_conn_read (self, conn);
            if (ended == 0 && (fds[k].revents & POLLOUT))
                ended = s_conn_write (self, conn);
            if (ended == 1)
                ended = s_conn_reset (self, conn);
            if (ended < 0)
                rc = -1;
        }
        if (rc)
            break;
    }
    free (fds);
    free (index);
    return rc;
}

long
ps_client_run (const ps_client_config_t *config)
{
    assert (config);
    assert (config->request);
    assert (config->host);
    assert (config->connections > 0);
    assert (config->max_in_flight > 0);
    assert (config->timeout_ms > 0);

    s_client_t self;
    memset (&self, 0, sizeof self);
    self.config = config;
    self.capacity = config->max_in_flight;
    self.conns = (s_conn_t *) calloc (config->connections, sizeof (s_conn_t));
    self.slots = (ps_http_response_t **) calloc (self.capacity, sizeof (ps_http_response_t *));
    self.buffer = (char *) malloc (S_READ_SIZE);
    assert (self.conns && self.slots && self.buffer);
    for (size_t i = 0; i < config->connections; i++) {
        self.conns[i].fd = -1;
        self.conns[i].ring = (s_entry_t *) calloc (self.capacity, sizeof (s_entry_t));
        assert (self.conns[i].ring);
    }

    int rc = s_resolve (&self);
    if (rc == 0)
        rc = s_run (&self);

    for (size_t i = 0; i < config->connections; i++) {
        s_conn_t *conn = &self.conns[i];
        s_conn_close (conn);
        for (size_t k = 0; k < conn->count; k++)
            zchunk_destroy (&s_entry_at (&self, conn, k)->request);
        free (conn->ring);
    }
    for (size_t i = 0; i < self.capacity; i++)
        ps_http_response_destroy (&self.slots[i]);
    free (self.conns);
    free (self.slots);
    free (self.buffer);
    if (self.addrs)
        freeaddrinfo (self.addrs);
    return rc ? -1 : self.delivered;
}
