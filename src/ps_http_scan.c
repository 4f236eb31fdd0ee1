/*  ps_http_scan: the RFC 9112 line rules llhttp 8.1 lets through (see
    ps_http_scan.h). One memchr per line in the usual case: the rules only
    look at the bytes around each LF, at a line's first byte and, in the
    request line, at each SP.
*/
#include "ps_http_scan.h"
#include "ps_http_private.h"
#include <string.h>

#define S_TCHAR(c) (ps_http_char_class[(unsigned char) (c)] & PS_HTTP_TCHAR)

void
ps_http_scan_reset (ps_http_scan_t *self)
{
    assert (self);
    self->prev_byte = '\n';
    self->line_bytes = self->last_line = self->method_size = 0;
    self->request_line = false;
}

size_t
ps_http_scan_method (ps_http_scan_t *self, const char *data, size_t size, const char **method,
                     size_t *method_size, bool *done, const char **reason)
{
    assert (self && (data || size == 0) && method && method_size && done && reason);
    *method = data;
    *method_size = 0;
    *done = false;
    for (size_t at = 0; at < size; at++) {
        char c = data[at];
        if (self->prev_byte == '\r') {
            if (c != '\n') {
                *reason = "CR without LF";
                return at;
            }
            self->prev_byte = '\n';
        }
        else if (c == '\r' && self->method_size == 0)
            self->prev_byte = '\r';
        else if (S_TCHAR (c)) {
            size_t run = at + 1;
            while (run < size && S_TCHAR (data[run]))
                run++;
            *method = data + at;
            *method_size = run - at;
            self->method_size += run - at;
            at = run - 1;
        }
        else if (c == ' ' && self->method_size > 0) {
            self->line_bytes = self->method_size + 1;
            self->prev_byte = ' ';
            self->request_line = true;
            *done = true;
            return at + 1;
        }
        else {
            *reason = c == '\n' ? "LF without CR" : "malformed method";
            return at;
        }
    }
    return size;
}

size_t
ps_http_scan_lines (ps_http_scan_t *self, const char *data, size_t size, const char **reason)
{
    assert (self && (data || size == 0) && reason);
    const char *cursor = data, *end = data + size;
    while (cursor < end) {
        if (self->line_bytes == 0 && self->last_line > 1 && (*cursor == ' ' || *cursor == '\t')) {
            *reason = "obs-fold";
            return (size_t) (cursor - data);
        }
        const char *lf = (const char *) memchr (cursor, '\n', (size_t) (end - cursor));
        const char *stop = lf ? lf : end;
        for (const char *sp = cursor;
             self->request_line && (sp = (const char *) memchr (sp, ' ', (size_t) (stop - sp)));
             sp++)
            if ((sp > cursor ? sp[-1] : self->prev_byte) == ' ') {
                *reason = "two spaces in the request line";
                return (size_t) (sp - data);
            }
        if (!lf) {
            self->line_bytes += (size_t) (end - cursor);
            self->prev_byte = end[-1];
            return size;
        }
        if ((lf > cursor ? lf[-1] : self->prev_byte) != '\r') {
            *reason = "LF without CR";
            return (size_t) (lf - data);
        }
        self->last_line = self->line_bytes + (size_t) (lf - cursor);
        self->line_bytes = 0;
        self->prev_byte = '\n';
        self->request_line = false;
        if (self->last_line == 1)
            return (size_t) (lf + 1 - data);  //  the empty line ends the section
        cursor = lf + 1;
    }
    return size;
}
