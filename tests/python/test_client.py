"""The Python client against a real gateway and executor (started by
tests/e2e/test_python.sh, which sets OFFLOAD_TEST_CLIENTS and
OFFLOAD_TEST_HTTP): calls, errors per class, many calls in flight on one
socket, cancellation of the awaiting task, detached jobs, the sync twin."""

import asyncio
import json
import os
import time
import urllib.request

import pytest

import offload

EP = os.environ["OFFLOAD_TEST_CLIENTS"]
HTTP = os.environ["OFFLOAD_TEST_HTTP"]


def queue(name):
    with urllib.request.urlopen(HTTP + "/v1/queues", timeout=5) as r:
        for q in json.load(r)["queues"]:
            if q["name"] == name:
                return q
    return None


def with_client(body, endpoint=EP, **options):
    """Runs the coroutine function body(c) on an AsyncClient of endpoint
    (options: the client's); returns what body returns."""
    async def main():
        async with offload.AsyncClient(endpoint, **options) as c:
            return await body(c)
    return asyncio.run(main())


async def echo_all(c, n, fmt, **options):
    """n echo calls at once on c (payloads fmt % i): each gets its own
    payload back."""
    results = await asyncio.gather(*[c.call("io", "echo", fmt % i, **options) for i in range(n)])
    assert results == [fmt % i for i in range(n)]


def test_call_echo():
    async def body(c):
        assert await c.call("io", "echo", b"hi", timeout=5.0) == b"hi"
        assert await c.call("io", "echo", "text") == b"text"
        assert await c.call("io", "echo") == b""
    with_client(body)


def test_many_in_flight_on_one_socket():
    # 500 echoes; 64 sleeps of 300 ms on 64 threads, all at once; each
    # answer is its own call's (the payload comes back).
    async def body(c):
        await echo_all(c, 500, b"n%d")
        await asyncio.gather(*[c.call("io", "sleep", b"300") for _ in range(64)])
        assert queue("io")["busy"] == 0
    with_client(body)


@pytest.mark.parametrize("args,exc", [
    (("nosuch", "echo"), offload.UnknownQueue),
    (("io", "nosuch"), offload.UnknownFunction),
    (("io", "sleep", b"soon"), offload.JobFailed),
    (("bad name", "echo"), offload.BadRequest),
])
def test_errors_are_classes(args, exc):
    async def body(c):
        with pytest.raises(exc) as info:
            await c.call(*args)
        assert info.value.code == exc.code
    with_client(body)


def test_timeout_is_a_timeouterror():
    async def body(c):
        with pytest.raises(TimeoutError):
            await c.call("io", "sleep", b"5000", timeout=0.2)
        with pytest.raises(offload.Timeout):
            await c.call("io", "sleep", b"5000", timeout=0.2)
    with_client(body)


def test_cancelling_the_task_cancels_the_job():
    # A 30 s job on the process queue: cancelling the awaiting task frees
    # the slot (the worker is killed) long before the job would end.
    async def body(c):
        task = asyncio.ensure_future(c.call("cpu", "sleep", b"30000", timeout=60))
        deadline = time.monotonic() + 10
        while queue("cpu")["busy"] != 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert queue("cpu")["busy"] == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        while queue("cpu")["busy"] != 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert queue("cpu")["busy"] == 0
    with_client(body)


def test_detached_jobs_and_keys():
    async def body(c):
        jid = await c.submit("io", "echo", b"later")
        st = await c.job(jid, wait=5)
        assert (st.state, st.result) == ("done", b"later")
        jid = await c.submit("io", "sleep", b"30000")
        st = await c.job(jid, cancel=True)
        assert st.state == "cancelled"
        assert isinstance(st.error, offload.Cancelled)
        with pytest.raises(offload.UnknownJob):
            await c.job(12345)
        a = await c.call("io", "echo", b"one", idempotency_key="py-key-1")
        b = await c.call("io", "echo", b"two", idempotency_key="py-key-1")
        assert (a, b) == (b"one", b"one")
    with_client(body)


def test_no_gateway_is_noreply():
    async def body(c):
        with pytest.raises(offload.NoReply):
            await c.call("io", "echo", b"x", timeout=0.2)
    with_client(body, "tcp://127.0.0.1:1", grace=0.2)


def test_sync_client():
    with offload.Client(EP) as c:
        assert c.call("io", "echo", b"sync") == b"sync"
        with pytest.raises(offload.UnknownQueue):
            c.call("nosuch", "echo")
        jid = c.submit("io", "echo", b"d")
        assert c.job(jid, wait=5).result == b"d"


def test_queues_lists_the_fleet():
    async def body(c):
        return {q["name"]: q for q in await c.queues()}
    qs = with_client(body)
    assert qs["io"]["kind"] == "threads"
    assert qs["io"]["capacity"] == queue("io")["capacity"]
    with offload.Client(EP) as c:
        assert "io" in {q["name"] for q in c.queues()}


def test_a_full_pipe_still_times_out():
    # No gateway: the socket's pipe takes SNDHWM (1000) frames, and the
    # calls past it wait for room; each still ends at its own deadline.
    async def body(c):
        t0 = time.monotonic()
        results = await asyncio.gather(
            *[c.call("io", "echo", b"x", timeout=0.2) for _ in range(1500)],
            return_exceptions=True)
        assert all(isinstance(r, offload.NoReply) for r in results)
        assert time.monotonic() - t0 < 10
    with_client(body, "tcp://127.0.0.1:1", grace=0.1, lease_ms=0)


def test_many_calls_at_once_all_answered():
    # 3000 calls started at once on one socket: every one gets its own answer.
    async def body(c):
        await echo_all(c, 3000, b"%d", timeout=30)
    with_client(body)
