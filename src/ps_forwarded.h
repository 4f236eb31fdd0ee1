/*  ps_forwarded: the client's address as a trusted reverse proxy reports
    it, from the Forwarded (RFC 7239) or X-Forwarded-For header. Not
    installed.

    Only the last hop counts: the entry the proxy in front of us appended
    (the last "for=" of the last Forwarded field, or else the last address
    of the last X-Forwarded-For field). Entries before it were written by
    whoever the proxy talked to, and anyone can write anything there.
*/
#ifndef PS_FORWARDED_H_INCLUDED
#define PS_FORWARDED_H_INCLUDED

#include "prime_server/prime_server.h"
#include <stdbool.h>

//  Writes the address (an IPv4 or IPv6 address, without port, brackets or
//  quotes) into out and returns true; false if neither header gives one
//  that looks like an address (then the connection's is the client's).
bool ps_forwarded_client (const ps_pairs_t *headers, char *out, size_t size);

#endif
