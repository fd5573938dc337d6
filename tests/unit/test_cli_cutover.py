"""cutover-check: every NOT READY reason on its own, all of them at once, READY, and the command on moto."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from ddbmigrate.cutover import CutoverPolicy, CutoverSnapshot, QueueDepth, evaluate
from migration_core.state import StateStore, VerifyRecord
from tests.support.deployment import STATE, deploy
from tests.support.tables import REGION

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EMPTY = QueueDepth(0, 0, 0)


def clean_verify(**changes: Any) -> VerifyRecord:
    summary = {
        "source_table": "source",
        "target_table": "target",
        "missing": 0,
        "different": 0,
        "extra": 0,
        "sampled": False,
        "extra_checked": True,
        "extra_note": "every target key looked up in the source",
        "clean": True,
    }
    summary |= changes
    return VerifyRecord(finished_at=NOW - timedelta(minutes=10), clean=bool(summary["clean"]), summary=summary)


GOOD = CutoverSnapshot(
    taken_at=NOW,
    source_table="source",
    target_table="target",
    queue=EMPTY,
    oldest_message_age_seconds=None,
    dlq=EMPTY,
    stream_failures=EMPTY,
    consumer_mapping_state="Enabled",
    forwarder_mapping_state="Enabled",
    iterator_age_seconds=0.5,
    last_verify=clean_verify(),
)


def blockers(snapshot: CutoverSnapshot, policy: CutoverPolicy | None = None) -> list[str]:
    return [finding.message for finding in evaluate(snapshot, policy or CutoverPolicy()).blockers]


def test_everything_in_order_is_ready_with_every_check_listed() -> None:
    verdict = evaluate(GOOD, CutoverPolicy())

    assert verdict.ready
    assert verdict.warnings == []
    assert [finding.check for finding in verdict.findings] == [
        "queue_depth",
        "oldest_message_age",
        "dlq",
        "stream_failures",
        "consumer_mapping",
        "forwarder_mapping",
        "stream_lag",
        "verify",
    ]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"queue": QueueDepth(20, 1, 1)},
            "replication queue holds 22 (20 visible, 1 in flight, 1 delayed) messages, more than --max-queue-depth 10",
        ),
        ({"queue": None}, "replication queue is not configured"),
        (
            {"queue": QueueDepth(0, 1, 0), "oldest_message_age_seconds": 900.0},
            "oldest replication message is 900 s old, more than --max-message-age-seconds 60",
        ),
        ({"dlq": QueueDepth(3, 0, 0)}, "dead-letter queue is not empty: 3 (3 visible"),
        ({"stream_failures": QueueDepth(1, 0, 0)}, "stream failure queue is not empty"),
        ({"consumer_mapping_state": "Disabled"}, "queue consumer event source mapping is Disabled, not Enabled"),
        ({"forwarder_mapping_state": "Disabling"}, "stream forwarder event source mapping is Disabling"),
        ({"consumer_mapping_state": None}, "queue consumer event source mapping is not configured"),
        ({"iterator_age_seconds": 120.0}, "stream forwarder lags 120.0 s behind the source stream"),
        ({"last_verify": None}, "no verify result recorded"),
        ({"last_verify": clean_verify(clean=False, missing=2)}, "the last verify found differences: missing 2"),
        ({"last_verify": clean_verify(sampled=True)}, "the last verify was sampled"),
        ({"last_verify": clean_verify(target_table="other")}, "the last verify compared source → other"),
        (
            {"last_verify": replace(clean_verify(), finished_at=NOW - timedelta(hours=2))},
            "the last verify is 120 minutes old, more than --max-verify-age-minutes 60",
        ),
    ],
)
def test_each_reason_alone_makes_it_not_ready(changes: dict[str, Any], reason: str) -> None:
    # A small backlog is allowed here so that the age of its oldest message is what blocks.
    [message] = blockers(replace(GOOD, **changes), CutoverPolicy(max_queue_depth=10))
    assert reason in message


def test_every_reason_is_listed_not_just_the_first() -> None:
    snapshot = replace(
        GOOD,
        queue=QueueDepth(5, 0, 0),
        oldest_message_age_seconds=300.0,
        dlq=QueueDepth(1, 0, 0),
        stream_failures=QueueDepth(1, 0, 0),
        consumer_mapping_state="Disabled",
        iterator_age_seconds=600.0,
        last_verify=None,
    )

    assert len(blockers(snapshot)) == 7


def test_thresholds_come_from_the_policy() -> None:
    snapshot = replace(GOOD, queue=QueueDepth(3, 0, 0), oldest_message_age_seconds=30.0, iterator_age_seconds=90.0)
    policy = CutoverPolicy(max_queue_depth=5, max_message_age_seconds=60, max_iterator_age_seconds=100)

    assert blockers(snapshot, policy) == []


def test_missing_metrics_are_warnings_unless_required() -> None:
    snapshot = replace(GOOD, queue=QueueDepth(0, 1, 0), oldest_message_age_seconds=None, iterator_age_seconds=None)
    relaxed = evaluate(snapshot, CutoverPolicy(max_queue_depth=1))
    strict = evaluate(snapshot, CutoverPolicy(max_queue_depth=1, require_metrics=True))

    assert relaxed.ready
    assert {finding.check for finding in relaxed.warnings} == {"oldest_message_age", "stream_lag"}
    assert not strict.ready
    assert all("--require-metrics" in finding.message for finding in strict.blockers)


def test_an_empty_queue_ignores_a_stale_age_metric() -> None:
    assert evaluate(replace(GOOD, oldest_message_age_seconds=5000.0), CutoverPolicy()).ready


def test_a_verify_without_extra_item_search_is_a_warning() -> None:
    verdict = evaluate(replace(GOOD, last_verify=clean_verify(extra_checked=False)), CutoverPolicy())

    assert verdict.ready
    assert [finding.check for finding in verdict.warnings] == ["verify"]


# ----------------------------------------------------------------------------------------------------------------
# The command, on moto
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_the_command_says_ready_when_replication_is_drained_and_verify_is_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True, mappings_enabled=True)
    assert deployed.invoke("verify", "--settle-seconds", "0").exit_code == 0
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "IteratorAge",
                "Dimensions": [{"Name": "FunctionName", "Value": "forwarder"}],
                "Value": 250.0,
                "Unit": "Milliseconds",
                "Timestamp": datetime.now(UTC) - timedelta(minutes=1),
            }
        ],
    )
    report = tmp_path / "cutover.json"

    result = deployed.invoke("cutover-check", "--json", str(report))

    assert result.exit_code == 0, result.output
    assert result.output.startswith("READY")
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["ready"] is True
    assert document["reasons"] == []
    assert "stream forwarder lag is 0.2 s" in result.output


@pytest.mark.usefixtures("aws")
def test_the_command_lists_every_reason_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True, mappings_enabled=False)
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(
        QueueUrl=deployed.output("replication_dlq_url"),
        MessageBody="{}",
        MessageGroupId="g",
        MessageDeduplicationId="d",
    )
    sqs.send_message(QueueUrl=deployed.output("stream_failure_queue_url"), MessageBody="{}")
    sqs.send_message(
        QueueUrl=deployed.output("replication_queue_url"),
        MessageBody="{}",
        MessageGroupId="g",
        MessageDeduplicationId="q",
    )
    StateStore(boto3.client("dynamodb", region_name=REGION), STATE, clock=lambda: NOW).record_verify(
        {"source_table": "source", "target_table": "target", "clean": False, "missing": 1, "different": 0, "extra": 0}
    )
    report = tmp_path / "cutover.json"

    result = deployed.invoke("cutover-check", "--json", str(report), "--require-metrics")

    assert result.exit_code == 1
    assert result.output.startswith("NOT READY")
    reasons = json.loads(report.read_text(encoding="utf-8"))["reasons"]
    assert any("replication queue holds 1" in reason for reason in reasons)
    assert any(reason.startswith("age of the oldest replication message is unknown") for reason in reasons)
    assert any("dead-letter queue is not empty" in reason for reason in reasons)
    assert any("stream failure queue is not empty" in reason for reason in reasons)
    assert any("queue consumer event source mapping is Disabled" in reason for reason in reasons)
    assert any("stream forwarder event source mapping is Disabled" in reason for reason in reasons)
    assert any("stream lag is unknown" in reason for reason in reasons)
    assert any("minutes old" in reason for reason in reasons)
    assert any("the last verify found differences" in reason for reason in reasons)
    assert len(reasons) == 9


@pytest.mark.parametrize(
    ("refused", "sampled", "recommended", "not_recommended"),
    [
        (0, 3, "run `ddb-migrate replication redrive`", "dlq discard"),
        (3, 3, "3 of the 3 looked at are not messages redrive can resend: see them with", "for the others"),
        (1, 3, "`ddb-migrate replication redrive` for the others", None),
        (None, 0, "run `ddb-migrate replication redrive`; what it refuses, see with", None),
    ],
)
def test_a_full_dlq_gets_the_command_that_can_empty_it(
    refused: int | None, sampled: int, recommended: str, not_recommended: str | None
) -> None:
    [message] = blockers(replace(GOOD, dlq=QueueDepth(3, 0, 0), dlq_refused=refused, dlq_sampled=sampled))

    assert recommended in message
    if not_recommended is not None:
        assert not_recommended not in message


@pytest.mark.usefixtures("aws")
def test_the_command_recommends_dlq_show_and_discard_when_redrive_would_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True, mappings_enabled=True)
    dlq = deployed.output("replication_dlq_url")
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(QueueUrl=dlq, MessageBody="not json", MessageGroupId="g", MessageDeduplicationId="d")

    result = deployed.invoke("cutover-check", "--json", "-")

    assert result.exit_code == 1
    [reason] = [reason for reason in json.loads(result.stdout)["reasons"] if "dead-letter" in reason]
    assert "1 of the 1 looked at are not messages redrive can resend" in reason
    assert "`ddb-migrate replication dlq show`" in reason
    assert "run `ddb-migrate replication redrive`" not in reason
    received = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"])["Messages"]
    assert [message["Body"] for message in received] == ["not json"], "the look left the message in the DLQ"
