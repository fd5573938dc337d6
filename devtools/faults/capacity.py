"""Capacity accounting: DynamoDB's unit sizes and a thread-safe token bucket per table."""

from __future__ import annotations

import base64
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from migration_core.attribute_values import item_size

from .settings import Capacity

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096


class TokenBucket:
    """Capacity units refilled continuously at ``rate`` per second, holding at most ``size``."""

    def __init__(self, capacity: Capacity, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = capacity.units_per_second
        self.size = capacity.units_per_second * capacity.burst_seconds
        self._tokens = self.size * capacity.initial_fill
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def try_take(self, cost: float) -> bool:
        """Take ``cost`` units if they are there.

        A request bigger than the whole bucket passes when the bucket is full (leaving it in debt); it could
        never pass otherwise.
        """
        return self.take_each([cost])[0]

    def take_each(self, costs: Iterable[float]) -> list[bool]:
        """Which requests of one batch fit, decided in order and atomically for the whole batch."""
        with self._lock:
            self._refill()
            decisions = []
            for cost in costs:
                fits = self._tokens >= cost or self._tokens >= self.size
                if fits:
                    self._tokens -= cost
                decisions.append(fits)
            return decisions

    def give_back(self, cost: float) -> None:
        with self._lock:
            self._tokens = min(self.size, self._tokens + cost)

    def charge(self, cost: float) -> None:
        """Take units after the fact (reads: the cost is known from the response only); may go into debt."""
        with self._lock:
            self._refill()
            self._tokens -= cost

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.size, self._tokens + (now - self._updated) * self.rate)
        self._updated = now


def wire_item_size(item: Mapping[str, Any]) -> int:
    """DynamoDB size of an item given in wire JSON (binary as base64), by ``migration_core``'s rules."""
    return item_size({name: _value_from_wire(value) for name, value in item.items()})


def write_units(size_bytes: int) -> int:
    """WCU of writing an item of ``size_bytes``: one per started KB."""
    return max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))


def read_units(total_bytes: int, consistent: bool) -> float:
    """RCU of a read returning ``total_bytes``: one per started 4 KB, half for an eventually consistent read."""
    units = max(1, math.ceil(total_bytes / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def _value_from_wire(value: Mapping[str, Any]) -> dict[str, Any]:
    ((type_name, payload),) = value.items()
    if type_name == "B":
        return {"B": base64.b64decode(payload)}
    if type_name == "BS":
        return {"BS": [base64.b64decode(element) for element in payload]}
    if type_name == "L":
        return {"L": [_value_from_wire(element) for element in payload]}
    if type_name == "M":
        return {"M": {name: _value_from_wire(element) for name, element in payload.items()}}
    return {type_name: payload}
