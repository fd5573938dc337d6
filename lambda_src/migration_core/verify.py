"""Verification: does the target table hold exactly what the transform makes of the source?

Used by the ``ddb-migrate verify`` command (which scans locally) and by the worker's ``verify`` phase (one Scan
segment per Distributed Map child). Nothing here scans; callers hand in pages of source items.

Comparison rules (``compare_items``): AttributeValues are compared exactly, type included, so a number written
as a string is a difference. Two numbers are equal when their decimal values are (DynamoDB normalises numbers:
``"1.50"`` comes back as ``"1.5"``), which still catches a number that lost digits on the way. Sets compare
regardless of order, binary byte for byte, lists element by element, maps entry by entry. Attributes the
transform fills per run (``Transformer.volatile_attributes``, e.g. timestamps) compare by presence and type only.

Classification of one expected target item (``Verifier.check_page``): ``matching``, ``missing`` (no target item
under its key) or ``different`` (the target item differs; the mismatch lists every differing attribute). Several
source items of one page that produce the same target key are matched against each candidate, as the page's
last write would have won any of them. ``Verifier.recheck`` re-reads the source (consistently) and the target of
earlier mismatches, which is how callers let in-flight replication settle before reporting.

Extra target items (``extra``: in the target, produced by no source item) need a view from the target side:
``Verifier.check_target_keys`` looks each target key up in the source, which is sound only when the transform
keeps every item's key (see ``steps_preserve_keys``); otherwise the caller has to compare key sets.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal, cast

from botocore.exceptions import ClientError

from migration_core.attribute_values import format_key, item_to_json
from migration_core.budget import BudgetedCalls, charged
from migration_core.errors import (
    ReadRetriesExhausted as ReadRetriesExhausted,  # noqa: PLC0414 - re-exported: its old import path
)
from migration_core.errors import TransformError
from migration_core.items import KeySchema, key_of, validate_target_item
from migration_core.retry import RetryPolicy, is_retryable
from migration_core.state import MAX_SAMPLE_ENTRY_CHARS
from migration_core.transform import Transformer
from migration_core.types import AttributeValue, Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# DynamoDB's BatchGetItem limit.
BATCH_GET_LIMIT = 100
# A report shows values, not documents: a 400 KB attribute would drown the interesting line.
MAX_RENDERED_VALUE_CHARS = 160
# Values larger than this stay out of the JSON form of a difference; its text still shows the start.
MAX_JSON_VALUE_CHARS = 500
# A mismatch's JSON form lists this many differences and counts the rest, so samples stay small enough for
# the state table and the 256 KiB Step Functions output.
MAX_JSON_DIFFERENCES = 10
# The worker stores each mismatch's JSON as one state-table string cut at MAX_SAMPLE_ENTRY_CHARS, and a cut
# entry no longer parses, so its key would vanish from the report; the listed differences stop well before.
MAX_JSON_MISMATCH_CHARS = MAX_SAMPLE_ENTRY_CHARS - 1_000

DifferenceKind = Literal["changed", "type", "missing_attribute", "unexpected_attribute"]
MismatchKind = Literal["missing", "different", "extra"]


# --------------------------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------------------------


def canonical_key(key: Mapping[str, AttributeValue]) -> str:
    """Hashable text of a key that is equal for keys DynamoDB considers equal.

    Numbers are normalised (``"1.50"``, ``"1.5"`` and ``"15E-1"`` are one key to DynamoDB), binary is base64,
    and attributes keep the order they are given in (callers pass ``key_of`` results, in key schema order).
    """
    parts: list[list[str]] = []
    for name, value in key.items():
        ((type_name, payload),) = value.items()
        if type_name == "N":
            text = _normal_number(payload)
        elif type_name == "B":
            text = base64.b64encode(payload).decode("ascii")
        else:
            text = str(payload)
        parts.append([name, type_name, text])
    return json.dumps(parts, separators=(",", ":"), ensure_ascii=False)


def key_from_canonical(text: str) -> Item:
    """Inverse of :func:`canonical_key`: a key DynamoDB accepts in GetItem/BatchGetItem."""
    key: Item = {}
    for name, type_name, payload in json.loads(text):
        key[name] = {"B": base64.b64decode(payload)} if type_name == "B" else {type_name: payload}
    return key


def _normal_number(text: str) -> str:
    number = _decimal(text)
    if number is None:
        return text
    if number.is_zero():
        return "0"
    return str(number.normalize())


def steps_preserve_keys(steps: Iterable[Mapping[str, Any]], key_names: Iterable[str]) -> bool:
    """Whether declarative steps leave every key attribute alone (so each target key equals its source key).

    Every step names what it writes in ``attribute`` (and a rename also in ``to``); a step that names no key
    attribute cannot change a key. A custom transform module can do anything, which callers check separately.
    """
    names = set(key_names)
    return not any(step.get("attribute") in names or step.get("to") in names for step in steps)


# --------------------------------------------------------------------------------------------------------------
# Comparing AttributeValues
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One attribute (or nested element) where the target differs from what was expected."""

    path: str
    kind: DifferenceKind
    expected: AttributeValue | None
    actual: AttributeValue | None

    def describe(self) -> str:
        if self.kind == "missing_attribute":
            return f"{self.path}: missing in target (expected {render_value(self.expected)})"
        if self.kind == "unexpected_attribute":
            return f"{self.path}: unexpected in target ({render_value(self.actual)})"
        arrow = f"{render_value(self.expected)} → {render_value(self.actual)}"
        if self.kind == "type":
            return f"{self.path}: type {_type_of(self.expected)} → {_type_of(self.actual)}: {arrow}"
        return f"{self.path}: {arrow}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "expected": _json_value(self.expected),
            "actual": _json_value(self.actual),
            "text": self.describe(),
        }


