"""The exceptions of offload calls: one per error class of the protocol's
Code enum (proto/offload.proto), plus NoReply for a gateway that stays
silent."""

from typing import Dict, Optional, Type


class Error(Exception):
    """A call that did not return a result. code: the protocol's Code name
    ("timeout"); message: why; job_id: the gateway's job, when one was made."""

    code = "internal"

    def __init__(self, message: str = "", job_id: Optional[int] = None) -> None:
        super().__init__(message or self.code)
        self.message = message
        self.job_id = job_id or None


class BadRequest(Error):
    code = "bad_request"


class UnknownQueue(Error):
    code = "unknown_queue"


class UnknownFunction(Error):
    code = "unknown_function"


class PayloadTooLarge(Error):
    code = "payload_too_large"


class QueueFull(Error):
    """The queue is full: retry after retry_after seconds."""

    code = "queue_full"
    retry_after: float = 1.0


class NoExecutor(Error):
    code = "no_executor"


class Timeout(Error, TimeoutError):
    code = "timeout"


class Crashed(Error):
    code = "crashed"


class ExecutorLost(Error):
    code = "executor_lost"


class JobFailed(Error):
    code = "job_failed"


class Cancelled(Error):
    code = "cancelled"


class Internal(Error):
    code = "internal"


class UnknownJob(Error):
    code = "unknown_job"


class NoReply(Error, ConnectionError):
    """No reply from the gateway by the deadline plus the grace."""

    code = "no_reply"


class AuthFailed(NoReply):
    """The CURVE handshake failed: the gateway refused this client's key
    (not in its --curve-allow directory), or curve_server is not the
    gateway's key, or one side uses CURVE and the other does not."""

    code = "auth_failed"


# Code enum value -> exception class (proto/offload.proto).
BY_CODE: Dict[int, Type[Error]] = {
    1: BadRequest, 2: UnknownQueue, 3: UnknownFunction, 4: PayloadTooLarge, 5: QueueFull,
    6: NoExecutor, 7: Timeout, 8: Crashed, 9: ExecutorLost, 10: JobFailed, 11: Cancelled,
    12: Internal, 13: UnknownJob,
}


def from_code(code: int, message: str, job_id: int = 0, retry_after: int = 0) -> Error:
    """The exception for a Reply's code (retry_after: the Reply's
    retry_after_s, for QueueFull; 0 keeps the class default)."""
    err = BY_CODE.get(code, Internal)(message, job_id)
    if retry_after and isinstance(err, QueueFull):
        err.retry_after = float(retry_after)
    return err
