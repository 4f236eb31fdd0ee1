/*  ps_pairs: an ordered multimap of strings (query, headers, trailers).

    Entries live in one growing array of (name, value) pointers; each entry's
    two strings share one allocation. Lookups are linear: requests carry few
    fields (at most ps_http_limits_t.max_headers), and a scan of a short
    array beats hashing.
*/
#include "prime_server/ps_pairs.h"
#include "prime_server/ps_netstring.h"
#include <string.h>
#include <strings.h>

typedef struct {
    char *name;  //  owns the allocation; value points into it
    char *value;
} s_entry_t;

struct _ps_pairs_t {
    s_entry_t *entries;
    size_t size;
    size_t capacity;
    bool nocase;
};

ps_pairs_t *
ps_pairs_new (bool nocase)
{
    ps_pairs_t *self = (ps_pairs_t *) zmalloc (sizeof (ps_pairs_t));
    self->nocase = nocase;
    return self;
}

void
ps_pairs_destroy (ps_pairs_t **self_p)
{
    assert (self_p);
    ps_pairs_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->size; i++)
        free (self->entries[i].name);
    free (self->entries);
    free (self);
    *self_p = NULL;
}

void
ps_pairs_append (ps_pairs_t *self, const char *name, size_t name_size, const char *value,
                 size_t value_size)
{
    assert (self);
    assert (name || name_size == 0);
    assert (value || value_size == 0);
    if (self->size == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 8;
        self->entries =
            (s_entry_t *) realloc (self->entries, self->capacity * sizeof (s_entry_t));
        assert (self->entries);
    }
    char *both = (char *) malloc (name_size + value_size + 2);
    assert (both);
    if (name_size)
        memcpy (both, name, name_size);
    both[name_size] = 0;
    if (value_size)
        memcpy (both + name_size + 1, value, value_size);
    both[name_size + 1 + value_size] = 0;
    self->entries[self->size].name = both;
    self->entries[self->size].value = both + name_size + 1;
    self->size++;
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
s_same_name (const ps_pairs_t *self, const char *a, const char *b)
{
    return self->nocase ? strcasecmp (a, b) == 0 : strcmp (a, b) == 0;
}

const char *
ps_pairs_get (const ps_pairs_t *self, const char *name)
{
    assert (self && name);
    for (size_t i = 0; i < self->size; i++)
        if (s_same_name (self, self->entries[i].name, name))
            return self->entries[i].value;
    return NULL;
}

size_t
ps_pairs_count (const ps_pairs_t *self, const char *name)
{
    assert (self && name);
    size_t count = 0;
    for (size_t i = 0; i < self->size; i++)
        if (s_same_name (self, self->entries[i].name, name))
            count++;
    return count;
}

zframe_t *
ps_pairs_encode (const ps_pairs_t *self)
{
    assert (self);
    size_t total = 0;
    for (size_t i = 0; i < self->size; i++)
        total += ps_netstring_encoded_size (strlen (self->entries[i].name))
                 + ps_netstring_encoded_size (strlen (self->entries[i].value));
    zframe_t *frame = zframe_new (NULL, total);
    char *out = (char *) zframe_data (frame);
    for (size_t i = 0; i < self->size; i++) {
        const char *name = self->entries[i].name;
        const char *value = self->entries[i].value;
        out += ps_netstring_write (out, name, strlen (name));
        out += ps_netstring_write (out, value, strlen (value));
    }
    assert (out == (char *) zframe_data (frame) + total);
    return frame;
}

ps_pairs_t *
ps_pairs_decode (const void *data, size_t size, bool nocase)
{
    assert (data || size == 0);
    ps_pairs_t *self = ps_pairs_new (nocase);
    const char *cursor = (const char *) data;
    const char *end = cursor + size;
    while (cursor < end) {
        const char *name, *value;
        size_t name_size, value_size;
        ssize_t used =
            ps_netstring_parse (cursor, end - cursor, size, &name, &name_size, NULL);
        if (used < 0)
            goto junk;
        cursor += used;
        used = ps_netstring_parse (cursor, end - cursor, size, &value, &value_size, NULL);
        if (used < 0)
            goto junk;
        cursor += used;
        if (memchr (name, 0, name_size) || memchr (value, 0, value_size))
            goto junk;
        ps_pairs_append (self, name, name_size, value, value_size);
    }
    return self;
junk:
    ps_pairs_destroy (&self);
    return NULL;
}
