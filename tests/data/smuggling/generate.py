#!/usr/bin/env python3
"""Writes the request-smuggling corpus: malformed or ambiguous HTTP/1.x requests,
one raw request per file, named <expected status>-<what is odd>.http (see README).

Written from RFC 9110 (semantics) and RFC 9112 (HTTP/1.1 message syntax). The
status is what the server must answer first on a fresh connection:

  400, 413, 414, 431, 501, 505  the request is refused and the connection is
                                 closed (the framing of what follows is in doubt);
  200                            the request is valid, however odd it looks, and
                                 its framing is exact: the connection stays usable
                                 and the next request on it is answered on its own.

Where RFC 9112 lets a recipient choose (MAY/SHOULD), the comment at the case says
which choice we make and why; a stricter choice is taken wherever framing or the
identity of a header is at stake, as nginx and llhttp do.

Run from anywhere: ./generate.py (deletes and rewrites every *.http here).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = []  # (status, name, bytes)
CRLF = b"\r\n"
BODY_CHUNKED = b"5\r\nhello\r\n0\r\n\r\n"


def case(status, name, data):
    if isinstance(data, str):
        data = data.encode("latin-1")
    CASES.append((status, name, data))


def req(method=b"POST", target=b"/", version=b"HTTP/1.1", fields=None, body=b"",
        host=True):
    """A request from parts; fields is a list of raw header lines (bytes)."""
    lines = [method + b" " + target + b" " + version]
    if host:
        lines.append(b"Host: x")
    lines += fields or []
    return CRLF.join(lines) + CRLF + CRLF + body


def b(text):
    return text.encode("latin-1") if isinstance(text, str) else text


# ---------------------------------------------------------------------------
# 1. Transfer-Encoding spellings (RFC 9112 6.1, 7; RFC 9110 5.6.1 lists).
#    Each spelling alone with a chunked body, and together with Content-Length
#    before and after it. TE with CL is always 400 (RFC 9112 6.1: "A server MAY
#    reject a request that contains both ... " we do, as the classic CL.TE and
#    TE.CL desync vector), whatever the TE value says.
#    Alone: chunked (any case, OWS around list elements, empty list elements)
#    is framed as chunked; any other coding, or chunked not last, is 501
#    (RFC 9112 6.1: "a server that receives a request message with a transfer
#    coding it does not understand SHOULD respond with 501"); chunked twice is
#    400 (6.1: MUST NOT apply chunked more than once); bytes that break the
#    field line syntax are 400.
#    Stricter than the RFC, and marked "strict" below: llhttp frames the
#    body itself and takes a value as chunked only when it ends in "chunked"
#    without an empty element after it; where its reading and ours could
#    differ the request is refused (400), never framed two ways. A refusal
#    cannot desynchronise anyone. HTAB around a coding is OWS like SP: the
#    parser hands llhttp SP for it.
TE_SPELLINGS = [
    # (slug, value, status when alone)
    ("chunked", "chunked", 200),
    ("Chunked", "Chunked", 200),
    ("CHUNKED", "CHUNKED", 200),
    ("cHuNkEd", "cHuNkEd", 200),
    ("sp-chunked", " chunked", 200),
    ("sp2-chunked", "   chunked", 200),
    ("tab-chunked", "\tchunked", 200),
    ("chunked-sp", "chunked ", 200),
    ("chunked-tab", "chunked\t", 200),       # HTAB is OWS (RFC 9110 5.6.3)
    ("tab-chunked-tab", "\tchunked\t", 200),
    ("chunked-tab-chunked", "chunked\t, chunked", 400),  # chunked twice, as chunked-chunked
    ("chunked-comma", "chunked,", 400),      # strict: valid empty element
    ("comma-chunked", ", chunked", 200),     # a valid empty element; llhttp frames it chunked
    ("comma-comma-chunked", ",,chunked", 200),
    ("chunked-identity", "chunked, identity", 400),  # chunked not last: RFC 9112 6.3 MUST 400
    ("identity", "identity", 501),
    ("identity-chunked", "identity, chunked", 501),
    ("gzip", "gzip", 501),
    ("gzip-chunked", "gzip, chunked", 501),   # a coding we cannot undo
    ("chunked-gzip", "chunked, gzip", 400),   # chunked not last: RFC 9112 6.3 MUST 400
    ("deflate-chunked", "deflate,chunked", 501),
    ("compress", "compress", 501),
    ("xchunked", "xchunked", 501),
    ("chunkedx", "chunkedx", 501),
    ("chunked-dash", "chunked-", 501),
    ("chunk", "chunk", 501),
    ("chunked-semicolon", "chunked;", 501),     # a parameter form we do not take
    ("chunked-param", "chunked; q=1", 501),
    ("quoted-chunked", "\"chunked\"", 501),
    ("chunked-space-chunked", "chunked chunked", 501),
    ("chunked-chunked", "chunked, chunked", 400),
    ("chunked-chunked-nospace", "chunked,chunked", 400),
    ("empty", "", 400),
    ("only-comma", ",", 400),
    ("only-spaces", "   ", 400),
    ("chunked-nul", "chunked\x00", 400),
    ("chunked-vt", "chunked\x0b", 400),
    ("chunked-ff", "chunked\x0c", 400),
    ("chunked-cr", "chunked\rx", 400),
    ("chunked-del", "chunked\x7f", 400),
    ("nul-chunked", "\x00chunked", 400),
    ("chunked-esc", "chunked\x1b", 400),
    ("chunked-latin1", "chunk\xe9d", 501),      # obs-text is a valid value byte
    ("chunked-utf8-k", "chun\xe2\x84\xaaed", 501),  # KELVIN SIGN is not 'k'
]

for slug, value, alone in TE_SPELLINGS:
    te = b"Transfer-Encoding: " + b(value)
    case(alone, "te-" + slug, req(fields=[te], body=BODY_CHUNKED))
    case(400, "cl-te-" + slug,
         req(fields=[b"Content-Length: 4", te], body=BODY_CHUNKED))
    case(400, "te-cl-" + slug,
         req(fields=[te, b"Content-Length: 4"], body=BODY_CHUNKED))

# The field name spelled oddly: other case is the same field; anything else
# is another field or no field line at all.
case(200, "te-name-lowercase", req(fields=[b"transfer-encoding: chunked"], body=BODY_CHUNKED))
case(200, "te-name-uppercase", req(fields=[b"TRANSFER-ENCODING: chunked"], body=BODY_CHUNKED))
case(400, "te-name-space-before-colon", req(fields=[b"Transfer-Encoding : chunked"], body=BODY_CHUNKED))
case(400, "te-name-tab-before-colon", req(fields=[b"Transfer-Encoding\t: chunked"], body=BODY_CHUNKED))
case(400, "te-name-leading-space", req(fields=[b" Transfer-Encoding: chunked"], body=BODY_CHUNKED))
case(400, "te-name-leading-tab", req(fields=[b"\tTransfer-Encoding: chunked"], body=BODY_CHUNKED))
case(400, "te-name-nul", req(fields=[b"Transfer-Encoding\x00: chunked"], body=BODY_CHUNKED))
case(400, "te-name-no-colon", req(fields=[b"Transfer-Encoding chunked"], body=BODY_CHUNKED))
case(400, "te-folded-value", req(fields=[b"Transfer-Encoding:", b" chunked"], body=BODY_CHUNKED))
case(400, "te-folded-second-coding",
     req(fields=[b"Transfer-Encoding: gzip,", b" chunked"], body=BODY_CHUNKED))
case(400, "te-folded-after-x", req(fields=[b"X: y", b" Transfer-Encoding: chunked"],
                                   body=BODY_CHUNKED))
# A field whose name only resembles Transfer-Encoding is another field: the
# request has no body, so the chunked bytes would be the next "request".
# We send it without those bytes: 200, and the next request is served alone.
case(200, "te-name-underscore-no-body", req(method=b"GET", fields=[b"Transfer_Encoding: chunked"]))
# Another field too (libhttp-parser flagged any name starting with
# Transfer-Encoding, and this was refused with 501).
case(200, "te-name-typo-no-body", req(method=b"GET", fields=[b"Transfer-Encodings: chunked"]))

# Several Transfer-Encoding field lines are one list (RFC 9110 5.3).
TE_MULTI = [
    ("chunked-chunked", ["chunked", "chunked"], 400),
    ("gzip-chunked", ["gzip", "chunked"], 501),
    ("chunked-gzip", ["chunked", "gzip"], 400),          # chunked not last: 400
    ("chunked-identity", ["chunked", "identity"], 400),
    ("identity-chunked", ["identity", "chunked"], 501),
    ("chunked-empty", ["chunked", ""], 200),      # an empty list adds nothing
    ("empty-chunked", ["", "chunked"], 200),
    ("empty-empty", ["", ""], 400),
    ("chunked-xchunked", ["chunked", "xchunked"], 400),
    ("three-chunked", ["chunked", "chunked", "chunked"], 400),
]
for slug, values, status in TE_MULTI:
    fields = [b"Transfer-Encoding: " + b(v) for v in values]
    case(status, "te-fields-" + slug, req(fields=fields, body=BODY_CHUNKED))
    # separated by another field, which changes nothing
    spaced = [fields[0], b"X-Between: 1"] + fields[1:]
    case(status, "te-fields-apart-" + slug, req(fields=spaced, body=BODY_CHUNKED))

# Transfer-Encoding in HTTP/1.0: RFC 9112 6.1 says a server MUST treat the
# framing as faulty and close after the response; we refuse it (400), since
# a 1.0 intermediary may have framed it by Content-Length or by close.
for slug, value in [("chunked", "chunked"), ("gzip", "gzip"), ("identity", "identity"),
                    ("chunked-keep-alive", "chunked")]:
    fields = [b"Transfer-Encoding: " + b(value)]
    if slug.endswith("keep-alive"):
        fields.append(b"Connection: keep-alive")
    case(400, "te-http10-" + slug, req(version=b"HTTP/1.0", fields=fields, body=BODY_CHUNKED))
case(400, "te-http10-with-cl",
     req(version=b"HTTP/1.0", fields=[b"Content-Length: 5", b"Transfer-Encoding: chunked"],
         body=b"hello"))

# ---------------------------------------------------------------------------
# 2. Content-Length (RFC 9110 8.6, RFC 9112 6.2, 6.3).
#    Content-Length = 1*DIGIT. Any other value is 400 (6.3 item 5: "MUST treat
#    it as an unrecoverable error"). Duplicates: 8.6 lets a recipient either
#    reject or fold identical values; we reject every duplicate or list, equal
#    or not (the first-wins/last-wins split between proxies is the attack).
CL_VALUES = [
    # (slug, value, body, status)
    ("plain", "5", "hello", 200),
    ("leading-zero", "005", "hello", 200),
    ("zero", "0", "", 200),
    ("zeros", "0000", "", 200),
    ("ows-before", "  5", "hello", 200),
    ("ows-after", "5  ", "hello", 200),
    ("tab-around", "\t5\t", "hello", 200),  # HTAB is OWS (RFC 9110 5.6.3)
    ("tab-after", "5\t", "hello", 200),
    ("tab-inside", "5\t5", "hello", 400),
    ("plus", "+5", "hello", 400),
    ("minus", "-5", "hello", 400),
    ("minus-zero", "-0", "", 400),
    ("hex", "0x5", "hello", 400),
    ("hex-letter", "a", "helloworld", 400),
    ("decimal-point", "5.0", "hello", 400),
    ("exponent", "5e0", "hello", 400),
    ("comma-same", "5,5", "hello", 400),
    ("comma-same-space", "5, 5", "hello", 400),
    ("comma-differing", "5, 6", "hello", 400),
    ("comma-trailing", "5,", "hello", 400),
    ("space-inside", "5 5", "hello", 400),
    ("empty", "", "", 400),
    ("only-space", " ", "", 400),
    ("letters", "five", "hello", 400),
    ("digits-then-letters", "5abc", "hello", 400),
    ("nul-after", "5\x00", "hello", 400),
    ("vt-after", "5\x0b", "hello", 400),
    ("quoted", "\"5\"", "hello", 400),
    ("overflow-u64", "18446744073709551616", "", 400),
    ("overflow-huge", "9" * 40, "", 400),
    ("over-limit", "10485761", "", 413),          # 10 MiB + 1: refused before the body
    ("u64-max", "18446744073709551615", "", 413),  # fits in 64 bits: over the body limit
    ("fullwidth-digit", "\xef\xbc\x95", "hello", 400),
]
for slug, value, body, status in CL_VALUES:
    case(status, "cl-" + slug, req(fields=[b"Content-Length: " + b(value)], body=b(body)))

CL_DUPLICATES = [
    ("same", ["5", "5"]),
    ("differing", ["5", "6"]),
    ("differing-reverse", ["6", "5"]),
    ("zero-and-five", ["0", "5"]),
    ("five-and-zero", ["5", "0"]),
    ("same-leading-zero", ["5", "05"]),
    ("empty-and-five", ["", "5"]),
    ("three-same", ["5", "5", "5"]),
]
for slug, values in CL_DUPLICATES:
    fields = [b"Content-Length: " + b(v) for v in values]
    case(400, "cl-dup-" + slug, req(fields=fields, body=b"hello"))
    case(400, "cl-dup-apart-" + slug,
         req(fields=[fields[0], b"X-Between: 1"] + fields[1:], body=b"hello"))
case(400, "cl-name-space-before-colon", req(fields=[b"Content-Length : 5"], body=b"hello"))
case(400, "cl-name-tab-before-colon", req(fields=[b"Content-Length\t: 5"], body=b"hello"))
case(400, "cl-folded-value", req(fields=[b"Content-Length:", b" 5"], body=b"hello"))
case(400, "cl-folded-after-x", req(fields=[b"X: y", b" Content-Length: 5"], body=b"hello"))
case(200, "cl-name-lowercase", req(fields=[b"content-length: 5"], body=b"hello"))
case(200, "cl-on-get", req(method=b"GET", fields=[b"Content-Length: 5"], body=b"hello"))
case(200, "cl-zero-on-get", req(method=b"GET", fields=[b"Content-Length: 0"]))
case(400, "cl-http10-differing",
     req(version=b"HTTP/1.0", fields=[b"Content-Length: 5", b"Content-Length: 6"], body=b"hello"))
case(413, "cl-over-limit-http10", req(version=b"HTTP/1.0", fields=[b"Content-Length: 99999999"]))

# ---------------------------------------------------------------------------
# 3. Chunked bodies (RFC 9112 7.1): chunk-size = 1*HEXDIG, chunk-ext, CRLF,
#    data, CRLF; last-chunk = 1*"0"; trailer section; CRLF. Size digits that
#    overflow 64 bits are 400 (7.1: MUST anticipate ... and prevent overflow);
#    a size that fits but exceeds the body limit is 413.
def chunked(body):
    return req(fields=[b"Transfer-Encoding: chunked"], body=b(body))


CHUNKS = [
    ("upper-hex", "A\r\n0123456789\r\n0\r\n\r\n", 200),
    ("lower-hex", "a\r\n0123456789\r\n0\r\n\r\n", 200),
    ("leading-zeros", "0005\r\nhello\r\n0\r\n\r\n", 200),
    ("last-chunk-zeros", "5\r\nhello\r\n000\r\n\r\n", 200),
    ("only-last-chunk", "0\r\n\r\n", 200),
    ("two-chunks", "2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n", 200),
    ("crlf-in-data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", 200),
    ("ext-name", "5;a\r\nhello\r\n0\r\n\r\n", 200),
    ("ext-value", "5;a=b\r\nhello\r\n0\r\n\r\n", 200),
    ("ext-quoted", "5;a=\"b c\"\r\nhello\r\n0\r\n\r\n", 200),
    # RFC-valid, refused by llhttp 8.1 (the chunk framing is its decision)
    ("ext-quoted-pair", "5;a=\"b\\\"c\"\r\nhello\r\n0\r\n\r\n", 400),
    ("ext-bws", "5 ; a = b\r\nhello\r\n0\r\n\r\n", 400),
    ("ext-two", "5;a=b;c\r\nhello\r\n0\r\n\r\n", 400),
    ("ext-on-last", "5\r\nhello\r\n0;end\r\n\r\n", 200),
    ("trailer", "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", 200),
    ("trailer-two", "5\r\nhello\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n", 200),
    # a framing field in the trailer is ignored for framing (RFC 9110 6.5.1)
    ("trailer-content-length", "5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n", 200),
    ("size-0x", "0x5\r\nhello\r\n0\r\n\r\n", 400),
    ("size-negative", "-5\r\nhello\r\n0\r\n\r\n", 400),
    ("size-plus", "+5\r\nhello\r\n0\r\n\r\n", 400),
    ("size-leading-space", " 5\r\nhello\r\n0\r\n\r\n", 400),
    ("size-leading-tab", "\t5\r\nhello\r\n0\r\n\r\n", 400),
    ("size-trailing-space", "5 \r\nhello\r\n0\r\n\r\n", 400),
    ("size-trailing-tab", "5\t\r\nhello\r\n0\r\n\r\n", 400),
    ("size-empty", "\r\nhello\r\n0\r\n\r\n", 400),
    ("size-letter", "g\r\nhello\r\n0\r\n\r\n", 400),
    ("size-decimal-point", "5.0\r\nhello\r\n0\r\n\r\n", 400),
    ("size-nul", "5\x00\r\nhello\r\n0\r\n\r\n", 400),
    ("size-bare-lf", "5\nhello\r\n0\r\n\r\n", 400),
    ("size-bare-cr", "5\rhello\r\n0\r\n\r\n", 400),
    ("size-overflow-17", "1" + "0" * 16 + "\r\nx\r\n0\r\n\r\n", 400),
    ("size-overflow-32", "f" * 32 + "\r\nx\r\n0\r\n\r\n", 400),
    ("size-u64-max", "f" * 16 + "\r\nx\r\n0\r\n\r\n", 413),  # fits: over the body limit
    ("size-over-limit", "a00001\r\nx\r\n0\r\n\r\n", 413),
    ("size-uppercase-x", "0X5\r\nhello\r\n0\r\n\r\n", 400),
    ("data-missing-crlf", "5\r\nhello0\r\n\r\n", 400),
    ("data-lf-only", "5\r\nhello\n0\r\n\r\n", 400),
    ("data-cr-only", "5\r\nhello\r0\r\n\r\n", 400),
    ("data-too-long", "3\r\nhello\r\n0\r\n\r\n", 400),
    ("data-too-short", "5\r\nhell\r\n0\r\n\r\n", 400),
    ("data-extra-byte", "5\r\nhelloX\r\n0\r\n\r\n", 400),
    ("data-space-before-crlf", "5\r\nhello \r\n0\r\n\r\n", 400),
    ("ext-no-name", "5;\r\nhello\r\n0\r\n\r\n", 400),
    ("ext-bad-char", "5;a@b\r\nhello\r\n0\r\n\r\n", 400),
    ("ext-open-quote", "5;a=\"b\r\nhello\r\n0\r\n\r\n", 400),
    ("ext-nul", "5;a\x00\r\nhello\r\n0\r\n\r\n", 400),
    ("ext-bare-lf", "5;a\nb\r\nhello\r\n0\r\n\r\n", 400),
    ("ext-no-value", "5;a=\r\nhello\r\n0\r\n\r\n", 400),
    ("ext-too-long", "5;a=" + "b" * 5000 + "\r\nhello\r\n0\r\n\r\n", 400),
    ("last-chunk-bare-lf", "5\r\nhello\r\n0\n\r\n", 400),
    ("end-bare-lf", "5\r\nhello\r\n0\r\n\n", 400),
    ("end-bare-cr", "5\r\nhello\r\n0\r\n\rX", 400),
    ("trailer-bare-lf", "5\r\nhello\r\n0\r\nX-T: 1\n\r\n", 400),
    ("trailer-obs-fold", "5\r\nhello\r\n0\r\nX-T: 1\r\n 2\r\n\r\n", 400),
    ("trailer-space-before-colon", "5\r\nhello\r\n0\r\nX-T : 1\r\n\r\n", 400),
    ("trailer-no-colon", "5\r\nhello\r\n0\r\nX-T\r\n\r\n", 400),
    ("trailer-nul", "5\r\nhello\r\n0\r\nX-T: a\x00b\r\n\r\n", 400),
    ("trailer-leading-space", "5\r\nhello\r\n0\r\n X-T: 1\r\n\r\n", 400),
]
for slug, body, status in CHUNKS:
    case(status, "chunk-" + slug, chunked(body))

# ---------------------------------------------------------------------------
# 4. Line endings and obs-fold (RFC 9112 2.2, 5.2). A recipient MAY take a
#    bare LF as a line end; we do not (400), because a front that does and a
#    back that does not disagree on where the header section ends. A bare CR
#    MUST be refused or replaced with SP; we refuse. obs-fold MUST be refused
#    or replaced with SP in a request; we refuse.
LINE_FAULTS = [
    ("bare-lf-request-line", b"GET / HTTP/1.1\nHost: x\r\n\r\n"),
    ("bare-lf-after-host", b"GET / HTTP/1.1\r\nHost: x\n\r\n"),
    ("bare-lf-between-fields", b"GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n"),
    ("bare-lf-end", b"GET / HTTP/1.1\r\nHost: x\r\n\n"),
    ("bare-lf-everywhere", b"GET / HTTP/1.1\nHost: x\n\n"),
    ("bare-lf-leading-line", b"\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("bare-lf-in-value", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\nc\r\n\r\n"),
    ("bare-cr-request-line", b"GET / HTTP/1.1\rHost: x\r\n\r\n"),
    ("bare-cr-in-method", b"GE\rT / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("bare-cr-in-target", b"GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("bare-cr-in-version", b"GET / HTTP/1.\r1\r\nHost: x\r\n\r\n"),
    ("bare-cr-in-name", b"GET / HTTP/1.1\r\nHost: x\r\nA\rB: c\r\n\r\n"),
    ("bare-cr-in-value", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n"),
    ("bare-cr-end-of-value", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\r\n\r\n"),
    ("bare-cr-end", b"GET / HTTP/1.1\r\nHost: x\r\n\rX"),
    ("cr-cr-lf", b"GET / HTTP/1.1\r\r\nHost: x\r\n\r\n"),
    ("lf-cr", b"GET / HTTP/1.1\n\rHost: x\r\n\r\n"),
    ("obs-fold-space", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n"),
    ("obs-fold-tab", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\tc\r\n\r\n"),
    ("obs-fold-twice", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n d\r\n\r\n"),
    ("obs-fold-empty-value", b"GET / HTTP/1.1\r\nHost: x\r\nA:\r\n c\r\n\r\n"),
    ("obs-fold-host", b"GET / HTTP/1.1\r\nHost:\r\n x\r\n\r\n"),
    ("obs-fold-bare-lf", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\n c\r\n\r\n"),
    ("obs-fold-only-spaces", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n   \r\n\r\n"),
    ("space-before-first-field", b"GET / HTTP/1.1\r\n Host: x\r\n\r\n"),
    ("tab-before-first-field", b"GET / HTTP/1.1\r\n\tHost: x\r\n\r\n"),
    ("whitespace-line-before-end", b"GET / HTTP/1.1\r\nHost: x\r\n \r\n\r\n"),
]
for slug, data in LINE_FAULTS:
    case(400, slug, data)
# RFC 9112 2.2: a server SHOULD ignore at least one empty line before the
# request line; we ignore any number of CRLF (but not bare LF, above).
case(200, "empty-line-before-request", b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
case(200, "empty-lines-before-request", b"\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")

# ---------------------------------------------------------------------------
# 5. NUL and control bytes in every position of a request (RFC 9112 3, 5;
#    RFC 9110 5.5: field values are VCHAR, SP, HTAB and obs-text; CR, LF and
#    NUL MUST be refused or replaced; other CTLs are invalid). All 400.
CONTROLS = [("nul", b"\x00"), ("soh", b"\x01"), ("bel", b"\x07"), ("bs", b"\x08"),
            ("vt", b"\x0b"), ("ff", b"\x0c"), ("esc", b"\x1b"), ("del", b"\x7f")]
POSITIONS = [
    ("method-start", lambda c: c + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("method", lambda c: b"GE" + c + b"T / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("after-method", lambda c: b"GET" + c + b" / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("target", lambda c: b"GET /a" + c + b"b HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("query", lambda c: b"GET /a?b=" + c + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("version", lambda c: b"GET / HTTP/1" + c + b".1\r\nHost: x\r\n\r\n"),
    ("after-version", lambda c: b"GET / HTTP/1.1" + c + b"\r\nHost: x\r\n\r\n"),
    ("name-start", lambda c: b"GET / HTTP/1.1\r\nHost: x\r\n" + c + b"A: b\r\n\r\n"),
    ("name", lambda c: b"GET / HTTP/1.1\r\nHost: x\r\nA" + c + b"B: c\r\n\r\n"),
    ("before-colon", lambda c: b"GET / HTTP/1.1\r\nHost: x\r\nA" + c + b": b\r\n\r\n"),
    ("value-start", lambda c: b"GET / HTTP/1.1\r\nHost: x\r\nA: " + c + b"b\r\n\r\n"),
    ("value", lambda c: b"GET / HTTP/1.1\r\nHost: x\r\nA: b" + c + b"c\r\n\r\n"),
    ("value-end", lambda c: b"GET / HTTP/1.1\r\nHost: x\r\nA: b" + c + b"\r\n\r\n"),
    ("host-value", lambda c: b"GET / HTTP/1.1\r\nHost: x" + c + b"y\r\n\r\n"),
]
for cslug, byte in CONTROLS:
    for pslug, make in POSITIONS:
        case(400, "ctl-%s-in-%s" % (cslug, pslug), make(byte))
for cslug, byte in CONTROLS:
    case(400, "ctl-%s-in-chunk-ext" % cslug, chunked(b"5;a" + byte + b"\r\nhello\r\n0\r\n\r\n"))
    case(400, "ctl-%s-in-trailer" % cslug, chunked(b"5\r\nhello\r\n0\r\nT: a" + byte + b"\r\n\r\n"))
# What is allowed around them: HTAB inside a value, obs-text in a value.
case(200, "value-with-tab", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\tc\r\n\r\n")
case(200, "value-obs-text", b"GET / HTTP/1.1\r\nHost: x\r\nA: caf\xc3\xa9\r\n\r\n")
case(200, "value-high-byte", b"GET / HTTP/1.1\r\nHost: x\r\nA: \xff\r\n\r\n")
case(200, "value-empty", b"GET / HTTP/1.1\r\nHost: x\r\nA:\r\n\r\n")
case(400, "name-obs-text", b"GET / HTTP/1.1\r\nHost: x\r\nCaf\xc3\xa9: b\r\n\r\n")
case(400, "target-obs-text", b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n")

# ---------------------------------------------------------------------------
# 6. Whitespace between field name and colon (RFC 9112 5.1: "A server MUST
#    reject, with a response status code of 400 (Bad Request), any received
#    request message that contains whitespace between a header field name and
#    colon").
for name in [b"Host", b"Content-Length", b"Transfer-Encoding", b"Connection", b"X-Custom",
             b"Expect"]:
    for wslug, ws in [("sp", b" "), ("tab", b"\t"), ("sp-sp", b"  ")]:
        value = {b"Host": b"y", b"Content-Length": b"0", b"Transfer-Encoding": b"chunked",
                 b"Connection": b"close", b"X-Custom": b"1", b"Expect": b"100-continue"}[name]
        fields = [name + ws + b": " + value]
        body = BODY_CHUNKED if name == b"Transfer-Encoding" else b""
        slug = name.decode().lower()
        case(400, "ws-before-colon-%s-%s" % (slug, wslug),
             req(fields=fields, body=body, host=name != b"Host"))

# ---------------------------------------------------------------------------
# 7. Host (RFC 9112 3.2): an HTTP/1.1 request without Host, with more than
#    one Host line, or with an invalid Host value is 400. An empty Host is
#    valid (no authority). HTTP/1.0 may omit it, but two are still two.
case(400, "host-missing", b"GET / HTTP/1.1\r\n\r\n")
case(400, "host-missing-with-fields", b"GET / HTTP/1.1\r\nA: b\r\n\r\n")
case(400, "host-missing-absolute-form", b"GET http://x/ HTTP/1.1\r\n\r\n")
case(400, "host-duplicate-same", b"GET / HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n")
case(400, "host-duplicate-differing", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
case(400, "host-duplicate-case", b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n")
case(400, "host-duplicate-apart", b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nHost: b\r\n\r\n")
case(400, "host-duplicate-empty", b"GET / HTTP/1.1\r\nHost:\r\nHost: b\r\n\r\n")
case(400, "host-duplicate-http10", b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n")
case(400, "host-list", b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n")
case(400, "host-space-inside", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n")
case(400, "host-slash", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n")
case(400, "host-at", b"GET / HTTP/1.1\r\nHost: user@a\r\n\r\n")
case(400, "host-bad-port", b"GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n")
case(400, "host-two-colons", b"GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n")
case(400, "host-bad-percent", b"GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n")
case(400, "host-open-bracket", b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n")
case(400, "host-quote", b"GET / HTTP/1.1\r\nHost: \"a\"\r\n\r\n")
case(200, "host-empty", b"GET / HTTP/1.1\r\nHost:\r\n\r\n")
case(200, "host-port", b"GET / HTTP/1.1\r\nHost: a:8080\r\n\r\n")
case(200, "host-empty-port", b"GET / HTTP/1.1\r\nHost: a:\r\n\r\n")
case(200, "host-ipv4", b"GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n")
case(200, "host-ipv6", b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n")
case(200, "host-percent", b"GET / HTTP/1.1\r\nHost: a%41b\r\n\r\n")
case(200, "host-sub-delims", b"GET / HTTP/1.1\r\nHost: a-b_c~d!e$f&g'h(i)j*k+l;m=n\r\n\r\n")
case(200, "host-trailing-ows", b"GET / HTTP/1.1\r\nHost: x \r\n\r\n")
case(200, "host-http10-missing", b"GET / HTTP/1.0\r\n\r\n")
case(200, "host-lowercase-name", b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")

# ---------------------------------------------------------------------------
# 8. Over-long parts (limits of ps_http_limits_defaults: target 8 KiB,
#    header section 64 KiB, 100 field lines, body 10 MiB).
case(200, "target-at-limit", req(method=b"GET", target=b"/" + b"a" * 8191))
case(414, "target-over-limit", req(method=b"GET", target=b"/" + b"a" * 8192))
case(414, "target-far-over-limit", req(method=b"GET", target=b"/" + b"a" * 20000))
case(414, "target-query-over-limit", req(method=b"GET", target=b"/?" + b"q=1&" * 2100))
case(431, "field-value-over-limit", req(method=b"GET", fields=[b"X: " + b"v" * 66000]))
case(431, "field-name-over-limit", req(method=b"GET", fields=[b"X" * 66000 + b": v"]))
case(431, "fields-sum-over-limit",
     req(method=b"GET", fields=[b"X-%d: %s" % (i, b"v" * 1000) for i in range(70)]))
case(431, "fields-101", req(method=b"GET", fields=[b"X-%d: v" % i for i in range(100)]))
case(431, "fields-1000", req(method=b"GET", fields=[b"X-%d: v" % i for i in range(1000)]))
case(200, "fields-100", req(method=b"GET", fields=[b"X-%d: v" % i for i in range(99)]))
case(200, "method-very-long", b"A" * 1000 + b" / HTTP/1.1\r\nHost: x\r\n\r\n")
case(431, "empty-lines-over-limit", b"\r\n" * 33000 + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
case(413, "chunked-sum-over-limit", chunked(b"1\r\nx\r\na00000\r\n"))

# ---------------------------------------------------------------------------
# 9. Versions (RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case
#    sensitive). A well-formed version we do not serve is 505; RFC 9110 2.5
#    says a higher 1.x minor SHOULD be served as 1.1, but we answer 505 for
#    anything but 1.0 and 1.1 rather than guess at a future minor's framing.
VERSIONS = [
    ("http20", "HTTP/2.0", 505), ("http12", "HTTP/1.2", 505), ("http19", "HTTP/1.9", 505),
    ("http09", "HTTP/0.9", 505), ("http30", "HTTP/3.0", 505), ("http99", "HTTP/9.9", 505),
    ("http00", "HTTP/0.0", 505),
    ("lowercase", "http/1.1", 400), ("mixed-case", "Http/1.1", 400),
    ("no-minor", "HTTP/1", 400), ("no-minor-dot", "HTTP/1.", 400),
    ("two-digit-major", "HTTP/11.1", 400), ("two-digit-minor", "HTTP/1.10", 400),
    ("leading-zero", "HTTP/01.1", 400), ("minor-leading-zero", "HTTP/1.01", 400),
    ("space-after-slash", "HTTP/ 1.1", 400), ("space-before-slash", "HTTP /1.1", 400),
    ("backslash", "HTTP\\1.1", 400), ("comma", "HTTP/1,1", 400), ("no-dot", "HTTP/11", 400),
    ("letter-minor", "HTTP/1.x", 400), ("https", "HTTPS/1.1", 400), ("empty", "", 400),
    ("garbage", "HTTQ/1.1", 400), ("trailing-space", "HTTP/1.1 ", 400),
    ("extra-word", "HTTP/1.1 x", 400), ("fullwidth", "HTTP/\xef\xbc\x91.1", 400),
]
for slug, version, status in VERSIONS:
    sep = b"" if version == "" else b" "
    case(status, "version-" + slug, b"GET /" + sep + b(version) + b"\r\nHost: x\r\n\r\n")
case(400, "version-http09-simple-request", b"GET /\r\n\r\n")
case(200, "version-http10", b"GET / HTTP/1.0\r\n\r\n")
case(200, "version-http10-keep-alive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")

# ---------------------------------------------------------------------------
# 10. Methods (RFC 9110 9; methods are case-sensitive tokens). The parser
#     reads the method itself: any token goes to the worker (framing never
#     depends on it), QUERY included. Methods llhttp knows that we do not
#     serve are 501: CONNECT (we are no tunnel), PRI, the RTSP ones.
METHODS = [
    ("lowercase-get", "get", 200), ("mixed-case-get", "Get", 200), ("unknown", "BREW", 200),
    ("get-with-digit", "GET1", 200), ("tchar-only", "G!T", 200), ("at-sign", "G@T", 400),
    ("bracket", "GE[T", 400), ("slash", "GE/T", 400), ("empty", "", 400),
    ("utf8", "G\xc3\x89T", 400), ("quoted", "\"GET\"", 400), ("colon", "GET:", 400),
    ("prefix-of-get", "GE", 200), ("postx", "POSTX", 200), ("query", "QUERY", 200),
]
for slug, method, status in METHODS:
    case(status, "method-" + slug, b(method) + b" / HTTP/1.1\r\nHost: x\r\n\r\n")
case(400, "method-space-before", b" GET / HTTP/1.1\r\nHost: x\r\n\r\n")
case(400, "method-tab-separator", b"GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n")
case(400, "method-two-spaces", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n")
case(501, "method-connect", b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n")
case(501, "method-pri", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
case(501, "method-rtsp-describe", b"DESCRIBE / HTTP/1.1\r\nHost: x\r\n\r\n")
case(200, "method-delete", b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n")
case(200, "method-put-cl", req(method=b"PUT", fields=[b"Content-Length: 5"], body=b"hello"))
case(200, "method-patch-chunked", req(method=b"PATCH", fields=[b"Transfer-Encoding: chunked"],
                                      body=BODY_CHUNKED))

# ---------------------------------------------------------------------------
# 11. Request targets (RFC 9112 3.2: origin-form, absolute-form,
#     authority-form for CONNECT only, asterisk-form for OPTIONS only; the
#     target is visible ASCII, no '#', percent-encoding well formed).
#     Visible ASCII that RFC 3986 leaves out of URIs (\ ` ^ { } | " < >) is
#     taken (200), as by most servers: RFC 9112 3 says an invalid
#     request-line SHOULD get 400 or a 301 to the encoded target, not MUST,
#     and these bytes neither frame nor name anything. Workers get the path
#     decoded and must not take '\' for a separator.
TARGETS = [
    ("empty", "", 400), ("no-slash", "a", 400), ("only-query", "?a=b", 400),
    ("space", "/a b", 400), ("two-spaces", "/a  b", 400), ("tab", "/a\tb", 400),
    ("fragment", "/a#b", 200), ("only-fragment", "#", 400),  # a fragment is dropped
    ("percent-short", "/a%4", 400), ("percent-bad", "/a%zz", 400),
    ("percent-end", "/a%", 400), ("percent-nul", "/a%00", 400),
    ("query-percent-bad", "/a?b=%g1", 400), ("query-percent-nul", "/a?b=%00", 400),
    ("non-ascii", "/caf\xc3\xa9", 400), ("del", "/a\x7fb", 400),
    ("authority-form-get", "x:80", 400), ("asterisk-get", "*", 400),
    ("backslash", "/a\\b", 200), ("less-than", "/a<b", 200), ("greater-than", "/a>b", 200),
    ("double-quote", "/a\"b", 200), ("curly", "/a{b}", 200), ("pipe", "/a|b", 200),
    ("caret", "/a^b", 200), ("backtick", "/a`b", 200),
    ("slashes", "//a//b", 200), ("dot-segments", "/a/../b/./c", 200),
    ("percent-encoded", "/a%20b%2Fc", 200), ("query-odd", "/a?b=c=d&&e", 200),
    ("absolute-form", "http://x/a", 200), ("absolute-form-port", "http://x:80/a?b", 200),
    ("query-question-marks", "/a??b?", 200), ("sub-delims", "/a!$&'()*+,;=:@b", 200),
]
for slug, target, status in TARGETS:
    line = b"GET " + b(target) + b" HTTP/1.1" if target else b"GET HTTP/1.1"
    case(status, "target-" + slug, line + b"\r\nHost: x\r\n\r\n")
case(200, "target-asterisk-options", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")

# ---------------------------------------------------------------------------
# 12. Smuggling shapes: a second request hidden in the body of the first, as
#     a front end with the other reading would see it. Each one must be
#     refused as a whole (nothing after the 400 is served), or be one request
#     whose body holds the bytes (200, and the hidden request is never served).
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
case(400, "smuggle-cl-te",
     req(fields=[b"Content-Length: 6", b"Transfer-Encoding: chunked"], body=b"0\r\n\r\n" + SMUGGLED))
case(400, "smuggle-te-cl",
     req(fields=[b"Transfer-Encoding: chunked", b"Content-Length: 3"],
         body=b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"))
case(400, "smuggle-te-space-colon",
     req(fields=[b"Content-Length: 5", b"Transfer-Encoding : chunked"], body=b"0\r\n\r\n" + SMUGGLED))
case(400, "smuggle-te-obs-fold",
     req(fields=[b"Content-Length: 5", b"Transfer-Encoding:", b" chunked"],
         body=b"0\r\n\r\n" + SMUGGLED))
case(400, "smuggle-cl-cl",
     req(fields=[b"Content-Length: 0", b"Content-Length: %d" % len(SMUGGLED)], body=SMUGGLED))
case(400, "smuggle-cl-cl-reversed",
     req(fields=[b"Content-Length: %d" % len(SMUGGLED), b"Content-Length: 0"], body=SMUGGLED))
case(400, "smuggle-bare-lf-header-end",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\n\r\n" % len(SMUGGLED) + SMUGGLED)
case(400, "smuggle-te-xchunked-cl",
     req(fields=[b"Transfer-Encoding: xchunked", b"Content-Length: %d" % len(SMUGGLED)],
         body=SMUGGLED))
case(400, "smuggle-te-http10-cl",
     req(version=b"HTTP/1.0",
         fields=[b"Transfer-Encoding: chunked", b"Content-Length: %d" % len(SMUGGLED)],
         body=SMUGGLED))
case(400, "smuggle-chunk-size-overflow",
     chunked(b"1" + b"0" * 16 + b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"))
case(400, "smuggle-chunk-ext-lf",
     chunked(b"%x;a\nb\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"))
case(400, "smuggle-chunk-data-lf",
     chunked(b"5\r\nhello\n" + b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"))
case(200, "smuggle-cl-body-holds-request",
     req(fields=[b"Content-Length: %d" % len(SMUGGLED)], body=SMUGGLED))
case(200, "smuggle-chunked-body-holds-request",
     chunked(b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"))


def main():
    for name in os.listdir(HERE):
        if name.endswith(".http"):
            os.unlink(os.path.join(HERE, name))
    seen = set()
    for status, name, data in CASES:
        file_name = "%d-%s.http" % (status, name)
        if file_name in seen:
            sys.exit("duplicate case name: " + file_name)
        seen.add(file_name)
        with open(os.path.join(HERE, file_name), "wb") as out:
            out.write(data)
    print("%d cases written" % len(CASES))


if __name__ == "__main__":
    main()
