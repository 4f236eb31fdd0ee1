/*  ps_curve: loading and checking a component's certificates (czmq zcert
    files), and setting them on its sockets. The admission of peers is
    ps_zap's; the cryptography is libzmq's.
*/
#include "ps_curve_private.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct _ps_curve_keys_t {
    char public_txt[41];  //  Z85, ours
    char secret_txt[41];
    char server_txt[41];  //  Z85, the binders'
    char *trusted;        //  absolute path, the ZAP domain; NULL: none
};

//  A certificate's key pair. The secret file, like ssh's private keys, must
//  be readable by its owner only: a key that others could have copied
//  proves nothing about its holder.
static zcert_t *
s_load_pair (const char *path, const char *owner)
{
    char *secret = zsys_sprintf ("%s_secret", path);
    assert (secret);
    zcert_t *cert = NULL;
    struct stat st;
    if (stat (secret, &st) != 0)
        zsys_error ("%s: cannot read the secret key %s: %s", owner, secret, strerror (errno));
    else if (!S_ISREG (st.st_mode))
        zsys_error ("%s: the secret key %s is not a regular file", owner, secret);
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        zsys_error ("%s: the secret key %s is accessible by group or others (mode %04o); it "
                    "must be readable by its owner only: chmod 600 %s",
                    owner, secret, (unsigned) (st.st_mode & 07777), secret);
    else if (!(cert = zcert_load (path)))
        zsys_error ("%s: cannot load the certificate %s", owner, path);
    else if (streq (zcert_secret_txt (cert), "0000000000000000000000000000000000000000")) {
        zsys_error ("%s: %s holds no secret key", owner, secret);
        zcert_destroy (&cert);
    }
    zstr_free (&secret);
    return cert;
}

ps_curve_keys_t *
ps_curve_keys_new (const ps_curve_t *curve, const char *owner)
{
    assert (curve && curve->cert);
    assert (owner);
    ps_curve_keys_t *self = (ps_curve_keys_t *) zmalloc (sizeof (ps_curve_keys_t));
    assert (self);
    zcert_t *cert = s_load_pair (curve->cert, owner);
    zcert_t *server = NULL;
    if (!cert)
        goto failed;
    strcpy (self->public_txt, zcert_public_txt (cert));
    strcpy (self->secret_txt, zcert_secret_txt (cert));
    if (curve->server) {
        server = zcert_load (curve->server);
        if (!server) {
            zsys_error ("%s: cannot load the server certificate %s", owner, curve->server);
            goto failed;
        }
        strcpy (self->server_txt, zcert_public_txt (server));
    }
    else
        strcpy (self->server_txt, self->public_txt);
    if (curve->trusted) {
        //  Absolute, so that it names one directory in the ZAP handler
        //  whatever the working directory, and libzmq takes a ZAP domain
        //  of up to 255 bytes
        char real[PATH_MAX];
        struct stat st;
        if (!realpath (curve->trusted, real) || stat (real, &st) != 0 || !S_ISDIR (st.st_mode)) {
            zsys_error ("%s: the trusted directory %s is not a directory", owner, curve->trusted);
            goto failed;
        }
        if (strlen (real) > 255) {
            zsys_error ("%s: the trusted directory's path %s is longer than 255 bytes", owner,
                        real);
            goto failed;
        }
        self->trusted = strdup (real);
    }
    zcert_destroy (&cert);
    zcert_destroy (&server);
    return self;
failed:
    zcert_destroy (&cert);
    zcert_destroy (&server);
    ps_curve_keys_destroy (&self);
    return NULL;
}

void
ps_curve_keys_destroy (ps_curve_keys_t **self_p)
{
    assert (self_p);
    ps_curve_keys_t *self = *self_p;
    if (self) {
        //  The secret does not stay behind in freed memory
        memset (self->secret_txt, 0, sizeof self->secret_txt);
        free (self->trusted);
        free (self);
        *self_p = NULL;
    }
}

void
ps_curve_keys_apply (ps_curve_keys_t *self, zsock_t *sock)
{
    assert (self);
    assert (sock);
    zsock_set_curve_publickey (sock, self->public_txt);
    zsock_set_curve_secretkey (sock, self->secret_txt);
    zsock_set_curve_serverkey (sock, self->server_txt);
    if (self->trusted)
        zsock_set_zap_domain (sock, self->trusted);
}

int
ps_curve_check (const ps_curve_t *curve)
{
    assert (curve);
    if (!curve->cert)
        return 0;
    ps_curve_keys_t *keys = ps_curve_keys_new (curve, "prime_server");
    int rc = keys ? 0 : -1;
    ps_curve_keys_destroy (&keys);
    return rc;
}
