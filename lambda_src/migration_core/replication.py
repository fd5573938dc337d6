"""Domain logic of live replication: DynamoDB Streams -> forwarder -> FIFO SQS -> consumer.

Nothing here talks to AWS; the Lambdas inject the few I/O callables this module needs.

Message format
--------------
One SQS message per stream record, JSON, UTF-8::

    {"format": "ddb-migrate.replication/1",
     "eventID": "...", "eventName": "INSERT" | "MODIFY" | "REMOVE",
     "eventSourceARN": "<stream arn>", "sourceTableArn": "<table arn>", "sourceTable": "<name>",
     "userIdentity": {...},                 # only when the stream record has it (TTL deletes)
     "dynamodb": {"ApproximateCreationDateTime": 1700000000, "SequenceNumber": "...", "SizeBytes": 26,
                  "StreamViewType": "NEW_AND_OLD_IMAGES",
                  "Keys": {...}, "NewImage": {...}, "OldImage": {...}},
     "oversize": false, "omitted": [], "reread": false,
     "oldTargetKeys": [{...}]}              # only when the OldImage had to be omitted

The ``dynamodb`` object is the stream record's own JSON, copied verbatim: numbers stay strings, binary stays
the base64 text the stream gave us, sets and nested documents are untouched. So the bytes that reach the
consumer are the bytes DynamoDB emitted, whatever the item holds.

Oversize records (a message over ``max_bytes``) are never truncated and never dropped; they degrade in steps,
each step keeping the consumer able to reach the correct target state:

1. drop ``NewImage`` and set ``reread``: the consumer reads the *current* source item with a consistent
   GetItem and applies that. The current item is at least as new as the event, and every later event of the
   key follows in the same message group, so applying it early is safe: the later events re-apply their own
   (identical or newer) state. If the item is gone, the REMOVE that deleted it is still to come.
2. also drop ``OldImage``. The consumer needs the old image for one thing only, the target keys the transform
   derived from it (to delete them when the key changes, or on REMOVE). When the target key is built from
   non-key attributes, the source ``Keys`` are not enough, so the forwarder runs the same transform on the
   OldImage and ships the resulting target keys as ``oldTargetKeys`` (small, whatever the item size).

Why replay is idempotent and cannot resurrect
---------------------------------------------
Each event is applied as absolute state: PutItem of the transformed full NewImage (or the re-read current
item), DeleteItem of derived keys. The result depends on the event alone, not on what the target held, so
applying an event twice in a row leaves what applying it once did. Per-item order is kept end to end: the
stream orders records per item, the forwarder never sends a record of a key before the previous record of that
key is accepted by SQS (and stops at the first failure, matching where Lambda re-reads the shard), every record
of a key shares one MessageGroupId, and a FIFO group hands out its next message only after the previous one is
deleted. A duplicate (stream retry, SQS redelivery) therefore only ever lands right after its own first copy and
before any newer event of the key, so an older image can never overwrite a newer one and a REMOVE can never be
undone by a stale INSERT/MODIFY.

The consumer writes a batch's events together (`migration_core.replication_batch`). When a write fails after
its retries, a later event of the same key in that batch may already be written; it is reported failed too, so
it is redelivered after the failed one and the key ends at the newest state again, after passing through the
older one on the way.

The one way to break that order is replaying a dead-lettered message after newer events of its key were
applied. Such messages must go back as "reread" messages (`make_resync_message`), which apply the current
source state and are safe in any order.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Final

from migration_core.attribute_values import item_from_json, item_to_json
from migration_core.errors import InvalidItemError, TransformError
from migration_core.errors import (
    ReplicationMessageError as ReplicationMessageError,  # noqa: PLC0414 - re-exported: its old import path
)
from migration_core.items import KeySchema, key_of, validate_target_item
from migration_core.transform import Transformer
from migration_core.types import Item

MESSAGE_FORMAT: Final = "ddb-migrate.replication/1"
# SQS now accepts 1 MiB, but queues and tools configured for the old 256 KiB limit still exist.
DEFAULT_MAX_MESSAGE_BYTES: Final = 262_144
# Smallest configuration that still fits any key (partition key 2,048 + sort key 1,024 bytes) and the envelope.
MIN_MAX_MESSAGE_BYTES: Final = 16_384
SQS_MAX_MESSAGE_BYTES: Final = 1_048_576

INSERT: Final = "INSERT"
MODIFY: Final = "MODIFY"
REMOVE: Final = "REMOVE"
EVENT_NAMES: Final = frozenset({INSERT, MODIFY, REMOVE})
REQUIRED_STREAM_VIEW: Final = "NEW_AND_OLD_IMAGES"

_DEDUP_ID_RE: Final = re.compile(r"^[!-~]{1,128}$")
# json.dumps escapes C0 controls already; these are the remaining code points SQS refuses in a body.
_SQS_INVALID_CHARS_RE: Final = re.compile("[\ud800-\udfff\ufffe\uffff]")
_STREAM_ARN_RE: Final = re.compile(r"^(?P<table_arn>arn:[^:]+:dynamodb:[^:]*:[^:]*:table/(?P<name>[^/]+))/stream/.+$")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------------------------------------------
# AttributeValue shapes
# --------------------------------------------------------------------------------------------------------------
# The stream's JSON carries binary as base64 text; boto3's low-level client (and so the backfill's Scan) carries
# bytes. The consumer converts exactly once, with the project's own codec, so the transform sees what the
# backfill's transform sees.


def stream_image_to_boto(image: Mapping[str, Any]) -> Item:
    """A stream-JSON item (Keys, NewImage, OldImage) to the boto3 low-level shape (base64 -> bytes)."""
    try:
        return item_from_json(image)
    except ValueError as exc:
        raise ReplicationMessageError(f"malformed AttributeValue JSON: {exc}") from exc


def boto_image_to_stream(item: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of `stream_image_to_boto`: bytes become standard padded base64, as DynamoDB Streams emits it."""
    return item_to_json(item)


