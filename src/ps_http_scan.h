/*  ps_http_scan: the line rules of RFC 9112 that llhttp 8.1 lets through,
    checked on the raw bytes of a request before llhttp sees them. Not
    installed; the request parser (ps_http_parser.c) keeps one per
    connection and feeds llhttp only the bytes these functions pass.

    - empty lines before the request line are CRLF, and the method is a
      token read here (llhttp knows a fixed list of methods, so the parser
      hands it a stand-in);
    - no LF without its CR in the request line or at the end of a header or
      trailer field line or section (llhttp takes a bare LF there);
    - no obs-fold: a field line starting with SP or HTAB (llhttp folds it);
    - one SP between the request line's parts (llhttp takes runs).

    Lines are followed across feeds, so a fault is found at the same byte
    whatever the split. Both functions return how many bytes of data they
    took: up to the first fault (*reason set, static text), or to the end
    of what they scan.
*/
#ifndef PS_HTTP_SCAN_H_INCLUDED
#define PS_HTTP_SCAN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char prev_byte;      //  the last byte scanned
    size_t line_bytes;   //  bytes of the current line so far
    size_t last_line;    //  bytes of the last complete line, CR included
    bool request_line;   //  the current line is the request line
    size_t method_size;  //  bytes of the method so far
} ps_http_scan_t;

//  A new section: a request (empty lines and the method first) or trailers.
void ps_http_scan_reset (ps_http_scan_t *self);

//  Empty lines and the method. The method's bytes among those taken are
//  *method_size bytes at *method; *done once the SP after it is taken (the
//  scan is then in the request line, for ps_http_scan_lines).
size_t ps_http_scan_method (ps_http_scan_t *self, const char *data, size_t size,
                            const char **method, size_t *method_size, bool *done,
                            const char **reason);

//  The rest of the request line and the field lines, up to the empty line
//  that ends the section (what follows it is not taken).
size_t ps_http_scan_lines (ps_http_scan_t *self, const char *data, size_t size,
                           const char **reason);

#endif
