/*  ps_cors: inserting the Access-Control-Allow-Origin header (see
    ps_cors.h). One copy of the response per answer, only on servers that
    were given an origin; the formatters stay unaware of it.
*/
#include "ps_cors.h"

#include <string.h>

void
ps_cors_add (zchunk_t **response_p, const char *origin)
{
    assert (response_p);
    assert (origin);
    zchunk_t *response = *response_p;
    assert (response);
    const char *data = (const char *) zchunk_data (response);
    size_t size = zchunk_size (response);
    const char *end = (const char *) memmem (data, size, "\r\n", 2);
    if (!end)
        return;
    size_t line = (size_t) (end - data) + 2;
    char header[512];
    int length = snprintf (header, sizeof header, "Access-Control-Allow-Origin: %s\r\n", origin);
    if (length < 0 || (size_t) length >= sizeof header)
        return;  //  refused at start (see ps_server.c); never this long
    zchunk_t *copy = zchunk_new (NULL, size + (size_t) length);
    assert (copy);
    zchunk_append (copy, data, line);
    zchunk_append (copy, header, (size_t) length);
    zchunk_append (copy, data + line, size - line);
    zchunk_destroy (response_p);
    *response_p = copy;
}
