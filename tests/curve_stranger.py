#!/usr/bin/env python3
"""curve_stranger.py: a peer that is not part of the deployment tries every
backend socket of a CURVE-secured split prime service, for
tests/test_secure_split.sh.

    curve_stranger.py MODE SERVER_CERT STOP_FILE LOOPBACK INTERRUPT
                      UPSTREAM DOWNSTREAM [UPSTREAM DOWNSTREAM ...]

MODE is "nokey" (plaintext sockets) or "untrusted" (CURVE with a fresh key
pair the deployment does not know, and the binders' real public key from
SERVER_CERT). On every proxy DOWNSTREAM a DEALER offers itself as a worker
(READY); on every UPSTREAM a PUSH sends forged JOBs; on LOOPBACK a PUSH
sends forged RESULTs for ids 1..10000; on INTERRUPT a SUB listens. Then it
reads every socket until STOP_FILE exists, and prints one line:

    sockets=S refused=R admitted=A frames=F queued=N

refused counts sockets whose handshake failed (socket monitor), admitted
those whose handshake succeeded, frames the frames received on any socket, queued the forged messages
libzmq took (it takes none more once a connection is refused).
A secured deployment shows refused=S admitted=0 frames=0.
"""
import os
import struct
import sys
import time

import zmq
import zmq.auth
import zmq.utils.monitor

VERSION = 2  # PS_PROTOCOL_VERSION
READY, JOB, RESULT = 3, 1, 2
FAILED = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
          | zmq.EVENT_HANDSHAKE_FAILED_AUTH)


def envelope(kind_of_message, ident, kind=1, status=0, credit=1):
    return struct.pack(">BBBBHHQ", VERSION, kind_of_message, 0, kind, status, credit, ident)


def main():
    mode, server_cert, stop_file, loopback, interrupt = sys.argv[1:6]
    pairs = sys.argv[6:]
    upstreams, downstreams = pairs[0::2], pairs[1::2]
    context = zmq.Context()
    server_public, _ = zmq.auth.load_certificate(server_cert)
    public, secret = zmq.curve_keypair()
    sockets, monitors = [], []

    def peer(kind, endpoint):
        sock = context.socket(kind)
        sock.linger = 0
        sock.sndhwm = 20000
        if mode == "untrusted":
            sock.curve_publickey, sock.curve_secretkey = public, secret
            sock.curve_serverkey = server_public
        monitors.append(sock.get_monitor_socket(FAILED | zmq.EVENT_HANDSHAKE_SUCCEEDED))
        if kind == zmq.SUB:
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(endpoint)
        sockets.append(sock)
        return sock

    readers = [peer(zmq.DEALER, endpoint) for endpoint in downstreams]
    readers.append(peer(zmq.SUB, interrupt))
    sent = 0
    for dealer in readers[:-1]:
        dealer.send_multipart([envelope(READY, 0, kind=0)], zmq.NOBLOCK)
        sent += 1
    for endpoint in upstreams:
        push = peer(zmq.PUSH, endpoint)
        for ident in range(1, 101):
            try:
                push.send_multipart([envelope(JOB, ident), b"GET /is_prime?possible_prime=4"],
                                    zmq.NOBLOCK)
                sent += 1
            except zmq.Again:
                pass  # the connection was refused: libzmq queues nothing more
    results = peer(zmq.PUSH, loopback)
    for ident in range(1, 10001):
        try:
            results.send_multipart([envelope(RESULT, ident, status=200), b"",
                                    b'{"forged":true}'], zmq.NOBLOCK)
            sent += 1
        except zmq.Again:
            pass

    poller = zmq.Poller()
    for sock in readers:
        poller.register(sock, zmq.POLLIN)
    for monitor in monitors:
        poller.register(monitor, zmq.POLLIN)
    frames, refused, admitted = 0, set(), set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready = dict(poller.poll(50))
        for sock in readers:
            if sock in ready:
                frames += len(sock.recv_multipart())
        for index, monitor in enumerate(monitors):
            if monitor in ready:
                event = zmq.utils.monitor.recv_monitor_message(monitor)["event"]
                if event & FAILED:
                    refused.add(index)
                elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    admitted.add(index)
        if os.path.exists(stop_file) and len(refused | admitted) == len(sockets):
            break
    print("sockets=%d refused=%d admitted=%d frames=%d queued=%d"
          % (len(sockets), len(refused), len(admitted), frames, sent), flush=True)
    for sock in sockets:
        sock.disable_monitor()
    context.destroy(linger=0)


if __name__ == "__main__":
    main()