# --------------------------------------------------------------------------------------------------------------
# Keys, group ids, deduplication ids
# --------------------------------------------------------------------------------------------------------------


def canonical_key(stream_keys: Mapping[str, Any]) -> str:
    """Deterministic ASCII text of a key in stream-JSON shape: attribute names, types and values, sorted.

    Group ids hash this text, so it must never change between releases: messages already in the queue would
    land in other groups than the new events of the same item.
    """
    return json.dumps(stream_keys, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_boto_key(key: Mapping[str, Any]) -> str:
    return canonical_key(boto_image_to_stream(key))


def message_group_id(stream_keys: Mapping[str, Any]) -> str:
    """MessageGroupId of an item: sha256 of its *whole* primary key (partition and sort key, with types).

    Hashing the full key keeps one item's events in order while items that merely share a partition key
    spread over many groups (and so over many concurrent consumers). 64 hex characters, inside SQS's 128.
    """
    if not stream_keys:
        raise ReplicationMessageError("a stream record without Keys cannot be ordered")
    return hashlib.sha256(canonical_key(stream_keys).encode("ascii")).hexdigest()


def deduplication_id(event_id: str) -> str:
    """The stream eventID, so a re-sent record (stream retry) is dropped by SQS within its 5 minute window."""
    if _DEDUP_ID_RE.match(event_id):
        return event_id
    # Never observed from DynamoDB, but an id SQS refuses would make the record unsendable forever.
    return "sha256-" + hashlib.sha256(event_id.encode("utf-8")).hexdigest()


def source_table_of(stream_arn: str) -> tuple[str, str]:
    """(table ARN, table name) from a stream ARN ``arn:...:table/<name>/stream/<label>``."""
    match = _STREAM_ARN_RE.match(stream_arn)
    if not match:
        raise ReplicationMessageError(f"not a DynamoDB stream ARN: {stream_arn!r}")
    return match["table_arn"], match["name"]


# --------------------------------------------------------------------------------------------------------------
# Encoding (forwarder side)
# --------------------------------------------------------------------------------------------------------------

OldTargetKeys = Callable[[Item], Sequence[Item]]
"""Derives the target keys of an OldImage (boto3 shape) through the migration's transform."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    body: str
    group_id: str
    deduplication_id: str
    event_id: str
    sequence_number: str
    size: int
    oversize: bool
    omitted: tuple[str, ...]


def encode_body(document: Mapping[str, Any]) -> str:
    """Compact JSON that SQS accepts byte for byte.

    Non-ASCII text stays UTF-8 (``\\uXXXX`` escapes would triple the size of some strings and push items into
    the oversize path for nothing); only the code points SQS rejects are escaped, which JSON readers undo.
    """
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return _SQS_INVALID_CHARS_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def body_size(body: str) -> int:
    # surrogatepass: a lone surrogate is escaped by encode_body, this only guards the measurement.
    return len(body.encode("utf-8", "surrogatepass"))


def validate_max_message_bytes(value: int) -> int:
    if not MIN_MAX_MESSAGE_BYTES <= value <= SQS_MAX_MESSAGE_BYTES:
        raise ValueError(
            f"MAX_MESSAGE_BYTES must be between {MIN_MAX_MESSAGE_BYTES} and {SQS_MAX_MESSAGE_BYTES}, got {value}"
        )
    return value


_IMAGES_OF_EVENT: Final = {INSERT: ("NewImage",), MODIFY: ("NewImage", "OldImage"), REMOVE: ("OldImage",)}
_COPIED_STREAM_FIELDS: Final = (
    "ApproximateCreationDateTime",
    "Keys",
    "NewImage",
    "OldImage",
    "SequenceNumber",
    "SizeBytes",
    "StreamViewType",
)


def _checked_stream_record(record: Mapping[str, Any]) -> tuple[str, str, Mapping[str, Any]]:
    """(eventID, eventName, dynamodb section) of a record this pipeline can replicate correctly."""
    event_id = record.get("eventID")
    event_name = record.get("eventName")
    stream = record.get("dynamodb")
    if not isinstance(event_id, str) or not event_id:
        raise ReplicationMessageError("stream record without eventID")
    if event_name not in EVENT_NAMES:
        raise ReplicationMessageError(f"stream record {event_id}: unknown eventName {event_name!r}")
    if not isinstance(stream, Mapping):
        raise ReplicationMessageError(f"stream record {event_id}: no dynamodb section")
    keys = stream.get("Keys")
    if not isinstance(keys, Mapping) or not keys:
        raise ReplicationMessageError(f"stream record {event_id}: no Keys")
    if not isinstance(stream.get("SequenceNumber"), str):
        raise ReplicationMessageError(f"stream record {event_id}: no SequenceNumber")
    view = stream.get("StreamViewType", REQUIRED_STREAM_VIEW)
    if view != REQUIRED_STREAM_VIEW:
        # Without both images neither key changes nor deletes under a derived key can be replicated.
        raise ReplicationMessageError(
            f"stream record {event_id}: the source stream must use {REQUIRED_STREAM_VIEW}, it uses {view}"
        )
    for image_name in _IMAGES_OF_EVENT[event_name]:
        if not isinstance(stream.get(image_name), Mapping):
            raise ReplicationMessageError(f"stream record {event_id}: {event_name} without {image_name}")
    return event_id, event_name, stream


def encode_stream_record(
    record: Mapping[str, Any],
    *,
    max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    old_target_keys: OldTargetKeys | None = None,
) -> OutgoingMessage:
    """Turn one DynamoDB stream record (Lambda event JSON) into the SQS message that carries it.

    Raises `ReplicationMessageError` for records the pipeline cannot replicate correctly (unknown event,
    missing keys, a stream view other than NEW_AND_OLD_IMAGES) and when the oversize path needs
    ``old_target_keys`` but none was given.
    """
    event_id, event_name, stream = _checked_stream_record(record)
    stream_arn = str(record.get("eventSourceARN", ""))
    table_arn, table_name = source_table_of(stream_arn)
    copied = {name: stream[name] for name in _COPIED_STREAM_FIELDS if name in stream}
    document: dict[str, Any] = {
        "format": MESSAGE_FORMAT,
        "eventID": event_id,
        "eventName": event_name,
        "eventSourceARN": stream_arn,
        "sourceTableArn": table_arn,
        "sourceTable": table_name,
    }
    if "userIdentity" in record:
        document["userIdentity"] = record["userIdentity"]
    document |= {"dynamodb": copied, "oversize": False, "omitted": [], "reread": False}

    message = _fitting_message(document, max_bytes)
    if message is None and "NewImage" in copied:
        del copied["NewImage"]
        document |= {"oversize": True, "omitted": ["NewImage"], "reread": True}
        message = _fitting_message(document, max_bytes)
    if message is None and "OldImage" in copied:
        if old_target_keys is None:
            raise ReplicationMessageError(
                f"stream record {event_id}: the OldImage alone exceeds {max_bytes} bytes and the forwarder "
                "has no transform configured to derive the old target keys"
            )
        old_image = copied.pop("OldImage")
        derived = old_target_keys(stream_image_to_boto(old_image))
        document |= {
            "oversize": True,
            "omitted": [*document["omitted"], "OldImage"],
            "oldTargetKeys": [boto_image_to_stream(key) for key in derived],
        }
        message = _fitting_message(document, max_bytes)
    if message is None:
        raise ReplicationMessageError(f"stream record {event_id}: even the key-only message exceeds {max_bytes} bytes")
    return message


def _fitting_message(
    document: Mapping[str, Any], max_bytes: int, *, dedup_source: str | None = None
) -> OutgoingMessage | None:
    body = encode_body(document)
    size = body_size(body)
    if size > max_bytes:
        return None
    stream = document["dynamodb"]
    return OutgoingMessage(
        body=body,
        group_id=message_group_id(stream["Keys"]),
        deduplication_id=deduplication_id(dedup_source or document["eventID"]),
        event_id=document["eventID"],
        sequence_number=stream["SequenceNumber"],
        size=size,
        oversize=bool(document["oversize"]),
        omitted=tuple(document["omitted"]),
    )


def make_resync_message(body: str, *, nonce: str, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> OutgoingMessage:
    """Turn a (dead-lettered) message into one that re-reads the source, safe to replay at any time.

    The original event may be older than events the consumer has applied since; its NewImage must not be
    written. The resync keeps what identifies the old target keys (OldImage or oldTargetKeys) and asks the
    consumer to apply the current source item instead. ``nonce`` makes a fresh deduplication id: SQS would
    drop a message that reuses the eventID inside its 5 minute window.
    """
    decode_message(body)  # refuse anything the consumer would refuse
    document = json.loads(body)
    stream = document["dynamodb"]
    if "NewImage" in stream:
        del stream["NewImage"]
        document["omitted"] = [*document.get("omitted", []), "NewImage"]
    document["reread"] = True
    message = _fitting_message(document, max_bytes, dedup_source=f"{document['eventID']}#resync#{nonce}")
    if message is None:
        raise ReplicationMessageError(f"the resync of {document['eventID']} exceeds {max_bytes} bytes")
    return message


def derive_target_keys(image: Item, transformer: Transformer, key_schema: KeySchema) -> tuple[list[Item], str | None]:
    """Target keys the transform derives from an *old* image, and why there are none if it cannot.

    An old image the transform rejects (or turns into items without a valid key) can never have been written
    to the target by this migration: the backfill and every earlier event ran the same transform on it. There
    is nothing to delete then, which is reported as the second value instead of raising.
    """
    try:
        outputs = transformer.apply(image)
        keys = [key_of(output, key_schema) for output in outputs]
    except (TransformError, InvalidItemError) as exc:
        return [], f"old image not transformable, nothing to delete under it: {exc}"
    return _unique_keys(keys), None


def _unique_keys(keys: Iterable[Item]) -> list[Item]:
    seen: dict[str, Item] = {}
    for key in keys:
        seen.setdefault(canonical_boto_key(key), key)
    return list(seen.values())


# --------------------------------------------------------------------------------------------------------------
# Decoding (consumer side)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplicationEvent:
    """A queue message decoded into the boto3 item shape (bytes for binary, strings for numbers)."""

    event_id: str
    event_name: str
    source_table_arn: str
    source_table: str
    sequence_number: str
    approximate_creation_time: Decimal | None
    keys: Item
    new_image: Item | None
    old_image: Item | None
    old_target_keys: tuple[Item, ...] | None
    reread: bool
    oversize: bool
    omitted: tuple[str, ...]
    group_id: str
    ttl_delete: bool


def decode_message(body: str) -> ReplicationEvent:
    try:
        # Decimal, not float: ApproximateCreationDateTime is compared to the cutoff exactly.
        document = json.loads(body, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ReplicationMessageError(f"message body is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != MESSAGE_FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ReplicationMessageError(f"not a {MESSAGE_FORMAT} message (format {found!r})")
    try:
        event_id = document["eventID"]
        event_name = document["eventName"]
        stream = document["dynamodb"]
        stream_keys = stream["Keys"]
        sequence_number = stream["SequenceNumber"]
    except (KeyError, TypeError) as exc:
        raise ReplicationMessageError(f"message lacks {exc}") from exc
    if event_name not in EVENT_NAMES:
        raise ReplicationMessageError(f"message {event_id}: unknown eventName {event_name!r}")
    if not isinstance(stream_keys, Mapping) or not stream_keys:
        raise ReplicationMessageError(f"message {event_id}: no Keys")
    reread = bool(document.get("reread", False))
    new_image = _optional_image(stream, "NewImage")
    old_image = _optional_image(stream, "OldImage")
    raw_old_keys = document.get("oldTargetKeys")
    old_target_keys = None if raw_old_keys is None else tuple(stream_image_to_boto(k) for k in raw_old_keys)
    if event_name != REMOVE and new_image is None and not reread:
        raise ReplicationMessageError(f"message {event_id}: {event_name} without NewImage and without reread")
    if event_name != INSERT and old_image is None and old_target_keys is None:
        raise ReplicationMessageError(f"message {event_id}: {event_name} without OldImage or oldTargetKeys")
    identity = document.get("userIdentity") or {}
    return ReplicationEvent(
        event_id=str(event_id),
        event_name=event_name,
        source_table_arn=str(document.get("sourceTableArn", "")),
        source_table=str(document.get("sourceTable", "")),
        sequence_number=str(sequence_number),
        approximate_creation_time=_epoch_seconds(stream.get("ApproximateCreationDateTime"), event_id),
        keys=stream_image_to_boto(stream_keys),
        new_image=new_image,
        old_image=old_image,
        old_target_keys=old_target_keys,
        reread=reread,
        oversize=bool(document.get("oversize", False)),
        omitted=tuple(document.get("omitted", ())),
        group_id=message_group_id(stream_keys),
        ttl_delete=identity.get("type") == "Service" and identity.get("principalId") == "dynamodb.amazonaws.com",
    )


def _optional_image(stream: Mapping[str, Any], name: str) -> Item | None:
    image = stream.get(name)
    if image is None:
        return None
    if not isinstance(image, Mapping):
        raise ReplicationMessageError(f"{name} is not an object")
    return stream_image_to_boto(image)


def _epoch_seconds(value: Any, event_id: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ReplicationMessageError(f"message {event_id}: ApproximateCreationDateTime is a boolean")
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ReplicationMessageError(f"message {event_id}: bad ApproximateCreationDateTime {value!r}") from exc


# --------------------------------------------------------------------------------------------------------------
# Cutoff
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cutoff:
    """Events before this instant are already in the target (backup/restore or export); drop them.

    DynamoDB rounds ``ApproximateCreationDateTime`` *down* to the second: an event at 12:00:00.700 says
    12:00:00. An event at or after the cutoff therefore always reports a second >= floor(cutoff), and the
    comparison is ``event_second >= floor(cutoff)`` on whole seconds. That keeps every event at/after the cutoff
    and may also keep events from the fraction of the cutoff second before it; replaying those is harmless,
    because every later event of the same key is kept too and re-applies newer full state in order. The
    reverse mistake (dropping one event at/after the cutoff) would lose a write for good, so ties go to
    "apply". The same argument makes an *earlier* cutoff always safe: set it a minute before a fuzzy backup.
    """

    instant: datetime

    @classmethod
    def parse(cls, value: str | None) -> Cutoff | None:
        """ISO-8601 with a timezone (``2025-01-31T12:00:00Z``, ``...+02:00``); empty means no cutoff."""
        if value is None or not value.strip():
            return None
        try:
            instant = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"CUTOFF_TIMESTAMP is not ISO-8601: {value!r}") from exc
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"CUTOFF_TIMESTAMP needs a timezone (e.g. 'Z' or '+00:00'): {value!r}")
        return cls(instant)

    @property
    def second(self) -> int:
        """floor(cutoff) in epoch seconds, computed without floats."""
        return (self.instant - _EPOCH) // timedelta(seconds=1)

    def admits(self, event: ReplicationEvent) -> bool:
        if event.approximate_creation_time is None:
            # Unknown age: applying is safe (see above), dropping could lose a write.
            return True
        return int(event.approximate_creation_time.to_integral_value(rounding=ROUND_FLOOR)) >= self.second


# --------------------------------------------------------------------------------------------------------------
# Apply plan
# --------------------------------------------------------------------------------------------------------------

ReadSource = Callable[[Item], Item | None]
"""Consistent read of the current source item by its (source) key; None when it does not exist."""


@dataclass(frozen=True, slots=True)
class ApplyPlan:
    """What one event does to the target: puts first, then deletes of derived keys no longer produced."""

    puts: tuple[Item, ...]
    deletes: tuple[Item, ...]
    source_read: bool
    source_found: bool | None
    warnings: tuple[str, ...]


def plan_apply(
    event: ReplicationEvent,
    *,
    transformer: Transformer,
    key_schema: KeySchema,
    read_source: ReadSource,
) -> ApplyPlan:
    """The writes that bring the target to the state the event's item maps to.

    - INSERT/MODIFY: put every item ``transform(NewImage)`` yields (validated against the target key schema).
    - REMOVE: delete every key ``transform(OldImage)`` yields.
    - MODIFY: also delete the keys of ``transform(OldImage)`` that ``transform(NewImage)`` no longer yields
      (the transform derives the key and the change moved it).
    - reread (oversize or resync): the current source item replaces NewImage; when it is gone nothing is put
      and the old derived keys are deleted.

    Puts go before deletes so that readers see the new item before the old one disappears.
    Errors on the *new* state (`TransformError`, `InvalidItemError`) propagate: that event cannot be applied.
    """
    warnings: list[str] = []
    if event.old_target_keys is not None:
        old_keys = list(event.old_target_keys)
    elif event.old_image is not None:
        old_keys, why_none = derive_target_keys(event.old_image, transformer, key_schema)
        if why_none:
            warnings.append(why_none)
    else:
        old_keys = []

    source_found: bool | None = None
    if event.reread:
        current = read_source(event.keys)
        source_found = current is not None
        new_state = current
    elif event.event_name == REMOVE:
        new_state = None
    else:
        new_state = event.new_image

    puts: dict[str, Item] = {}
    if new_state is not None:
        for output in transformer.apply(new_state):
            validate_target_item(output, key_schema, source_key=event.keys)
            # Two outputs with one key: the later wins, exactly as two successive PutItems would.
            puts[canonical_boto_key(key_of(output, key_schema))] = output

    deletes = [key for key in _unique_keys(old_keys) if canonical_boto_key(key) not in puts]
    return ApplyPlan(
        puts=tuple(puts.values()),
        deletes=tuple(deletes),
        source_read=event.reread,
        source_found=source_found,
        warnings=tuple(warnings),
    )