def render_value(value: AttributeValue | None) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(item_to_json({"v": value})["v"], separators=(",", ":"), ensure_ascii=False)
    if len(text) > MAX_RENDERED_VALUE_CHARS:
        return text[: MAX_RENDERED_VALUE_CHARS - 1] + "…"
    return text


def _json_value(value: AttributeValue | None) -> Any:
    if value is None:
        return None
    wire = item_to_json({"v": value})["v"]
    if len(json.dumps(wire, separators=(",", ":"))) > MAX_JSON_VALUE_CHARS:
        return None
    return wire


def compare_items(
    expected: Mapping[str, AttributeValue],
    actual: Mapping[str, AttributeValue],
    volatile: frozenset[str] = frozenset(),
) -> list[Difference]:
    """Every difference between the expected and the actual item; empty when they match.

    ``volatile`` names top-level attributes compared by presence and type only.
    """
    differences: list[Difference] = []
    for name in [*expected, *(name for name in actual if name not in expected)]:
        expected_value = expected.get(name)
        actual_value = actual.get(name)
        if actual_value is None:
            differences.append(Difference(name, "missing_attribute", expected_value, None))
        elif expected_value is None:
            differences.append(Difference(name, "unexpected_attribute", None, actual_value))
        elif name in volatile:
            if _type_of(expected_value) != _type_of(actual_value):
                differences.append(Difference(name, "type", expected_value, actual_value))
        else:
            _compare_values(expected_value, actual_value, name, differences)
    return differences


def _compare_values(expected: AttributeValue, actual: AttributeValue, path: str, out: list[Difference]) -> None:
    type_name = _type_of(expected)
    if type_name != _type_of(actual):
        out.append(Difference(path, "type", expected, actual))
        return
    expected_payload = expected[type_name]
    actual_payload = actual[type_name]
    if type_name == "M":
        for name in [*expected_payload, *(name for name in actual_payload if name not in expected_payload)]:
            inner_path = f"{path}.{name}"
            if name not in actual_payload:
                out.append(Difference(inner_path, "missing_attribute", expected_payload[name], None))
            elif name not in expected_payload:
                out.append(Difference(inner_path, "unexpected_attribute", None, actual_payload[name]))
            else:
                _compare_values(expected_payload[name], actual_payload[name], inner_path, out)
        return
    if type_name == "L" and len(expected_payload) == len(actual_payload):
        for index, (expected_element, actual_element) in enumerate(zip(expected_payload, actual_payload, strict=True)):
            _compare_values(expected_element, actual_element, f"{path}[{index}]", out)
        return
    if not _payloads_equal(type_name, expected_payload, actual_payload):
        out.append(Difference(path, "changed", expected, actual))


