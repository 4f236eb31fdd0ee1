/*  ps_trusted: a directory of trusted public keys (see ps_trusted.h).
*/
#include "ps_trusted.h"
#include <czmq.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

struct _ps_trusted_t {
    char *dir;
    zcertstore_t *store;  //  in memory: we fill it
    uint64_t signature;   //  of the files read into it
    bool loaded;
};

static bool
s_is_candidate (const char *name)
{
    size_t length = strlen (name);
    return name[0] != '.' && !(length >= 7 && streq (name + length - 7, "_secret"));
}

static uint64_t
s_mix (uint64_t hash, uint64_t value)
{
    //  FNV-1a over the value's bytes: a change detector, not a MAC
    for (int i = 0; i < 8; i++) {
        hash ^= (value >> (8 * i)) & 0xff;
        hash *= 1099511628211ULL;
    }
    return hash;
}

//  What changes when a file is added, removed, renamed or rewritten. The
//  order of readdir does not matter: each file's part is summed.
static uint64_t
s_signature (const char *dir)
{
    DIR *handle = opendir (dir);
    if (!handle)
        return 0;
    uint64_t signature = 1;
    struct dirent *entry;
    while ((entry = readdir (handle))) {
        if (!s_is_candidate (entry->d_name))
            continue;
        char *path = zsys_sprintf ("%s/%s", dir, entry->d_name);
        struct stat st;
        if (path && stat (path, &st) == 0 && S_ISREG (st.st_mode)) {
            uint64_t part = 14695981039346656037ULL;
            for (const char *c = entry->d_name; *c; c++)
                part = s_mix (part, (uint64_t) (unsigned char) *c);
            part = s_mix (part, (uint64_t) st.st_ino);
            part = s_mix (part, (uint64_t) st.st_size);
            part = s_mix (part, (uint64_t) st.st_mtim.tv_sec);
            part = s_mix (part, (uint64_t) st.st_mtim.tv_nsec);
            signature += part;
        }
        zstr_free (&path);
    }
    closedir (handle);
    return signature;
}

static void
s_load (ps_trusted_t *self)
{
    zcertstore_destroy (&self->store);
    self->store = zcertstore_new (NULL);
    assert (self->store);
    DIR *handle = opendir (self->dir);
    if (!handle) {
        zsys_warning ("ps_curve: cannot read the trusted directory %s: no key is trusted",
                      self->dir);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir (handle))) {
        if (!s_is_candidate (entry->d_name))
            continue;
        char *path = zsys_sprintf ("%s/%s", self->dir, entry->d_name);
        struct stat st;
        zcert_t *cert = NULL;
        if (path && stat (path, &st) == 0 && S_ISREG (st.st_mode))
            cert = zcert_load (path);
        if (cert && zcertstore_lookup (self->store, zcert_public_txt (cert))) {
            zsys_warning ("ps_curve: %s holds a key that another file of %s holds: skipped", path,
                          self->dir);
            zcert_destroy (&cert);
        }
        if (cert)
            zcertstore_insert (self->store, &cert);
        zstr_free (&path);
    }
    closedir (handle);
}

ps_trusted_t *
ps_trusted_new (const char *dir)
{
    assert (dir);
    ps_trusted_t *self = (ps_trusted_t *) zmalloc (sizeof (ps_trusted_t));
    assert (self);
    self->dir = strdup (dir);
    assert (self->dir);
    return self;
}

void
ps_trusted_destroy (ps_trusted_t **self_p)
{
    assert (self_p);
    ps_trusted_t *self = *self_p;
    if (self) {
        zcertstore_destroy (&self->store);
        free (self->dir);
        free (self);
        *self_p = NULL;
    }
}

bool
ps_trusted_has (ps_trusted_t *self, const char *public_txt)
{
    assert (self);
    assert (public_txt);
    //  One scan of the directory per handshake: a few stat calls for a
    //  deployment's keys, and a key added or removed counts at once
    uint64_t signature = s_signature (self->dir);
    if (!self->loaded || signature != self->signature) {
        s_load (self);
        self->signature = signature;
        self->loaded = true;
    }
    return zcertstore_lookup (self->store, public_txt) != NULL;
}
