/*  fuzz_http_parser: libFuzzer harness for the incremental request parser.

    The parser promises that its result never depends on how the stream was
    split. So each input is parsed twice: once whole, once cut where the
    fuzzer says (the first two bytes pick the cut, the third the limits and
    how the tail is fed). Both runs must give the same requests, field by
    field, the same status and reason, and end in the same state. Every
    request must also survive its wire form (encode, decode) unchanged, as
    workers see it (checked on the first requests of the inputs whose tail
    is fed whole, which misses no request: see below).

    Speed (target: 5 million executions a minute): the parsers are made
    once and reset after each input, and the Makefile builds this harness
    without trace-cmp (fuzz/README.md, "Speed").

    Input layout: [cut hi][cut lo][mode][stream bytes...]
      mode bit 0: small limits (target 64, header section 512, 8 fields,
                  body 256), so 413/414/431 are reached by short inputs;
      mode bit 1: feed the tail in pieces of (mode >> 2) + 1 bytes (1..64),
                  else in one piece.
*/
#include "fuzz_util.h"

static const ps_http_limits_t s_small_limits = {64, 512, 8, 256};

//  Requests of one input whose wire form is checked (see below)
#define S_WIRE_CHECKS 4

static void
s_feed_in_pieces (ps_http_parser_t *parser, const char *data, size_t size, size_t piece)
{
    if (piece == 0)
        piece = size;
    while (size > 0) {
        size_t take = size < piece ? size : piece;
        ps_http_parser_feed (parser, data, take);
        data += take;
        size -= take;
    }
}

//  The wire form gives back the same request.
static void
s_check_wire_form (const ps_http_request_t *request)
{
    zmsg_t *msg = ps_http_request_encode (request);
    FUZZ_CHECK (msg && zmsg_size (msg) == 1);
    ps_http_request_t *decoded = ps_http_request_decode (msg);
    FUZZ_CHECK (decoded);
    FUZZ_CHECK (fuzz_request_equal (request, decoded));
    ps_http_request_destroy (&decoded);
    zmsg_destroy (&msg);
}

int LLVMFuzzerTestOneInput (const uint8_t *input, size_t input_size);

int
LLVMFuzzerTestOneInput (const uint8_t *input, size_t input_size)
{
    if (input_size < 3)
        return 0;
    size_t cut = ((size_t) input[0] << 8) | input[1];
    int mode = input[2];
    const char *data = (const char *) input + 3;
    size_t size = input_size - 3;
    cut = size ? cut % (size + 1) : 0;
    const ps_http_limits_t *limits = (mode & 1) ? &s_small_limits : NULL;
    size_t piece = (mode & 2) ? (size_t) (mode >> 2) + 1 : 0;

    //  One pair of parsers per limits, reset after each input rather than
    //  made anew: a new parser costs more than parsing most inputs.
    static ps_http_parser_t *s_parsers[2][2];
    if (!s_parsers[mode & 1][0]) {
        s_parsers[mode & 1][0] = ps_http_parser_new (limits);
        s_parsers[mode & 1][1] = ps_http_parser_new (limits);
    }
    ps_http_parser_t *whole = s_parsers[mode & 1][0];
    ps_http_parser_t *split = s_parsers[mode & 1][1];
    int status = ps_http_parser_feed (whole, data, size);
    ps_http_parser_feed (split, data, cut);
    s_feed_in_pieces (split, data + cut, size - cut, piece);

    FUZZ_CHECK (status == ps_http_parser_status (whole));
    FUZZ_CHECK (ps_http_parser_status (whole) == ps_http_parser_status (split));
    FUZZ_CHECK (strcmp (ps_http_parser_reason (whole), ps_http_parser_reason (split)) == 0);
    FUZZ_CHECK (status == 0 || status == 400 || status == 413 || status == 414 || status == 431
                || status == 501 || status == 505);
    FUZZ_CHECK (ps_http_parser_partial (whole) == ps_http_parser_partial (split));
    FUZZ_CHECK (ps_http_parser_in_headers (whole) == ps_http_parser_in_headers (split));
    FUZZ_CHECK (ps_http_parser_wants_continue (whole) == ps_http_parser_wants_continue (split));

    size_t max_body = limits ? limits->max_body : 10 * 1024 * 1024;
    size_t index = 0;
    while (true) {
        ps_http_request_t *a = ps_http_parser_next (whole);
        ps_http_request_t *b = ps_http_parser_next (split);
        FUZZ_CHECK ((a == NULL) == (b == NULL));
        if (!a)
            break;
        FUZZ_CHECK (fuzz_request_equal (a, b));
        int version = ps_http_request_version (a);
        FUZZ_CHECK (version == 10 || version == 11);
        FUZZ_CHECK (ps_http_request_body_size (a) <= max_body);
        //  The wire form (when it was 8 frames, 2/3 of the allocations and
        //  60% of the time of a pipelined input) is checked on the first
        //  S_WIRE_CHECKS requests of inputs whose tail is fed whole. That
        //  misses no request: they do not depend on how the tail was fed
        //  (checked just above), nor on their place in the stream (each is
        //  parsed from a reset state), so each is first in some input.
        if (!(mode & 2) && index++ < S_WIRE_CHECKS)
            s_check_wire_form (a);
        ps_http_request_destroy (&a);
        ps_http_request_destroy (&b);
    }
    //  Reset here, not before the next input: what this input allocated
    //  is freed within it, so libFuzzer's leak check stays quiet.
    ps_http_parser_reset (whole);
    ps_http_parser_reset (split);
    return 0;
}
