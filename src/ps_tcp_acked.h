/*  ps_tcp_acked: how many of the bytes sent on a TCP socket its peer has
    acknowledged, as the kernel counts them. Not installed.

    Its own file because the kernel's struct tcp_info with the counter
    (linux/tcp.h) cannot be included beside the C library's netinet/tcp.h,
    which czmq.h brings in.
*/
#ifndef PS_TCP_ACKED_H_INCLUDED
#define PS_TCP_ACKED_H_INCLUDED

#include <stdint.h>

//  The bytes the peer of TCP socket fd has acknowledged (tcpi_bytes_acked,
//  Linux >= 4.1) into *acked: 0, or -1 where that cannot be read (another
//  kind of socket, another system).
int ps_tcp_acked (int fd, uint64_t *acked);

#endif
