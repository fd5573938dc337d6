"""``ddb-migrate replication status|pause|resume|redrive`` on moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from ddbmigrate.cli import main
from ddbmigrate.replication_ops import REPLICATION_OUTPUTS, MappingStateTimeoutError, set_mapping_enabled
from migration_core.replication import decode_message, encode_stream_record
from tests.support.deployment import Deployed, deploy, fake_terraform
from tests.support.tables import REGION

pytestmark = pytest.mark.usefixtures("aws")

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/source/stream/2024-01-01T00:00:00.000"


def stream_record(index: int, value: str) -> dict[str, Any]:
    key = {"pk": {"S": f"k{index}"}, "sk": {"N": "1"}}
    return {
        "eventID": f"event-{index}",
        "eventName": "MODIFY",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": {
            "ApproximateCreationDateTime": 1767268800,
            "Keys": key,
            "NewImage": {**key, "v": {"S": value}},
            "OldImage": {**key, "v": {"S": "older"}},
            "SequenceNumber": f"{100 + index}",
            "SizeBytes": 50,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def dead_letter(deployed: Deployed, index: int, value: str = "stale") -> str:
    """Put a replication message into the DLQ, as SQS does after maxReceiveCount failed receives."""
    message = encode_stream_record(stream_record(index, value))
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=deployed.output("replication_dlq_url"),
        MessageBody=message.body,
        MessageGroupId=message.group_id,
        MessageDeduplicationId=message.deduplication_id,
    )
    return message.group_id


def drain(url: str) -> list[dict[str, Any]]:
    sqs: Any = boto3.client("sqs", region_name=REGION)
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], VisibilityTimeout=600
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)


def depth(url: str) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def mapping_state(deployed: Deployed) -> str:
    uuid = deployed.output("consumer_event_source_mapping_uuid")
    return str(boto3.client("lambda", region_name=REGION).get_event_source_mapping(UUID=uuid)["State"])


def test_pause_and_resume_flip_the_consumer_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True, mappings_enabled=True)

    paused = deployed.invoke("replication", "pause")
    assert paused.exit_code == 0, paused.output
    assert mapping_state(deployed) == "Disabled"
    assert paused.output.strip().endswith(": Disabled")

    resumed = deployed.invoke("replication", "resume")
    assert resumed.exit_code == 0, resumed.output
    assert mapping_state(deployed) == "Enabled"
    assert resumed.output.strip().endswith(": Enabled")


def test_pause_reports_the_mapping_state_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True, mappings_enabled=True)

    result = deployed.invoke("replication", "pause", "--json", "-")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "mapping_uuid": deployed.output("consumer_event_source_mapping_uuid"),
        "state": "Disabled",
    }


def test_status_shows_every_part_of_replication(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True)
    dead_letter(deployed, 1)
    report = tmp_path / "status.json"

    result = deployed.invoke("replication", "status", "--json", str(report))

    assert result.exit_code == 0, result.output
    status = json.loads(report.read_text(encoding="utf-8"))
    assert status == {
        "queue": {"visible": 0, "in_flight": 0, "delayed": 0},
        "oldest_message_age_seconds": None,
        "dlq": {"visible": 1, "in_flight": 0, "delayed": 0},
        "stream_failures": {"visible": 0, "in_flight": 0, "delayed": 0},
        "consumer_mapping_state": "Disabled",
        "forwarder_mapping_state": "Disabled",
        "iterator_age_seconds": None,
        "cutoff": "2024-05-01T12:00:00Z",
    }
    assert "unknown (no CloudWatch ApproximateAgeOfOldestMessage datapoint" in result.output


def test_a_terraform_dir_without_replication_outputs_says_replication_is_not_deployed_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=False)

    result = deployed.invoke("replication", "status")

    assert result.exit_code == 2
    assert "is not among the Terraform outputs of" in result.output
    assert "not deployed there" in result.output
    assert "pass --terraform-dir" not in result.output, "it was passed; the outputs are what is missing"
    assert len(result.output.strip().splitlines()) == 1


def test_replication_disabled_in_the_module_is_named_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The module outputs null for every replication output while replication is off.
    deployed = deploy(tmp_path, monkeypatch, replication=False)
    fake_terraform(tmp_path, monkeypatch, {**deployed.outputs, **dict.fromkeys(REPLICATION_OUTPUTS)})

    result = deployed.invoke("replication", "pause")

    assert result.exit_code == 2
    assert "replication is not enabled in the root module" in result.output
    assert "replication = { enabled = true }" in result.output


def test_replication_commands_without_terraform_dir_ask_for_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True)

    result = CliRunner().invoke(
        main, ["replication", "status", "--state-machine", deployed.output("state_machine_arn")]
    )

    assert result.exit_code == 2
    assert "pass --terraform-dir" in result.output


def test_redrive_sends_resync_messages_in_the_same_group_and_empties_the_dlq(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True)
    groups = {dead_letter(deployed, index) for index in range(12)}
    report = tmp_path / "redrive.json"

    result = deployed.invoke("replication", "redrive", "--json", str(report))

    assert result.exit_code == 0, result.output
    assert "moved 12 message(s)" in result.output
    assert json.loads(report.read_text(encoding="utf-8"))["moved"] == 12
    assert depth(deployed.output("replication_dlq_url")) == 0
    moved = drain(deployed.output("replication_queue_url"))
    assert len(moved) == 12
    assert {message["Attributes"]["MessageGroupId"] for message in moved} == groups
    for message in moved:
        event = decode_message(message["Body"])
        assert event.reread, "a replayed message re-reads the source instead of applying its stale image"
        assert event.new_image is None
        assert event.old_image is not None, "the old image still tells which target keys to clean up"
        assert message["Attributes"]["MessageDeduplicationId"] != event.event_id


def test_a_dry_run_moves_nothing_and_unknown_messages_stay_in_the_dlq(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True)
    dlq = deployed.output("replication_dlq_url")
    dead_letter(deployed, 1)
    dead_letter(deployed, 2)
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=dlq, MessageBody="not json", MessageGroupId="odd", MessageDeduplicationId="odd"
    )

    dry = deployed.invoke("replication", "redrive", "--dry-run")
    assert dry.exit_code == 1
    assert "dry run: 2 message(s) would be sent back" in dry.output
    assert depth(dlq) == 3
    assert len(drain(dlq)) == 3, "every message is visible again after the dry run"


def test_redrive_leaves_refused_messages_visible_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True)
    dlq = deployed.output("replication_dlq_url")
    dead_letter(deployed, 1)
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=dlq, MessageBody="not json", MessageGroupId="odd", MessageDeduplicationId="odd"
    )

    result = deployed.invoke("replication", "redrive")

    assert result.exit_code == 1
    assert "moved 1 message(s)" in result.output
    assert "left in the DLQ" in result.output
    assert "message body is not JSON" in result.output
    [left] = drain(dlq)
    assert left["Body"] == "not json"


def invocation_record(shard: str, start: str, end: str, arrival: datetime) -> str:
    stamp = arrival.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(
        {
            "requestContext": {"requestId": "r", "functionArn": "arn:f", "condition": "RetryAttemptsExhausted"},
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": stamp,
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": start,
                "endSequenceNumber": end,
                "approximateArrivalOfFirstRecord": stamp,
                "approximateArrivalOfLastRecord": stamp,
                "batchSize": 3,
                "streamArn": STREAM_ARN,
            },
        }
    )


def test_stream_failures_are_reported_with_their_ranges_and_kept_until_acknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True)
    url = deployed.output("stream_failure_queue_url")
    sqs = boto3.client("sqs", region_name=REGION)
    now = datetime.now(UTC)
    sqs.send_message(QueueUrl=url, MessageBody=invocation_record("shard-old", "100", "102", now - timedelta(days=2)))
    sqs.send_message(QueueUrl=url, MessageBody=invocation_record("shard-new", "200", "202", now - timedelta(hours=1)))
    report = tmp_path / "failures.json"

    result = deployed.invoke("replication", "redrive", "--stream-failures", "--json", str(report))

    assert result.exit_code == 0, result.output
    assert "2 stream failure record(s)" in result.output
    assert "shard shard-old, sequence 100..102 (3 record(s)" in result.output
    assert "EXPIRED from the stream" in result.output
    assert "still in the stream" in result.output
    assert "carry no item data" in result.output
    assert "left in the queue" in result.output
    failures = json.loads(report.read_text(encoding="utf-8"))["stream_failures"]
    assert {(f["shard_id"], f["expired"]) for f in failures} == {("shard-old", True), ("shard-new", False)}
    assert depth(url) == 2

    acknowledged = deployed.invoke("replication", "redrive", "--stream-failures", "--acknowledge")
    assert acknowledged.exit_code == 0
    assert depth(url) == 0


class TransitioningMappings:
    """A Lambda client whose mapping refuses the first update and then passes through a transitional state."""

    def __init__(self, states: list[str]) -> None:
        self.states = states
        self.updates: list[bool] = []

    def update_event_source_mapping(self, *, UUID: str, Enabled: bool) -> None:  # noqa: N803 - boto3's names
        self.updates.append(Enabled)
        if len(self.updates) == 1:
            raise ClientError({"Error": {"Code": "ResourceInUseException", "Message": "busy"}}, "Update")

    def get_event_source_mapping(self, *, UUID: str) -> dict[str, str]:  # noqa: N803 - boto3's names
        return {"State": self.states.pop(0) if len(self.states) > 1 else self.states[0]}


def test_pausing_waits_through_transitional_states_and_retries_a_busy_mapping() -> None:
    lambda_client = TransitioningMappings(["Updating", "Disabling", "Disabling", "Disabled"])
    seen: list[str] = []

    state = set_mapping_enabled(lambda_client, "uuid", False, on_state=seen.append, sleep=lambda seconds: None)

    assert state == "Disabled"
    assert lambda_client.updates == [False, False]
    assert seen == ["Updating", "Disabling", "Disabled"]


def test_a_mapping_that_does_not_settle_times_out() -> None:
    clock = iter(range(1000))
    with pytest.raises(MappingStateTimeoutError, match="still Enabling after 5 s"):
        set_mapping_enabled(
            TransitioningMappings(["Enabling"]),
            "uuid",
            True,
            on_state=lambda state: None,
            timeout_seconds=5,
            sleep=lambda seconds: None,
            monotonic=lambda: float(next(clock)),
        )


# ----------------------------------------------------------------------------------------------------------------
# replication dlq show|discard
# ----------------------------------------------------------------------------------------------------------------


def poison(deployed: Deployed, body: str = "not json", group: str = "odd") -> str:
    return str(
        boto3.client("sqs", region_name=REGION).send_message(
            QueueUrl=deployed.output("replication_dlq_url"),
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=f"{group}-{body}",
        )["MessageId"]
    )


def test_dlq_show_lists_the_messages_and_leaves_them_in_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True)
    group = dead_letter(deployed, 1)
    poisoned = poison(deployed)

    result = deployed.invoke("replication", "dlq", "show", "--json", "-")

    assert result.exit_code == 0, result.output
    messages = {message["group_id"]: message for message in json.loads(result.stdout)["messages"]}
    assert set(messages) == {group, "odd"}
    assert messages[group]["summary"] == 'MODIFY of {"pk":{"S":"k1"},"sk":{"N":"1"}} in source'
    assert messages[group]["redrive_refusal"] is None
    assert messages["odd"]["message_id"] == poisoned
    assert messages["odd"]["summary"] == "not a replication message: 'not json'"
    assert "message body is not JSON" in messages["odd"]["redrive_refusal"]
    assert messages["odd"]["receive_count"] == 1
    assert "2 (2 visible, 0 in flight, 0 delayed) message(s)" in result.stderr
    assert "redrive refuses: message body is not JSON" in result.stderr
    assert depth(deployed.output("replication_dlq_url")) == 2
    assert len(drain(deployed.output("replication_dlq_url"))) == 2, "visible again right away"


def test_dlq_discard_with_yes_deletes_only_the_named_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True)
    dead_letter(deployed, 1)
    poisoned = poison(deployed)

    result = deployed.invoke("replication", "dlq", "discard", "--message-id", poisoned, "--yes", "--json", "-")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [letter["message_id"] for letter in document["discarded"]] == [poisoned]
    assert document["not_found"] == []
    [left] = drain(deployed.output("replication_dlq_url"))
    assert left["Body"] != "not json"


def test_dlq_discard_asks_for_the_queue_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True)
    poison(deployed, "a", group="g1")
    poison(deployed, "b", group="g2")
    arguments = ["replication", "dlq", "discard", "--terraform-dir", str(deployed.terraform_dir)]
    dlq = deployed.output("replication_dlq_url")

    wrong = CliRunner().invoke(main, arguments, input="replication.fifo\n")
    no_answer = CliRunner().invoke(main, arguments, input="")
    assert depth(dlq) == 2
    right = CliRunner().invoke(main, arguments, input="replication-dlq.fifo\n")

    assert wrong.exit_code == no_answer.exit_code == 2
    assert "not confirmed (the queue's name is replication-dlq.fifo); nothing was deleted" in wrong.output
    assert "This deletes every message (2)" in right.output
    assert right.exit_code == 0, right.output
    assert "discarded 2 message(s)" in right.output
    assert depth(dlq) == 0


def test_redrive_points_at_dlq_show_and_discard_for_what_it_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True)
    poison(deployed)

    result = deployed.invoke("replication", "redrive")

    assert result.exit_code == 1
    assert "ddb-migrate replication dlq show --terraform-dir" in result.output
    assert "ddb-migrate replication dlq discard --message-id ID --terraform-dir" in result.output
