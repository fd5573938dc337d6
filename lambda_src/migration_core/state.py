"""The state table: one record per run, one per (run, phase, segment), and the last verify result.

Segment records are the checkpoints that let a retried or redriven invocation continue where the last
completed page ended, and the progress source of the CLI. Counts are added with ``ADD`` in the same
UpdateItem that moves the checkpoint, so a page is counted exactly when its checkpoint is stored. That update
is conditional on the checkpoint the page started from: when a call that DynamoDB applied is answered with an
error and sent again (botocore retries 5xx), the second one finds the checkpoint already moved and adds
nothing, so a page is never counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from migration_core.attribute_values import dumps_item, loads_item
from migration_core.clock import Clock, iso_timestamp, parse_iso_timestamp, utc_now
from migration_core.errors import CheckpointConflict, InvalidInput, WriteRetriesExhausted
from migration_core.models import PHASE_COUNT_FIELDS, Phase, RunSpec, SegmentCounts
from migration_core.retry import RetryPolicy
from migration_core.types import AttributeValue, Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RUN_SORT_KEY = "run"
SEGMENT_SORT_KEY_PREFIX = "seg#"
# One record per data file of a run's export: segment n of the copy reads the file of record n.
EXPORT_FILE_SORT_KEY_PREFIX = "file#"
BATCH_WRITE_LIMIT = 25
# Records expire through the table's TTL; long enough to inspect and redrive a finished or failed run.
RETENTION = timedelta(days=30)
# Keeps a long stack of error notes far below the 400 KB item limit.
MAX_ERROR_CHARS = 4000
# The last verify result: one record, overwritten by every complete (not sampled) verify.
VERIFY_PARTITION_KEY = "verify"
VERIFY_SORT_KEY = "last"
# Differing keys kept per verify segment record; each entry is a compact JSON mismatch.
MAX_SEGMENT_SAMPLES = 5
MAX_SAMPLE_ENTRY_CHARS = 8000
# The stored verify summary stays far below the 400 KB item limit; its sample is dropped first.
MAX_VERIFY_SUMMARY_CHARS = 200_000


def segment_sort_key(phase: Phase, segment: int) -> str:
    return f"{SEGMENT_SORT_KEY_PREFIX}{phase}#{segment:07d}"


def export_file_sort_key(segment: int) -> str:
    return f"{EXPORT_FILE_SORT_KEY_PREFIX}{segment:07d}"


@dataclass(frozen=True)
class SegmentCheckpoint:
    done: bool
    last_evaluated_key: Item | None
    # The resume point as stored: what the next save_page must find to move it.
    token: str | None = None


@dataclass(frozen=True)
class SegmentRecord:
    phase: str
    segment: int
    done: bool
    counts: SegmentCounts
    error: str | None
    # Verify phase: JSON mismatches (see migration_core.verify.Mismatch.to_json).
    samples: tuple[str, ...] = ()
    # The child execution that ran the segment ended before the segment did, so that it stays within Step
    # Functions' history cap; a child of the Map's next pass continues it.
    handed_off: bool = False


@dataclass(frozen=True)
class VerifyRecord:
    """The last verify result, as cutover-check reads it."""

    finished_at: datetime
    clean: bool
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def sampled(self) -> bool:
        return bool(self.summary.get("sampled", False))

    @property
    def extra_checked(self) -> bool:
        return bool(self.summary.get("extra_checked", False))


class StateStore:
    def __init__(self, client: DynamoDBClient, table_name: str, *, clock: Clock = utc_now) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock

    def create_run(self, run: RunSpec, source_item_count: int) -> None:
        """Store the run record; a retried plan step leaves the first one (and its start time) in place."""
        now = self._clock()
        item: Item = {
            "pk": {"S": run.run_id},
            "sk": {"S": RUN_SORT_KEY},
            "source_table": {"S": run.source_table},
            "target_table": {"S": run.target_table},
            "total_segments": {"N": str(run.total_segments)},
            "mode": {"S": run.mode},
            "cleanup": {"BOOL": run.cleanup},
            "in_place": {"BOOL": run.in_place},
            "time_budget_seconds": {"N": _number(run.time_budget_seconds)},
            "started_at": {"S": iso_timestamp(now)},
            "source_item_count": {"N": str(source_item_count)},
            "status": {"S": "RUNNING"},
            "expires_at": {"N": self._expiry(now)},
        }
        if run.export is not None:
            item["source"] = {"S": "export"}
        try:
            self._client.put_item(
                TableName=self._table_name, Item=_typed(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def resume_run(self, run: RunSpec) -> None:
        """Mark an earlier run as running again; refuse when the run differs from the one its checkpoints belong to."""
        response = self._client.get_item(
            TableName=self._table_name,
            Key=_typed({"pk": {"S": run.run_id}, "sk": {"S": RUN_SORT_KEY}}),
            ConsistentRead=True,
        )
        stored = response.get("Item")
        if stored is None:
            raise InvalidInput(
                f"run {run.run_id} has no record in the state table (records are kept {RETENTION.days} days): "
                "there is nothing to resume; start a new run"
            )
        expected: dict[str, Any] = {
            "source_table": run.source_table,
            "target_table": run.target_table,
            "total_segments": str(run.total_segments),
            "mode": run.mode,
            "cleanup": run.cleanup,
        }
        if run.export is not None:
            # The export steps set an export run's segments (one per data file) after the plan.
            del expected["total_segments"]
        if (run.export is not None) != (stored.get("source", {}).get("S") == "export"):
            raise InvalidInput(
                f"run {run.run_id} read its source {'by Scan' if run.export is not None else 'from an export'}; "
                "a resumed run must read it the same way, since its checkpoints belong to those segments"
            )
        recorded = {name: next(iter(stored[name].values()), None) for name in expected if name in stored}
        differing = [name for name, value in expected.items() if recorded.get(name) != value]
        if differing:
            details = ", ".join(f"{name} {recorded.get(name)!r} (now {expected[name]!r})" for name in differing)
            raise InvalidInput(
                f"run {run.run_id} was planned with {details}; a resumed run must keep them, since its checkpoints "
                "belong to those segments"
            )
        now = self._clock()
        self._update(
            {"pk": {"S": run.run_id}, "sk": {"S": RUN_SORT_KEY}},
            set_values={"status": {"S": "RUNNING"}, "resumed_at": {"S": iso_timestamp(now)}, **self._touch()},
            remove=["finished_at"],
        )

    def run_export_arn(self, run_id: str) -> str | None:
        """The export a run read (or is reading) its source from: a resumed run reads the same."""
        response = self._client.get_item(
            TableName=self._table_name,
            Key=_typed({"pk": {"S": run_id}, "sk": {"S": RUN_SORT_KEY}}),
            ConsistentRead=True,
        )
        arn: str | None = response.get("Item", {}).get("export_arn", {}).get("S")
        return arn

    def record_export(self, run: RunSpec, data_files: Sequence[tuple[str, int]], retry_policy: RetryPolicy) -> None:
        """Store one record per data file of the run's export, then the export and its segment count in the run's.

        Rewriting them is harmless: a retried or resumed export step finds the same export and the same files.
        """
        requests: list[Any] = [
            {
                "PutRequest": {
                    "Item": _typed(
                        {
                            "pk": {"S": run.run_id},
                            "sk": {"S": export_file_sort_key(segment)},
                            "data_key": {"S": key},
                            "item_count": {"N": str(count)},
                            "expires_at": {"N": self._expiry(self._clock())},
                        }
                    )
                }
            }
            for segment, (key, count) in enumerate(data_files)
        ]
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            self._write_all(requests[start : start + BATCH_WRITE_LIMIT], retry_policy)
        export = run.export
        if export is None or export.arn is None or export.export_time is None:
            raise InvalidInput(f"run {run.run_id}: record_export needs a run whose export completed")
        self._update(
            {"pk": {"S": run.run_id}, "sk": {"S": RUN_SORT_KEY}},
            set_values={
                "total_segments": {"N": str(run.total_segments)},
                "export_arn": {"S": export.arn},
                "export_time": {"S": export.export_time},
                **self._touch(),
            },
        )

    def record_export_started(self, run_id: str, export_arn: str) -> None:
        """Keep the export's ARN as soon as it exists, so that a redrive (even past the ClientToken's 8 hours)
        waits for this export instead of starting another."""
        self._update(
            {"pk": {"S": run_id}, "sk": {"S": RUN_SORT_KEY}},
            set_values={"export_arn": {"S": export_arn}, **self._touch()},
        )

    def export_file(self, run_id: str, segment: int) -> tuple[str, int] | None:
        """The data file a segment of an export run reads and its item count; None for the one segment of an
        export without files."""
        response = self._client.get_item(
            TableName=self._table_name,
            Key=_typed({"pk": {"S": run_id}, "sk": {"S": export_file_sort_key(segment)}}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return None
        return str(item["data_key"]["S"]), int(item["item_count"]["N"])

    def _write_all(self, requests: list[Any], retry_policy: RetryPolicy) -> None:
        attempt = 0
        while requests:
            response = self._client.batch_write_item(RequestItems={self._table_name: requests})
            unprocessed: list[Any] = list(response.get("UnprocessedItems", {}).get(self._table_name, []))
            if not unprocessed:
                return
            if attempt + 1 >= retry_policy.max_attempts:
                raise WriteRetriesExhausted(
                    self._table_name, len(unprocessed), [request["PutRequest"]["Item"] for request in unprocessed]
                )
            retry_policy.backoff(attempt)
            attempt = 0 if len(unprocessed) < len(requests) else attempt + 1
            requests = unprocessed

    def run_started_at(self, run_id: str) -> datetime | None:
        response = self._client.get_item(
            TableName=self._table_name,
            Key=_typed({"pk": {"S": run_id}, "sk": {"S": RUN_SORT_KEY}}),
            ConsistentRead=True,
        )
        started_at = response.get("Item", {}).get("started_at", {}).get("S")
        return None if started_at is None else parse_iso_timestamp(started_at)

    def finish_run(self, run_id: str, status: str) -> None:
        now = self._clock()
        self._update(
            {"pk": {"S": run_id}, "sk": {"S": RUN_SORT_KEY}},
            set_values={"status": {"S": status}, "finished_at": {"S": iso_timestamp(now)}},
        )

    def begin_segment(self, run_id: str, phase: Phase, segment: int) -> SegmentCheckpoint:
        """Count an invocation of the segment and return its checkpoint, clearing a previous error and hand-off."""
        attributes = self._update(
            self._segment_key(run_id, phase, segment),
            set_values={"phase": {"S": phase}, "segment": {"N": str(segment)}, **self._touch()},
            add_values={"invocations": {"N": "1"}},
            remove=["error", "handed_off"],
            return_new=True,
        )
        stored_key = attributes.get("last_evaluated_key", {}).get("S")
        return SegmentCheckpoint(
            done=attributes.get("done", {}).get("BOOL", False),
            last_evaluated_key=None if stored_key is None else loads_item(stored_key),
            token=stored_key,
        )

    def save_page(
        self,
        run_id: str,
        phase: Phase,
        segment: int,
        counts: SegmentCounts,
        last_evaluated_key: Item | None,
        *,
        previous: str | None,
    ) -> str | None:
        """Checkpoint a completed page: add its counts and move the resume point (or mark the segment done).

        ``previous`` is the token of the checkpoint the page started from (``SegmentCheckpoint.token``, then
        what this method returned); the new token is returned.
        """
        token = None if last_evaluated_key is None else dumps_item(last_evaluated_key)
        set_values = {"done": {"BOOL": token is None}, **self._touch()}
        if token is not None:
            set_values["last_evaluated_key"] = {"S": token}
        key = self._segment_key(run_id, phase, segment)
        if previous is None:
            condition = "attribute_not_exists(#ck_key) AND (attribute_not_exists(#ck_done) OR #ck_done = :ck_false)"
            condition_names = {"#ck_key": "last_evaluated_key", "#ck_done": "done"}
            condition_values: dict[str, AttributeValue] = {":ck_false": {"BOOL": False}}
        else:
            condition = "#ck_key = :ck_previous"
            condition_names = {"#ck_key": "last_evaluated_key"}
            condition_values = {":ck_previous": {"S": previous}}
        try:
            self._update(
                key,
                set_values=set_values,
                add_values={name: {"N": _number(getattr(counts, name))} for name in PHASE_COUNT_FIELDS[phase]},
                remove=["error"] if token is not None else ["error", "last_evaluated_key"],
                condition=(condition, condition_names, condition_values),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            stored = self._client.get_item(TableName=self._table_name, Key=_typed(key), ConsistentRead=True)
            item = stored.get("Item", {})
            applied = (
                item.get("done", {}).get("BOOL", False)
                if token is None
                else (item.get("last_evaluated_key", {}).get("S") == token)
            )
            if not applied:
                raise CheckpointConflict(
                    f"{phase} segment {segment} of run {run_id}: the checkpoint moved while this invocation "
                    "worked on it; another invocation is running the same segment"
                ) from error
        return token

    def add_verify_samples(self, run_id: str, segment: int, entries: Sequence[str]) -> None:
        """Append differing keys to a verify segment's record until it holds about MAX_SEGMENT_SAMPLES.

        Separate from the checkpoint: a sample is for people to look at, so losing one to a crash between the
        two writes costs nothing, while the counts must move exactly with the checkpoint.
        """
        if not entries:
            return
        values: dict[str, AttributeValue] = {
            ":new": {"L": [{"S": entry[:MAX_SAMPLE_ENTRY_CHARS]} for entry in entries[:MAX_SEGMENT_SAMPLES]]},
            ":empty": {"L": []},
            ":max": {"N": str(MAX_SEGMENT_SAMPLES)},
        }
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=_typed(self._segment_key(run_id, "verify", segment)),
                UpdateExpression="SET #s = list_append(if_not_exists(#s, :empty), :new)",
                ConditionExpression="attribute_not_exists(#s) OR size(#s) < :max",
                ExpressionAttributeNames={"#s": "verify_sample"},
                ExpressionAttributeValues=_typed(values),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def record_verify(self, summary: Mapping[str, Any]) -> None:
        """Store a verify summary (see docs/ARCHITECTURE.md) as the last verify result."""
        now = self._clock()
        text = json.dumps(summary, separators=(",", ":"), ensure_ascii=False)
        if len(text) > MAX_VERIFY_SUMMARY_CHARS:
            text = json.dumps({**summary, "sample": []}, separators=(",", ":"), ensure_ascii=False)
        item: Item = {
            "pk": {"S": VERIFY_PARTITION_KEY},
            "sk": {"S": VERIFY_SORT_KEY},
            "finished_at": {"S": iso_timestamp(now)},
            "clean": {"BOOL": bool(summary.get("clean"))},
            "source_table": {"S": str(summary.get("source_table", ""))},
            "target_table": {"S": str(summary.get("target_table", ""))},
            "summary": {"S": text[:MAX_VERIFY_SUMMARY_CHARS]},
            "expires_at": {"N": self._expiry(now)},
        }
        self._client.put_item(TableName=self._table_name, Item=_typed(item))

    def last_verify(self) -> VerifyRecord | None:
        response = self._client.get_item(
            TableName=self._table_name,
            Key=_typed({"pk": {"S": VERIFY_PARTITION_KEY}, "sk": {"S": VERIFY_SORT_KEY}}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return None
        try:
            summary = json.loads(item.get("summary", {}).get("S", "{}"))
        except json.JSONDecodeError:
            summary = {}
        return VerifyRecord(
            finished_at=parse_iso_timestamp(item["finished_at"]["S"]),
            clean=item.get("clean", {}).get("BOOL", False),
            summary=summary if isinstance(summary, dict) else {},
        )

    def record_error(self, run_id: str, phase: Phase, segment: int, message: str) -> None:
        self._update(
            self._segment_key(run_id, phase, segment),
            set_values={"error": {"S": message[:MAX_ERROR_CHARS]}, **self._touch()},
        )

    def hand_off(self, run_id: str, phase: Phase, segment: int) -> None:
        """Mark an unfinished segment for the next pass of its Map (see ``SegmentRecord.handed_off``)."""
        self._update(
            self._segment_key(run_id, phase, segment),
            set_values={"handed_off": {"BOOL": True}, **self._touch()},
        )

    def segment_records(self, run_id: str) -> list[SegmentRecord]:
        records: list[SegmentRecord] = []
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table_name,
            KeyConditionExpression="pk = :run AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=_typed({":run": {"S": run_id}, ":prefix": {"S": SEGMENT_SORT_KEY_PREFIX}}),
            ConsistentRead=True,
        )
        for page in pages:
            records.extend(_segment_record(item) for item in page.get("Items", []))
        return records

    def _segment_key(self, run_id: str, phase: Phase, segment: int) -> Item:
        return {"pk": {"S": run_id}, "sk": {"S": segment_sort_key(phase, segment)}}

    def _touch(self) -> dict[str, AttributeValue]:
        now = self._clock()
        return {"updated_at": {"S": iso_timestamp(now)}, "expires_at": {"N": self._expiry(now)}}

    def _expiry(self, now: datetime) -> str:
        return str(int((now + RETENTION).timestamp()))

    def _update(
        self,
        key: Item,
        *,
        set_values: Mapping[str, AttributeValue],
        add_values: Mapping[str, AttributeValue] | None = None,
        remove: list[str] | None = None,
        return_new: bool = False,
        condition: tuple[str, Mapping[str, str], Mapping[str, AttributeValue]] | None = None,
    ) -> dict[str, Any]:
        # Every name goes through a placeholder: several of ours (segment, error, status...) could collide
        # with DynamoDB's long list of reserved words.
        names: dict[str, str] = {}
        values: dict[str, AttributeValue] = {}

        def placeholder(attribute: str) -> str:
            token = f"#a{len(names)}"
            names[token] = attribute
            return token

        clauses = []
        assignments = []
        for attribute, value in set_values.items():
            values[f":v{len(values)}"] = value
            assignments.append(f"{placeholder(attribute)} = :v{len(values) - 1}")
        clauses.append("SET " + ", ".join(assignments))
        if add_values:
            additions = []
            for attribute, value in add_values.items():
                values[f":v{len(values)}"] = value
                additions.append(f"{placeholder(attribute)} :v{len(values) - 1}")
            clauses.append("ADD " + ", ".join(additions))
        if remove:
            clauses.append("REMOVE " + ", ".join(placeholder(attribute) for attribute in remove))
        arguments: dict[str, Any] = {}
        if condition is not None:
            expression, condition_names, condition_values = condition
            names.update(condition_names)
            values.update(condition_values)
            arguments["ConditionExpression"] = expression
        response = self._client.update_item(
            TableName=self._table_name,
            Key=_typed(key),
            UpdateExpression=" ".join(clauses),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_typed(values),
            ReturnValues="ALL_NEW" if return_new else "NONE",
            **arguments,
        )
        return dict(response.get("Attributes", {}))


def _segment_record(item: Mapping[str, Any]) -> SegmentRecord:
    def number(name: str) -> Decimal:
        return Decimal(item.get(name, {}).get("N", "0"))

    counts = SegmentCounts(
        scanned=int(number("scanned")),
        written=int(number("written")),
        skipped=int(number("skipped")),
        deleted=int(number("deleted")),
        duplicates=int(number("duplicates")),
        consumed_rcu=float(number("consumed_rcu")),
        consumed_wcu=float(number("consumed_wcu")),
        retries=int(number("retries")),
        matching=int(number("matching")),
        missing=int(number("missing")),
        different=int(number("different")),
    )
    return SegmentRecord(
        phase=item.get("phase", {}).get("S", ""),
        segment=int(number("segment")),
        done=item.get("done", {}).get("BOOL", False),
        counts=counts,
        error=item.get("error", {}).get("S"),
        samples=tuple(entry["S"] for entry in item.get("verify_sample", {}).get("L", []) if "S" in entry),
        handed_off=item.get("handed_off", {}).get("BOOL", False),
    )


def _number(value: float) -> str:
    # Capacity units are floats; DynamoDB wants a plain decimal string, and float noise like
    # 0.30000000000000004 should not end up in a progress report.
    return format(Decimal(repr(round(value, 3))), "f")


def _typed(attributes: Mapping[str, AttributeValue]) -> Any:
    """Hand AttributeValue JSON to the typed boto3 stubs, which model each value as a TypedDict."""
    return attributes