def _payloads_equal(type_name: str, expected: Any, actual: Any) -> bool:
    if type_name == "N":
        return _numbers_equal(expected, actual)
    if type_name == "NS":
        return _number_set(expected) == _number_set(actual)
    if type_name in ("SS", "BS"):
        return set(expected) == set(actual)
    # S, B, BOOL, NULL compare exactly; an L of another length is simply different.
    return bool(expected == actual)


def _numbers_equal(expected: str, actual: str) -> bool:
    left, right = _decimal(expected), _decimal(actual)
    if left is None or right is None:
        return expected == actual
    return left == right


def _number_set(values: Sequence[str]) -> set[object]:
    numbers: set[object] = set()
    for value in values:
        number = _decimal(value)
        numbers.add(value if number is None else number)
    return numbers


def _decimal(text: Any) -> Decimal | None:
    try:
        number = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def _type_of(value: AttributeValue | None) -> str:
    if not value:
        return "?"
    return next(iter(value))


# --------------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    target_key: Item
    # The source item the target item comes from (for ``extra``: the source key that was looked up, if any).
    source_key: Item | None
    differences: tuple[Difference, ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        listed: list[dict[str, Any]] = []
        entry: dict[str, Any] = {
            "kind": self.kind,
            "key": item_to_json(self.target_key),
            "source_key": None if self.source_key is None else item_to_json(self.source_key),
            "differences": listed,
            "more_differences": len(self.differences),
            "note": self.note,
        }
        size = _json_size(entry)
        for difference in self.differences[:MAX_JSON_DIFFERENCES]:
            data = difference.to_json()
            size += _json_size(data) + 1
            if size > MAX_JSON_MISMATCH_CHARS:
                break
            listed.append(data)
        entry["more_differences"] = len(self.differences) - len(listed)
        return entry


def _json_size(data: Any) -> int:
    # Measured as the worker serialises samples, in characters as the state table cuts them.
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False))


def describe_mismatch(entry: Mapping[str, Any]) -> list[str]:
    """Readable lines of a mismatch in its JSON form (the same for local and distributed verify)."""
    key = json.dumps(entry.get("key"), separators=(",", ":"), ensure_ascii=False)
    headline = f"{entry.get('kind', '?')} {key}"
    source_key = entry.get("source_key")
    if source_key is not None and source_key != entry.get("key"):
        headline += f" (from source {json.dumps(source_key, separators=(',', ':'), ensure_ascii=False)})"
    lines = [headline]
    if entry.get("note"):
        lines.append(f"  {entry['note']}")
    lines.extend(f"  {difference.get('text', difference.get('path', '?'))}" for difference in entry["differences"])
    if entry.get("more_differences"):
        lines.append(f"  ... and {entry['more_differences']} more differing attribute(s)")
    return lines


@dataclass(frozen=True)
class VerifyCounts:
    """What a verification found; ``matching + missing + different == checked`` (distinct target keys)."""

    source_items: int = 0
    checked: int = 0
    matching: int = 0
    missing: int = 0
    different: int = 0
    # Source items the transform turned into no target item.
    skipped: int = 0
    consumed_rcu: float = 0.0
    retries: int = 0

    def __add__(self, other: VerifyCounts) -> VerifyCounts:
        return VerifyCounts(
            source_items=self.source_items + other.source_items,
            checked=self.checked + other.checked,
            matching=self.matching + other.matching,
            missing=self.missing + other.missing,
            different=self.different + other.different,
            skipped=self.skipped + other.skipped,
            consumed_rcu=self.consumed_rcu + other.consumed_rcu,
            retries=self.retries + other.retries,
        )


@dataclass(frozen=True)
class PageCheck:
    counts: VerifyCounts
    mismatches: list[Mismatch]
    # Canonical keys of every target item the page's source items produce (for key-set extra detection).
    produced_keys: list[str]
    # (source key, target key) of the first item whose transform changed its key, when the schemas agree.
    changed_key: tuple[Item, Item] | None = None


