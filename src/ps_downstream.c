/*  ps_downstream_set: named downstreams (see ps_downstream.h). A stage has
    a few edges, looked up once per forwarded job: a linear scan of short
    names costs less than hashing them.
*/
#include "ps_downstream.h"

#include <string.h>

typedef struct {
    char *name;
    char *endpoint;  //  for ps_downstream_set_renew_refused
    zsock_t *sock;   //  NULL when the stage is a dispatch in this process
    ps_sink_t sink;
} s_entry_t;

struct _ps_downstream_set_t {
    s_entry_t *entries;
    size_t size;
    ps_socket_options_t options;  //  the worker's, to make a socket anew
};

void
ps_downstream_set_destroy (ps_downstream_set_t **self_p)
{
    assert (self_p);
    ps_downstream_set_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->size; i++) {
        zstr_free (&self->entries[i].name);
        zstr_free (&self->entries[i].endpoint);
        ps_socket_destroy (&self->entries[i].sock);
        ps_dispatch_destroy (&self->entries[i].sink.dispatch);
    }
    free (self->entries);
    free (self);
    *self_p = NULL;
}

ps_downstream_set_t *
ps_downstream_set_new (const ps_downstream_t *entries, size_t count,
                       const ps_socket_options_t *options)
{
    assert (entries || count == 0);
    assert (options);
    ps_downstream_set_t *self = (ps_downstream_set_t *) zmalloc (sizeof (ps_downstream_set_t));
    assert (self);
    self->entries = (s_entry_t *) zmalloc ((count ? count : 1) * sizeof (s_entry_t));
    assert (self->entries);
    self->options = *options;
    for (size_t i = 0; i < count; i++) {
        const ps_downstream_t *entry = &entries[i];
        if (!entry->name || !*entry->name || !entry->endpoint) {
            zsys_error ("ps_worker: downstream %zu needs a name and an endpoint", i + 1);
            goto failed;
        }
        if (ps_downstream_set_find (self, entry->name)) {
            zsys_error ("ps_worker: downstream '%s' given twice", entry->name);
            goto failed;
        }
        s_entry_t *copy = &self->entries[self->size];
        copy->sink.dispatch = ps_dispatch_find (entry->endpoint);
        if (copy->sink.dispatch) {
            copy->name = strdup (entry->name);
            assert (copy->name);
            self->size++;
            continue;
        }
        copy->sock = ps_socket_new (ZMQ_PUSH, options, "ps_worker", entry->name);
        if (!copy->sock)
            goto failed;
        //  As the worker's own downstream: a forward to a pool that is not
        //  there fails within the send timeout and the client is told,
        //  rather than waiting in a queue for a peer that may never come.
        zsock_set_immediate (copy->sock, 1);
        copy->name = strdup (entry->name);
        copy->endpoint = strdup (entry->endpoint);
        assert (copy->name && copy->endpoint);
        self->size++;
        if (ps_socket_attach (copy->sock, false, entry->endpoint, "ps_worker", entry->name) != 0)
            goto failed;
        copy->sink.handle = zsock_resolve (copy->sock);
    }
    return self;

failed:
    ps_downstream_set_destroy (&self);
    return NULL;
}

const ps_sink_t *
ps_downstream_set_find (ps_downstream_set_t *self, const char *name)
{
    assert (self);
    assert (name);
    for (size_t i = 0; i < self->size; i++)
        if (streq (self->entries[i].name, name))
            return &self->entries[i].sink;
    return NULL;
}

const ps_sink_t *
ps_downstream_set_only (ps_downstream_set_t *self)
{
    assert (self);
    return self->size == 1 ? &self->entries[0].sink : NULL;
}

size_t
ps_downstream_set_size (ps_downstream_set_t *self)
{
    assert (self);
    return self->size;
}

void
ps_downstream_set_renew_refused (ps_downstream_set_t *self)
{
    assert (self);
    for (size_t i = 0; i < self->size; i++) {
        s_entry_t *entry = &self->entries[i];
        if (entry->sock
            && ps_socket_renew_refused (&entry->sock, &self->options, "ps_worker", entry->name,
                                        entry->endpoint))
            entry->sink.handle = zsock_resolve (entry->sock);
    }
}
