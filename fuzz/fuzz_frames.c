/*  fuzz_frames: libFuzzer harness for every backend message decoder.

    The input becomes one ZeroMQ multipart message: its bytes are cut into
    frames at every occurrence of the two-byte separator FE FF (so the fuzzer
    controls frame count and sizes without length fields to get right). The
    message is then read the way each receiver reads it (docs/PROTOCOL.md):

    - JOB (proxy upstream, worker upstream): envelope, then for kind HTTP the
      8-frame request form through ps_http_request_decode;
    - READY (proxy downstream): envelope and an optional heartbeat frame;
    - CANCEL (worker interrupt): exactly one envelope frame;
    - RESULT (server loopback): envelope, a headers pairs frame, a body.

    Independently of the envelope, every frame goes through ps_pairs_decode
    and the message (without its first frame if that is an envelope) through
    ps_http_request_decode. Whatever decodes must encode back to the same
    thing: envelopes and pairs byte for byte, requests field by field.
*/
#include "fuzz_util.h"

#define S_MAX_FRAMES 64

//  A valid envelope encodes back to its own bytes, every field one of its own
static void
s_check_envelope (zframe_t *frame, const ps_envelope_t *envelope)
{
    zframe_t *encoded = ps_envelope_encode (envelope);
    FUZZ_CHECK (zframe_size (encoded) == PS_ENVELOPE_SIZE);
    FUZZ_CHECK (memcmp (zframe_data (frame), zframe_data (encoded), PS_ENVELOPE_SIZE) == 0);
    FUZZ_CHECK (envelope->type >= PS_MSG_JOB && envelope->type <= PS_MSG_RETURN);
    FUZZ_CHECK (ps_envelope_version (frame) == PS_PROTOCOL_VERSION);
    zframe_destroy (&encoded);
}

//  A pairs frame that decodes encodes back to the same bytes
static ps_pairs_t *
s_check_pairs (zframe_t *frame, bool nocase)
{
    ps_pairs_t *pairs = ps_pairs_decode (zframe_data (frame), zframe_size (frame), nocase);
    if (pairs) {
        zframe_t *encoded = ps_pairs_encode (pairs);
        FUZZ_CHECK (zframe_eq (encoded, frame));
        zframe_destroy (&encoded);
    }
    return pairs;
}

//  The request's wire form (one frame, or the earlier frame per field):
//  what decodes re-encodes, in one frame, to an equal request
static void
s_check_request (zmsg_t *msg)
{
    ps_http_request_t *request = ps_http_request_decode (msg);
    if (!request)
        return;
    size_t frames = zmsg_size (msg);
    FUZZ_CHECK (frames == 1 || frames == 8 || frames == 9);
    zmsg_t *encoded = ps_http_request_encode (request);
    FUZZ_CHECK (zmsg_size (encoded) == 1);
    ps_http_request_t *again = ps_http_request_decode (encoded);
    FUZZ_CHECK (again);
    FUZZ_CHECK (fuzz_request_equal (request, again));
    FUZZ_CHECK (streq (ps_http_request_client (request), ps_http_request_client (again)));
    //  Every field has one form, so a one-frame request comes back byte
    //  for byte
    if (frames == 1)
        FUZZ_CHECK (zframe_eq (zmsg_first (msg), zmsg_first (encoded)));
    ps_http_request_destroy (&again);
    zmsg_destroy (&encoded);
    ps_http_request_destroy (&request);
}

//  RESULT as the server's loopback reads it; returns true if it would be
//  taken as a well-formed answer.
static bool
s_read_result (zmsg_t *msg)
{
    if (zmsg_size (msg) != 3)
        return false;
    zmsg_first (msg);
    zframe_t *headers_frame = zmsg_next (msg);
    //  an empty headers frame is an empty list; the body is any bytes
    if (zframe_size (headers_frame) == 0)
        return true;
    ps_pairs_t *headers = s_check_pairs (headers_frame, true);
    bool valid = headers != NULL;
    ps_pairs_destroy (&headers);
    return valid;
}

int LLVMFuzzerTestOneInput (const uint8_t *input, size_t input_size);

int
LLVMFuzzerTestOneInput (const uint8_t *input, size_t input_size)
{
    zmsg_t *msg = zmsg_new ();
    size_t start = 0;
    for (size_t at = 0; at <= input_size && zmsg_size (msg) < S_MAX_FRAMES; at++) {
        if (at == input_size
            || (at + 1 < input_size && input[at] == 0xFE && input[at + 1] == 0xFF)) {
            zmsg_addmem (msg, input + start, at - start);
            start = at + 2;
            at++;
        }
    }

    //  Every frame as a pairs frame, both ways of comparing names
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg)) {
        ps_pairs_t *pairs = s_check_pairs (frame, false);
        ps_pairs_t *nocase = s_check_pairs (frame, true);
        FUZZ_CHECK ((pairs == NULL) == (nocase == NULL));
        if (pairs)
            FUZZ_CHECK (fuzz_pairs_equal (pairs, nocase));
        ps_pairs_destroy (&pairs);
        ps_pairs_destroy (&nocase);
    }

    ps_envelope_t envelope;
    zframe_t *first = zmsg_first (msg);
    if (ps_envelope_decode (first, &envelope) == 0) {
        s_check_envelope (first, &envelope);
        switch (envelope.type) {
        case PS_MSG_JOB:
        case PS_MSG_RETURN: {
            //  the proxy and the worker pop the envelope, the rest is payload
            zframe_t *head = zmsg_pop (msg);
            if (envelope.kind == PS_KIND_HTTP)
                s_check_request (msg);
            zmsg_prepend (msg, &head);
            break;
        }
        case PS_MSG_READY:
        case PS_MSG_BEAT:
        case PS_MSG_PING:
        case PS_MSG_CANCEL:
        case PS_MSG_STATS:
        case PS_MSG_START:
        case PS_MSG_PART:
        case PS_MSG_END:
        case PS_MSG_ABORT:
        case PS_MSG_GRANT:
            //  nothing past the envelope is decoded here: a heartbeat or a
            //  routing id is opaque bytes; the STATS figures and the stream
            //  messages are read by the server's private code, which its
            //  own suites feed with bad frames
            break;
        case PS_MSG_RESULT:
            if (envelope.status >= 100 && envelope.status <= 599)
                (void) s_read_result (msg);
            break;
        default:
            FUZZ_CHECK (0);
        }
    }
    else {
        //  no envelope: give the request decoder the whole message
        s_check_request (msg);
    }
    zmsg_destroy (&msg);
    return 0;
}
