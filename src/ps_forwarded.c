/*  ps_forwarded: the client's address from Forwarded or X-Forwarded-For
    (see ps_forwarded.h). A value that is not plainly an IP address
    ("unknown", an obfuscated "_hidden" name, junk) is ignored, so what a
    worker and the access log get is always an address or the
    connection's own.
*/
#include "ps_forwarded.h"

#include <string.h>
#include <strings.h>

//  The last field named name, or NULL.
static const char *
s_last (const ps_pairs_t *headers, const char *name)
{
    const char *value = NULL;
    size_t count = ps_pairs_size (headers);
    for (size_t i = 0; i < count; i++)
        if (strcasecmp (ps_pairs_name (headers, i), name) == 0)
            value = ps_pairs_value (headers, i);
    return value;
}

//  Copies [start, end) trimmed of spaces, quotes, brackets and a port into
//  out if what remains is an IPv4 or IPv6 address.
static bool
s_address (const char *start, const char *end, char *out, size_t size)
{
    while (start < end && (*start == ' ' || *start == '\t' || *start == '"'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '"'))
        end--;
    if (start < end && *start == '[') {
        //  "[2001:db8::1]:4711" or "[2001:db8::1]"
        const char *close = memchr (start, ']', (size_t) (end - start));
        if (!close)
            return false;
        start++;
        end = close;
    }
    else {
        //  "192.0.2.1:4711": one colon is a port, more is IPv6 without one
        const char *colon = memchr (start, ':', (size_t) (end - start));
        if (colon && !memchr (colon + 1, ':', (size_t) (end - colon - 1)))
            end = colon;
    }
    size_t length = (size_t) (end - start);
    if (length == 0 || length >= size || length > 45)
        return false;
    bool colon = false, dot = false;
    for (const char *p = start; p < end; p++) {
        if (*p == ':')
            colon = true;
        else if (*p == '.')
            dot = true;
        else if (!strchr ("0123456789abcdefABCDEF", *p))
            return false;
    }
    if (!colon && !dot)
        return false;
    if (!colon && strpbrk (start, "abcdefABCDEF") && strpbrk (start, "abcdefABCDEF") < end)
        return false;  //  hex digits only in IPv6
    memcpy (out, start, length);
    out[length] = 0;
    return true;
}

bool
ps_forwarded_client (const ps_pairs_t *headers, char *out, size_t size)
{
    assert (out);
    if (!headers)
        return false;
    const char *forwarded = s_last (headers, "Forwarded");
    if (forwarded) {
        //  Elements are separated by ',', pairs by ';': the last for= wins.
        const char *element = strrchr (forwarded, ',');
        element = element ? element + 1 : forwarded;
        for (const char *p = element; *p;) {
            const char *stop = strchr (p, ';');
            if (!stop)
                stop = p + strlen (p);
            while (*p == ' ' || *p == '\t')
                p++;
            if (stop - p > 4 && strncasecmp (p, "for=", 4) == 0)
                return s_address (p + 4, stop, out, size);
            p = *stop ? stop + 1 : stop;
        }
    }
    const char *xff = s_last (headers, "X-Forwarded-For");
    if (xff) {
        const char *last = strrchr (xff, ',');
        last = last ? last + 1 : xff;
        return s_address (last, xff + strlen (xff), out, size);
    }
    return false;
}
