/*  ps_proxy_group: several proxies on one thread. Private.

    A pipeline in one process runs its stages' proxies in a group: they
    share one actor thread and one loop (ps_loop), so a job and the READY
    that frees its worker wake one routing thread, not one per stage. Each
    member is a ps_proxy_t like any other (endpoints, ps_proxy_stats); it
    runs until its group is destroyed, and ps_proxy_destroy on a member
    frees only the handle. Apart (prime_proxyd), a proxy keeps a thread of
    its own (ps_proxy_new). Implemented in ps_proxy.c, whose statics the
    members share.
*/
#ifndef PS_PROXY_GROUP_H_INCLUDED
#define PS_PROXY_GROUP_H_INCLUDED

#include "prime_server/prime_server.h"

typedef struct _ps_proxy_group_t ps_proxy_group_t;

//  A group with no member yet, its thread started; NULL if it could not be.
ps_proxy_group_t *ps_proxy_group_new (void);

//  How many more proxies the group can take (its loop has room for a few).
size_t ps_proxy_group_room (ps_proxy_group_t *self);

//  Start a proxy in the group, as ps_proxy_new would alone. Returns NULL,
//  with a logged reason, when a bind fails or the group is full.
ps_proxy_t *ps_proxy_group_add (ps_proxy_group_t *self, const ps_proxy_config_t *config);

//  Give a member started without a loopback (the server was not bound yet)
//  the server's: its lost-job and stage reports go there from now on. A
//  member that has one keeps it. Returns 0, or -1 if it could not connect.
int ps_proxy_group_set_loopback (ps_proxy_t *member, const char *loopback);

//  Stop every member and the thread; accepts NULL. Destroy the members'
//  handles before or after, as convenient.
void ps_proxy_group_destroy (ps_proxy_group_t **self_p);

#endif
