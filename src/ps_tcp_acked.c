/*  ps_tcp_acked: the peer's acknowledged bytes of a TCP socket (see
    ps_tcp_acked.h).
*/
#include "ps_tcp_acked.h"

#include <stddef.h>
#ifdef __linux__
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

int
ps_tcp_acked (int fd, uint64_t *acked)
{
#ifdef __linux__
    struct tcp_info info;
    socklen_t size = sizeof info;
    if (fd < 0 || getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0)
        return -1;
    //  An older kernel fills less of the struct
    if (size < offsetof (struct tcp_info, tcpi_bytes_acked) + sizeof (info.tcpi_bytes_acked))
        return -1;
    *acked = info.tcpi_bytes_acked;
    return 0;
#else
    (void) fd;
    (void) acked;
    return -1;
#endif
}
