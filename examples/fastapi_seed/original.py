"""The seed's FastAPI app as it was, blocking routes and all, for comparison
with app.py. Only two changes: the sleep lasts OFFLOAD_SEED_MS (default
3000, the seed's 3 s), and the running loop is looked up where one runs (the
seed's module-level asyncio.get_running_loop() fails at import).

    python3 -m uvicorn original:app --app-dir examples/fastapi_seed --port 8001
"""

import asyncio
import os
import time
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

SECONDS = int(os.environ.get("OFFLOAD_SEED_MS", "3000")) / 1000

app = FastAPI()


def sync_func() -> None:
    time.sleep(SECONDS)
    print("sync func")


async def sync_async_with_fastapi_thread() -> None:
    await run_in_threadpool(time.sleep, SECONDS)
    print("sync async with fastapi thread")


async def sync_async_func() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, time.sleep, SECONDS)


async def async_func() -> Any:
    await asyncio.sleep(SECONDS)
    print("async func")


@app.get("/test/sync")
def test_sync() -> None:
    sync_func()
    print("sync")


@app.get("/test/async")
async def test_async() -> None:
    await async_func()
    print("async")


@app.get("/test/sync_async")
async def test_sync_async() -> None:
    await sync_async_func()
    print("sync async")


@app.get("/test/sync_async_fastapi")
async def test_sync_async_with_fastapi_thread() -> None:
    await sync_async_with_fastapi_thread()
    print("sync async with fastapi thread")
