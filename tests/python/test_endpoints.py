"""Endpoint lists (several gateways), without a gateway: parsing, and a
client given a list where no gateway is up ends its call with NoReply at
its deadline plus the grace instead of blocking."""

import time

import pytest

import offload
from offload import _client


def test_endpoint_list_parsing():
    assert _client.endpoints("tcp://a:1") == ["tcp://a:1"]
    assert _client.endpoints(" tcp://a:1 , tcp://b:2,") == ["tcp://a:1", "tcp://b:2"]
    with pytest.raises(ValueError):
        _client.endpoints(" , ")


def test_sync_client_with_no_gateway_up_ends_with_no_reply():
    # Two loopback ports nothing listens on (ZeroMQ keeps retrying them).
    with offload.Client("tcp://127.0.0.1:1,tcp://127.0.0.1:2", grace=0.2) as c:
        t0 = time.monotonic()
        with pytest.raises(offload.NoReply):
            c.call("io", "echo", b"x", timeout=0.2)
        assert time.monotonic() - t0 < 5.0  # 0.4 s due; not forever


def test_async_client_with_no_gateway_up_ends_with_no_reply():
    import asyncio

    async def main():
        async with offload.AsyncClient("tcp://127.0.0.1:1,tcp://127.0.0.1:2", grace=0.2) as c:
            with pytest.raises(offload.NoReply):
                await c.call("io", "echo", b"x", timeout=0.2)

    t0 = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - t0 < 5.0
