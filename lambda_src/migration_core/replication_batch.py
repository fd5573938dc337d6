"""How one SQS batch of replication messages becomes target writes, and how failed writes map back to messages.

Nothing here talks to AWS; `migration_core.replication_io.TargetApplier.apply_batch` does the I/O.

Why batching keeps every guarantee of one-event-at-a-time application
----------------------------------------------------------------------
Each message is planned exactly as on its own (`replication.plan_apply`: transform, validation, re-read of an
oversize item, key-move deletes), in queue order, and a message whose plan fails stops its own message group
for the rest of the batch, as `SqsFifoPartialProcessor(skip_group_on_error=True)` does. Every planned write is
absolute (a full item, or a delete), so the state of a target key after applying the plans one after the other
is the *last* write to that key: `net_writes` keeps exactly that write per key and drops the ones it supersedes.
What remains holds each key once, so it can go out in BatchWriteItem calls in any grouping without changing the
result. Superseding is decided on target keys after planning, never by skipping events: a superseded event's
key-move delete (the old key it moved away from) stays unless a later write of that very key replaces it.

Two waves keep the readers' view of a key move: a delete that belongs to a message which also puts (the target
key moved) is sent only after the first wave, and only when no write of its message group failed there. Its
message's new item may have been superseded by a later event of the item (a further move deletes it); if that
later write failed, the new item was never written either, and the delete would leave the item at neither key.
Such a delete is withheld and its message fails (`WriteWithheld`), so it is redelivered ahead of the failed one.
Every other write goes in the first wave.

A write that still fails after its retries fails the message that made it (its *owner*, the last one to write
the key) and every later message of that group (`GroupGate`); the rest of the batch is reported as applied. A
superseded write is no failed write: the later write of the key decides the final state, and its owner is the
message retried. Writes of later messages of a failed group that were accepted in the same wave stay; those
messages are reported failed too, so their redelivery re-applies them after the failed one, and the final state
is again the last event's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from migration_core.items import KeySchema, key_of
from migration_core.replication import ApplyPlan
from migration_core.types import Item

BATCH_WRITE_LIMIT = 25


@dataclass(frozen=True, slots=True)
class TargetWrite:
    """One request of a BatchWriteItem: a full item (``item``) or the delete of ``key``, for message ``owner``."""

    key: Item
    item: Item | None
    owner: int
    after_puts: bool

    @property
    def request(self) -> dict[str, Any]:
        if self.item is None:
            return {"DeleteRequest": {"Key": self.key}}
        return {"PutRequest": {"Item": self.item}}


def key_identity(key: Mapping[str, Any]) -> Hashable:
    """What DynamoDB compares to tell two keys apart: ``{"N": "1"}`` and ``{"N": "1.0"}`` name one item."""
    parts: list[tuple[str, str, Any]] = []
    for name, value in key.items():
        ((type_name, payload),) = value.items()
        if type_name == "N":
            # An invalid number is refused by DynamoDB anyway; its text is identity enough until then.
            with contextlib.suppress(InvalidOperation, TypeError, ValueError):
                payload = Decimal(payload)
        parts.append((name, type_name, payload))
    return tuple(sorted(parts))


@dataclass(frozen=True, slots=True)
class NetWrites:
    first_wave: tuple[TargetWrite, ...]
    after_puts: tuple[TargetWrite, ...]
    superseded: int


def net_writes(plans: Iterable[tuple[int, ApplyPlan]], key_schema: KeySchema) -> NetWrites:
    """The last write of each target key over ``plans`` (message index, plan), in batch order."""
    latest: dict[Hashable, TargetWrite] = {}
    total = 0
    for owner, plan in plans:
        for item in plan.puts:
            key = key_of(item, key_schema)
            latest[key_identity(key)] = TargetWrite(key=key, item=item, owner=owner, after_puts=False)
        for key in plan.deletes:
            latest[key_identity(key)] = TargetWrite(key=key, item=None, owner=owner, after_puts=bool(plan.puts))
        total += len(plan.puts) + len(plan.deletes)
    writes = list(latest.values())
    return NetWrites(
        first_wave=tuple(write for write in writes if not write.after_puts),
        after_puts=tuple(write for write in writes if write.after_puts),
        superseded=total - len(writes),
    )


def chunks(writes: Sequence[TargetWrite]) -> list[Sequence[TargetWrite]]:
    return [writes[start : start + BATCH_WRITE_LIMIT] for start in range(0, len(writes), BATCH_WRITE_LIMIT)]


class GroupGate:
    """Which messages of a batch are still to be applied: a failure stops its message group from there on.

    Mirrors `SqsFifoPartialProcessor(skip_group_on_error=True)`, which decides what Lambda is told: a message
    without a group id (never on a FIFO queue) stops nothing but itself. Failures may be learned out of order
    (a write of message 5 fails, then one of message 3); the group stops at the earliest.
    """

    def __init__(self, groups: Sequence[str | None]) -> None:
        self._groups = list(groups)
        self._stopped_at: dict[str, int] = {}
        self._failed_alone: set[int] = set()

    def fail(self, index: int) -> None:
        group = self._groups[index]
        if not group:
            self._failed_alone.add(index)
        else:
            self._stopped_at[group] = min(index, self._stopped_at.get(group, index))

    def failed(self, index: int) -> bool:
        """The message is where its group stopped (its own failure is reported)."""
        group = self._groups[index]
        if not group:
            return index in self._failed_alone
        return self._stopped_at.get(group) == index

    def held_back(self, index: int) -> bool:
        """An earlier message of its group failed: Powertools fails this one without asking."""
        group = self._groups[index]
        return group is not None and self._stopped_at.get(group, index) < index

    def group_failed(self, index: int) -> bool:
        """Some message of this message's group failed, before or after it."""
        group = self._groups[index]
        return index in self._failed_alone if not group else group in self._stopped_at

    def open(self, index: int) -> bool:
        return not self.failed(index) and not self.held_back(index)
