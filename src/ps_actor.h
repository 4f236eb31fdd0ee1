/*  ps_actor: how every component actor (server, proxy, worker) starts.
    Private.

    The start contract (docs/PROTOCOL.md, "Actors"): the actor sends a
    signal, 0 if it started or 1 if it did not (it has then returned), and
    then, either way, one message: the same status as a decimal string, and
    one frame per socket it binds with the endpoint as bound ("" for none,
    or when it did not start). zactor_new swallows the signal's value; the
    message carries it through.

    The config: the actor reads the caller's config only before it signals
    (zactor_new waits for that) and copies what it needs later, so the
    caller's config, and the strings it points to, may go as soon as
    zactor_new returns. The public objects hand it straight through.
*/
#ifndef PS_ACTOR_H_INCLUDED
#define PS_ACTOR_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

//  The actor's side: signals and reports the endpoints the count sockets
//  in bound are bound to (NULL entries report ""). Call it once, at start.
void ps_actor_started (zsock_t *pipe, bool started, zsock_t **bound, size_t count);

//  The public object's side: zactor_new (task, args), then the start
//  message. Returns the actor, with the count endpoints as bound in bound
//  (the caller's; NULL for ""), or NULL if it did not start.
zactor_t *ps_actor_new (zactor_fn *task, void *args, char **bound, size_t count);

#endif
