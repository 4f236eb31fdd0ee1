/*  ps_access_log: Combined Log Format lines, buffered (see ps_access_log.h).

    Written with write(2) on a descriptor of our own (O_APPEND), not stdio:
    the server's thread is the only writer, a batch leaves in one call, and
    stdout ("-") is used the same way. The time field is formatted once per
    second, not once per line.
*/
#include "ps_access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

//  Written at once beyond this many bytes.
#define S_BUFFER_MAX 32768

struct _ps_access_log_t {
    char *path;  //  NULL for stdout
    int fd;
    zchunk_t *buffer;
    int64_t deadline;  //  when what is buffered must be written; INT64_MAX: nothing
    time_t stamp_time;
    char stamp[40];  //  "[04/Dec/2026:08:20:00 +0000]" for stamp_time
};

static int
s_open (const char *path)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd == -1)
        zsys_error ("ps_server: cannot open the access log %s: %s", path, strerror (errno));
    return fd;
}

ps_access_log_t *
ps_access_log_new (const char *path)
{
    assert (path);
    int fd = streq (path, "-") ? STDOUT_FILENO : s_open (path);
    if (fd == -1)
        return NULL;
    ps_access_log_t *self = (ps_access_log_t *) zmalloc (sizeof (ps_access_log_t));
    assert (self);
    self->path = streq (path, "-") ? NULL : strdup (path);
    self->fd = fd;
    self->buffer = zchunk_new (NULL, S_BUFFER_MAX + 1024);
    assert (self->buffer);
    self->deadline = INT64_MAX;
    self->stamp_time = -1;
    return self;
}

void
ps_access_log_flush (ps_access_log_t *self)
{
    assert (self);
    const byte *data = zchunk_data (self->buffer);
    size_t size = zchunk_size (self->buffer);
    while (size > 0) {
        ssize_t rc = write (self->fd, data, size);
        if (rc == -1 && errno == EINTR)
            continue;
        if (rc <= 0) {
            //  A full disk or a closed pipe: the lines are lost, the
            //  server goes on.
            zsys_warning ("ps_server: access log write failed: %s", strerror (errno));
            break;
        }
        data += rc;
        size -= (size_t) rc;
    }
    zchunk_set (self->buffer, NULL, 0);
    self->deadline = INT64_MAX;
}

void
ps_access_log_destroy (ps_access_log_t **self_p)
{
    assert (self_p);
    ps_access_log_t *self = *self_p;
    if (!self)
        return;
    ps_access_log_flush (self);
    if (self->path)
        close (self->fd);
    free (self->path);
    zchunk_destroy (&self->buffer);
    free (self);
    *self_p = NULL;
}

int
ps_access_log_reopen (ps_access_log_t *self)
{
    assert (self);
    ps_access_log_flush (self);
    if (!self->path)
        return 0;  //  stdout stays stdout
    int fd = s_open (self->path);
    if (fd == -1)
        return -1;
    close (self->fd);
    self->fd = fd;
    return 0;
}

//  Appends text as a quoted field, escaped.
static void
s_quoted (zchunk_t *out, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    zchunk_extend (out, "\"", 1);
    if (!text || !*text)
        text = "-";
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            zchunk_extend (out, p, 1);
        else {
            char escape[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
            zchunk_extend (out, escape, 4);
        }
    }
    zchunk_extend (out, "\"", 1);
}

static char *
s_take (zchunk_t **chunk_p)
{
    zchunk_t *chunk = *chunk_p;
    zchunk_extend (chunk, "", 1);
    char *text = strdup ((const char *) zchunk_data (chunk));
    assert (text);
    zchunk_destroy (chunk_p);
    return text;
}

char *
ps_access_log_request (const char *method, const char *target, int version)
{
    assert (method);
    assert (target);
    char *line = zsys_sprintf ("%s %s HTTP/%d.%d", method, target, version / 10, version % 10);
    assert (line);
    zchunk_t *out = zchunk_new (NULL, strlen (line) + 8);
    s_quoted (out, line);
    zstr_free (&line);
    return s_take (&out);
}

char *
ps_access_log_headers (const char *referer, const char *agent)
{
    zchunk_t *out = zchunk_new (NULL, 64);
    s_quoted (out, referer);
    zchunk_extend (out, " ", 1);
    s_quoted (out, agent);
    return s_take (&out);
}

void
ps_access_log_line (ps_access_log_t *self, const char *client, const char *request, int status,
                    size_t bytes, const char *headers, time_t wall, int64_t duration_us,
                    int64_t now)
{
    assert (self);
    if (wall != self->stamp_time) {
        struct tm tm;
        localtime_r (&wall, &tm);
        strftime (self->stamp, sizeof self->stamp, "[%d/%b/%Y:%H:%M:%S %z]", &tm);
        self->stamp_time = wall;
    }
    char line[256];
    int size = snprintf (line, sizeof line, "%s - - %s ", client && *client ? client : "-",
                         self->stamp);
    zchunk_extend (self->buffer, line, (size_t) size);
    if (request)
        zchunk_extend (self->buffer, request, strlen (request));
    else
        zchunk_extend (self->buffer, "\"-\"", 3);
    size = snprintf (line, sizeof line, " %d %zu ", status, bytes);
    zchunk_extend (self->buffer, line, (size_t) size);
    if (headers)
        zchunk_extend (self->buffer, headers, strlen (headers));
    else
        zchunk_extend (self->buffer, "\"-\" \"-\"", 7);
    size = snprintf (line, sizeof line, " %" PRId64 ".%06" PRId64 "\n", duration_us / 1000000,
                     duration_us % 1000000);
    zchunk_extend (self->buffer, line, (size_t) size);
    if (zchunk_size (self->buffer) >= S_BUFFER_MAX)
        ps_access_log_flush (self);
    else if (self->deadline == INT64_MAX)
        self->deadline = now + PS_ACCESS_LOG_FLUSH_MS;
}

int64_t
ps_access_log_tick (ps_access_log_t *self, int64_t now)
{
    assert (self);
    if (now >= self->deadline)
        ps_access_log_flush (self);
    return self->deadline;
}
