/*  ps_notify: ps_service's word to the service manager (ps_service_notify,
    declared in ps_service.h).

    systemd's Type=notify: the manager names a unix datagram socket in
    NOTIFY_SOCKET, and the service sends it lines such as READY=1 (start
    what depends on me) and STOPPING=1 (I am on my way out). This is the
    protocol sd_notify(3) documents and systemd promises to keep, spoken
    here directly rather than through libsystemd: it is one sendto, and a
    library that every user would then link for one datagram buys nothing.
    Without NOTIFY_SOCKET it does nothing, so a service started any other
    way behaves exactly as before.

    What it does not do: the "vsock:" addresses of systemd 254 (services in
    virtual machines), file descriptor passing, and the watchdog.
*/
#include "prime_server/ps_service.h"

#include <czmq.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

//  One warning per process: a misconfigured NOTIFY_SOCKET would otherwise
//  repeat itself at every state change.
static atomic_bool s_warned;

static void
s_warn_once (const char *name, const char *why)
{
    if (!atomic_exchange (&s_warned, true))
        zsys_warning ("%s: cannot tell the service manager through NOTIFY_SOCKET '%s': %s",
                      ps_service_name (), name, why);
}

int
ps_service_notify (const char *state)
{
    assert (state);
    const char *name = getenv ("NOTIFY_SOCKET");
    if (!name || !*name)
        return 0;
    struct sockaddr_un address;
    memset (&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    size_t length = strlen (name);
    if ((name[0] != '/' && name[0] != '@') || length >= sizeof address.sun_path) {
        s_warn_once (name, "not a socket path or an abstract socket name");
        return -1;
    }
    memcpy (address.sun_path, name, length);
    socklen_t size = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + length);
    if (name[0] == '@')
        address.sun_path[0] = '\0';  //  the abstract namespace: no terminating NUL counted
    else
        size += 1;

    int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        s_warn_once (name, strerror (errno));
        return -1;
    }
    //  The manager reads the sender's pid from the credentials the kernel
    //  attaches (its socket has SO_PASSCRED): nothing to add here.
    ssize_t sent = sendto (fd, state, strlen (state), MSG_NOSIGNAL,
                           (const struct sockaddr *) &address, size);
    int error = errno;
    close (fd);
    if (sent < 0) {
        s_warn_once (name, strerror (error));
        return -1;
    }
    return 1;
}
