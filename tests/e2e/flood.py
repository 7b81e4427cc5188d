"""flood -- one process that keeps a gateway socket flooded with large
frames, for the loop fairness tests and `make bench`.

    flood.py clients ENDPOINT SECONDS WINDOW SIZE QUEUE FUNCTION
        Submits of SIZE payload bytes to QUEUE/FUNCTION, WINDOW of them
        unanswered at any time, for SECONDS; prints "sent=N replies=N
        codes=CODE:N,...".
    flood.py executors ENDPOINT SECONDS WINDOW SIZE
        Results of SIZE bytes for jobs nobody sent, from a peer that never
        said Hello (each is decoded, then refused): WINDOW frames ahead of
        the Refuses that come back; prints "sent=N refused=N".

WINDOW bounds the memory the flood holds (WINDOW x SIZE in this process and
at most as much queued at the gateway) while keeping the gateway's socket
never empty: the gateway must do bounded work per loop turn, not drain it.
"""

import sys
import time

import zmq

from pbwire import envelope, fields, ld, vi


def flood_clients(sock, seconds, window, size, queue, function):
    payload = b"x" * size
    sent = replies = 0
    codes = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        while sent - replies < window:
            body = vi(1, sent + 1) + ld(2, queue) + ld(3, function) + ld(4, payload)
            sock.send(envelope(20, body), copy=False)
            sent += 1
        if sock.poll(100):
            while True:
                try:
                    msg = sock.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                replies += 1
                reply = fields(fields(msg).get(21, b""))
                code = reply.get(3, 0)
                codes[code] = codes.get(code, 0) + 1
    text = ",".join("%d:%d" % kv for kv in sorted(codes.items()))
    print("sent=%d replies=%d codes=%s" % (sent, replies, text), flush=True)


def flood_executors(sock, seconds, window, size):
    payload = b"r" * size
    sent = refused = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        while sent - refused < window:
            body = vi(1, sent + 1) + ld(3, payload)
            sock.send(envelope(16, body), copy=False)
            sent += 1
        if sock.poll(100):
            while True:
                try:
                    sock.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                refused += 1
    print("sent=%d refused=%d" % (sent, refused), flush=True)


def main():
    mode, endpoint, seconds, window, size = sys.argv[1:6]
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.connect(endpoint)
    if mode == "clients":
        queue, function = sys.argv[6].encode(), sys.argv[7].encode()
        flood_clients(sock, float(seconds), int(window), int(size), queue, function)
    elif mode == "executors":
        flood_executors(sock, float(seconds), int(window), int(size))
    else:
        sys.exit("flood.py: mode is clients or executors")
    sock.close()
    ctx.term()


if __name__ == "__main__":
    main()
