"""offload_worker -- serve Python functions to an offload executor.

A worker program of a process pool (``offload-executor --queue
py=processes:4 --command 'py=python3 my_worker.py'``). The executor starts
it, it announces its functions, then runs one job at a time from its stdin
and writes each result to its stdout, in the worker protocol
(proto/worker.md). Standard library only.

    from offload_worker import serve, function

    @function
    def resize(payload: bytes) -> bytes:
        ...

    serve()

A function takes the job's payload (bytes) and returns bytes (str is
encoded as UTF-8, None is an empty result). context() says more about
the job it runs: its function, timeout_ms and deadline (time.monotonic),
and its W3C Trace Context (traceparent, tracestate, trace_id): the
caller's, or the trace the gateway started for it. An exception fails the job:
the caller gets 500 job_failed with "ExceptionType: message". The worker
exits when the executor closes its stdin; it is killed (SIGTERM, then
SIGKILL) when a job passes its deadline or is cancelled, and replaced.

Protocol safety: serve() moves the protocol to a private copy of stdout
and points file descriptor 1 (and sys.stdout) at stderr, so a print() in
a function lands in the executor's log instead of corrupting a frame.
"""

import contextvars
import os
import struct
import sys
import time
from typing import NamedTuple, Optional

__all__ = ["function", "serve", "context", "JobContext", "PROTOCOL_VERSION"]

PROTOCOL_VERSION = 1
MAGIC = "offload-worker"
MAX_FRAME_DEFAULT = (1 << 20) + 4096
_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_MESSAGE_MAX = 4000

_registry = {}
_protocol_fd = None  # the private copy of stdout, once serve() runs
# Features this library takes when the executor offers them (proto/worker.md).
_FEATURES = ("trace",)
_TRACE_PARENT_LEN = 55


class JobContext(NamedTuple):
    """The job a function runs (context())."""
    function: str
    timeout_ms: int                # the time left at its start; 0: no deadline
    deadline: Optional[float]      # time.monotonic() to give up at, or None
    traceparent: Optional[str]     # W3C traceparent, version-00 form, or None
    tracestate: Optional[str]      # its tracestate, or None

    @property
    def trace_id(self) -> Optional[str]:
        """The 32 hex digits of the trace-id, or None."""
        return self.traceparent[3:35] if self.traceparent else None


_context = contextvars.ContextVar("offload_worker_job", default=None)


def context() -> Optional[JobContext]:
    """The JobContext of the job running now; None outside one."""
    return _context.get()


def _valid_name(name):
    return isinstance(name, str) and 1 <= len(name) <= 64 and set(name) <= _NAME_CHARS


def function(fn=None, *, name=None):
    """Registers fn under its own name, or under name=.

    @function
    def resize(payload): ...

    @function(name="thumbnail.v2")
    def thumb(payload): ...
    """

    def register(f):
        n = name or f.__name__
        if not _valid_name(n):
            raise ValueError("offload_worker: %r is not a function name "
                             "(1..64 of A-Z a-z 0-9 _ . -)" % (n,))
        if n in _registry:
            raise ValueError("offload_worker: function %r registered twice" % (n,))
        _registry[n] = f
        return f

    return register(fn) if fn is not None else register


class ProtocolError(Exception):
    """The executor sent something that is not a job frame."""


def _read_exact(fd, n):
    """n bytes from fd, or None at end of file; a short read at EOF is an
    error (the executor went away mid-frame)."""
    chunks = []
    while n:
        b = os.read(fd, n)
        if not b:
            if chunks:
                raise ProtocolError("stdin ended inside a frame")
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def _write_frame(fd, ftype, body):
    data = struct.pack(">IB", len(body) + 1, ord(ftype)) + body
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_frame(fd, max_frame):
    head = _read_exact(fd, 4)
    if head is None:
        return None
    (length,) = struct.unpack(">I", head)
    if length < 1 or length > max_frame:
        raise ProtocolError("a frame length of %d (1..%d allowed)" % (length, max_frame))
    body = _read_exact(fd, length)
    if body is None:
        raise ProtocolError("stdin ended inside a frame")
    return body


