/*  prime_keygen: CurveZMQ key pairs for the backend links, in czmq's
    certificate format (what zcert_load, pyzmq's zmq.auth.load_certificate
    and the daemons' --keys read).

        prime_keygen [--force] DIR NAME...

    Writes DIR/NAME (the public key: copy it to every machine of the
    deployment) and DIR/NAME_secret (the key pair, mode 0600: it stays on
    the machine that runs NAME) for each NAME, and prints each public key.
    DIR is made (mode 0700) if missing. An existing certificate is kept
    unless --force: a new key pair would lock its current holder out.
*/
#include "prime_server/prime_server.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_usage_text =
    "usage: prime_keygen [--force] DIR NAME...\n"
    "  DIR          the deployment's key directory (made, mode 0700, if missing)\n"
    "  NAME         a component: 'server' for the binders (prime_httpd and\n"
    "               prime_proxyd share it), any other name for a worker machine\n"
    "writes DIR/NAME (public: copy to every machine) and DIR/NAME_secret (mode 0600:\n"
    "only on the machine that runs NAME), prints NAME and the public key.\n"
    "options:\n"
    "  -f, --force                replace an existing certificate\n"
    "  -h, --help                 this text\n"
    "  -V, --version              the version\n"
    "example (see docs/DEPLOY.md):\n"
    "  prime_keygen /etc/prime_server/keys server worker-a worker-b\n";

static int
s_generate (const char *dir, const char *name, bool force)
{
    char *public_path = zsys_sprintf ("%s/%s", dir, name);
    char *secret_path = zsys_sprintf ("%s_secret", public_path);
    int rc = -1;
    struct stat st;
    if (!force && (stat (public_path, &st) == 0 || stat (secret_path, &st) == 0)) {
        fprintf (stderr, "prime_keygen: %s exists (--force replaces it)\n", public_path);
        goto cleanup;
    }
    zcert_t *cert = zcert_new ();
    assert (cert);
    zcert_set_meta (cert, "name", "%s", name);
    zcert_set_meta (cert, "made-by", "prime_keygen");
    //  The secret is made private from its creation (no window where it is
    //  world-readable), then set to exactly 0600 whatever the umask
    mode_t mask = umask (077);
    int saved = zcert_save (cert, public_path);
    umask (mask);
    if (saved != 0 || chmod (secret_path, 0600) != 0 || chmod (public_path, 0644) != 0)
        fprintf (stderr, "prime_keygen: cannot write %s: %s\n", public_path, strerror (errno));
    else {
        printf ("%s %s\n", name, zcert_public_txt (cert));
        rc = 0;
    }
    zcert_destroy (&cert);
cleanup:
    zstr_free (&public_path);
    zstr_free (&secret_path);
    return rc;
}

int
main (int argc, char *argv[])
{
    static const struct option long_options[] = {{"force", no_argument, NULL, 'f'},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {"version", no_argument, NULL, 'V'},
                                                 {NULL, 0, NULL, 0}};
    bool force = false;
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, "fhV", long_options, NULL)) != -1) {
        if (opt == 'f')
            force = true;
        else if (opt == 'h') {
            fputs (s_usage_text, stdout);
            return 0;
        }
        else if (opt == 'V') {
            printf ("prime_keygen %s\n", PS_VERSION_STRING);
            return 0;
        }
        else {
            fprintf (stderr, "prime_keygen: unknown option '%s'\n%s", argv[optind - 1],
                     s_usage_text);
            return 2;
        }
    }
    if (argc - optind < 2) {
        fprintf (stderr, "prime_keygen: missing %s\n%s", optind == argc ? "DIR and NAME" : "NAME",
                 s_usage_text);
        return 2;
    }
    const char *dir = argv[optind];
    for (int i = optind + 1; i < argc; i++)
        if (!*argv[i] || strchr (argv[i], '/') || strstr (argv[i], "_secret")) {
            fprintf (stderr, "prime_keygen: '%s' is not a NAME (no '/', no '_secret')\n", argv[i]);
            return 2;
        }
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        fprintf (stderr, "prime_keygen: cannot make %s: %s\n", dir, strerror (errno));
        return 1;
    }
    int rc = 0;
    for (int i = optind + 1; i < argc; i++)
        if (s_generate (dir, argv[i], force) != 0)
            rc = 1;
    return rc;
}
