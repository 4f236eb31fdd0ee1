/*  ps_part_pool: reusable buffers for the large parts of streamed answers
    (see ps_part_pool.h).
*/
#include "ps_part_pool.h"

#include <pthread.h>
#include <string.h>

struct _ps_part_pool_t {
    pthread_mutex_t lock;  //  buffers come back on libzmq's threads
    size_t size;
    size_t keep;
    size_t idle_count;
    void **idle;
    size_t refs;  //  the owner's, and one per buffer lent
};

ps_part_pool_t *
ps_part_pool_new (size_t size, size_t keep)
{
    assert (size > 0);
    ps_part_pool_t *self = (ps_part_pool_t *) zmalloc (sizeof (ps_part_pool_t));
    assert (self);
    pthread_mutex_init (&self->lock, NULL);
    self->size = size;
    self->keep = keep;
    self->idle = (void **) zmalloc ((keep ? keep : 1) * sizeof (void *));
    assert (self->idle);
    self->refs = 1;
    return self;
}

//  Drops one reference (the lock held); frees the pool with the last.
//  Returns true if it is gone.
static bool
s_unref_locked (ps_part_pool_t *self)
{
    if (--self->refs > 0)
        return false;
    pthread_mutex_unlock (&self->lock);
    for (size_t i = 0; i < self->idle_count; i++)
        free (self->idle[i]);
    free (self->idle);
    pthread_mutex_destroy (&self->lock);
    free (self);
    return true;
}

void
ps_part_pool_destroy (ps_part_pool_t **self_p)
{
    assert (self_p);
    ps_part_pool_t *self = *self_p;
    if (!self)
        return;
    *self_p = NULL;
    pthread_mutex_lock (&self->lock);
    if (!s_unref_locked (self))
        pthread_mutex_unlock (&self->lock);
}

size_t
ps_part_pool_size (ps_part_pool_t *self)
{
    assert (self);
    return self->size;
}

//  libzmq's free function for a lent buffer: back to the pool, or freed
//  when the pool keeps enough.
static void
s_give_back (void *data, void *hint)
{
    ps_part_pool_t *self = (ps_part_pool_t *) hint;
    pthread_mutex_lock (&self->lock);
    if (self->refs > 1 && self->idle_count < self->keep) {
        self->idle[self->idle_count++] = data;
        data = NULL;
    }
    if (!s_unref_locked (self))
        pthread_mutex_unlock (&self->lock);
    free (data);
}

int
ps_part_pool_msg (ps_part_pool_t *self, zmq_msg_t *msg, const void *data, size_t size)
{
    assert (self);
    assert (size <= self->size);
    pthread_mutex_lock (&self->lock);
    void *buffer = self->idle_count ? self->idle[--self->idle_count] : NULL;
    self->refs++;
    pthread_mutex_unlock (&self->lock);
    if (!buffer)
        buffer = malloc (self->size);
    assert (buffer);
    memcpy (buffer, data, size);
    if (zmq_msg_init_data (msg, buffer, size, s_give_back, self) != 0) {
        s_give_back (buffer, self);
        return -1;
    }
    return 0;
}
