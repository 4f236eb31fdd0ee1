/*  file_range: the Range request header (RFC 9110 14.2) for one file.

    The file stage serves a single byte range; anything else it is allowed
    to ignore (RFC 9110 14.2: a server MAY ignore the Range header), and
    does, answering the whole file: other units, several ranges, and
    syntax it does not recognise. Pure parsing: no I/O, so it is tested
    alone (tests/check_file_range.c).
*/
#ifndef FILE_RANGE_H_INCLUDED
#define FILE_RANGE_H_INCLUDED

#include <stdint.h>

typedef enum {
    FILE_RANGE_WHOLE = 0,     //  no range to honour: 200 with the whole file
    FILE_RANGE_PARTIAL,       //  206 with bytes [*first, *last] of the file
    FILE_RANGE_UNSATISFIABLE  //  416 with Content-Range: bytes */size
} file_range_t;

//  What to answer for a Range header value (NULL: none) on a file of size
//  bytes. One "bytes=" range (the unit in any case, spaces around the
//  range allowed): "a-b" (b past the end means the end), "a-" (from a to
//  the end) or "-n" (the last n bytes, the whole file if it is shorter).
//  Unsatisfiable: a first byte at or past the end, a suffix of 0 bytes,
//  any range of an empty file. Whole: a NULL value, another unit, more
//  than one range, b < a, or anything malformed.
file_range_t file_range_parse (const char *value, uint64_t size, uint64_t *first, uint64_t *last);

#endif
