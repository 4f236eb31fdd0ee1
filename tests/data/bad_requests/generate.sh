#!/bin/sh
#   Writes the malformed-request corpus, one raw request per file, named
#   <expected status>-<what is wrong>.http (see README). printf keeps the
#   CR, LF and odd bytes exact. Run from anywhere: ./generate.sh
set -e
cd "$(dirname "$0")"
rm -f ./*.http
w () { printf "$2" > "$1.http"; }
H='Host: x\r\n'

#   line endings and whitespace (libhttp-parser accepts these; we do not)
w 400-bare-lf-request-line      "GET / HTTP/1.1\n${H}\r\n"
w 400-bare-lf-header            "GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n"
w 400-bare-lf-end               "GET / HTTP/1.1\r\n${H}\n"
w 400-bare-lf-everywhere        "GET / HTTP/1.1\nHost: x\n\n"
w 400-bare-lf-leading-line      "\nGET / HTTP/1.1\r\n${H}\r\n"
w 400-bare-cr-header            "GET / HTTP/1.1\r\nHost: x\rA: b\r\n\r\n"
w 400-bare-cr-end               "GET / HTTP/1.1\r\n${H}\rX"
w 400-space-before-colon        "GET / HTTP/1.1\r\nHost : x\r\n\r\n"
w 400-te-space-before-colon     "POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"
w 400-tab-before-colon          "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"
w 400-space-after-request-line  "GET / HTTP/1.1 \r\n${H}\r\n"
w 400-space-before-first-header "GET / HTTP/1.1\r\n Host: x\r\n\r\n"
w 400-tab-before-first-header   "GET / HTTP/1.1\r\n\tHost: x\r\n\r\n"
w 400-obs-fold                  "GET / HTTP/1.1\r\n${H}A: b\r\n c\r\n\r\n"
w 400-obs-fold-tab              "GET / HTTP/1.1\r\n${H}A: b\r\n\tc\r\n\r\n"
w 400-obs-fold-bare-lf          "GET / HTTP/1.1\r\n${H}A: b\n c\r\n\r\n"
w 400-obs-fold-empty-value      "GET / HTTP/1.1\r\n${H}A:\r\n c\r\n\r\n"
w 400-double-space-after-method "GET  / HTTP/1.1\r\n${H}\r\n"
w 400-double-space-before-version "GET /  HTTP/1.1\r\n${H}\r\n"

#   request line and target
w 400-target-non-ascii          "GET /caf\303\251 HTTP/1.1\r\n${H}\r\n"
w 400-target-control            "GET /a\001b HTTP/1.1\r\n${H}\r\n"
w 400-target-tab                "GET /a\tb HTTP/1.1\r\n${H}\r\n"
w 400-target-formfeed           "GET /a\fb HTTP/1.1\r\n${H}\r\n"
w 400-target-del                "GET /a\177b HTTP/1.1\r\n${H}\r\n"
w 400-target-bad-percent        "GET /a%%zz HTTP/1.1\r\n${H}\r\n"
w 400-target-short-percent      "GET /a%%4 HTTP/1.1\r\n${H}\r\n"
w 400-target-percent-nul        "GET /a%%00b HTTP/1.1\r\n${H}\r\n"
w 400-query-percent-nul         "GET /p?a=%%00 HTTP/1.1\r\n${H}\r\n"
w 400-query-bad-percent         "GET /p?a=%%g1 HTTP/1.1\r\n${H}\r\n"
w 400-missing-target            "GET HTTP/1.1\r\n${H}\r\n"
w 400-version-garbage           "GET / HTTQ/1.1\r\n${H}\r\n"
w 400-version-two-digit-minor   "GET / HTTP/1.10\r\n${H}\r\n"
w 400-simple-request-http09     "GET /\r\n\r\n"
w 400-nul-in-request-line       "GET /\000 HTTP/1.1\r\n${H}\r\n"

#   header fields
w 400-no-host-http11            "GET / HTTP/1.1\r\n\r\n"
w 400-two-hosts                 "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
w 400-two-hosts-http10          "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"
w 400-header-name-bad-char      "GET / HTTP/1.1\r\n${H}A(b: c\r\n\r\n"
w 400-header-name-non-ascii     "GET / HTTP/1.1\r\n${H}\303\251: c\r\n\r\n"
w 400-header-value-control      "GET / HTTP/1.1\r\n${H}A: b\001c\r\n\r\n"
w 400-header-value-first-control "GET / HTTP/1.1\r\n${H}A: \001b\r\n\r\n"
w 400-header-value-nul          "GET / HTTP/1.1\r\n${H}A: b\000c\r\n\r\n"
w 400-header-value-del          "GET / HTTP/1.1\r\n${H}A: b\177\r\n\r\n"
w 400-header-no-colon           "GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n"
w 400-header-empty-name         "GET / HTTP/1.1\r\n${H}: x\r\n\r\n"

#   framing
w 400-cl-and-te                 "POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
w 400-te-and-cl                 "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"
w 400-cl-differing              "POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"
w 400-cl-nondigit               "POST / HTTP/1.1\r\n${H}Content-Length: 3a\r\n\r\nabc"
w 400-cl-negative               "POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n"
w 400-cl-list                   "POST / HTTP/1.1\r\n${H}Content-Length: 3, 4\r\n\r\nabcd"
w 400-cl-empty                  "POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n"
w 400-cl-overflow               "POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\n"
w 400-te-double-chunked         "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"
w 400-te-two-fields-chunked     "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
w 400-te-empty                  "POST / HTTP/1.1\r\n${H}Transfer-Encoding: \r\n\r\n"
w 400-te-in-http10              "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
w 400-chunk-size-bad            "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n\r\n"
w 400-chunk-size-missing        "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n"
w 400-chunk-size-overflow       "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n"
w 400-chunk-size-0x             "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"
w 400-chunk-size-bare-lf        "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"
w 400-chunk-ext-no-name         "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n"
w 400-chunk-ext-bad-char        "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a@b\r\nhello\r\n0\r\n\r\n"
w 400-chunk-ext-open-quote      "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n"
w 400-chunk-ext-trailing-space  "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n"
w 400-chunk-ext-bare-lf         "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n"
w 400-chunk-ext-cr-without-lf   "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a\rXhello\r\n0\r\n\r\n"
w 400-chunk-data-no-crlf        "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n"
w 400-chunk-data-lf-only        "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n"
w 400-trailer-bare-lf           "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nA: b\n\r\n"
w 400-trailer-obs-fold          "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n"
w 400-trailer-bad-end           "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\rX"
w 400-trailer-space-before-colon "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nA : b\r\n\r\n"

#   limits (defaults: target 8 KiB, header section 64 KiB, 100 fields, body 10 MiB)
w 413-content-length-too-large  "POST / HTTP/1.1\r\n${H}Content-Length: 10485761\r\n\r\n"
w 413-chunk-too-large           "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\na00001\r\n"
long=$(printf 'a%.0s' $(seq 8192))
w 414-target-too-long           "GET /${long} HTTP/1.1\r\n${H}\r\n"
big=$(printf 'b%.0s' $(seq 66000))
w 431-header-section-too-large  "GET / HTTP/1.1\r\n${H}X-Big: ${big}\r\n\r\n"
many=$(for i in $(seq 100); do printf 'X-%d: v\\r\\n' "$i"; done)
w 431-too-many-headers          "GET / HTTP/1.1\r\n${H}${many}\r\n"

#   codings, methods and versions we do not implement
w 501-te-gzip                   "POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\nabc"
w 501-te-gzip-chunked           "POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
w 400-te-chunked-gzip           "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"
w 501-method-pri                "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
w 501-te-identity               "POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n"
w 501-connect                   "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"
w 505-http-20                   "GET / HTTP/2.0\r\n${H}\r\n"
w 505-http-09                   "GET / HTTP/0.9\r\n${H}\r\n"
w 505-http-12                   "GET / HTTP/1.2\r\n${H}\r\n"
