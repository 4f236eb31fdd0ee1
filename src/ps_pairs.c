/*  ps_pairs: an ordered multimap of strings (query, headers, trailers).

    Every request and response on the hot path carries a few of these (the
    query, the headers, the trailers, a worker's reply headers), so their
    cost is counted in allocations. An object holds a small array of
    entries and a small string area inline: a typical header or query set
    lives in the one allocation of the object. An object embedded in
    another (ps_pairs_private.h) uses room its owner lends instead, sized
    for what it will hold. Strings that do not fit go
    into extra blocks that are chained and never moved, so a pointer handed
    out by _name, _value or _get stays valid until the object is destroyed,
    whatever is appended afterwards. Only the entries array moves when it
    grows, and nobody holds pointers into it.

    Lookups are linear: requests carry few fields (at most
    ps_http_limits_t.max_headers), and a scan of a short array beats
    hashing. Entries keep their sizes, so lookups and encoding never call
    strlen on them.
*/
#include "ps_pairs_private.h"
#include "prime_server/ps_netstring.h"
#include <string.h>
#include <strings.h>

//  Inline room of a ps_pairs_new object: enough for the headers of a
//  simple request or reply
#define S_INLINE_ENTRIES 4
#define S_INLINE_BYTES   128
//  Smallest heap string block
#define S_MIN_BLOCK 256

struct _ps_pairs_block_t {
    ps_pairs_block_t *next;
    char data[];
};

//  A standalone object lends itself its inline room
typedef struct {
    ps_pairs_t pairs;
    ps_pairs_entry_t entries[S_INLINE_ENTRIES];
    char bytes[S_INLINE_BYTES];
} s_standalone_t;

void
ps_pairs_init (ps_pairs_t *self, bool nocase, ps_pairs_entry_t *entries, size_t capacity,
               char *bytes, size_t bytes_size)
{
    assert (self);
    assert (entries || capacity == 0);
    assert (bytes || bytes_size == 0);
    self->entries = entries;
    self->size = 0;
    self->capacity = capacity;
    self->entries_lent = true;
    self->nocase = nocase;
    self->room = bytes;
    self->room_size = bytes_size;
    self->block_size = 0;
    self->blocks = NULL;
}

void
ps_pairs_fini (ps_pairs_t *self)
{
    assert (self);
    while (self->blocks) {
        ps_pairs_block_t *next = self->blocks->next;
        free (self->blocks);
        self->blocks = next;
    }
    if (!self->entries_lent)
        free (self->entries);
    self->entries = NULL;
    self->size = self->capacity = self->room_size = 0;
}

ps_pairs_t *
ps_pairs_new (bool nocase)
{
    //  The inline areas are written before they are read: no calloc
    s_standalone_t *standalone = (s_standalone_t *) malloc (sizeof (s_standalone_t));
    assert (standalone);
    ps_pairs_init (&standalone->pairs, nocase, standalone->entries, S_INLINE_ENTRIES,
                   standalone->bytes, S_INLINE_BYTES);
    return &standalone->pairs;
}

void
ps_pairs_destroy (ps_pairs_t **self_p)
{
    assert (self_p);
    ps_pairs_t *self = *self_p;
    if (!self)
        return;
    ps_pairs_fini (self);
    free (self);  //  the s_standalone_t it starts
    *self_p = NULL;
}

//  Room for one more entry
static void
s_reserve_entry (ps_pairs_t *self)
{
    if (self->size < self->capacity)
        return;
    size_t capacity = self->capacity ? self->capacity * 2 : S_INLINE_ENTRIES;
    ps_pairs_entry_t *entries = (ps_pairs_entry_t *) malloc (capacity * sizeof (ps_pairs_entry_t));
    assert (entries);
    if (self->size)
        memcpy (entries, self->entries, self->size * sizeof (ps_pairs_entry_t));
    if (!self->entries_lent)
        free (self->entries);
    self->entries = entries;
    self->entries_lent = false;
    self->capacity = capacity;
}

//  At least bytes free string bytes. What is left of the current room is
//  given up: blocks never move, so strings already handed out stay put.
static void
s_reserve_bytes (ps_pairs_t *self, size_t bytes)
{
    if (bytes <= self->room_size)
        return;
    size_t size = self->block_size ? self->block_size * 2 : S_MIN_BLOCK;
    if (size < bytes)
        size = bytes;
    ps_pairs_block_t *block = (ps_pairs_block_t *) malloc (sizeof (ps_pairs_block_t) + size);
    assert (block);
    block->next = self->blocks;
    self->blocks = block;
    self->block_size = size;
    self->room = block->data;
    self->room_size = size;
}

//  Copy one string into the reserved room, NUL-terminated
static const char *
s_store (ps_pairs_t *self, const char *text, size_t size)
{
    char *copy = self->room;
    if (size)
        memcpy (copy, text, size);
    copy[size] = 0;
    self->room += size + 1;
    self->room_size -= size + 1;
    return copy;
}

