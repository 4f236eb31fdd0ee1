/*  ps_span: bytes seen, not owned: a frame's data and size without a
    zframe around them. Private.

    A job crosses threads of one process as one block (ps_dispatch.c);
    a worker reads its frames in place and a sender writes them from
    where they already are, so a job costs no zmsg, zframe or list node
    on either side, which with glibc is a malloc in one thread and its
    free under another thread's arena lock.
*/
#ifndef PS_SPAN_H_INCLUDED
#define PS_SPAN_H_INCLUDED

#include <stddef.h>

typedef struct {
    const void *data;
    size_t size;
} ps_span_t;

#endif