@dataclass(frozen=True)
class Recheck:
    """Earlier mismatches paired with what they are now (None: resolved)."""

    pairs: list[tuple[Mismatch, Mismatch | None]]
    consumed_rcu: float = 0.0
    retries: int = 0

    @property
    def remaining(self) -> list[Mismatch]:
        return [current for _, current in self.pairs if current is not None]

    @property
    def resolved(self) -> int:
        return sum(1 for _, current in self.pairs if current is None)


def settle_counts(counts: VerifyCounts, extra: int, recheck: Recheck) -> tuple[VerifyCounts, int]:
    """Counts after a recheck: each rechecked mismatch leaves its old category and joins its current one.

    A mismatch that turned out to be an ``extra`` (its source item is gone or no longer produces the key) stops
    being a checked expected item; a resolved expected item becomes ``matching``.
    """
    delta: dict[str, int] = {"checked": 0, "matching": 0, "missing": 0, "different": 0}
    for original, current in recheck.pairs:
        if original.kind == "extra":
            extra -= 1
        else:
            delta[original.kind] -= 1
            delta["checked"] -= 1
        if current is None:
            if original.kind != "extra":
                delta["matching"] += 1
                delta["checked"] += 1
        elif current.kind == "extra":
            extra += 1
        else:
            delta[current.kind] += 1
            delta["checked"] += 1
    settled = VerifyCounts(
        source_items=counts.source_items,
        checked=counts.checked + delta["checked"],
        matching=counts.matching + delta["matching"],
        missing=counts.missing + delta["missing"],
        different=counts.different + delta["different"],
        skipped=counts.skipped,
        consumed_rcu=counts.consumed_rcu + recheck.consumed_rcu,
        retries=counts.retries + recheck.retries,
    )
    return settled, extra


# --------------------------------------------------------------------------------------------------------------
# Reading items by key
# --------------------------------------------------------------------------------------------------------------


@dataclass
class ReadResult:
    items: dict[str, Item] = field(default_factory=dict)
    consumed_rcu: float = 0.0
    retries: int = 0


