#!/usr/bin/env python3
"""stuckstream.py -- event-stream clients that never read (test_events.sh).

    stuckstream.py PORT COUNT SECONDS READY_FILE [TOKEN]

Opens COUNT connections to 127.0.0.1:PORT, each with a small receive
buffer, sends GET /v1/events on each (with the bearer TOKEN if given), and
then reads nothing, for SECONDS: the gateway's send side fills and stays
full. READY_FILE is written once every request is sent. Standard library
only."""
import os
import socket
import sys
import time


def main():
    port, count, seconds, ready = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    token = sys.argv[5] if len(sys.argv) > 5 else ""
    request = "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if token:
        request += "Authorization: Bearer " + token + "\r\n"
    request = (request + "\r\n").encode()
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # before connect: the window
        s.connect(("127.0.0.1", port))
        s.sendall(request)
        socks.append(s)
    with open(ready + ".tmp", "w") as f:
        f.write("%d\n" % count)
    os.rename(ready + ".tmp", ready)
    time.sleep(seconds)


if __name__ == "__main__":
    main()
