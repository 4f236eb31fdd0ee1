/*  ps_downstream_set: a worker's named downstreams, the edges of its stage
    in a graph of stages. Private to the worker (not installed).

    One PUSH per name, connected to that stage's proxy upstream, made with
    the worker's socket options through ps_socket.c, and made anew if the
    next stage refused our key; or, for a stage that is a dispatch in this
    process (ps_dispatch.h), that dispatch.
*/
#ifndef PS_DOWNSTREAM_H_INCLUDED
#define PS_DOWNSTREAM_H_INCLUDED

#include "prime_server/ps_worker.h"
#include "ps_dispatch.h"
#include "ps_socket.h"

typedef struct _ps_downstream_set_t ps_downstream_set_t;

//  A PUSH connected to each entry's endpoint. options are copied (their
//  keys borrowed: they must outlive the set). NULL, logged, for an entry
//  with no name or endpoint, a name given twice, or a socket that cannot
//  be made or connected.
ps_downstream_set_t *ps_downstream_set_new (const ps_downstream_t *entries, size_t count,
                                            const ps_socket_options_t *options);

//  Closes the sockets. Accepts NULL.
void ps_downstream_set_destroy (ps_downstream_set_t **self_p);

//  Where name's jobs go, or NULL if there is no such name.
const ps_sink_t *ps_downstream_set_find (ps_downstream_set_t *self, const char *name);

//  The sink when the set has exactly one entry, else NULL.
const ps_sink_t *ps_downstream_set_only (ps_downstream_set_t *self);

size_t ps_downstream_set_size (ps_downstream_set_t *self);

//  Makes anew each socket whose next stage refused our key at the CURVE
//  handshake (ps_socket_renew_refused), so it connects afresh. Handles
//  found before the call may be stale after it.
void ps_downstream_set_renew_refused (ps_downstream_set_t *self);

#endif
