"""offload -- call functions on an offload executor fleet from Python.

An asyncio-native client over the gateway's "clients" ZeroMQ socket (no
HTTP, no thread per call), and its synchronous twin:

    import offload

    async with offload.AsyncClient("tcp://127.0.0.1:5555") as c:
        data = await c.call("io", "echo", b"hi", timeout=1.0)

    with offload.Client("tcp://127.0.0.1:5555") as c:
        data = c.call("io", "echo", b"hi")

A call returns the result bytes or raises an offload.Error subclass, one per
error class (offload.Timeout is also a TimeoutError, offload.QueueFull has
retry_after). Many calls may be in flight on one AsyncClient (one socket).
Cancelling the awaiting task (asyncio.CancelledError: a FastAPI request
that was dropped) cancels the job at the gateway, which cancels it on its
executor. While calls are in flight the client heartbeats its lease, so a
process that dies has its jobs cancelled too.

Needs python3-zmq and python3-protobuf (Debian), and offload_pb2, generated
from proto/offload.proto by `make` into build/python/ (found from the
source tree), or installed beside this package.
"""

from ._errors import (AuthFailed, BadRequest, Cancelled, Crashed, Error, ExecutorLost, Internal,
                      JobFailed, NoExecutor, NoReply, PayloadTooLarge, QueueFull, Timeout,
                      UnknownFunction, UnknownJob, UnknownQueue)
from ._client import AsyncClient, Client, JobStatus

__all__ = [
    "AsyncClient", "Client", "JobStatus", "Error", "BadRequest", "UnknownQueue",
    "UnknownFunction", "PayloadTooLarge", "QueueFull", "NoExecutor", "Timeout", "Crashed",
    "ExecutorLost", "JobFailed", "Cancelled", "Internal", "UnknownJob", "NoReply",
]
__version__ = "0.2.0"
