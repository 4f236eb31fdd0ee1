/*  ps_daemon_keys: the --keys/--key options of the split daemons (see
    ps_daemon.h and docs/DEPLOY.md, "Securing the backend links").

    One directory per deployment keeps the command lines short: every
    machine gets the same directory of public certificates (all trusted)
    plus its own secret, and every daemon names only its key.
*/
#include "ps_daemon.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *s_dir;
static const char *s_name;

bool
ps_daemon_curve_option (int opt, const char *arg)
{
    if (opt == PS_DAEMON_OPT_KEYS)
        s_dir = arg;
    else if (opt == PS_DAEMON_OPT_KEY) {
        if (!*arg || strchr (arg, '/'))
            ps_service_usage_error ("--key takes a name in the --keys directory, not '%s'", arg);
        s_name = arg;
    }
    else
        return false;
    return true;
}

static void __attribute__ ((noreturn)) s_refuse (const char *format, ...)
    __attribute__ ((format (printf, 1, 2)));

static void
s_refuse (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "%s: ", ps_service_name ());
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    exit (1);
}

void
ps_daemon_curve_config (const char *default_name, ps_curve_t *curve)
{
    assert (default_name);
    assert (curve);
    static char cert[PATH_MAX];
    static char secret[PATH_MAX];
    static char server[PATH_MAX];
    *curve = (ps_curve_t){NULL, NULL, NULL};
    if (!s_dir) {
        if (s_name)
            ps_service_usage_error ("--key needs --keys DIR");
        return;
    }
    const char *name = s_name ? s_name : default_name;
    struct stat st;
    if (stat (s_dir, &st) != 0 || !S_ISDIR (st.st_mode))
        s_refuse ("--keys %s is not a directory", s_dir);
    if (snprintf (cert, sizeof cert, "%s/%s", s_dir, name) >= (int) sizeof cert
        || snprintf (secret, sizeof secret, "%s_secret", cert) >= (int) sizeof secret
        || snprintf (server, sizeof server, "%s/server", s_dir) >= (int) sizeof server)
        s_refuse ("--keys %s: path too long", s_dir);
    //  As ssh does with a private key: one that others could read may have
    //  been copied, and would prove nothing about who holds it
    if (stat (secret, &st) != 0)
        s_refuse ("cannot read the secret key %s: %s (prime_keygen %s %s writes it)", secret,
                  strerror (errno), s_dir, name);
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        s_refuse ("the secret key %s is accessible by group or others (mode %04o): refusing to "
                  "start; chmod 600 %s",
                  secret, (unsigned) (st.st_mode & 07777), secret);
    *curve = (ps_curve_t){.cert = cert, .trusted = s_dir, .server = server};
    if (ps_curve_check (curve) != 0)
        s_refuse ("the keys %s and %s in %s cannot be used (logged above)", name, "server", s_dir);
}
