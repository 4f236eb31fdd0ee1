/*  file_range: one byte range of a file from a Range header (see
    file_range.h).
*/
#include "file_range.h"

#include <stdbool.h>
#include <stddef.h>
#include <strings.h>

static const char *
s_skip_ows (const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

//  Decimal digits at *p_p into *value, saturating at UINT64_MAX (a number
//  too large for any file still means "past the end"). False if there is
//  no digit.
static bool
s_number (const char **p_p, uint64_t *value)
{
    const char *p = *p_p;
    if (*p < '0' || *p > '9')
        return false;
    uint64_t result = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned) (*p - '0');
        result = result > (UINT64_MAX - digit) / 10 ? UINT64_MAX : result * 10 + digit;
    }
    *value = result;
    *p_p = p;
    return true;
}

file_range_t
file_range_parse (const char *value, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (!value)
        return FILE_RANGE_WHOLE;
    const char *p = s_skip_ows (value);
    //  Range units are case-insensitive (RFC 9110 14.1)
    if (strncasecmp (p, "bytes", 5) != 0)
        return FILE_RANGE_WHOLE;
    p = s_skip_ows (p + 5);
    if (*p != '=')
        return FILE_RANGE_WHOLE;
    //  The range set is a list: empty elements are allowed around the one
    p = s_skip_ows (p + 1);
    while (*p == ',')
        p = s_skip_ows (p + 1);
    bool suffix = *p == '-';
    uint64_t a = 0, b = UINT64_MAX;
    if (suffix) {
        p++;
        if (!s_number (&p, &b))
            return FILE_RANGE_WHOLE;
    }
    else {
        if (!s_number (&p, &a) || *p != '-')
            return FILE_RANGE_WHOLE;
        p++;
        if (*p >= '0' && *p <= '9') {
            s_number (&p, &b);
            if (b < a)
                return FILE_RANGE_WHOLE;  //  invalid, so ignored (RFC 9110 14.1.1)
        }
    }
    p = s_skip_ows (p);
    while (*p == ',') {
        p = s_skip_ows (p + 1);
        if (*p && *p != ',')
            return FILE_RANGE_WHOLE;  //  a second range: we serve one only
    }
    if (*p)
        return FILE_RANGE_WHOLE;

    if (suffix) {
        if (b == 0 || size == 0)
            return FILE_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return FILE_RANGE_PARTIAL;
    }
    if (a >= size)
        return FILE_RANGE_UNSATISFIABLE;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return FILE_RANGE_PARTIAL;
}
