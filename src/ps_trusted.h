/*  ps_trusted: a directory of trusted public keys (czmq certificate files),
    read again whenever its files change. Private; used by ps_zap.

    czmq's zcertstore on a directory does the same, but aborts the process
    (an assert in zcertstore_insert, czmq 4.2) when two files hold the same
    key, which a copy such as "worker.bak" is enough to cause; and it notices
    a change by the count, total size and newest mtime in seconds of the
    files, so a key replaced by another of the same size within a second
    goes unseen. Here a zcertstore in memory holds the keys, and this class
    fills it: a duplicate is skipped with a warning, and a change is noticed
    by every file's name, inode, size and mtime in nanoseconds.
*/
#ifndef PS_TRUSTED_H_INCLUDED
#define PS_TRUSTED_H_INCLUDED

#include <stdbool.h>

typedef struct _ps_trusted_t ps_trusted_t;

//  The keys of the certificates directly in dir (files named *_secret, or
//  starting with '.', are skipped). Never NULL; an unreadable directory
//  trusts nothing until it can be read.
ps_trusted_t *ps_trusted_new (const char *dir);

//  Accepts NULL.
void ps_trusted_destroy (ps_trusted_t **self_p);

//  Whether public_txt (Z85) is a trusted key, after reading the directory
//  again if its files changed since the last call.
bool ps_trusted_has (ps_trusted_t *self, const char *public_txt);

#endif
