"""The seed's FastAPI app with its blocking work offloaded.

Each route that blocked a thread (time.sleep on FastAPI's 40-thread pool or
asyncio's small default executor) now awaits the offload client instead:
the job runs on an executor's queue, sized there, and this process only
waits on one ZeroMQ socket, with no thread per request. /test/async stays
the seed's asyncio.sleep, the control.

    PYTHONPATH=client/python python3 -m uvicorn app:app --app-dir examples/fastapi_seed --port 8001

Environment: OFFLOAD_GATEWAY (the gateway's clients socket, default
tcp://127.0.0.1:5555), OFFLOAD_SEED_QUEUE (default io), OFFLOAD_SEED_MS
(the job's duration in ms, default 3000, as the seed's time.sleep(3)).
"""

import asyncio
import math
import os
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import offload

GATEWAY = os.environ.get("OFFLOAD_GATEWAY", "tcp://127.0.0.1:5555")
QUEUE = os.environ.get("OFFLOAD_SEED_QUEUE", "io")
MS = int(os.environ.get("OFFLOAD_SEED_MS", "3000"))
TIMEOUT = MS / 1000 + 10.0  # the job's deadline at the gateway, time waiting included

client = offload.AsyncClient(GATEWAY)  # one for the app: one socket, many calls in flight


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with client:  # connects; on shutdown cancels the calls in flight and closes
        yield


class CancelOnDisconnect:
    """Cancels a request's handler when its client hangs up before the
    answer (Starlette lets it run on), so the job it awaits is cancelled at
    the gateway and its executor, not left running for nobody."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        inbox: "asyncio.Queue[Message]" = asyncio.Queue()
        answered = False

        async def send_(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True
            await send(message)

        handler = asyncio.ensure_future(self.app(scope, inbox.get, send_))

        async def watch() -> None:  # reads for the handler, and sees the hang-up
            while True:
                message = await receive()
                inbox.put_nowait(message)
                if message["type"] == "http.disconnect":
                    if not answered:
                        handler.cancel()
                    return

        watcher = asyncio.ensure_future(watch())
        try:
            await handler
        except asyncio.CancelledError:
            if not handler.cancelled():
                handler.cancel()  # this server is stopping: the handler goes too
                raise
        finally:
            watcher.cancel()


app = FastAPI()
app.router.lifespan_context = lifespan  # FastAPI >= 0.93: FastAPI(lifespan=lifespan)
app.add_middleware(CancelOnDisconnect)


@app.exception_handler(offload.Error)
async def offload_error(request: Request, exc: offload.Error) -> JSONResponse:
    status, headers = 502, {}  # the offload side failed: a bad gateway
    if isinstance(exc, (offload.QueueFull, offload.NoExecutor)):
        status = 503
        headers["Retry-After"] = str(math.ceil(getattr(exc, "retry_after", 1)))
    elif isinstance(exc, offload.Timeout):
        status = 504
    return JSONResponse({"error": exc.code, "message": exc.message, "job_id": exc.job_id},
                        status_code=status, headers=headers)


async def blocking_work() -> None:
    """The seed's time.sleep(3), run by an executor's `sleep` (ms as text)."""
    await client.call(QUEUE, "sleep", str(MS).encode(), timeout=TIMEOUT)


@app.get("/test/sync")
async def test_sync() -> None:  # was: def + time.sleep(3) on FastAPI's thread pool
    await blocking_work()


@app.get("/test/async")
async def test_async() -> None:  # the seed's control, unchanged
    await asyncio.sleep(MS / 1000)


@app.get("/test/sync_async")
async def test_sync_async() -> None:  # was: loop.run_in_executor(None, time.sleep, 3)
    await blocking_work()


@app.get("/test/sync_async_fastapi")
async def test_sync_async_with_fastapi_thread() -> None:  # was: run_in_threadpool(time.sleep, 3)
    await blocking_work()
