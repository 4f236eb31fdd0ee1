/*  ps_pairs_private: the pairs object laid open for the objects that embed
    one (the HTTP request embeds its query, headers and trailers, so that a
    request is one allocation). Not installed.

    An embedded object is set up with ps_pairs_init on storage its owner
    lends (entries and string bytes, either may be empty) and torn down with
    ps_pairs_fini; what outgrows the lent storage goes to the heap as for
    any pairs object, and only that is freed.
*/
#ifndef PS_PAIRS_PRIVATE_H_INCLUDED
#define PS_PAIRS_PRIVATE_H_INCLUDED

#include "prime_server/ps_pairs.h"

typedef struct {
    const char *name;  //  into lent bytes or a block
    const char *value;
    size_t name_size;
    size_t value_size;
} ps_pairs_entry_t;

typedef struct _ps_pairs_block_t ps_pairs_block_t;

struct _ps_pairs_t {
    ps_pairs_entry_t *entries;  //  lent, or a heap array once grown
    size_t size;
    size_t capacity;
    bool entries_lent;  //  entries is not ours to free
    bool nocase;
    char *room;  //  free string bytes: room .. room + room_size
    size_t room_size;
    size_t block_size;         //  of the last block, for geometric growth
    ps_pairs_block_t *blocks;  //  heap string blocks, newest first
};

//  An empty object in place, on capacity entries and bytes_size string
//  bytes of the caller's (NULL and 0 for none), which must outlive it.
void ps_pairs_init (ps_pairs_t *self, bool nocase, ps_pairs_entry_t *entries, size_t capacity,
                    char *bytes, size_t bytes_size);

//  Free what the object took from the heap; it is then empty and unusable.
void ps_pairs_fini (ps_pairs_t *self);

//  Bytes of the wire form (ps_pairs_encode), and the wire form written
//  into dest, which holds that many; returns the bytes written.
size_t ps_pairs_encoded_size (const ps_pairs_t *self);
size_t ps_pairs_write (const ps_pairs_t *self, char *dest);

//  How many pairs a wire form holds, counted without copying; a malformed
//  form counts what comes before the fault (decoding it then fails).
size_t ps_pairs_count_encoded (const void *data, size_t size);

//  Append the wire form (ps_pairs_encode) to an initialised object.
//  Returns 0, or -1 on malformed input (the object then holds a prefix).
int ps_pairs_decode_into (ps_pairs_t *self, const void *data, size_t size);

#endif
