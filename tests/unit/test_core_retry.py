"""Backoff delays and the classification of retryable errors."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from migration_core.retry import RetryPolicy, is_retryable, is_throttling
from tests.support.aws import client_error


def test_delays_are_full_jitter_below_a_capped_exponential() -> None:
    policy = RetryPolicy(base_seconds=0.1, cap_seconds=2.0, rng=random.Random(7))
    for attempt in range(12):
        ceiling = min(2.0, 0.1 * 2**attempt)
        delays = [policy.delay(attempt) for _ in range(300)]
        assert all(0 <= delay <= ceiling for delay in delays)
        # Full jitter spreads over the whole range, not around the ceiling.
        assert min(delays) < ceiling * 0.1
        assert max(delays) > ceiling * 0.9


def test_delays_are_reproducible_with_a_seeded_random() -> None:
    first = RetryPolicy(rng=random.Random(42))
    second = RetryPolicy(rng=random.Random(42))
    assert [first.delay(n) for n in range(8)] == [second.delay(n) for n in range(8)]


def test_huge_attempt_numbers_stay_at_the_cap() -> None:
    policy = RetryPolicy(base_seconds=0.05, cap_seconds=1.0, rng=random.Random(1))
    assert 0 <= policy.delay(10_000) <= 1.0


def test_backoff_sleeps_the_delay_it_returns() -> None:
    slept: list[float] = []
    policy = RetryPolicy(rng=random.Random(3), sleep=slept.append)
    waited = policy.backoff(4)
    assert slept == [waited]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"base_seconds": 0}, "0 < base_seconds"),
        ({"base_seconds": 2.0, "cap_seconds": 1.0}, "base_seconds <= cap_seconds"),
    ],
)
def test_policy_rejects_nonsense(arguments: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        client_error("ProvisionedThroughputExceededException"),
        client_error("ThrottlingException"),
        client_error("RequestLimitExceeded"),
        client_error("InternalServerError", 500),
        client_error("ServiceUnavailable", 503),
        client_error("SomethingNew", 502),
        EndpointConnectionError(endpoint_url="https://dynamodb"),
        ConnectTimeoutError(endpoint_url="https://dynamodb"),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
    ],
)
def test_retryable_errors(error: Exception) -> None:
    assert is_retryable(error)


@pytest.mark.parametrize(
    "error",
    [
        client_error("ValidationException"),
        client_error("ResourceNotFoundException"),
        client_error("AccessDeniedException"),
        ParamValidationError(report="bad"),
        ValueError("not from botocore"),
    ],
)
def test_non_retryable_errors(error: Exception) -> None:
    assert not is_retryable(error)


def test_throttling_is_told_apart_from_server_errors() -> None:
    assert is_throttling(client_error("ThrottlingException"))
    assert not is_throttling(client_error("InternalServerError", 500))
