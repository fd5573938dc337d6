"""A live application workload against the source table: inserts, updates and deletes while a migration runs.

It touches some keys many times (update after update, delete then re-insert) because those are the cases where
a backfill racing the change feed goes wrong: stale overwrites and resurrected deletes.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ddbmigrate.aws import client
from devtools.datagen import generate_item

HOT_KEY_COUNT = 50
STOP_TIMEOUT_AFTER_ERROR_SECONDS = 5.0


@dataclass
class WorkloadStats:
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    skipped_updates: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def operations(self) -> int:
        return self.inserts + self.updates + self.deletes


class LiveWorkload:
    """Runs writes in a background thread at roughly ``rate`` operations per second until stopped."""

    def __init__(self, table: str, existing_items: int, rate: float = 40.0, seed: int = 99) -> None:
        self._table = table
        self._existing = existing_items
        self._next_new = existing_items
        self._interval = 1.0 / rate
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-workload", daemon=True)
        self.stats = WorkloadStats()

    def __enter__(self) -> LiveWorkload:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        # After an error or a Ctrl-C the endpoint may be gone and the thread inside a client's retries; it is a
        # daemon thread, so the process need not wait for them.
        self.stop(timeout=None if exc_type is None else STOP_TIMEOUT_AFTER_ERROR_SECONDS)

    def stop(self, timeout: float | None = None) -> WorkloadStats:
        self._stop.set()
        self._thread.join(timeout)
        return self.stats

    def _key(self, index: int) -> dict[str, Any]:
        item = generate_item(index)
        return {"pk": item["pk"], "sk": item["sk"]}

    def _pick_existing(self) -> int:
        # Half of the traffic goes to a few hot keys so that the same item changes many times during the run.
        if self._rng.random() < 0.5:
            return self._rng.randrange(HOT_KEY_COUNT)
        return self._rng.randrange(self._existing)

    def _run(self) -> None:
        dynamodb = client("dynamodb")
        while not self._stop.is_set():
            started = time.monotonic()
            roll = self._rng.random()
            try:
                if roll < 0.15:
                    dynamodb.put_item(TableName=self._table, Item=generate_item(self._next_new, seed=5))
                    self._next_new += 1
                    self.stats.inserts += 1
                elif roll < 0.3:
                    # Re-creates a hot key that may have been deleted a moment ago.
                    dynamodb.put_item(
                        TableName=self._table, Item=generate_item(self._rng.randrange(HOT_KEY_COUNT), seed=6)
                    )
                    self.stats.inserts += 1
                elif roll < 0.8:
                    dynamodb.update_item(
                        TableName=self._table,
                        Key=self._key(self._pick_existing()),
                        UpdateExpression="SET amount = :amount, touched = if_not_exists(touched, :zero) + :one",
                        # An application updates rows it knows exist; an upsert would create a partial item.
                        ConditionExpression="attribute_exists(pk)",
                        ExpressionAttributeValues={
                            ":amount": {"N": str(self._rng.randrange(10**37, 10**38))},
                            ":zero": {"N": "0"},
                            ":one": {"N": "1"},
                        },
                    )
                    self.stats.updates += 1
                else:
                    dynamodb.delete_item(TableName=self._table, Key=self._key(self._pick_existing()))
                    self.stats.deletes += 1
            except dynamodb.exceptions.ConditionalCheckFailedException:
                self.stats.skipped_updates += 1
            except Exception as error:  # the workload reports failures instead of dying
                self.stats.errors.append(f"{type(error).__name__}: {error}")
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))
