# hello.py: one job through a gateway, from asyncio (see README.md, "Quick start").
# The gateway: $OFFLOAD_GATEWAY, else tcp://127.0.0.1:5555.
import asyncio

import offload


async def main() -> None:
    async with offload.AsyncClient() as c:
        print((await c.call("io", "echo", b"hello from Python", timeout=5.0)).decode())
        try:
            await c.call("io", "sleep", b"5000", timeout=0.1)
        except offload.Timeout as e:  # one exception class per error
            print("timeout:", e)


asyncio.run(main())
