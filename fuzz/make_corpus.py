#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<harness>/ (rewritten each run).

- fuzz_http_parser: every request of tests/data/bad_requests/ and
  tests/data/smuggling/ up to 8 KiB, plus the handwritten requests below,
  each behind the harness's 3-byte header (cut point, mode), some with small
  limits or a piecewise tail;
- fuzz_netstring: handwritten streams, good and bad, behind the 3-byte header
  (cut point, limit);
- fuzz_frames: backend messages (JOB with the request in one frame and in
  the earlier frame-per-field form, READY, CANCEL, RESULT, and junk),
  frames joined by the FE FF separator.

Seeds only guide the fuzzer; the harnesses decide what is right.
"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
MAX_SEED = 8192
SEP = b"\xfe\xff"


def out_dir(harness):
    path = os.path.join(HERE, "corpus", harness)
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))
    return path


def write(path, prefix, data):
    name = prefix + "-" + hashlib.sha1(data).hexdigest()[:12]
    with open(os.path.join(path, name), "wb") as out:
        out.write(data)


GOOD_REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /is_prime?possible_prime=7 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\n"
    b"Accept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n",
    b"GET /p?a=1&b=%26&c=x%3Dy&d&e=&a=2+3 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /a%20b/%C3%A9?q HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET http://x:80/a?b HTTP/1.1\r\nHost: x:80\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
    b"PUT /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
    b"POST /3 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nokGET /4 HTTP/1.1\r\nHost: x\r\n"
    b"Connection: close\r\n\r\n",
    b"\r\nDELETE /r HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(12)) + b"\r\n",
]


def http_seeds():
    path = out_dir("fuzz_http_parser")
    sources = []
    for sub in ("bad_requests", "smuggling"):
        directory = os.path.join(TOP, "tests", "data", sub)
        for name in sorted(os.listdir(directory)):
            if name.endswith(".http"):
                with open(os.path.join(directory, name), "rb") as f:
                    data = f.read()
                if len(data) <= MAX_SEED:
                    sources.append((sub, data))
    sources += [("good", data) for data in GOOD_REQUESTS]
    for index, (prefix, data) in enumerate(sources):
        cut = len(data) // 2
        write(path, prefix, struct.pack(">HB", cut, 0) + data)
        if prefix == "good" or index % 7 == 0:
            # small limits, tail in 1-byte and 5-byte pieces
            write(path, prefix + "-small", struct.pack(">HB", cut // 2, 1 | 2) + data)
            write(path, prefix + "-pieces", struct.pack(">HB", 3, 2 | (4 << 2)) + data)


NETSTRINGS = [
    b"0:,", b"5:hello,", b"3:abc,4:defg,0:,", b"12:hello world!,1:x,",
    b"5:hel", b"5", b"", b"01:a,", b"a:", b"5:hello;", b"3abc,", b"99999999999:",
    b"4:a,b,,", b"10:0123456789,2:\x00\xff,",
]


def netstring_seeds():
    path = out_dir("fuzz_netstring")
    for data in NETSTRINGS:
        write(path, "ns", struct.pack(">HB", len(data) // 2, 0) + data)
        write(path, "ns-limit", struct.pack(">HB", 1, 4) + data)


def netstring(data):
    return b"%d:%s," % (len(data), data)


def pairs(items):
    return b"".join(netstring(name) + netstring(value) for name, value in items)


def envelope(kind_type, flags=0, kind=1, status=0, request_id=1, version=2, credit=0):
    return struct.pack(">BBBBHHQ", version, kind_type, flags, kind, status, credit, request_id)


def frames_seeds():
    path = out_dir("fuzz_frames")
    request = [b"GET", b"/p?a=1&b", b"/p", b"11", pairs([(b"a", b"1"), (b"b", b"")]),
               pairs([(b"Host", b"x"), (b"Accept", b"*/*")]), b"", b""]
    post = [b"POST", b"/", b"/", b"10", b"", pairs([(b"Content-Length", b"5")]), b"hello",
            pairs([(b"X-T", b"1")])]
    # The one-frame form servers send, and the frame-per-field form of
    # earlier servers, with the client's address as a ninth frame
    one_frame = [b"".join(netstring(field) for field in request + [b"127.0.0.1"])]
    messages = [
        [envelope(1)] + one_frame,
        [b"".join(netstring(field) for field in post + [b""])],
        [envelope(1)] + request + [b"::1"],
        [envelope(1)] + request,
        [envelope(1, flags=2, request_id=2**63)] + post,
        request,
        [envelope(1, kind=2), b"netstring payload"],
        [envelope(1, kind=3), b"stage", b"frames"],
        [envelope(3, request_id=0, credit=4)],
        [envelope(3, flags=1, request_id=0), b"region=A"],
        [envelope(5, request_id=0), b"region=A"],
        [envelope(5, flags=1, request_id=12), b"\x01" * 16],
        [envelope(6, request_id=0)],
        [envelope(3, request_id=4, version=1)],
        [envelope(4, request_id=42)],
        [envelope(2, status=200, request_id=7), pairs([(b"Content-Type", b"text/plain")]),
         b"body"],
        [envelope(2, status=503, request_id=8), b"", b""],
        [envelope(2, status=99, request_id=9), b"", b""],
        [envelope(2, status=200, request_id=10, version=3), b"", b""],
        [envelope(9)],
        [b"short"],
        [pairs([(b"a", b"b"), (b"c", b"")])],
        [b"1:a,", b"2:a\x00,", b"3:a,b"],
    ]
    for message in messages:
        write(path, "msg", SEP.join(message))


if __name__ == "__main__":
    http_seeds()
    netstring_seeds()
    frames_seeds()
    for harness in ("fuzz_http_parser", "fuzz_netstring", "fuzz_frames"):
        print(harness, len(os.listdir(os.path.join(HERE, "corpus", harness))), "seeds")
