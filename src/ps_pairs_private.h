/*  ps_pairs_private: the wire form of a pairs object written into memory
    the caller provides, so that a frame can be built in place (for example
    straight into a zmq_msg_t) without an intermediate zframe. Not
    installed.
*/
#ifndef PS_PAIRS_PRIVATE_H_INCLUDED
#define PS_PAIRS_PRIVATE_H_INCLUDED

#include "prime_server/ps_pairs.h"

//  Bytes of the wire form (what ps_pairs_encode would return).
size_t ps_pairs_encoded_size (const ps_pairs_t *self);

//  Write the wire form into dest, which holds ps_pairs_encoded_size bytes.
//  Returns the bytes written.
size_t ps_pairs_write (const ps_pairs_t *self, char *dest);

#endif