//  Append with the string room already reserved
static void
s_append (ps_pairs_t *self, const char *name, size_t name_size, const char *value,
          size_t value_size)
{
    s_reserve_entry (self);
    ps_pairs_entry_t *entry = &self->entries[self->size++];
    entry->name = s_store (self, name, name_size);
    entry->name_size = name_size;
    entry->value = s_store (self, value, value_size);
    entry->value_size = value_size;
}

void
ps_pairs_append (ps_pairs_t *self, const char *name, size_t name_size, const char *value,
                 size_t value_size)
{
    assert (self);
    assert (name || name_size == 0);
    assert (value || value_size == 0);
    s_reserve_bytes (self, name_size + value_size + 2);
    s_append (self, name, name_size, value, value_size);
}

void
ps_pairs_add (ps_pairs_t *self, const char *name, const char *value)
{
    assert (name && value);
    ps_pairs_append (self, name, strlen (name), value, strlen (value));
}

size_t
ps_pairs_size (const ps_pairs_t *self)
{
    assert (self);
    return self->size;
}

const char *
ps_pairs_name (const ps_pairs_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return self->entries[index].name;
}

const char *
ps_pairs_value (const ps_pairs_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return self->entries[index].value;
}

static bool
s_same_name (const ps_pairs_t *self, const ps_pairs_entry_t *entry, const char *name, size_t size)
{
    if (entry->name_size != size)
        return false;
    return self->nocase ? strncasecmp (entry->name, name, size) == 0
                        : memcmp (entry->name, name, size) == 0;
}

const char *
ps_pairs_get (const ps_pairs_t *self, const char *name)
{
    assert (self && name);
    size_t size = strlen (name);
    for (size_t i = 0; i < self->size; i++)
        if (s_same_name (self, &self->entries[i], name, size))
            return self->entries[i].value;
    return NULL;
}

size_t
ps_pairs_count (const ps_pairs_t *self, const char *name)
{
    assert (self && name);
    size_t size = strlen (name);
    size_t count = 0;
    for (size_t i = 0; i < self->size; i++)
        if (s_same_name (self, &self->entries[i], name, size))
            count++;
    return count;
}

//  Bytes of the wire form, and the wire form written into dest (which
//  holds ps_pairs_encoded_size bytes): ps_pairs_encode sizes its frame
//  once and writes into it in place, as the HTTP request's one-frame form
//  does with its three lists.
size_t
ps_pairs_encoded_size (const ps_pairs_t *self)
{
    assert (self);
    size_t total = 0;
    for (size_t i = 0; i < self->size; i++)
        total += ps_netstring_encoded_size (self->entries[i].name_size)
                 + ps_netstring_encoded_size (self->entries[i].value_size);
    return total;
}

size_t
ps_pairs_write (const ps_pairs_t *self, char *dest)
{
    assert (self);
    assert (dest || self->size == 0);
    char *out = dest;
    for (size_t i = 0; i < self->size; i++) {
        const ps_pairs_entry_t *entry = &self->entries[i];
        out += ps_netstring_write (out, entry->name, entry->name_size);
        out += ps_netstring_write (out, entry->value, entry->value_size);
    }
    return (size_t) (out - dest);
}

zframe_t *
ps_pairs_encode (const ps_pairs_t *self)
{
    size_t total = ps_pairs_encoded_size (self);
    zframe_t *frame = zframe_new (NULL, total);
    assert (frame);
    size_t written = ps_pairs_write (self, (char *) zframe_data (frame));
    assert (written == total);
    (void) written;
    return frame;
}

size_t
ps_pairs_count_encoded (const void *data, size_t size)
{
    assert (data || size == 0);
    const char *cursor = (const char *) data;
    const char *end = cursor + size;
    size_t strings = 0;
    while (cursor < end) {
        const char *payload;
        size_t payload_size;
        ssize_t used = ps_netstring_parse (cursor, (size_t) (end - cursor), size, &payload,
                                           &payload_size, NULL);
        if (used < 0)
            break;
        cursor += used;
        strings++;
    }
    return strings / 2;
}

int
ps_pairs_decode_into (ps_pairs_t *self, const void *data, size_t size)
{
    assert (self);
    assert (data || size == 0);
    //  Every netstring has at least two bytes of framing besides its
    //  payload, and a copy needs one NUL: the frame's size bounds the room
    //  all the copies take, so one reservation covers them.
    s_reserve_bytes (self, size);
    const char *cursor = (const char *) data;
    const char *end = cursor + size;
    while (cursor < end) {
        const char *name, *value;
        size_t name_size, value_size;
        ssize_t used = ps_netstring_parse (cursor, end - cursor, size, &name, &name_size, NULL);
        if (used < 0)
            return -1;
        cursor += used;
        used = ps_netstring_parse (cursor, end - cursor, size, &value, &value_size, NULL);
        if (used < 0)
            return -1;
        cursor += used;
        if (memchr (name, 0, name_size) || memchr (value, 0, value_size))
            return -1;
        s_append (self, name, name_size, value, value_size);
    }
    return 0;
}

ps_pairs_t *
ps_pairs_decode (const void *data, size_t size, bool nocase)
{
    ps_pairs_t *self = ps_pairs_new (nocase);
    if (ps_pairs_decode_into (self, data, size) == -1)
        ps_pairs_destroy (&self);
    return self;
}
