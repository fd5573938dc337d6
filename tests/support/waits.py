"""Polling with a deadline: the one way a test waits for something another thread or process does.

The deadline only turns a hang into a failure with a message; no test asserts how long anything took.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T | None], what: str, *, timeout: float = 15.0, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy, and return that; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def wait_until_settled(
    condition: Callable[[], str | None], what: str, *, timeout: float = 180.0, interval: float = 0.5
) -> None:
    """Poll ``condition`` (None when satisfied, else why not) until it holds; the failure says the last reason.

    The default ``timeout`` is how long a deployed pipeline may take to converge on a live endpoint.
    """
    problems: list[str] = []

    def settled() -> bool:
        problem = condition()
        problems.append(problem or "")
        return problem is None

    try:
        wait_until(settled, what, timeout=timeout, interval=interval)
    except AssertionError:
        raise AssertionError(f"{what} did not happen within {timeout:g} s: {problems[-1]}") from None
