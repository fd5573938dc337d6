"""Reserved concurrency, as Lambda enforces it on the Invoke API.

A function with reserved concurrency N runs at most N invocations at once; a synchronous invocation beyond that
is refused with HTTP 429 ``TooManyRequestsException`` (reason ``ReservedFunctionConcurrentInvocationLimitExceeded``),
and a reservation of 0 throttles every invocation. Step Functions turns that into the task error
``Lambda.TooManyRequestsException``, which the backfill's own retrier handles: the emulator must throttle for that
retrier to ever run outside AWS. (moto stores the reservation but never throttles.)

Not covered: the account-wide limit of unreserved functions, and event source mappings, whose pollers Lambda
slows down instead of failing (the emulator's pollers wait for a free worker).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.awslambda.exceptions import LambdaClientError


class ConcurrencyLimitExceededError(LambdaClientError):
    code = 429

    def __init__(self, function_name: str, limit: int) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.description = (
            '{"__type": "TooManyRequestsException", "message": "Rate Exceeded.", '
            '"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User"}'
        )
        self.function_name = function_name
        self.limit = limit


_lock = threading.Lock()
_running: dict[str, int] = {}


def reserved_concurrency(fn: Any) -> int | None:
    """The function's reservation (moto keeps what PutFunctionConcurrency stored, as given), or None."""
    value = getattr(fn, "reserved_concurrency", None)
    if value is None or value == "":
        return None
    return int(value)


@contextmanager
def invocation(fn: Any) -> Iterator[None]:
    """Count one running invocation of ``fn``; refuse it when its reservation is used up."""
    arn = str(fn.function_arn)
    limit = reserved_concurrency(fn)
    with _lock:
        running = _running.get(arn, 0)
        if limit is not None and running >= limit:
            raise ConcurrencyLimitExceededError(str(fn.function_name), limit)
        _running[arn] = running + 1
    try:
        yield
    finally:
        with _lock:
            left = _running[arn] - 1
            if left:
                _running[arn] = left
            else:
                del _running[arn]


def running(function_arn: str) -> int:
    """How many invocations of the function (unqualified ARN) are running through the Invoke API."""
    with _lock:
        return _running.get(function_arn, 0)