class ItemReader:
    """BatchGetItem in chunks of 100 distinct keys, retrying unprocessed keys with the retry policy's backoff.

    As with the batch writer, ``max_attempts`` counts calls for a chunk since it last made progress.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        key_schema: KeySchema,
        retry_policy: RetryPolicy,
        *,
        consistent: bool = True,
        budget: BudgetedCalls | None = None,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._key_schema = key_schema
        self._retry_policy = retry_policy
        self._consistent = consistent
        self._budget = budget

    @property
    def table_name(self) -> str:
        return self._table_name

    def read(self, keys: Iterable[Mapping[str, AttributeValue]]) -> ReadResult:
        """The items that exist, by canonical key; keys without an item are simply absent from the result."""
        distinct: dict[str, Item] = {}
        for key in keys:
            distinct.setdefault(canonical_key(key_of(key, self._key_schema)), key_of(key, self._key_schema))
        result = ReadResult()
        pending = list(distinct.values())
        for start in range(0, len(pending), BATCH_GET_LIMIT):
            self._read_chunk(pending[start : start + BATCH_GET_LIMIT], result)
        return result

    def _read_chunk(self, chunk: list[Item], result: ReadResult) -> None:
        pending = chunk
        attempt = 0
        while True:
            try:
                with charged(self._budget, len(pending)) as consumed:
                    response = self._client.batch_get_item(
                        RequestItems=cast(
                            Any, {self._table_name: {"Keys": pending, "ConsistentRead": self._consistent}}
                        ),
                        ReturnConsumedCapacity="TOTAL",
                    )
                    units = sum(capacity.get("CapacityUnits", 0.0) for capacity in response.get("ConsumedCapacity", []))
                    consumed(units)
            except ClientError as error:
                if not is_retryable(error):
                    raise
                unprocessed = pending
            else:
                for item in cast("list[Item]", response.get("Responses", {}).get(self._table_name, [])):
                    result.items[canonical_key(key_of(item, self._key_schema))] = item
                result.consumed_rcu += units
                unprocessed_by_table: dict[str, Any] = dict(response.get("UnprocessedKeys", {}))
                unprocessed = cast("list[Item]", unprocessed_by_table.get(self._table_name, {}).get("Keys", []))
                if not unprocessed:
                    return
            if len(unprocessed) < len(pending):
                attempt = 0
            attempt += 1
            if attempt >= self._retry_policy.max_attempts:
                raise ReadRetriesExhausted(
                    f"BatchGetItem on {self._table_name!r}: {len(unprocessed)} key(s) still unprocessed after "
                    f"{attempt} attempts without progress, e.g. {format_key(unprocessed[0])}"
                )
            result.retries += 1
            self._retry_policy.backoff(attempt - 1)
            pending = unprocessed


# --------------------------------------------------------------------------------------------------------------
# The verifier
# --------------------------------------------------------------------------------------------------------------

# (source key, target key, expected target item)
_Expected = tuple[Item, Item, Item]


class Verifier:
    def __init__(
        self,
        *,
        transformer: Transformer,
        source_key_schema: KeySchema,
        target_key_schema: KeySchema,
        source_reader: ItemReader,
        target_reader: ItemReader,
    ) -> None:
        self._transformer = transformer
        self._source_key_schema = source_key_schema
        self._target_key_schema = target_key_schema
        self._source_reader = source_reader
        self._target_reader = target_reader
        self._same_key_schema = dict(source_key_schema) == dict(target_key_schema)

    @property
    def same_key_schema(self) -> bool:
        return self._same_key_schema

    @property
    def target_key_schema(self) -> KeySchema:
        return self._target_key_schema

    def check_page(self, items: Sequence[Item]) -> PageCheck:
        """Classify every target item the page's source items should have produced."""
        expected: dict[str, list[_Expected]] = {}
        skipped = 0
        changed_key: tuple[Item, Item] | None = None
        for item in items:
            source_key = key_of(item, self._source_key_schema)
            produced = self._expected_items(item, source_key)
            if not produced:
                skipped += 1
            for target_key, output in produced:
                canonical = canonical_key(target_key)
                expected.setdefault(canonical, []).append((source_key, target_key, output))
                if changed_key is None and self._same_key_schema and canonical != canonical_key(source_key):
                    changed_key = (source_key, target_key)
        read = self._target_reader.read(candidates[-1][1] for candidates in expected.values())
        mismatches: list[Mismatch] = []
        for canonical, candidates in expected.items():
            mismatch = self._classify(candidates, read.items.get(canonical))
            if mismatch is not None:
                mismatches.append(mismatch)
        missing = sum(1 for mismatch in mismatches if mismatch.kind == "missing")
        counts = VerifyCounts(
            source_items=len(items),
            checked=len(expected),
            matching=len(expected) - len(mismatches),
            missing=missing,
            different=len(mismatches) - missing,
            skipped=skipped,
            consumed_rcu=read.consumed_rcu,
            retries=read.retries,
        )
        return PageCheck(counts, mismatches, list(expected), changed_key)

    def check_target_keys(self, target_keys: Sequence[Item]) -> tuple[list[Mismatch], ReadResult]:
        """Extra items among these target keys, by looking each key up in the source.

        Sound only when the transform keeps keys (a target key can then only come from the source item with the
        same key); callers make sure of that.
        """
        if not self._same_key_schema:
            raise ValueError("looking target keys up in the source needs the same key schema on both tables")
        sources = self._source_reader.read(target_keys)
        extras: list[Mismatch] = []
        for target_key in target_keys:
            key = key_of(target_key, self._target_key_schema)
            canonical = canonical_key(key)
            source = sources.items.get(canonical)
            if source is None:
                extras.append(Mismatch("extra", key, key, note="no source item has this key"))
                continue
            produced = {canonical_key(produced_key) for produced_key, _ in self._expected_items(source, key)}
            if canonical not in produced:
                extras.append(
                    Mismatch("extra", key, key, note="the source item with this key transforms into other keys")
                )
        return extras, sources

    def recheck(self, mismatches: Sequence[Mismatch]) -> Recheck:
        """Re-read the source items (consistently) and the target items of earlier mismatches and classify again.

        A mismatch whose source item is gone, or no longer produces its target key, is resolved when the target
        item is gone too and an ``extra`` otherwise. Target keys a changed source item produces now were not
        part of the earlier check and are left out.
        """
        sources = self._source_reader.read(m.source_key for m in mismatches if m.source_key is not None)
        current: dict[str, list[_Expected]] = {}
        for source in sources.items.values():
            source_key = key_of(source, self._source_key_schema)
            for target_key, output in self._expected_items(source, source_key):
                current.setdefault(canonical_key(target_key), []).append((source_key, target_key, output))
        targets = self._target_reader.read(m.target_key for m in mismatches)
        pairs: list[tuple[Mismatch, Mismatch | None]] = []
        for mismatch in mismatches:
            canonical = canonical_key(mismatch.target_key)
            actual = targets.items.get(canonical)
            candidates = current.get(canonical)
            if candidates:
                pairs.append((mismatch, self._classify(candidates, actual)))
            elif actual is None:
                pairs.append((mismatch, None))
            else:
                note = (
                    "no source item produces this key"
                    if mismatch.source_key is None
                    else "the source item is gone or no longer produces this key, but the target still has it"
                )
                pairs.append((mismatch, Mismatch("extra", mismatch.target_key, mismatch.source_key, note=note)))
        return Recheck(
            pairs,
            consumed_rcu=sources.consumed_rcu + targets.consumed_rcu,
            retries=sources.retries + targets.retries,
        )

    def _expected_items(self, item: Item, source_key: Item) -> list[tuple[Item, Item]]:
        try:
            outputs = self._transformer.apply(item)
        except TransformError as exc:
            raise TransformError(f"source item {format_key(source_key)}: {exc}") from exc
        produced: list[tuple[Item, Item]] = []
        for output in outputs:
            # An output the copy would have refused can never be in the target; say why instead of "missing".
            validate_target_item(output, self._target_key_schema, source_key=source_key)
            produced.append((key_of(output, self._target_key_schema), output))
        return produced

    def _classify(self, candidates: list[_Expected], actual: Item | None) -> Mismatch | None:
        source_key, target_key, expected = candidates[-1]
        if actual is None:
            return Mismatch("missing", target_key, source_key)
        volatile = self._transformer.volatile_attributes
        if any(not compare_items(candidate, actual, volatile) for _, _, candidate in candidates):
            return None
        note = (
            "" if len(candidates) == 1 else f"{len(candidates)} source items produce this key; compared with the last"
        )
        return Mismatch("different", target_key, source_key, tuple(compare_items(expected, actual, volatile)), note)


