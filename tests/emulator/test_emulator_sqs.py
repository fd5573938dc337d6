"""SQS event source mappings on the emulator: FIFO order, partial batch failures, DLQ, enable/disable."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from devtools.emulator import Emulator
from devtools.emulator.pollers import _batch_item_failures
from tests.support.emulator import Aws, unique
from tests.support.waits import wait_until


@pytest.fixture(scope="module")
def results(aws: Aws) -> str:
    table = unique("sqs-results")
    aws.create_table(table, range_key=True)
    return table


@pytest.fixture(scope="module")
def recorder(aws: Aws, results: str) -> str:
    return aws.deploy(("sqs_recorder.py",), "sqs_recorder.handler", {"RESULT_TABLE": results})


def prewarm(aws: Aws, function: str, workers: int = 3) -> None:
    """Start the workers a mapping will use, so no batch outlives a short visibility timeout on a cold start."""
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: aws.invoke(function, {"Records": []}), range(workers)))


def bodies(aws: Aws, table: str, group: str) -> list[str]:
    return [item["body"]["S"] for item in aws.query_all(table, group)]


def test_fifo_order_per_group_and_poison_message_ends_in_the_dlq(
    aws: Aws, emulator: Emulator, results: str, recorder: str
) -> None:
    dlq_url, dlq_arn = aws.create_queue(unique("dlq") + ".fifo", FifoQueue="true")
    url, arn = aws.create_queue(
        unique("queue") + ".fifo",
        FifoQueue="true",
        VisibilityTimeout="2",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
    )
    prewarm(aws, recorder)
    groups = {
        f"a-{url[-8:]}": [f"a{i}" for i in range(6)],
        f"b-{url[-8:]}": ["b0", "poison-b1"],
        f"c-{url[-8:]}": [f"c{i}" for i in range(6)],
    }
    for index in range(6):
        for group, messages in groups.items():
            if index < len(messages):
                aws.sqs.send_message(
                    QueueUrl=url,
                    MessageBody=messages[index],
                    MessageGroupId=group,
                    MessageDeduplicationId=f"{group}{index}",
                )

    aws.lambda_.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=recorder, BatchSize=4, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    emulator.wait_for_idle(timeout=20)

    group_a, group_b, group_c = groups
    assert bodies(aws, results, group_a) == groups[group_a]
    assert bodies(aws, results, group_c) == groups[group_c]
    assert bodies(aws, results, group_b) == ["b0"]
    dead = aws.drain_queue(dlq_url, 1)
    assert [message["Body"] for message in dead] == ["poison-b1"]
    assert dead[0]["Attributes"]["MessageGroupId"] == group_b
    attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    # Compact, as SQS returns it (Terraform compares it with jsonencode output).
    assert attributes["RedrivePolicy"] == f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":2}}'
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_disabled_mapping_does_not_consume_and_re_enabling_drains(
    aws: Aws, emulator: Emulator, results: str, recorder: str
) -> None:
    url, arn = aws.create_queue(unique("paused"))
    mapping = aws.lambda_.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=recorder, BatchSize=10, Enabled=False
    )["UUID"]
    for index in range(3):
        aws.sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")

    time.sleep(0.5)  # several poll intervals: a live poller would have taken them by now
    attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "3"
    assert bodies(aws, results, "standard") == [] or all(
        item["source"]["S"] != arn for item in aws.query_all(results, "standard")
    )

    aws.lambda_.update_event_source_mapping(UUID=mapping, Enabled=True)
    emulator.wait_for_idle(timeout=10)

    mine = [item["body"]["S"] for item in aws.query_all(results, "standard") if item["source"]["S"] == arn]
    assert sorted(mine) == ["m0", "m1", "m2"]

    aws.lambda_.update_event_source_mapping(UUID=mapping, Enabled=False)
    wait_until(lambda: emulator_mapping_state(aws, mapping) == "Disabled", what="mapping disabled")
    time.sleep(0.2)  # let the poller observe the change
    aws.sqs.send_message(QueueUrl=url, MessageBody="late")
    time.sleep(0.5)
    attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


def emulator_mapping_state(aws: Aws, mapping: str) -> str:
    return str(aws.lambda_.get_event_source_mapping(UUID=mapping)["State"])


def test_function_error_leaves_messages_for_redelivery(aws: Aws, emulator: Emulator, results: str) -> None:
    # Without ReportBatchItemFailures a failing batch is retried as a whole after the visibility timeout.
    function = aws.deploy(
        ("sqs_recorder.py",), "sqs_recorder.handler", {"RESULT_TABLE": results, "RAISE_ON_POISON": "1"}
    )
    dlq_url, dlq_arn = aws.create_queue(unique("dlq"))
    url, arn = aws.create_queue(
        unique("failing"),
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
    )
    prewarm(aws, function, 1)
    aws.sqs.send_message(QueueUrl=url, MessageBody="poison")
    aws.lambda_.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=1)

    emulator.wait_for_idle(timeout=15)

    dead = aws.drain_queue(dlq_url, 1)
    assert int(dead[0]["Attributes"]["ApproximateReceiveCount"]) >= 2


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"null", []),
        (b"{}", []),
        (b'{"batchItemFailures": []}', []),
        (b'{"batchItemFailures": null}', []),
        (b'{"batchItemFailures": [{"itemIdentifier": "b"}]}', ["b"]),
        (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', None),
        (b'{"batchItemFailures": [{"itemIdentifier": null}]}', None),
        (b'{"batchItemFailures": [{"itemIdentifier": "unknown"}]}', None),
        (b'{"batchItemFailures": [{"id": "b"}]}', None),
        (b"not json", None),
    ],
)
def test_batch_item_failures_follow_lambda_rules(payload: bytes, expected: list[str] | None) -> None:
    assert _batch_item_failures(payload, ["a", "b"]) == expected


def test_a_dead_letter_queues_redrive_allow_policy_is_returned(aws: Aws) -> None:
    dlq_url = aws.sqs.create_queue(QueueName=unique("allow") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    source_arn = f"arn:aws:sqs:us-east-1:123456789012:{unique('source')}.fifo"
    policy = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]})

    aws.sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"RedriveAllowPolicy": policy})

    expected = {"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]}
    # "All" is what the provider reads for the queue; the name alone is what aws_sqs_queue_redrive_allow_policy reads.
    for names in (["All"], ["RedriveAllowPolicy"], ["RedriveAllowPolicy", "QueueArn"]):
        attributes = aws.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=names)["Attributes"]  # type: ignore[arg-type]
        assert json.loads(attributes["RedriveAllowPolicy"]) == expected, names
