"""memflood -- floods a gateway with large payloads from ONE process, for
test_memory.sh.

    memflood.py http HOST PORT PATH COUNT SIZE
        COUNT connections at once, each POSTing SIZE bytes (Content-Length,
        Connection: close); prints
        "sent=N ok=N refused=N retry_after=N reset=N other=N": 200s, 503
        queue_full, of those the ones with a Retry-After, connections that
        ended without an answer (a refusal sent before the body was read can
        cut the upload short), anything else.
    memflood.py submit ENDPOINT COUNT SIZE
        COUNT Submits of SIZE bytes on one DEALER socket, as fast as the
        gateway takes them; prints "sent=N got=N ok=N queue_full=N
        retry_after=N other=N" once every Submit is answered (or 120 s pass).

The payload is SIZE-2 zeros then "50": the built-in sleep reads it as 50 ms.
"""
import errno
import os
import selectors
import socket
import sys
import time

# How long a flood may take: 120 s, three times that on a sanitized build
# (make asan), which runs 3 to 4 times slower.
FLOOD_S = 360 if os.environ.get("OFFLOAD_E2E_SANITIZED") else 120


def payload(size):
    return b"0" * (size - 2) + b"50"


def flood_http(host, port, path, count, size):
    body = payload(size)
    head = ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (path, host, size)).encode()
    req = memoryview(head + body)
    sel = selectors.DefaultSelector()
    conns = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        st = {"sock": s, "off": 0, "resp": bytearray(), "broken": False}
        conns.append(st)
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ, st)
    open_ = count
    deadline = time.time() + FLOOD_S
    while open_ and time.time() < deadline:
        for key, ev in sel.select(1.0):
            st = key.data
            s = st["sock"]
            done = False
            if ev & selectors.EVENT_READ:
                try:
                    chunk = s.recv(65536)
                    if chunk:
                        st["resp"] += chunk
                    else:
                        done = True
                except BlockingIOError:
                    pass
                except OSError:
                    done = True
            if not done and ev & selectors.EVENT_WRITE:
                try:
                    st["off"] += s.send(req[st["off"]:st["off"] + 262144])
                except BlockingIOError:
                    pass
                except OSError:
                    st["broken"] = True
                if st["broken"] or st["off"] >= len(req):
                    sel.modify(s, selectors.EVENT_READ, st)
            if done:
                sel.unregister(s)
                s.close()
                open_ -= 1
    ok = refused = retry = reset = other = 0
    for st in conns:
        r = bytes(st["resp"])
        line = r.split(b"\r\n", 1)[0].split()
        code = line[1] if len(line) > 1 else b""
        if code == b"200":
            ok += 1
        elif code == b"503" and b'"queue_full"' in r:
            refused += 1
            if b"\r\nretry-after: " in r.lower():
                retry += 1
        elif not r:
            reset += 1
        else:
            other += 1
    print("sent=%d ok=%d refused=%d retry_after=%d reset=%d other=%d"
          % (count, ok, refused, retry, reset, other))


def flood_submit(endpoint, count, size):
    import zmq
    from pbwire import envelope, fields, ld, vi
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    body = payload(size)
    codes = {}
    retry = sent = got = 0
    deadline = time.time() + FLOOD_S
    poller = zmq.Poller()
    poller.register(s, zmq.POLLIN | zmq.POLLOUT)
    while got < count and time.time() < deadline:
        ev = dict(poller.poll(1000)).get(s, 0)
        if ev & zmq.POLLIN:
            while True:
                try:
                    m = s.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                r = fields(fields(m)[21])  # Envelope.reply
                c = r.get(3, 0)            # Reply.code
                codes[c] = codes.get(c, 0) + 1
                if c == 5 and r.get(9, 0) > 0:  # queue_full with retry_after_s
                    retry += 1
                got += 1
        if ev & zmq.POLLOUT and sent < count:
            sub = (vi(1, sent + 1) + ld(2, b"io") + ld(3, b"sleep") + ld(4, body)
                   + vi(5, 30000))
            try:
                s.send(envelope(20, sub), zmq.NOBLOCK)
                sent += 1
            except zmq.Again:
                pass
            if sent >= count:
                poller.modify(s, zmq.POLLIN)
    ok, full = codes.get(0, 0), codes.get(5, 0)
    others = ",".join("%d:%d" % (c, n) for c, n in sorted(codes.items()) if c not in (0, 5))
    print("sent=%d got=%d ok=%d queue_full=%d retry_after=%d other=%d other_codes=%s"
          % (sent, got, ok, full, retry, got - ok - full, others or "none"))


if __name__ == "__main__":
    if sys.argv[1] == "http":
        flood_http(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]),
                   int(sys.argv[6]))
    else:
        flood_submit(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
