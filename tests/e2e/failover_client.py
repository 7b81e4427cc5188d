"""A long-lived Python client for test_failover.sh: connects once to the
endpoint list in argv[1] and runs the commands read on stdin, one answer
line each (the same language as failover_client.c):

  calls N TIMEOUT_MS       N echo calls, one at a time (AsyncClient)
  synccalls N TIMEOUT_MS   the same with the synchronous Client
  sleeps N MS TIMEOUT_MS   N concurrent "io sleep MS" calls, not awaited
  wait                     awaits them: "ended ok=X no_reply=Y other=Z max_ms=T"
"""
import asyncio
import sys
import time

import offload


async def main(endpoint: str) -> None:
    loop = asyncio.get_running_loop()
    sync = offload.Client(endpoint, grace=1.0)
    async with offload.AsyncClient(endpoint, grace=1.0) as c:
        tasks = []

        async def timed(coro):
            t0 = time.monotonic()
            try:
                await coro
                code = "ok"
            except offload.NoReply:
                code = "no_reply"
            except offload.Error as e:
                code = type(e).__name__
            return code, (time.monotonic() - t0) * 1000

        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            words = line.split()
            if words[0] in ("calls", "synccalls"):
                n, timeout = int(words[1]), int(words[2]) / 1000.0
                ok = other = 0
                worst = 0.0
                first = "none"
                for _ in range(n):
                    if words[0] == "calls":
                        code, ms = await timed(c.call("io", "echo", b"x", timeout=timeout))
                    else:
                        code, ms = await timed(loop.run_in_executor(
                            None, lambda: sync.call("io", "echo", b"x", timeout=timeout)))
                    worst = max(worst, ms)
                    if code == "ok":
                        ok += 1
                    else:
                        first = code if not other else first
                        other += 1
                print("calls ok=%d other=%d max_ms=%d first_error=%s" % (ok, other, worst, first))
            elif words[0] == "sleeps":
                n, ms, timeout = int(words[1]), words[2], int(words[3]) / 1000.0
                tasks += [asyncio.ensure_future(timed(c.call("io", "sleep", ms, timeout=timeout)))
                          for _ in range(n)]
                await asyncio.sleep(0)  # let them send
                print("submitted %d" % n)
            elif words[0] == "wait":
                done = await asyncio.gather(*tasks)
                tasks = []
                codes = [code for code, _ in done]
                print("ended ok=%d no_reply=%d other=%d max_ms=%d" % (
                    codes.count("ok"), codes.count("no_reply"),
                    len(codes) - codes.count("ok") - codes.count("no_reply"),
                    max([ms for _, ms in done] or [0])))
            else:
                print("unknown command")
            sys.stdout.flush()
    sync.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
