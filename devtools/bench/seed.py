"""The seed's copy algorithm, written here as a reference to measure against (see /work/shared/ANCHORS.md).

The project started from a single Lambda that copies a table with one sequential Scan. As described there
(dobeerman/aws-dynamodb-migration), and reproduced here with its default settings:

- one Scan, sequential, ``Limit`` 1,000 items per page, no segments and no read-ahead;
- the page is cut into chunks of 25 items, each written with one BatchWriteItem call, one call at a time;
- ``UnprocessedItems`` are retried after a delay that grows *linearly* with the retry number ``k``: uniform
  between 100 ms and ``200 ms * k``; after 10 retries the chunk's remaining items are logged and dropped;
- errors are left to the SDK's own retries (3 attempts; botocore's standard mode stands in for the JavaScript
  SDK's), and an error that survives them ends the copy, which the seed's handler reports as a success.

The outcome counts what the seed would never tell its operator: items dropped and items never reached.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

SEED_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 3})
SCAN_LIMIT = 1000
CHUNK_SIZE = 25
DELAY_MS = 100
RETRY_LIMIT = 10


@dataclass
class SeedOutcome:
    scanned: int = 0
    written: int = 0
    # Items given up on after RETRY_LIMIT retries (logged by the seed, never written).
    dropped: int = 0
    batch_calls: int = 0
    retries: int = 0
    # The error that ended the copy early (the seed's handler swallows it and reports success).
    error: str | None = None
    # The run hit the benchmark's time limit (not a seed behaviour: keeps a hopeless run from stalling the suite).
    timed_out: bool = False


def linear_delay_seconds(retry: int, rng: random.Random) -> float:
    """The seed's backoff before retry number ``retry`` (1-based): uniform in [100 ms, 200 ms * retry)."""
    upper = DELAY_MS * 2 * retry
    return (rng.random() * (upper - DELAY_MS) + DELAY_MS) / 1000


class SeedCopy:
    """Copy ``source`` into ``target`` the way the seed does; ``client`` should use :data:`SEED_CLIENT_CONFIG`."""

    def __init__(
        self,
        client: Any,
        source: str,
        target: str,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        time_limit_seconds: float = 300.0,
    ) -> None:
        self._client = client
        self._source = source
        self._target = target
        self._rng = rng or random.Random(1)
        self._sleep = sleep
        self._deadline = time.monotonic() + time_limit_seconds

    def run(self) -> SeedOutcome:
        outcome = SeedOutcome()
        arguments: dict[str, Any] = {"TableName": self._source, "Limit": SCAN_LIMIT, "ReturnConsumedCapacity": "TOTAL"}
        try:
            while True:
                page = self._client.scan(**arguments)
                items = page.get("Items", [])
                outcome.scanned += len(items)
                for start in range(0, len(items), CHUNK_SIZE):
                    if time.monotonic() > self._deadline:
                        outcome.timed_out = True
                        return outcome
                    requests = [{"PutRequest": {"Item": item}} for item in items[start : start + CHUNK_SIZE]]
                    self._write_chunk(requests, outcome)
                if "LastEvaluatedKey" not in page:
                    return outcome
                arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as error:
            outcome.error = f"{type(error).__name__}: {error}"
            return outcome

    def _write_chunk(self, requests: list[dict[str, Any]], outcome: SeedOutcome) -> None:
        pending = requests
        retry = 0
        while True:
            if retry > 0:
                self._sleep(linear_delay_seconds(retry, self._rng))
                outcome.retries += 1
            response = self._client.batch_write_item(
                RequestItems={self._target: pending}, ReturnConsumedCapacity="TOTAL"
            )
            outcome.batch_calls += 1
            unprocessed = response.get("UnprocessedItems", {}).get(self._target, [])
            outcome.written += len(pending) - len(unprocessed)
            if not unprocessed:
                return
            if retry == RETRY_LIMIT:
                outcome.dropped += len(unprocessed)
                return
            pending = unprocessed
            retry += 1
