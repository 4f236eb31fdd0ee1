#!/usr/bin/env python3
"""prime_serverd.py: the prime service's HTTP contract in pure Python 3.

The comparison point for the C daemon, as the original ships one: the same
answers (status and body) for the same requests, from the standard library's
ThreadingHTTPServer, one thread per connection, HTTP/1.1 keep-alive.

    python3 py/prime_serverd.py [PORT]        (default 8002)
    curl 'http://localhost:8002/is_prime?possible_prime=32416190071'

Trial division is the same work as in C: every d = 2, 3, 4, ... with
d * d <= n, one division each, no sieve, no cache. The second workflow,
/factor?n=N, factors as C does (2, then odd d while d * d <= the cofactor);
any other path gets the plain 404 the C server answers itself.
"""
import http.server
import math
import signal
import socket
import sys
import urllib.parse

PATH = "/is_prime"
PARAM = "possible_prime"
ALLOW = "GET, HEAD, POST"
VALID = ("expected GET /is_prime?possible_prime=N or POST /is_prime with body N, "
         "N a decimal integer from 0 to 18446744073709551615")


def error_body(what):
    return '{"error":"%s; %s"}' % (what, VALID)


ERROR_MISSING = error_body("possible_prime is missing")
ERROR_REPEATED = error_body("possible_prime is given more than once")
ERROR_EMPTY = error_body("possible_prime is empty")
ERROR_NEGATIVE = error_body("possible_prime is negative")
ERROR_NOT_DECIMAL = error_body("possible_prime is not a decimal integer")
ERROR_TOO_LARGE = error_body("possible_prime is too large")
ERROR_METHOD = error_body("method not allowed")


FACTOR_PATH = "/factor"
FACTOR_PARAM = "n"
FACTOR_VALID = ("expected GET /factor?n=N or POST /factor with body N, "
                "N a decimal integer from 0 to 18446744073709551615")


def factor_error(what):
    return '{"error":"%s; %s"}' % (what, FACTOR_VALID)


#  The 400 bodies of each workflow, by reason
ERRORS = {
    PATH: dict(missing=ERROR_MISSING, repeated=ERROR_REPEATED, empty=ERROR_EMPTY,
               negative=ERROR_NEGATIVE, not_decimal=ERROR_NOT_DECIMAL,
               too_large=ERROR_TOO_LARGE, param=PARAM),
    FACTOR_PATH: dict(missing=factor_error("n is missing"),
                      repeated=factor_error("n is given more than once"),
                      empty=factor_error("n is empty"), negative=factor_error("n is negative"),
                      not_decimal=factor_error("n is not a decimal integer"),
                      too_large=factor_error("n is too large"), param=FACTOR_PARAM),
}


def factorise(n):
    factors = []
    if n < 2:
        return factors
    while n % 2 == 0:
        factors.append(2)
        n //= 2
    d, limit = 3, math.isqrt(n)
    while d <= limit:
        if n % d == 0:
            factors.append(d)
            n //= d
            limit = math.isqrt(n)
        else:
            d += 2
    if n > 1:
        factors.append(n)
    return factors


def is_digits(text):
    return text != "" and all("0" <= c <= "9" for c in text)


def parse_number(text, errors):
    """The number, or the 400 body saying why not."""
    if text == "":
        return errors["empty"]
    if text[0] == "-" and is_digits(text[1:]):
        return errors["negative"]
    if not is_digits(text):
        return errors["not_decimal"]
    value = int(text)
    if value >= 1 << 64:
        return errors["too_large"]
    return value


def is_prime(n):
    if n < 2:
        return False
    limit = math.isqrt(n)
    d = 2
    while d <= limit:
        if n % d == 0:
            return False
        d += 1
    return True


def query_values(query, name):
    """Values of name in the query, split as the C server does: on '&' and
    the first '=', then percent-decoded with '+' as a space."""
    values = []
    for part in query.split("&"):
        if part == "":
            continue
        key, _, value = part.partition("=")
        if urllib.parse.unquote_plus(key) == name:
            values.append(urllib.parse.unquote_plus(value))
    return values


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says close
    server_version = "prime_serverd.py"
    sys_version = ""
    wbufsize = -1  # one write per response: handle_one_request flushes

    def setup(self):
        # Without TCP_NODELAY a keep-alive client waits for delayed ACKs
        # between the header and body writes: ~200 req/s instead of ~10k.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def log_message(self, format, *args):
        pass

    def answer(self, status, body, allow=False, content_type="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if allow:
            self.send_header("Allow", ALLOW)
        # A 1.0 client (ab -k) keeps the connection only if told so
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def serve(self):
        path, _, query = self.path.partition("?")
        body = self.read_body()  # whatever the method, to keep the framing
        path = urllib.parse.unquote(path)
        if path not in ERRORS:
            return self.answer(404, "404 Not Found\n", content_type="text/plain")
        errors = ERRORS[path]
        if self.command not in ("GET", "HEAD", "POST"):
            return self.answer(405, ERROR_METHOD, allow=True)
        if self.command == "POST":
            text = body.decode("latin-1")
            if text.endswith("\n"):
                text = text[:-1]
            if text.endswith("\r"):
                text = text[:-1]
        else:
            values = query_values(query, errors["param"])
            if not values:
                return self.answer(400, errors["missing"])
            if len(values) > 1:
                return self.answer(400, errors["repeated"])
            text = values[0]
        number = parse_number(text, errors)
        if isinstance(number, str):
            return self.answer(400, number)
        if path == FACTOR_PATH:
            return self.answer(200, '{"n":%d,"factors":[%s]}'
                               % (number, ",".join(map(str, factorise(number)))))
        verdict = "true" if is_prime(number) else "false"
        self.answer(200, '{"possible_prime":%d,"is_prime":%s}' % (number, verdict))

    def __getattr__(self, name):
        # do_GET, do_PUT, do_WHATEVER: every method goes through serve(),
        # which answers 405 for the ones /is_prime does not allow.
        if name.startswith("do_"):
            return self.serve
        raise AttributeError(name)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def main():
    port = 8002
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and not sys.argv[1].isdigit()):
        sys.stderr.write("usage: prime_serverd.py [PORT]\n")
        return 2
    if len(sys.argv) == 2:
        port = int(sys.argv[1])
    server = Server(("", port), Handler)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    sys.stderr.write("prime_serverd.py: serving http on port %d\n" % port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
