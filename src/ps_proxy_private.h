/*  ps_proxy_private: what the library's own parts ask of a proxy beyond
    its public API. Private.
*/
#ifndef PS_PROXY_PRIVATE_H_INCLUDED
#define PS_PROXY_PRIVATE_H_INCLUDED

#include "prime_server/prime_server.h"

//  Give a proxy started without a loopback (its server had not bound one
//  yet: ps_pipeline with wildcard ports) the server's: its lost-job and
//  stage reports go there from now on. A proxy that has one keeps it.
//  Returns 0, or -1 if it could not connect.
int ps_proxy_set_loopback (ps_proxy_t *self, const char *loopback);

#endif
