"""AsyncClient and Client: see the package's docstring."""

import asyncio
import itertools
import json
import os
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

import zmq
import zmq.utils.z85

from ._errors import AuthFailed, Error, NoReply, from_code
from ._pb import pb

PROTOCOL_VERSION = 2
DEFAULT_ENDPOINT = "tcp://127.0.0.1:5555"
DEFAULT_LEASE_MS = 5000
DEFAULT_GRACE = 5.0  # seconds past a call's deadline to wait for its reply
DEFAULT_WAIT = 60.0  # for calls without a timeout: the gateway's default is unknown here
STATES = {0: "", 1: "queued", 2: "running", 3: "done", 4: "failed", 5: "cancelled"}

Payload = Union[bytes, bytearray, memoryview, str]

KEY_FILE_MAX = 4096
CODE_NO_EXECUTOR = 6
CODE_UNKNOWN_JOB = 13
# A draining gateway's answer to a Submit: with several gateways, call()
# sends the job again, to another one.
DRAINING_TEXT = "the gateway is shutting down"
_HANDSHAKE_EVENTS = (zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                     | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                     | zmq.EVENT_DISCONNECTED)
CONNECT_WAIT = 0.5  # before asking another gateway: wait this long for all to be up


def read_key_file(path: str, need_secret: bool) -> Dict[str, str]:
    """Reads a key file written by `offload keygen` (docs/security.md):
    'public = Z85' and, in a .key file, 'secret = Z85'. Raises ValueError
    naming the file and the line."""
    with open(path, "rb") as f:
        data = f.read(KEY_FILE_MAX + 1)
    if len(data) > KEY_FILE_MAX:
        raise ValueError("%s: larger than %d bytes: not a key file" % (path, KEY_FILE_MAX))
    keys: Dict[str, str] = {}
    for n, raw in enumerate(data.decode("ascii", "replace").split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, eq, value = (x.strip() for x in line.partition("="))
        if not eq or name not in ("public", "secret", "queues") or name in keys:
            raise ValueError("%s line %d: expected 'public = KEY'%s" %
                             (path, n, " and 'secret = KEY'" if need_secret else ""))
        if name != "queues":
            try:
                if len(value) != 40 or len(zmq.utils.z85.decode(value)) != 32:
                    raise ValueError
            except Exception:
                raise ValueError("%s line %d: the %s key is not 40 characters of Z85" %
                                 (path, n, name)) from None
        keys[name] = value
    if "public" not in keys or (need_secret and "secret" not in keys):
        raise ValueError("%s: no '%s = ...' line (make key files with 'offload keygen')" %
                         (path, "public" if "public" not in keys else "secret"))
    if not need_secret and "secret" in keys:
        raise ValueError("%s: a secret key in a public key file" % path)
    return keys


def _curve_files(curve_key: Optional[str], curve_server: Optional[str]):
    """The two key files, from the arguments or $OFFLOAD_CURVE_KEY and
    $OFFLOAD_CURVE_SERVER; (None, None) for no CURVE."""
    key = curve_key or os.environ.get("OFFLOAD_CURVE_KEY") or None
    server = curve_server or os.environ.get("OFFLOAD_CURVE_SERVER") or None
    if bool(key) != bool(server):
        raise ValueError("CURVE needs both keys: curve_key (PATH.key) and curve_server (the "
                         "gateway's PATH.pub)")
    if key:
        read_key_file(key, True)  # fail now, in the constructor, on a bad file
        read_key_file(server, False)
    return key, server


def endpoints(endpoint: str) -> List[str]:
    """The gateways of an endpoint list: "tcp://a:5555,tcp://b:5555"."""
    eps = [e.strip() for e in endpoint.split(",") if e.strip()]
    if not eps:
        raise ValueError("no gateway endpoint in %r" % endpoint)
    return eps


def _curve_socket(ctx: zmq.Context, endpoint: str, key: Optional[str],
                  server: Optional[str]):
    """A DEALER connected to every gateway of endpoint (a comma-separated
    list), a CURVE client when key is set, and a monitor socket of its
    handshakes (for AuthFailed). With several gateways, ZMQ_IMMEDIATE: each
    message goes to a gateway whose connection is up (round robin), none
    waits for one that is down."""
    eps = endpoints(endpoint)
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 200)
    if len(eps) > 1:
        sock.immediate = 1
    if key:
        mine, theirs = read_key_file(key, True), read_key_file(server, False)
        sock.curve_serverkey = theirs["public"].encode()
        sock.curve_publickey = mine["public"].encode()
        sock.curve_secretkey = mine["secret"].encode()
    monitor = sock.get_monitor_socket(_HANDSHAKE_EVENTS)
    for ep in eps:
        sock.connect(ep)
    return sock, monitor


