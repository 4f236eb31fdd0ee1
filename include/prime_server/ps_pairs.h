/*  ps_pairs: an ordered multimap of name/value strings.

    Used for query parameters (case-sensitive names), HTTP headers and trailers
    (case-insensitive names). Insertion order and duplicates are kept. Values
    are NUL-terminated copies; a value may not contain a NUL byte.

    On the wire (docs/PROTOCOL.md) a pairs object is one frame holding
    netstrings: name, value, name, value, ...
*/
#ifndef PS_PAIRS_H_INCLUDED
#define PS_PAIRS_H_INCLUDED

#include "ps_export.h"
#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _ps_pairs_t ps_pairs_t;

//  Create an empty multimap. With nocase, lookups ignore ASCII case.
PS_EXPORT ps_pairs_t *ps_pairs_new (bool nocase);

//  Destroy; accepts NULL and nulls the caller's pointer.
PS_EXPORT void ps_pairs_destroy (ps_pairs_t **self_p);

//  Append a copy of name and value (lengths given, need not be terminated).
PS_EXPORT void ps_pairs_append (ps_pairs_t *self, const char *name, size_t name_size,
                                const char *value, size_t value_size);

//  Append NUL-terminated name and value.
PS_EXPORT void ps_pairs_add (ps_pairs_t *self, const char *name, const char *value);

//  Number of entries.
PS_EXPORT size_t ps_pairs_size (const ps_pairs_t *self);

//  Name and value of entry index (< size); borrowed.
PS_EXPORT const char *ps_pairs_name (const ps_pairs_t *self, size_t index);
PS_EXPORT const char *ps_pairs_value (const ps_pairs_t *self, size_t index);

//  First value for name, or NULL; borrowed.
PS_EXPORT const char *ps_pairs_get (const ps_pairs_t *self, const char *name);

//  How many entries have this name.
PS_EXPORT size_t ps_pairs_count (const ps_pairs_t *self, const char *name);

//  Serialise as one frame of netstrings (name, value, ...). Caller owns.
PS_EXPORT zframe_t *ps_pairs_encode (const ps_pairs_t *self);

//  Parse a frame made by ps_pairs_encode. Returns NULL on malformed input
//  (bad netstring, odd count, NUL inside a string).
PS_EXPORT ps_pairs_t *ps_pairs_decode (const void *data, size_t size, bool nocase);

#ifdef __cplusplus
}
#endif
#endif
