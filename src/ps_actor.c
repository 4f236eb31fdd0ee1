/*  ps_actor: the start contract of the component actors (see ps_actor.h).
*/
#include "ps_actor.h"
#include "ps_socket.h"
#include <stdio.h>

void
ps_actor_started (zsock_t *pipe, bool started, zsock_t **bound, size_t count)
{
    assert (pipe);
    assert (bound || count == 0);
    zsock_signal (pipe, started ? 0 : 1);
    zmsg_t *msg = zmsg_new ();
    assert (msg);
    zmsg_addstr (msg, started ? "0" : "1");
    for (size_t i = 0; i < count; i++) {
        char *endpoint = started ? ps_socket_bound_endpoint (bound[i]) : NULL;
        zmsg_addstr (msg, endpoint ? endpoint : "");
        zstr_free (&endpoint);
    }
    zmsg_send (&msg, pipe);
}

zactor_t *
ps_actor_new (zactor_fn *task, void *args, char **bound, size_t count)
{
    assert (task);
    assert (bound || count == 0);
    for (size_t i = 0; i < count; i++)
        bound[i] = NULL;
    zactor_t *actor = zactor_new (task, args);
    if (!actor)
        return NULL;
    //  The actor sent the message before it could have returned
    zmsg_t *msg = zmsg_recv (actor);
    char *status = msg ? zmsg_popstr (msg) : NULL;
    bool started = status && streq (status, "0") && zmsg_size (msg) == count;
    zstr_free (&status);
    for (size_t i = 0; started && i < count; i++) {
        bound[i] = zmsg_popstr (msg);
        if (bound[i] && !*bound[i])
            zstr_free (&bound[i]);
    }
    zmsg_destroy (&msg);
    if (!started)
        zactor_destroy (&actor);
    return actor;
}
