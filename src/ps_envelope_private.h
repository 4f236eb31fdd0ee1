/*  ps_envelope_private: what the components share about envelopes they
    refuse. Not installed.
*/
#ifndef PS_ENVELOPE_PRIVATE_H_INCLUDED
#define PS_ENVELOPE_PRIVATE_H_INCLUDED

#include "prime_server/ps_envelope.h"
#include <stdbool.h>

//  Log a message dropped because its first frame (envelope_frame, may be
//  NULL) is not a valid envelope for that socket. A peer that speaks
//  another protocol version is a deployment mistake: said once per socket
//  (*version_warned) even when not verbose; other junk only when verbose.
void ps_envelope_log_junk (const char *component, const char *socket, zframe_t *envelope_frame,
                           size_t frames, bool verbose, bool *version_warned);

#endif
