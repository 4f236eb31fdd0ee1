/*  ps_envelope_private: what the components share about envelopes they
    refuse. Not installed.
*/
#ifndef PS_ENVELOPE_PRIVATE_H_INCLUDED
#define PS_ENVELOPE_PRIVATE_H_INCLUDED

#include "prime_server/ps_envelope.h"
#include <stdbool.h>
#include <stdint.h>

//  Log a message dropped because its first frame (envelope_frame, may be
//  NULL) is not a valid envelope for that socket. A peer that speaks
//  another protocol version is a deployment mistake: said once per socket
//  (*version_warned) even when not verbose; other junk only when verbose.
void ps_envelope_log_junk (const char *component, const char *socket, zframe_t *envelope_frame,
                           size_t frames, bool verbose, bool *version_warned);

//  As ps_envelope_decode, from the bytes of the frame.
int ps_envelope_unpack (const void *bytes, size_t size, ps_envelope_t *envelope);

//  The protocol's 8-byte big-endian integers (envelope id, STATS figures,
//  a stream's size and grants), written and read in one place.
static inline void
ps_put_u64 (byte *out, uint64_t value)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (byte) value;
        value >>= 8;
    }
}

static inline uint64_t
ps_get_u64 (const byte *in)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = (value << 8) | in[i];
    return value;
}

#endif
