/*  ps_part_pool: reusable buffers for the large parts of streamed answers.
    Private to the worker (not installed).

    A part leaves the worker as a zmq message that owns its bytes until the
    server has written them to the client, on another thread. Allocated and
    freed per part, a large buffer is an mmap and a munmap in glibc (or a
    heap grown and trimmed back), so every part paid a page fault per 4 KiB
    before its copy: half of the worker's time on a file served over
    loopback. The pool keeps a few buffers of one size and lends them as
    zmq messages' data (zmq_msg_init_data); a buffer comes back when libzmq
    releases the message, from whichever thread does.

    The pool is reference counted: its owner's reference and one per buffer
    lent, so a worker may stop while its last parts are still queued in the
    server.
*/
#ifndef PS_PART_POOL_H_INCLUDED
#define PS_PART_POOL_H_INCLUDED

#include <czmq.h>

typedef struct _ps_part_pool_t ps_part_pool_t;

//  A pool of buffers of size bytes, keeping at most keep of them idle.
ps_part_pool_t *ps_part_pool_new (size_t size, size_t keep);

//  Drops the owner's reference; the pool goes with its last buffer.
void ps_part_pool_destroy (ps_part_pool_t **self_p);

//  The pool's buffer size: parts up to it are lent a buffer.
size_t ps_part_pool_size (ps_part_pool_t *self);

//  Initialises msg with a pooled buffer holding a copy of data (size at
//  most the pool's). 0, or -1 if libzmq refused the message.
int ps_part_pool_msg (ps_part_pool_t *self, zmq_msg_t *msg, const void *data, size_t size);

#endif
