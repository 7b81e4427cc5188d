"""A TCP relay that delays every byte by a fixed time, each way.

Stands in for `tc qdisc ... netem delay` where the kernel has no sch_netem
(tests/e2e/test_multihost.sh): run inside a host's network namespace, the
executor there connects to --listen and its bytes reach --to (and the
answers come back) --delay-ms later, in order. Loss is the kernel's job
(an nft rule on the host's link), so TCP's retransmissions are real.

    delayrelay.py --listen 127.0.0.1:5556 --to 10.77.0.1:5556 --delay-ms 20 [--ready-fd 3]
"""

import argparse
import asyncio
import os


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


async def pump(reader, writer, delay):
    """Copies reader to writer, each chunk sent `delay` seconds after it came."""
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()

    async def send():
        while True:
            due, data = await q.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.ensure_future(send())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            q.put_nowait((loop.time() + delay, data))
    except (ConnectionError, OSError):
        pass
    q.put_nowait((0, None))
    try:
        await sender
    except (ConnectionError, OSError):
        pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=addr, required=True)
    ap.add_argument("--to", type=addr, required=True)
    ap.add_argument("--delay-ms", type=float, default=20)
    ap.add_argument("--ready-fd", type=int)
    a = ap.parse_args()
    delay = a.delay_ms / 1000

    async def client(r1, w1):
        try:
            r2, w2 = await asyncio.open_connection(*a.to)
        except OSError:
            w1.close()
            return
        await asyncio.gather(pump(r1, w2, delay), pump(r2, w1, delay))

    server = await asyncio.start_server(client, *a.listen)
    if a.ready_fd is not None:
        os.write(a.ready_fd, b"ready\n")
        os.close(a.ready_fd)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