def _parse_trace(body):
    """A 'T' frame's body: (traceparent, tracestate or None)."""
    if len(body) < _TRACE_PARENT_LEN or (len(body) > _TRACE_PARENT_LEN
                                         and body[_TRACE_PARENT_LEN:_TRACE_PARENT_LEN + 1] != b"\n"):
        raise ProtocolError("a trace frame of %d bytes" % len(body))
    parent = body[:_TRACE_PARENT_LEN].decode("ascii", "replace")
    state = body[_TRACE_PARENT_LEN + 1:].decode("ascii", "replace") or None
    return parent, state


def _read_job(fd, max_frame, traced=False):
    """(name, payload, timeout_ms, traceparent, tracestate), or None at
    the end of stdin. traced: the hello took trace frames."""
    body = _read_frame(fd, max_frame)
    if body is None:
        return None
    trace = (None, None)
    if traced and body[:1] == b"T":
        trace = _parse_trace(body[1:])
        body = _read_frame(fd, max_frame)
        if body is None:
            raise ProtocolError("stdin ended after a trace frame")
    if body[:1] != b"J":
        raise ProtocolError("a frame of type %r, not a job" % body[:1])
    if len(body) < 6:
        raise ProtocolError("a job frame of %d bytes" % len(body))
    timeout_ms, nlen = struct.unpack(">IB", body[1:6])
    if len(body) < 6 + nlen:
        raise ProtocolError("a job frame too short for its name")
    name = body[6:6 + nlen].decode("ascii", "replace")
    return (name, body[6 + nlen:], timeout_ms) + trace


def _call(fn, payload):
    """Runs fn; returns (b"R", result) or (b"E", message)."""
    try:
        out = fn(payload)
    except Exception as e:  # the caller gets it as job_failed
        msg = "%s: %s" % (type(e).__name__, e)
        return "E", msg.encode("utf-8", "replace")[:_MESSAGE_MAX]
    if out is None:
        return "R", b""
    if isinstance(out, str):
        return "R", out.encode("utf-8")
    if isinstance(out, (bytes, bytearray, memoryview)):
        return "R", bytes(out)
    return "E", ("%s returned %s, not bytes or str" % (fn.__name__, type(out).__name__)).encode()


def serve(functions=None, *, max_frame=None):
    """Announces the registered functions (or those of the dict
    functions={name: callable}) and serves jobs until stdin ends. Does not
    return: exits 0 at the end of stdin, 2 on a protocol error."""
    table = dict(_registry if functions is None else functions)
    if not table:
        sys.stderr.write("offload_worker: no function to serve (use @function)\n")
        sys.exit(2)
    for n in table:
        if not _valid_name(n):
            sys.stderr.write("offload_worker: %r is not a function name\n" % (n,))
            sys.exit(2)
    if max_frame is None:
        max_frame = int(os.environ.get("OFFLOAD_WORKER_MAX_FRAME", MAX_FRAME_DEFAULT))

    # The protocol gets its own copy of stdout; fd 1 and sys.stdout go to
    # stderr, so stray prints cannot break a frame.
    global _protocol_fd
    sys.stdout.flush()
    out = _protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = 0

    offered = os.environ.get("OFFLOAD_WORKER_FEATURES", "").replace(",", " ").split()
    taken = "".join(" " + f for f in _FEATURES if f in offered)
    hello = "%s %d%s\n" % (MAGIC, PROTOCOL_VERSION, taken) + "".join(n + "\n" for n in table)
    _write_frame(out, "H", hello.encode("ascii"))
    while True:
        try:
            job = _read_job(inp, max_frame, "trace" in offered)
        except ProtocolError as e:
            sys.stderr.write("offload_worker: %s\n" % e)
            sys.exit(2)
        if job is None:
            sys.exit(0)
        name, payload, timeout_ms, traceparent, tracestate = job
        fn = table.get(name)
        if fn is None:
            _write_frame(out, "E", ("this worker has no function %r" % name).encode())
            continue
        deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms else None
        token = _context.set(JobContext(name, timeout_ms, deadline, traceparent, tracestate))
        try:
            ftype, body = _call(fn, payload)
        finally:
            _context.reset(token)
        if len(body) + 1 > max_frame:
            ftype, body = "E", ("%s: a result of %d bytes is over the frame limit of %d "
                                "(the executor's --max-payload + 4096)"
                                % (name, len(body), max_frame - 1)).encode()
        _write_frame(out, ftype, body)
