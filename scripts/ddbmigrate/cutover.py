"""Is it safe to switch the application to the target table? Rules only: a snapshot in, every finding out.

Reading the snapshot from AWS is ``ddbmigrate.replication_ops``; keeping the rules free of I/O lets each one be
tested on its own. ``evaluate`` never stops at the first problem: an operator fixing one reason at a time
would otherwise rerun the check once per reason.

Severity: ``blocker`` makes the verdict NOT READY, ``warning`` is shown but does not block, ``ok`` documents a
passed check. A metric CloudWatch does not have is unknown, which is a warning unless metrics are required.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from migration_core.state import VerifyRecord

Severity = Literal["ok", "warning", "blocker"]


@dataclass(frozen=True)
class QueueDepth:
    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed

    def describe(self) -> str:
        return f"{self.total:,} ({self.visible:,} visible, {self.in_flight:,} in flight, {self.delayed:,} delayed)"


@dataclass(frozen=True)
class CutoverSnapshot:
    """What cutover-check looked at; None means "not configured" (for metrics: no datapoint, unknown)."""

    taken_at: datetime
    source_table: str
    target_table: str
    queue: QueueDepth | None
    oldest_message_age_seconds: float | None
    dlq: QueueDepth | None
    stream_failures: QueueDepth | None
    consumer_mapping_state: str | None
    forwarder_mapping_state: str | None
    iterator_age_seconds: float | None
    last_verify: VerifyRecord | None
    # Of dlq_sampled DLQ messages looked at, how many `replication redrive` would refuse; None: not looked.
    dlq_refused: int | None = None
    dlq_sampled: int = 0


@dataclass(frozen=True)
class CutoverPolicy:
    max_queue_depth: int = 0
    max_message_age_seconds: float = 60.0
    max_iterator_age_seconds: float = 60.0
    max_verify_age_minutes: float = 60.0
    require_metrics: bool = False


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    message: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "severity": self.severity, "message": self.message}


@dataclass(frozen=True)
class Verdict:
    findings: list[Finding] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.blockers

    @property
    def blockers(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == "blocker"]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == "warning"]

    def to_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "reasons": [finding.message for finding in self.blockers],
            "warnings": [finding.message for finding in self.warnings],
            "findings": [finding.to_json() for finding in self.findings],
        }


def evaluate(snapshot: CutoverSnapshot, policy: CutoverPolicy) -> Verdict:
    findings = [
        _queue_depth(snapshot, policy),
        _oldest_message(snapshot, policy),
        _must_be_empty("dlq", "dead-letter queue", snapshot.dlq, _dlq_remedy(snapshot)),
        _must_be_empty(
            "stream_failures",
            "stream failure queue",
            snapshot.stream_failures,
            "see `ddb-migrate replication redrive --stream-failures`",
        ),
        _mapping("consumer_mapping", "queue consumer", snapshot.consumer_mapping_state),
        _mapping("forwarder_mapping", "stream forwarder", snapshot.forwarder_mapping_state),
        _iterator_age(snapshot, policy),
        *_last_verify(snapshot, policy),
    ]
    return Verdict(findings)


def _queue_depth(snapshot: CutoverSnapshot, policy: CutoverPolicy) -> Finding:
    if snapshot.queue is None:
        return Finding(
            "queue_depth",
            "blocker",
            "replication queue is not configured (Terraform output replication_queue_url is null): writes made "
            "to the source since the backfill would not reach the target",
        )
    if snapshot.queue.total > policy.max_queue_depth:
        return Finding(
            "queue_depth",
            "blocker",
            f"replication queue holds {snapshot.queue.describe()} messages, more than --max-queue-depth "
            f"{policy.max_queue_depth:,}: changes are still being applied",
        )
    return Finding("queue_depth", "ok", f"replication queue holds {snapshot.queue.describe()} messages")


def _oldest_message(snapshot: CutoverSnapshot, policy: CutoverPolicy) -> Finding:
    if snapshot.queue is not None and snapshot.queue.total == 0:
        # CloudWatch reports per minute, so a stale datapoint may still show an age the empty queue no longer has.
        return Finding("oldest_message_age", "ok", "replication queue is empty: no message is waiting")
    age = snapshot.oldest_message_age_seconds
    if age is None:
        return _unknown(
            "oldest_message_age",
            "age of the oldest replication message is unknown (no CloudWatch ApproximateAgeOfOldestMessage "
            "datapoint in the last 5 minutes)",
            policy,
        )
    if age > policy.max_message_age_seconds:
        return Finding(
            "oldest_message_age",
            "blocker",
            f"oldest replication message is {age:,.0f} s old, more than --max-message-age-seconds "
            f"{policy.max_message_age_seconds:,.0f}: the consumer is behind or stuck",
        )
    return Finding("oldest_message_age", "ok", f"oldest replication message is {age:,.0f} s old")


def _must_be_empty(check: str, what: str, depth: QueueDepth | None, remedy: str) -> Finding:
    if depth is None:
        return Finding(check, "warning", f"{what} is not configured; cannot tell whether changes were lost there")
    if depth.total > 0:
        return Finding(
            check, "blocker", f"{what} is not empty: {depth.describe()} messages hold changes never applied; {remedy}"
        )
    return Finding(check, "ok", f"{what} is empty")


def _dlq_remedy(snapshot: CutoverSnapshot) -> str:
    """The command that can actually empty the DLQ: redrive resends replication messages and refuses the rest."""
    redrive = "run `ddb-migrate replication redrive`"
    inspect = (
        "`ddb-migrate replication dlq show`, then `ddb-migrate replication dlq discard` once the items are repaired"
    )
    if snapshot.dlq_refused is None:
        return f"{redrive}; what it refuses, see with {inspect}"
    if snapshot.dlq_refused == 0:
        return redrive
    refused = f"{snapshot.dlq_refused} of the {snapshot.dlq_sampled} looked at are not messages redrive can resend"
    if snapshot.dlq_refused < snapshot.dlq_sampled:
        return f"{refused}: {redrive} for the others, and see the refused ones with {inspect}"
    return f"{refused}: see them with {inspect}"


def _mapping(check: str, what: str, state: str | None) -> Finding:
    if state is None:
        return Finding(check, "blocker", f"{what} event source mapping is not configured (Terraform output is null)")
    if state != "Enabled":
        return Finding(
            check,
            "blocker",
            f"{what} event source mapping is {state}, not Enabled: changes are not flowing to the target",
        )
    return Finding(check, "ok", f"{what} event source mapping is Enabled")


def _iterator_age(snapshot: CutoverSnapshot, policy: CutoverPolicy) -> Finding:
    age = snapshot.iterator_age_seconds
    if age is None:
        return _unknown(
            "stream_lag",
            "stream lag is unknown (no CloudWatch IteratorAge datapoint of the forwarder in the last 5 minutes; "
            "there may have been no writes)",
            policy,
        )
    if age > policy.max_iterator_age_seconds:
        return Finding(
            "stream_lag",
            "blocker",
            f"stream forwarder lags {age:,.1f} s behind the source stream (IteratorAge maximum over 5 minutes), "
            f"more than --max-iterator-age-seconds {policy.max_iterator_age_seconds:,.0f}",
        )
    return Finding("stream_lag", "ok", f"stream forwarder lag is {age:,.1f} s (IteratorAge maximum over 5 minutes)")


def _last_verify(snapshot: CutoverSnapshot, policy: CutoverPolicy) -> list[Finding]:
    record = snapshot.last_verify
    if record is None:
        return [Finding("verify", "blocker", "no verify result recorded: run `ddb-migrate verify`")]
    findings: list[Finding] = []
    summary = record.summary
    tables = (summary.get("source_table"), summary.get("target_table"))
    if tables != (snapshot.source_table, snapshot.target_table):
        findings.append(
            Finding(
                "verify",
                "blocker",
                f"the last verify compared {tables[0]} → {tables[1]}, not {snapshot.source_table} → "
                f"{snapshot.target_table}",
            )
        )
    age_minutes = (snapshot.taken_at - record.finished_at).total_seconds() / 60
    if age_minutes > policy.max_verify_age_minutes:
        findings.append(
            Finding(
                "verify",
                "blocker",
                f"the last verify is {age_minutes:,.0f} minutes old, more than --max-verify-age-minutes "
                f"{policy.max_verify_age_minutes:,.0f}: run `ddb-migrate verify` again",
            )
        )
    if not record.clean:
        findings.append(
            Finding(
                "verify",
                "blocker",
                f"the last verify found differences: missing {summary.get('missing', '?')}, different "
                f"{summary.get('different', '?')}, extra {summary.get('extra', '?')}",
            )
        )
    if record.sampled:
        findings.append(Finding("verify", "blocker", "the last verify was sampled; a cutover needs a full verify"))
    if not record.extra_checked:
        findings.append(
            Finding(
                "verify",
                "warning",
                f"the last verify did not search the target for extra items ({summary.get('extra_note', '')})",
            )
        )
    if not findings or all(finding.severity == "warning" for finding in findings):
        findings.insert(0, Finding("verify", "ok", f"the last verify is clean and {age_minutes:,.0f} minutes old"))
    return findings


def _unknown(check: str, message: str, policy: CutoverPolicy) -> Finding:
    if policy.require_metrics:
        return Finding(check, "blocker", f"{message}; --require-metrics makes this a blocker")
    return Finding(check, "warning", message)
