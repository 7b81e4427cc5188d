"""A worker program for the e2e tests: functions that behave, and ones
that misbehave in each way the executor must survive."""

import os
import signal
import time

import offload_worker
from offload_worker import function, serve


@function
def echo(payload):
    return payload


@function
def big(payload):
    return b"x" * (int(payload) << 20)


@function
def pid(payload):
    return str(os.getpid())


@function
def sleep(payload):
    time.sleep(int(payload) / 1000)
    return b"slept"


@function
def crash(payload):
    os.kill(os.getpid(), signal.SIGSEGV)


@function
def boom(payload):
    raise ValueError("bad input: %s" % payload.decode("utf-8", "replace"))


@function
def noisy(payload):
    print("a print in a function goes to stderr, not into the protocol")
    return b"fine"


@function
def garbage(payload):
    # Past the library's guard: straight onto the protocol's pipe.
    os.write(offload_worker._protocol_fd, b"this is not a frame\n")
    time.sleep(30)


@function
def trace(payload):
    """The job's trace context: 'TRACEPARENT TRACESTATE' ('-' for none)."""
    ctx = offload_worker.context()
    return "%s %s" % (ctx.traceparent or "-", ctx.tracestate or "-")


@function
def alloc(payload):
    """Allocates and touches payload MB, then holds it for 30 s."""
    block = bytearray(int(payload) << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    time.sleep(30)
    return b"kept"


if __name__ == "__main__":
    serve()
