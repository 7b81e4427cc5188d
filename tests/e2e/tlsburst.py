"""tlsburst.py PORT N: opens N TCP connections to a TLS port on 127.0.0.1,
waits until the server has accepted them all (the listen backlog, per ss, is
empty), then sends their N ClientHellos at once, completes the handshakes,
asks GET /healthz on each and prints how many answered 200 ("ok=K")."""
import select
import socket
import ssl
import subprocess
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
deadline = time.time() + 20
while time.time() < deadline:
    out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True, text=True)
    if out.stdout.split() and out.stdout.split()[1] == "0":
        break
    time.sleep(0.05)
conns = []
for s in raw:
    s.setblocking(False)
    conns.append(ctx.wrap_socket(s, do_handshake_on_connect=False))
pending = set(conns)
while pending and time.time() < deadline:
    for c in list(pending):
        try:
            c.do_handshake()
            pending.discard(c)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
    if pending:
        select.select(list(pending), [], [], 0.1)
ok = 0
for c in conns:
    if c in pending:
        continue
    c.setblocking(True)
    c.settimeout(20)
    try:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        ok += data.startswith(b"HTTP/1.1 200")
    except OSError:
        pass
print("ok=%d handshakes_left=%d" % (ok, len(pending)))
