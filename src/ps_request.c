/*  ps_request: request records and the table of pending requests (see
    ps_request.h). The table is a zhashx by id and a zlistx in send order;
    a record keeps its zlistx handle, so taking it out is O(1) wherever it
    is in the order. Deadlines mostly grow with send order (one timeout for
    all, or a few per route), so a new request is placed by a search from
    the end of the list, which usually stops at once.
*/
#include "ps_request.h"
#include "ps_stream.h"

struct _ps_request_table_t {
    zhashx_t *by_id;   //  pending requests, keyed by &request->id
    zlistx_t *flight;  //  the same, in deadline order
    uint64_t next_id;
};

ps_request_t *
ps_request_new (ps_session_t *session)
{
    ps_request_t *self = (ps_request_t *) zmalloc (sizeof (ps_request_t));
    self->session = session;
    self->version = 11;
    self->started = zclock_mono ();
    self->started_us = zclock_usecs ();
    self->method = -1;
    self->route = -1;
    self->deadline = INT64_MAX;
    return self;
}

void
ps_request_destroy (ps_request_t **self_p)
{
    assert (self_p);
    ps_request_t *self = *self_p;
    if (!self)
        return;
    assert (!self->pending);
    ps_pairs_destroy (&self->headers);
    ps_http_request_destroy (&self->retry);
    ps_http_request_destroy (&self->deferred);
    ps_stream_destroy (&self->stream);
    if (self->has_body)
        zmq_msg_close (&self->body);
    zstr_free (&self->line);
    zstr_free (&self->client);
    zstr_free (&self->access_request);
    zstr_free (&self->access_headers);
    free (self);
    *self_p = NULL;
}

//  Ids and libzmq's routing ids are both mostly sequential: mix the bits so
//  that the table's modulo spreads them.
static size_t
s_u64_hash (const void *key)
{
    uint64_t value = *(const uint64_t *) key;
    value ^= value >> 33;
    value *= 0xff51afd7ed558ccdULL;
    value ^= value >> 33;
    return (size_t) value;
}

static int
s_u64_compare (const void *first, const void *second)
{
    uint64_t a = *(const uint64_t *) first;
    uint64_t b = *(const uint64_t *) second;
    return a < b ? -1 : a > b;
}

zhashx_t *
ps_request_u64_hashx_new (void)
{
    zhashx_t *hash = zhashx_new ();
    assert (hash);
    zhashx_set_key_hasher (hash, s_u64_hash);
    zhashx_set_key_comparator (hash, s_u64_compare);
    zhashx_set_key_duplicator (hash, NULL);
    zhashx_set_key_destructor (hash, NULL);
    return hash;
}

static int
s_deadline_compare (const void *first, const void *second)
{
    int64_t a = ((const ps_request_t *) first)->deadline;
    int64_t b = ((const ps_request_t *) second)->deadline;
    return a < b ? -1 : a > b;
}

ps_request_table_t *
ps_request_table_new (void)
{
    ps_request_table_t *self = (ps_request_table_t *) zmalloc (sizeof (ps_request_table_t));
    self->by_id = ps_request_u64_hashx_new ();
    self->flight = zlistx_new ();
    assert (self->flight);
    zlistx_set_comparator (self->flight, s_deadline_compare);
    self->next_id = 1;
    return self;
}

void
ps_request_table_destroy (ps_request_table_t **self_p)
{
    assert (self_p);
    ps_request_table_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->by_id);
    zlistx_destroy (&self->flight);
    free (self);
    *self_p = NULL;
}

uint64_t
ps_request_table_new_id (ps_request_table_t *self)
{
    assert (self);
    return self->next_id++;
}

void
ps_request_table_add (ps_request_table_t *self, ps_request_t *request)
{
    assert (self);
    assert (request);
    assert (request->id && !request->pending);
    int rc = zhashx_insert (self->by_id, &request->id, request);
    assert (rc == 0);  //  ids are never reused
    (void) rc;
    request->flight = zlistx_insert (self->flight, request, false);
    assert (request->flight);
    request->pending = true;
}

void
ps_request_table_remove (ps_request_table_t *self, ps_request_t *request)
{
    assert (self);
    assert (request);
    assert (request->pending);
    zhashx_delete (self->by_id, &request->id);
    zlistx_delete (self->flight, request->flight);
    request->flight = NULL;
    request->pending = false;
}

ps_request_t *
ps_request_table_lookup (ps_request_table_t *self, uint64_t id)
{
    assert (self);
    return (ps_request_t *) zhashx_lookup (self->by_id, &id);
}

ps_request_t *
ps_request_table_oldest (ps_request_table_t *self)
{
    assert (self);
    return (ps_request_t *) zlistx_head (self->flight);
}

size_t
ps_request_table_size (ps_request_table_t *self)
{
    assert (self);
    return zhashx_size (self->by_id);
}
