#!/usr/bin/env python3
"""factor_client.py: asks a prime service's /factor and /is_prime over HTTP
and checks every answer against an independent factorisation (Pollard's rho
with a deterministic Miller-Rabin for 64-bit numbers, not trial division).

    factor_client.py check URL
        a few hundred numbers (0 and 1, small numbers, powers of two,
        squares of primes, products of small primes, a large prime, a
        semiprime of two 32-bit primes, 2^64 - 1), by GET and by POST, and
        the 400 answers for bad numbers; prints "ok N" or the mismatches.
    factor_client.py load URL COUNT CONNECTIONS PROGRESS_FILE
        COUNT requests over CONNECTIONS keep-alive connections, factor and
        is_prime in turn, each checked; the correct answers so far are
        written to PROGRESS_FILE; prints "ok COUNT" or the errors.
"""
import http.client
import json
import math
import os
import random
import sys
import threading
import urllib.parse


def is_prime(n):
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in small:  # deterministic below 3.3e24
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def rho(n):
    if n % 2 == 0:
        return 2
    rng = random.Random(n)
    while True:
        y, c, m = rng.randrange(1, n), rng.randrange(1, n), 128
        g, r, q = 1, 1, 1
        while g == 1:
            x = y
            for _ in range(r):
                y = (y * y + c) % n
            k = 0
            while k < r and g == 1:
                ys = y
                for _ in range(min(m, r - k)):
                    y = (y * y + c) % n
                    q = q * abs(x - y) % n
                g = math.gcd(q, n)
                k += m
            r *= 2
        if g == n:
            g = 1
            while g == 1:
                ys = (ys * ys + c) % n
                g = math.gcd(abs(x - ys), n)
        if g != n:
            return g


def factorise(n):
    if n < 2:
        return []
    if is_prime(n):
        return [n]
    d = rho(n)
    return sorted(factorise(d) + factorise(n // d))


def want(n):
    return {"n": n, "factors": factorise(n)}


def numbers():
    primes = [p for p in range(2, 2000) if is_prime(p)]
    out = list(range(0, 120))
    out += [2**k for k in range(64)]
    out += [p * p for p in primes[:60]]
    out += [65521**2, 1000003**2, 4294967291 * 3]
    out += [p**k for p in (3, 5, 7) for k in range(2, 12)]
    rng = random.Random(7)
    for _ in range(60):
        k = 1
        while True:
            p = rng.choice(primes)
            if k * p >= 2**64:
                break
            k *= p
        out.append(k)
    out += [rng.randrange(2, 10**10) for _ in range(40)]
    out += [
        999999999999999989,  # a large prime (the largest below 10^18)
        2147483659 * 4294967291,  # a semiprime of two 32-bit primes
        2**64 - 1,
    ]
    return out


def connect(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)


def ask(conn, method, target, body=None):
    conn.request(method, target, body=body)
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type"), response.read().decode()


def check(url):
    assert is_prime(999999999999999989) and is_prime(2147483659) and is_prime(4294967291)
    todo = numbers()
    errors, lock, done = [], threading.Lock(), [0]

    def run(part):
        conn = connect(url)
        for i, n in enumerate(part):
            post = i % 3 == 0
            status, ctype, body = ask(conn, "POST" if post else "GET",
                                      "/factor" if post else "/factor?n=%d" % n,
                                      ("%d\n" % n) if post else None)
            ok = status == 200 and ctype == "application/json" and json.loads(body) == want(n)
            # the exact bytes, not only the same JSON value
            ok = ok and body == '{"n":%d,"factors":[%s]}' % (n, ",".join(map(str, factorise(n))))
            with lock:
                done[0] += 1
                if not ok:
                    errors.append("%d: %d %s" % (n, status, body))

    # the long ones first, each on its own connection, then the rest
    heavy = todo[-3:-1]
    rest = todo[:-3] + todo[-1:]
    parts = [[n] for n in heavy] + [rest[i::3] for i in range(3)]
    threads = [threading.Thread(target=run, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    conn = connect(url)
    bad = {"/factor": "n is missing", "/factor?n=": "n is empty", "/factor?n=-3": "n is negative",
           "/factor?n=1.5": "n is not a decimal integer", "/factor?n=1&n=2": "more than once",
           "/factor?n=18446744073709551616": "n is too large"}
    for target, text in bad.items():
        status, _, body = ask(conn, "GET", target)
        if status != 400 or text not in body:
            errors.append("%s: %d %s" % (target, status, body))
    status, _, body = ask(conn, "POST", "/factor", "abc")
    if status != 400 or "not a decimal" not in body:
        errors.append("POST abc: %d %s" % (status, body))
    status, _, body = ask(conn, "DELETE", "/factor")
    if status != 405:
        errors.append("DELETE: %d %s" % (status, body))
    # the other workflow is still there
    status, _, body = ask(conn, "GET", "/is_prime?possible_prime=97")
    if body != '{"possible_prime":97,"is_prime":true}':
        errors.append("is_prime: %d %s" % (status, body))
    print("ok %d" % done[0] if not errors else "errors (%d): %s" % (len(errors), errors[:5]))
    return 0 if not errors else 1


def load(url, count, connections, progress):
    # factor jobs of some tens of milliseconds each (two ~25-bit primes)
    semiprimes = [33554393 * 33554467, 16777213 * 33554393, 33554467 * 67108859]
    cheap = [97, 7919, 1000000007, 4294967297, 32416190071]
    state = {"next": 0, "done": 0, "errors": []}
    lock = threading.Lock()

    def run():
        conn = connect(url)
        while True:
            with lock:
                i = state["next"]
                if i >= count:
                    return
                state["next"] += 1
            try:
                if i % 2 == 0:
                    n = semiprimes[i // 2 % len(semiprimes)]
                    status, _, body = ask(conn, "GET", "/factor?n=%d" % n)
                    ok = status == 200 and json.loads(body) == want(n)
                else:
                    n = cheap[i // 2 % len(cheap)]
                    status, _, body = ask(conn, "GET", "/is_prime?possible_prime=%d" % n)
                    ok = status == 200 and body == '{"possible_prime":%d,"is_prime":%s}' % (
                        n, "true" if is_prime(n) else "false")
            except Exception as e:  # noqa: BLE001 (reported, and the connection renewed)
                ok, body = False, repr(e)
                conn = connect(url)
            with lock:
                if ok:
                    state["done"] += 1
                    # whole or not at all: the test reads it at any moment
                    with open(progress + ".new", "w") as f:
                        f.write("%d\n" % state["done"])
                    os.replace(progress + ".new", progress)
                else:
                    state["errors"].append("%d: %s" % (n, body))

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("ok %d" % state["done"] if not state["errors"] else "errors: %s" % state["errors"][:3])
    return 0 if not state["errors"] else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    if len(sys.argv) == 6 and sys.argv[1] == "load":
        sys.exit(load(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
