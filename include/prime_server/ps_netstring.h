/*  ps_netstring: the netstring encoding "<len>:<bytes>," (D. J. Bernstein).

    Encoding, a zero-copy one-shot parser in the picohttpparser style, and an
    incremental decoder that accepts bytes split anywhere. Lengths are bounded
    before they are parsed, so a hostile peer cannot make us read a huge number.
*/
#ifndef PS_NETSTRING_H_INCLUDED
#define PS_NETSTRING_H_INCLUDED

#include "ps_export.h"
#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Size of the netstring for a payload of size bytes.
PS_EXPORT size_t ps_netstring_encoded_size (size_t size);

//  Write the netstring of data into dest, which must hold
//  ps_netstring_encoded_size (size) bytes. Returns the bytes written.
//  With data NULL only the length and the comma are written: the size
//  bytes between them are the caller's to fill, in place.
PS_EXPORT size_t ps_netstring_write (char *dest, const void *data, size_t size);

//  Netstring of data as a new chunk. Caller owns.
PS_EXPORT zchunk_t *ps_netstring_encode (const void *data, size_t size);

//  Parse one netstring at the start of buf. On success returns the bytes
//  consumed and points *payload (into buf) and *payload_size at the payload.
//  Returns -2 when more bytes are needed, -1 on malformed input or a length
//  over max_size. *error (may be NULL) gets a static reason on -1.
PS_EXPORT ssize_t ps_netstring_parse (const char *buf, size_t size, size_t max_size,
                                      const char **payload, size_t *payload_size,
                                      const char **error);

typedef struct _ps_netstring_decoder_t ps_netstring_decoder_t;

//  Incremental decoder; payloads over max_size are errors.
PS_EXPORT ps_netstring_decoder_t *ps_netstring_decoder_new (size_t max_size);
PS_EXPORT void ps_netstring_decoder_destroy (ps_netstring_decoder_t **self_p);

//  Feed bytes as they arrive. Returns 0, or -1 once the stream is malformed
//  (the decoder then stays failed; payloads completed before the error can
//  still be taken with _next).
PS_EXPORT int ps_netstring_decoder_feed (ps_netstring_decoder_t *self, const char *data,
                                         size_t size);

//  Next complete payload in order, or NULL. Caller owns.
PS_EXPORT zframe_t *ps_netstring_decoder_next (ps_netstring_decoder_t *self);

//  Reason of the failure, or NULL if none.
PS_EXPORT const char *ps_netstring_decoder_error (ps_netstring_decoder_t *self);

//  True while a partial netstring is buffered.
PS_EXPORT bool ps_netstring_decoder_partial (ps_netstring_decoder_t *self);

#ifdef __cplusplus
}
#endif
#endif
