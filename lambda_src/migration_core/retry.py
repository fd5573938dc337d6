"""Retry budget for DynamoDB writes: capped exponential backoff with full jitter.

Full jitter (a uniformly random delay between zero and the capped exponential) spreads the retries of many
concurrent writers apart, which is what lets a throttled table recover instead of being hit in lockstep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

THROTTLING_ERROR_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
SERVER_ERROR_CODES = frozenset({"InternalServerError", "ServiceUnavailable"})
# 2**62 already exceeds any sensible cap; bounding the exponent keeps the float arithmetic finite.
_MAX_EXPONENT = 62


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one BatchWriteItem chunk.

    ``max_attempts`` bounds the calls for a chunk since it last made progress: a call that gets some of the
    chunk's items accepted counts as the first of a new streak (and restarts the backoff), so a slowly
    draining chunk is not given up on, while a chunk DynamoDB refuses outright fails after ``max_attempts``
    calls. A chunk holds at most 25 requests, so the total number of calls stays bounded.

    ``adaptive_rate`` makes a ``ParallelBatchWriter`` pace the calls of all its threads to the rate the table
    accepts (``batch_writer.SendPacer``), as botocore's "adaptive" retry mode does for one client; without it
    each chunk only backs off on its own, which the benchmark keeps as the reference it measures against.
    """

    max_attempts: int = 10
    base_seconds: float = 0.05
    cap_seconds: float = 20.0
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    adaptive_rate: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_seconds <= 0 or self.cap_seconds < self.base_seconds:
            raise ValueError("backoff needs 0 < base_seconds <= cap_seconds")

    def delay(self, attempt: int) -> float:
        """Random delay before retry number ``attempt`` (0 for the first retry)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** min(attempt, _MAX_EXPONENT))
        return self.rng.uniform(0, ceiling)

    def backoff(self, attempt: int) -> float:
        """Sleep before retry number ``attempt`` and return how long that was."""
        seconds = self.delay(attempt)
        self.sleep(seconds)
        return seconds


def is_retryable(error: BaseException) -> bool:
    """Whether a failed call may succeed when repeated: throttling, server-side and connection errors."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in THROTTLING_ERROR_CODES or code in SERVER_ERROR_CODES or status >= 500
    return isinstance(error, BotocoreConnectionError | HTTPClientError)


def is_throttling(error: BaseException) -> bool:
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in THROTTLING_ERROR_CODES