# --------------------------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------------------------


def verify_summary(
    *,
    source_table: str,
    target_table: str,
    counts: VerifyCounts,
    extra: int,
    extra_checked: bool,
    extra_check: str,
    extra_note: str,
    sample_fraction: float,
    settle_seconds: float,
    resolved_by_settle: int | None,
    not_rechecked: int,
    sample: Sequence[Mapping[str, Any]],
    distributed: bool,
    run_id: str | None,
    duration_seconds: float,
) -> dict[str, Any]:
    """The verify result in the one JSON shape that ``--json``, the execution output and the state table share.

    ``clean``: nothing that was checked differs. ``complete``: every source item was checked and the target was
    searched for extra items, which is what a cutover needs. ``extra`` counts extra target items found, by the
    extra check or by a re-check that found a source item gone; ``extra_checked`` says whether they were
    searched for.
    """
    sampled = sample_fraction < 1
    return {
        "source_table": source_table,
        "target_table": target_table,
        "distributed": distributed,
        "run_id": run_id,
        "source_items": counts.source_items,
        "checked": counts.checked,
        "matching": counts.matching,
        "missing": counts.missing,
        "different": counts.different,
        "extra": extra,
        "skipped": counts.skipped,
        "clean": counts.missing == 0 and counts.different == 0 and extra == 0,
        "complete": not sampled and extra_checked,
        "sampled": sampled,
        "sample_fraction": sample_fraction,
        "extra_checked": extra_checked,
        "extra_check": extra_check,
        "extra_note": extra_note,
        "settle_seconds": settle_seconds,
        "resolved_by_settle": resolved_by_settle,
        "not_rechecked": not_rechecked,
        "consumed_rcu": round(counts.consumed_rcu, 3),
        "retries": counts.retries,
        "duration_seconds": round(duration_seconds, 3),
        "sample": [dict(entry) for entry in sample],
    }
