/*  fuzz_netstring: libFuzzer harness for the netstring decoder and parser.

    Three readings of the same bytes must agree: the incremental decoder fed
    the stream whole, the decoder fed it cut where the fuzzer says, and the
    one-shot parser (ps_netstring_parse) called in a loop. Same payloads in
    the same order, same error (reason included), same "partial" state; and
    every payload encodes back to the bytes it came from.

    Input layout: [cut hi][cut lo][limit][stream bytes...]
      limit: 0 means 1 MiB, else the payload limit in bytes (1..255), so
      the "over the limit" path is reached by short inputs.
*/
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput (const uint8_t *input, size_t input_size);

int
LLVMFuzzerTestOneInput (const uint8_t *input, size_t input_size)
{
    if (input_size < 3)
        return 0;
    size_t cut = ((size_t) input[0] << 8) | input[1];
    size_t max_size = input[2] ? input[2] : 1024 * 1024;
    const char *data = (const char *) input + 3;
    size_t size = input_size - 3;
    cut = size ? cut % (size + 1) : 0;

    ps_netstring_decoder_t *whole = ps_netstring_decoder_new (max_size);
    ps_netstring_decoder_t *split = ps_netstring_decoder_new (max_size);
    int rc_whole = ps_netstring_decoder_feed (whole, data, size);
    int rc_split = ps_netstring_decoder_feed (split, data, cut);
    if (rc_split == 0)
        rc_split = ps_netstring_decoder_feed (split, data + cut, size - cut);
    else
        FUZZ_CHECK (ps_netstring_decoder_feed (split, data + cut, size - cut) == -1);
    FUZZ_CHECK (rc_whole == rc_split);
    FUZZ_CHECK (
        fuzz_str_equal (ps_netstring_decoder_error (whole), ps_netstring_decoder_error (split)));
    FUZZ_CHECK ((rc_whole == -1) == (ps_netstring_decoder_error (whole) != NULL));
    FUZZ_CHECK (ps_netstring_decoder_partial (whole) == ps_netstring_decoder_partial (split));

    //  The one-shot parser walks the same stream
    size_t offset = 0;
    ssize_t used = 0;
    const char *error = NULL;
    while (true) {
        const char *payload = NULL;
        size_t payload_size = 0;
        used = offset < size ? ps_netstring_parse (data + offset, size - offset, max_size, &payload,
                                                   &payload_size, &error)
                             : -2;
        zframe_t *a = ps_netstring_decoder_next (whole);
        zframe_t *b = ps_netstring_decoder_next (split);
        if (used < 0) {
            FUZZ_CHECK (a == NULL && b == NULL);
            break;
        }
        FUZZ_CHECK (a && b);
        FUZZ_CHECK (zframe_eq (a, b));
        FUZZ_CHECK (zframe_size (a) == payload_size && payload_size <= max_size);
        FUZZ_CHECK (memcmp (zframe_data (a), payload, payload_size) == 0);
        //  Netstrings are canonical: encoding gives back the very bytes
        FUZZ_CHECK (ps_netstring_encoded_size (payload_size) == (size_t) used);
        zchunk_t *encoded = ps_netstring_encode (payload, payload_size);
        FUZZ_CHECK (zchunk_size (encoded) == (size_t) used);
        FUZZ_CHECK (memcmp (zchunk_data (encoded), data + offset, (size_t) used) == 0);
        zchunk_destroy (&encoded);
        zframe_destroy (&a);
        zframe_destroy (&b);
        offset += (size_t) used;
    }
    if (used == -1) {
        FUZZ_CHECK (rc_whole == -1);
        FUZZ_CHECK (fuzz_str_equal (error, ps_netstring_decoder_error (whole)));
    }
    else {
        FUZZ_CHECK (rc_whole == 0);
        FUZZ_CHECK (ps_netstring_decoder_partial (whole) == (offset < size));
    }
    ps_netstring_decoder_destroy (&whole);
    ps_netstring_decoder_destroy (&split);
    return 0;
}