def _send_each(sock: zmq.Socket, frame: bytes, n: int) -> None:
    """Sends frame (a Cancel, a Heartbeat) once per gateway: a DEALER deals
    consecutive messages round robin, so each gateway up gets a copy (one
    ignores a Cancel for a request it does not hold). Never waits."""
    for _ in range(n):
        try:
            sock.send(frame, zmq.NOBLOCK)
        except zmq.Again:
            pass


def _draining(reply) -> bool:
    return reply.code == CODE_NO_EXECUTOR and reply.message.startswith(DRAINING_TEXT)


class _Links:
    """How many of the gateways are connected, from the monitor's events."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.up = 0


def _handshake_failure(monitor, curve: bool, links: _Links) -> Optional[str]:
    """Reads the monitor's events (counting connections in links); the
    message of a handshake that failed since the last call, or None."""
    failure = None
    while True:
        try:
            frames = monitor.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return failure
        if len(frames[0]) < 6:
            continue
        event = int.from_bytes(frames[0][:2], "little")
        if event == zmq.EVENT_DISCONNECTED:
            links.up = max(0, links.up - 1)
        elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            links.up = min(links.n, links.up + 1)
            failure = None
        elif event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            failure = ("the gateway refused this client's CURVE key: it is not in the "
                       "gateway's --curve-allow directory")
        elif curve:
            failure = ("the CURVE handshake with the gateway failed: wrong curve_server key, "
                       "or a gateway without CURVE")
        elif event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            failure = ("the handshake with the gateway failed: it may require CURVE keys "
                       "(curve_key, curve_server)")


@dataclass
class JobStatus:
    """A detached job: its state ("queued", "running", "done", "failed",
    "cancelled"), and once ended its result or error."""

    job_id: int
    state: str
    result: Optional[bytes] = None
    error: Optional[Error] = None


def _bytes(payload: Payload) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return bytes(payload)


def _timeout_ms(timeout: Optional[float]) -> int:
    if timeout is None:
        return 0
    if timeout <= 0:
        raise ValueError("timeout must be > 0 seconds")
    return max(1, int(timeout * 1000))


def _envelope(**body) -> bytes:
    return pb.Envelope(version=PROTOCOL_VERSION, **body).SerializeToString()


def _submit(request_id: int, queue: str, function: str, payload: Payload, timeout: Optional[float],
            retries: int, lease_ms: int, detach: bool = False, key: Optional[str] = None,
            trace: Tuple[Optional[str], Optional[str]] = (None, None)) -> bytes:
    """trace: (traceparent, tracestate), W3C Trace Context passed as it is
    (the gateway ignores, counts and replaces an invalid traceparent)."""
    return _envelope(submit=pb.Submit(
        request_id=request_id, queue=queue, function=function, payload=_bytes(payload),
        timeout_ms=_timeout_ms(timeout), retries=retries, lease_ms=lease_ms, detach=detach,
        idempotency_key=key or "", traceparent=trace[0] or "", tracestate=trace[1] or ""))


def _parse(frame: bytes):
    env = pb.Envelope()
    env.ParseFromString(frame)
    return env


def _result(reply) -> bytes:
    if reply.code != 0:
        raise from_code(reply.code, reply.message, reply.job_id, reply.retry_after_s)
    return reply.payload


def _queues(reply) -> List[Dict[str, Any]]:
    return list(json.loads(_result(reply).decode())["queues"])


def _status(reply) -> JobStatus:
    st = JobStatus(job_id=reply.job_id, state=STATES.get(reply.state, ""))
    if reply.code == 13:  # unknown_job
        raise from_code(reply.code, reply.message, reply.job_id, reply.retry_after_s)
    if st.state in ("done", "failed", "cancelled"):
        if reply.code == 0:
            st.result = reply.payload
        else:
            st.error = from_code(reply.code, reply.message, reply.job_id, reply.retry_after_s)
    return st


def _init_settings(client, endpoint: Optional[str], lease_ms: int, grace: float,
                   curve_key: Optional[str], curve_server: Optional[str]) -> None:
    """What both clients set first: the endpoint (argument, OFFLOAD_GATEWAY,
    or the default), its gateways' links, the lease, the grace and the
    CURVE key files."""
    client.endpoint = endpoint or os.environ.get("OFFLOAD_GATEWAY") or DEFAULT_ENDPOINT
    client._n_gateways = len(endpoints(client.endpoint))
    client._links = _Links(client._n_gateways)
    client.lease_ms = lease_ms
    client.grace = grace
    client._curve_key, client._curve_server = _curve_files(curve_key, curve_server)


class AsyncClient:
    """An asyncio client: many calls in flight on one DEALER socket, a
    reader task that hands each Reply to its call's future, and a lease
    heartbeat while calls are in flight."""

    def __init__(self, endpoint: Optional[str] = None, *, lease_ms: int = DEFAULT_LEASE_MS,
                 grace: float = DEFAULT_GRACE, curve_key: Optional[str] = None,
                 curve_server: Optional[str] = None) -> None:
        _init_settings(self, endpoint, lease_ms, grace, curve_key, curve_server)
        self._ctx: Optional[zmq.Context] = None
        self._sock: Optional[zmq.Socket] = None
        self._monitor: Optional[zmq.Socket] = None
        self._monitor_fd = -1
        self._loop: Optional[asyncio.AbstractEventLoop] = None  # watching the socket
        self._fd = -1
        self._writable: Optional[asyncio.Future] = None  # senders waiting for room
        self._ids = itertools.count(1)
        self._pending: Dict[int, asyncio.Future] = {}
        self._beater: Optional[asyncio.Task] = None
        self._last_send = 0.0

    async def __aenter__(self) -> "AsyncClient":
        self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def connect(self) -> None:
        if self._sock is not None:
            return
        self._ctx = zmq.Context()
        self._sock, self._monitor = _curve_socket(self._ctx, self.endpoint, self._curve_key,
                                                  self._curve_server)

    async def close(self) -> None:
        """Cancels the calls in flight (at the gateway too) and closes."""
        for rid, fut in list(self._pending.items()):
            if not fut.done():
                _send_each(self._sock, _envelope(cancel=pb.Cancel(request_id=rid)),
                           self._n_gateways)
                fut.cancel()
        self._pending.clear()
        if self._beater:
            self._beater.cancel()
            try:
                await self._beater
            except (asyncio.CancelledError, Exception):
                pass
        self._beater = None
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop.remove_reader(self._monitor_fd)
            self._loop = None
        if self._sock is not None:
            self._sock.disable_monitor()
            self._monitor.close(0)
            self._sock.close()
            self._ctx.term()
            self._sock = self._ctx = self._monitor = None

    # The socket is watched the way zmq.asyncio watches one (its ZMQ_FD on
    # the running loop), but every frame waiting is read in one callback and
    # sent without a future: a call costs no more than it must.

    def _watch(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._fd = self._sock.getsockopt(zmq.FD)
            self._loop.add_reader(self._fd, self._on_readable)
            self._monitor_fd = self._monitor.getsockopt(zmq.FD)
            self._loop.add_reader(self._monitor_fd, self._on_monitor)
            self._loop.call_soon(self._on_monitor)  # events from before the reader
        if self.lease_ms and (self._beater is None or self._beater.done()):
            self._beater = asyncio.ensure_future(self._heartbeat())

    def _on_readable(self) -> None:
        """ZMQ_FD is edge-triggered: read every frame there, then wake the
        senders waiting for room."""
        sock = self._sock
        if sock is None:
            return
        while True:
            try:
                frame = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            self._on_frame(frame)
        w = self._writable
        if w is not None and not w.done() and sock.getsockopt(zmq.EVENTS) & zmq.POLLOUT:
            w.set_result(None)

    def _on_monitor(self) -> None:
        """A refused handshake ends every call in flight with AuthFailed
        (ZeroMQ retries the connection: later calls may go through)."""
        if self._monitor is None:
            return
        failure = _handshake_failure(self._monitor, bool(self._curve_key), self._links)
        if failure is None:
            return
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(AuthFailed(failure))
        self._pending.clear()

    async def _send(self, frame: bytes, call: Optional[asyncio.Future] = None) -> None:
        """Sends frame; when the pipe is full (SNDHWM: the gateway is slow
        or not there) waits for room, or until call ends (its timer)."""
        sock = self._sock
        while True:
            try:
                sock.send(frame, zmq.NOBLOCK)
                break
            except zmq.Again:
                if sock.getsockopt(zmq.EVENTS) & zmq.POLLOUT:
                    continue
                if self._writable is None or self._writable.done():
                    self._writable = asyncio.get_running_loop().create_future()
                # A new connection (with several gateways: the first one up)
                # wakes ZMQ_FD too; look again every 100 ms all the same.
                waits = (self._writable,) if call is None else (self._writable, call)
                await asyncio.wait(waits, timeout=0.1, return_when=asyncio.FIRST_COMPLETED)
                if call is None:
                    continue
                if call.done():
                    return
        self._last_send = time.monotonic()
        # Sending runs the socket's commands, which may take the edge of
        # frames that arrived meanwhile: read them now.
        if self._loop is not None and sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            self._loop.call_soon(self._on_readable)

    def _on_frame(self, frame: bytes) -> None:
        try:
            env = _parse(frame)
        except Exception:
            return  # not an Envelope: dropped
        which = env.WhichOneof("body")
        if which == "reply":
            fut = self._pending.pop(env.reply.request_id, None)
            if fut is not None and not fut.done():
                fut.set_result(env.reply)
        elif which == "refuse":
            err = Error("the gateway refused the call: " + env.refuse.message)
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(err)
            self._pending.clear()

    async def _heartbeat(self) -> None:
        period = self.lease_ms / 3000.0
        while True:
            await asyncio.sleep(period)
            if self._pending and time.monotonic() - self._last_send >= period:
                if self._n_gateways > 1:
                    _send_each(self._sock, _envelope(heartbeat=pb.Heartbeat()), self._n_gateways)
                    self._last_send = time.monotonic()
                else:
                    await self._send(_envelope(heartbeat=pb.Heartbeat()))

    async def _request(self, frame_for, wait: float):
        """Sends frame_for(request_id) and awaits its Reply; a cancelled
        await cancels the job at the gateway."""
        self.connect()
        self._watch()
        rid = next(self._ids)
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._pending[rid] = fut
        # One timer per call (no wait_for/shield: each costs futures and
        # callbacks): past wait, the call ends with NoReply.
        timer = loop.call_later(wait, self._no_reply, rid, wait)
        try:
            await self._send(frame_for(rid), fut)
            return await fut
        except asyncio.CancelledError:
            if self._pending.pop(rid, None) is not None and self._sock is not None:
                if self._n_gateways > 1:
                    _send_each(self._sock, _envelope(cancel=pb.Cancel(request_id=rid)),
                               self._n_gateways)
                else:
                    await self._send(_envelope(cancel=pb.Cancel(request_id=rid)))
            raise
        finally:
            timer.cancel()

    def _no_reply(self, rid: int, wait: float) -> None:
        fut = self._pending.pop(rid, None)
        if fut is not None and not fut.done():
            fut.set_exception(NoReply("no reply from the gateway at %s within %.1f s (is it "
                                      "running?)" % (self.endpoint, wait)))

    def _wait(self, timeout: Optional[float]) -> float:
        return (timeout if timeout is not None else DEFAULT_WAIT) + self.grace

    async def call(self, queue: str, function: str, payload: Payload = b"", *,
                   timeout: Optional[float] = None, retries: int = 0,
                   idempotency_key: Optional[str] = None, traceparent: Optional[str] = None,
                   tracestate: Optional[str] = None) -> bytes:
        """Runs function on queue; returns the result bytes or raises an
        offload.Error. timeout: the job's deadline in seconds (None: the
        gateway's default). idempotency_key: a second call with the same key
        gets the first job's outcome. traceparent, tracestate: the job's W3C
        Trace Context (an HTTP request's headers), passed to its function."""
        lease = 0 if idempotency_key else self.lease_ms
        for _ in range(2 * self._n_gateways if self._n_gateways > 1 else 1):
            reply = await self._request(
                lambda rid: _submit(rid, queue, function, payload, timeout, retries, lease,
                                    key=idempotency_key, trace=(traceparent, tracestate)),
                self._wait(timeout))
            if not _draining(reply):
                break
            await self._await_gateways()
        return _result(reply)

    async def _await_gateways(self) -> None:
        """Before asking another gateway: waits up to CONNECT_WAIT for every
        gateway's connection (a fresh client may have only one up)."""
        until = time.monotonic() + CONNECT_WAIT
        self._on_monitor()
        while self._links.up < self._links.n and time.monotonic() < until:
            await asyncio.sleep(0.01)
            self._on_monitor()

    async def submit(self, queue: str, function: str, payload: Payload = b"", *,
                     timeout: Optional[float] = None, retries: int = 0,
                     idempotency_key: Optional[str] = None, traceparent: Optional[str] = None,
                     tracestate: Optional[str] = None) -> int:
        """Runs a detached job; returns its id (see job())."""
        reply = await self._request(
            lambda rid: _submit(rid, queue, function, payload, timeout, retries, 0, detach=True,
                                key=idempotency_key, trace=(traceparent, tracestate)),
            self._wait(None))
        if reply.code != 0:
            raise from_code(reply.code, reply.message, reply.job_id, reply.retry_after_s)
        return reply.job_id

    async def job(self, job_id: int, *, wait: float = 0.0, cancel: bool = False) -> JobStatus:
        """A detached job's status; wait: long-poll up to that many seconds
        for it to end; cancel: cancel it first."""
        wait_ms = max(0, int(wait * 1000))
        for _ in range(self._n_gateways + (self._n_gateways > 1)):  # ask each gateway
            reply = await self._request(
                lambda rid: _envelope(query=pb.Query(request_id=rid, job_id=job_id,
                                                     wait_ms=wait_ms, cancel=cancel)),
                wait + self.grace)
            if reply.code != CODE_UNKNOWN_JOB:
                break
            await self._await_gateways()
        return _status(reply)

    async def queues(self) -> List[Dict[str, Any]]:
        """The fleet's queues, as GET /v1/queues lists them: one dict per
        queue (name, kind, capacity, busy, available, waiting, executors,
        submitted, completed, failed, timeouts, rejected)."""
        reply = await self._request(
            lambda rid: _envelope(list_queues=pb.ListQueues(request_id=rid)), self.grace)
        return _queues(reply)


class Client:
    """The synchronous twin, for scripts: one call at a time."""

    def __init__(self, endpoint: Optional[str] = None, *, lease_ms: int = DEFAULT_LEASE_MS,
                 grace: float = DEFAULT_GRACE, curve_key: Optional[str] = None,
                 curve_server: Optional[str] = None) -> None:
        _init_settings(self, endpoint, lease_ms, grace, curve_key, curve_server)
        self._ctx = zmq.Context()
        self._sock, self._monitor = _curve_socket(self._ctx, self.endpoint, self._curve_key,
                                                  self._curve_server)
        self._poller = zmq.Poller()
        self._poller.register(self._sock, zmq.POLLIN)
        self._poller.register(self._monitor, zmq.POLLIN)
        self._ids = itertools.count(1)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.disable_monitor()
            self._monitor.close(0)
            self._sock.close()
            self._ctx.term()
            self._sock = None

    def _await_gateways(self) -> None:
        """Before asking another gateway: waits up to CONNECT_WAIT for every
        gateway's connection (a fresh client may have only one up)."""
        until = time.monotonic() + CONNECT_WAIT
        while True:
            failure = _handshake_failure(self._monitor, bool(self._curve_key), self._links)
            if failure is not None:
                raise AuthFailed(failure)
            left = until - time.monotonic()
            if self._links.up >= self._links.n or left <= 0:
                return
            self._monitor.poll(int(left * 1000) + 1)

    def _send_by(self, frame: bytes, until: float) -> bool:
        """Sends frame, waiting for room (or, with several gateways, for one
        to be up) until the time until; False if it could not go."""
        while True:
            try:
                self._sock.send(frame, zmq.NOBLOCK)
                return True
            except zmq.Again:
                left = until - time.monotonic()
                if left <= 0:
                    return False
                self._sock.poll(int(min(left, 0.1) * 1000) + 1, zmq.POLLOUT)

    def _request(self, frame_for, wait: float, lease_ms: int):
        rid = next(self._ids)
        until = time.monotonic() + wait
        if not self._send_by(frame_for(rid), until):
            raise NoReply("no gateway at %s took the request within %.1f s (is one running?)"
                          % (self.endpoint, wait))
        last_send = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if now >= until:
                    raise NoReply("no reply from the gateway at %s within %.1f s (is it running?)"
                                  % (self.endpoint, wait))
                step = until - now
                if lease_ms:
                    step = min(step, lease_ms / 3000.0)
                ready = dict(self._poller.poll(int(step * 1000) + 1))
                if self._monitor in ready:
                    failure = _handshake_failure(self._monitor, bool(self._curve_key),
                                                 self._links)
                    if failure is not None:
                        raise AuthFailed(failure)
                if self._sock in ready:
                    env = _parse(self._sock.recv())
                    which = env.WhichOneof("body")
                    if which == "reply" and env.reply.request_id == rid:
                        return env.reply
                    if which == "refuse":
                        raise Error("the gateway refused the call: " + env.refuse.message)
                elif lease_ms and time.monotonic() - last_send >= lease_ms / 3000.0:
                    _send_each(self._sock, _envelope(heartbeat=pb.Heartbeat()), self._n_gateways)
                    last_send = time.monotonic()
        except KeyboardInterrupt:
            _send_each(self._sock, _envelope(cancel=pb.Cancel(request_id=rid)), self._n_gateways)
            raise

    def call(self, queue: str, function: str, payload: Payload = b"", *,
             timeout: Optional[float] = None, retries: int = 0,
             idempotency_key: Optional[str] = None, traceparent: Optional[str] = None,
             tracestate: Optional[str] = None) -> bytes:
        lease = 0 if idempotency_key else self.lease_ms
        wait = (timeout if timeout is not None else DEFAULT_WAIT) + self.grace
        trace = (traceparent, tracestate)
        for _ in range(2 * self._n_gateways if self._n_gateways > 1 else 1):
            reply = self._request(lambda rid: _submit(rid, queue, function, payload, timeout,
                                                      retries, lease, key=idempotency_key,
                                                      trace=trace),
                                  wait, lease)
            if not _draining(reply):
                break
            self._await_gateways()
        return _result(reply)

    def submit(self, queue: str, function: str, payload: Payload = b"", *,
               timeout: Optional[float] = None, retries: int = 0,
               idempotency_key: Optional[str] = None, traceparent: Optional[str] = None,
               tracestate: Optional[str] = None) -> int:
        reply = self._request(lambda rid: _submit(rid, queue, function, payload, timeout, retries,
                                                  0, detach=True, key=idempotency_key,
                                                  trace=(traceparent, tracestate)),
                              DEFAULT_WAIT + self.grace, 0)
        if reply.code != 0:
            raise from_code(reply.code, reply.message, reply.job_id, reply.retry_after_s)
        return reply.job_id

    def job(self, job_id: int, *, wait: float = 0.0, cancel: bool = False) -> JobStatus:
        wait_ms = max(0, int(wait * 1000))
        for _ in range(self._n_gateways + (self._n_gateways > 1)):  # ask each gateway
            reply = self._request(
                lambda rid: _envelope(query=pb.Query(request_id=rid, job_id=job_id,
                                                     wait_ms=wait_ms, cancel=cancel)),
                wait + self.grace, 0)
            if reply.code != CODE_UNKNOWN_JOB:
                break
            self._await_gateways()
        return _status(reply)

    def queues(self) -> List[Dict[str, Any]]:
        reply = self._request(
            lambda rid: _envelope(list_queues=pb.ListQueues(request_id=rid)), self.grace, 0)
        return _queues(reply)
