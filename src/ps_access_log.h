/*  ps_access_log: the server's access log, one line per answer in the
    Combined Log Format with the duration appended. Not installed.

        127.0.0.1 - - [04/Dec/2026:08:20:00 +0000] "GET /a HTTP/1.1" 200 154 "-" "curl/8" 0.000412

    Fields: the client's address, identity and user (always "-"), the local
    time the answer was written, the request line, the status (499: the
    client left before its answer), the bytes of the response (headers
    included), the Referer and User-Agent headers, and the seconds from
    the request's arrival to its answer. Quoted fields have '"', '\' and
    bytes outside printable ASCII escaped as \xHH, so a line is always one
    line.

    Lines are buffered and written at most ACCESS_LOG_FLUSH_MS after the
    first of them (or when the buffer is full), so a busy server makes one
    write per batch; ps_access_log_reopen writes what is buffered, then
    opens the path again (logrotate's move-then-signal convention).
*/
#ifndef PS_ACCESS_LOG_H_INCLUDED
#define PS_ACCESS_LOG_H_INCLUDED

#include <czmq.h>
#include <stdint.h>
#include <time.h>

#define PS_ACCESS_LOG_FLUSH_MS 200

typedef struct _ps_access_log_t ps_access_log_t;

//  Appends to path, or writes to stdout for "-". NULL, with a logged
//  reason, if the file cannot be opened.
ps_access_log_t *ps_access_log_new (const char *path);

//  Writes what is buffered and closes. Accepts NULL.
void ps_access_log_destroy (ps_access_log_t **self_p);

//  The quoted request-line field ("\"GET /a HTTP/1.1\"", escaped) and the
//  quoted referer and user agent ("\"-\" \"curl/8\""), for a request kept
//  until its answer. Caller owns both strings.
char *ps_access_log_request (const char *method, const char *target, int version);
char *ps_access_log_headers (const char *referer, const char *agent);

//  One line. request and headers as made above (NULL: "-" fields); wall
//  is the time of the answer; duration_us from arrival; now (zclock_mono)
//  starts the flush clock.
void ps_access_log_line (ps_access_log_t *self, const char *client, const char *request, int status,
                         size_t bytes, const char *headers, time_t wall, int64_t duration_us,
                         int64_t now);

//  Writes what is buffered if it is due at now; returns the next deadline
//  (INT64_MAX if nothing is buffered).
int64_t ps_access_log_tick (ps_access_log_t *self, int64_t now);

//  Writes what is buffered.
void ps_access_log_flush (ps_access_log_t *self);

//  Writes what is buffered, then opens the path again. Returns 0, or -1
//  (logged) if it cannot be opened: lines then go to the old file.
int ps_access_log_reopen (ps_access_log_t *self);

#endif
