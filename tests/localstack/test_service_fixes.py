"""The plugins' fixes of LocalStack 4.14's own services (``service_fixes.py``), each where LocalStack answered
unlike AWS in a way the module meets: an integer ToleratedFailurePercentage, StopExecution, an empty
RedriveAllowPolicy, and FIFO batches that span message groups."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.emulator import Aws, unique
from tests.support.localstack import deploy_active
from tests.support.waits import wait_until


def finished(aws: Aws, execution_arn: str) -> dict[str, Any]:
    def described() -> dict[str, Any] | None:
        found = dict(aws.sfn.describe_execution(executionArn=execution_arn))
        return None if found["status"] == "RUNNING" else found

    return wait_until(described, "the execution to finish", timeout=60, interval=0.5)


@pytest.mark.parametrize("percentage", [0, 5, 12.5])
def test_a_distributed_map_with_a_whole_tolerated_failure_percentage_is_created_and_runs(
    aws: Aws, percentage: float
) -> None:
    definition = {
        "StartAt": "Map",
        "States": {
            "Map": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Echo",
                    "States": {"Echo": {"Type": "Pass", "End": True}},
                },
                "ToleratedFailurePercentage": percentage,
                "End": True,
            }
        },
    }
    machine = aws.sfn.create_state_machine(
        name=unique("tolerated"), definition=json.dumps(definition), roleArn=aws.role_arn
    )["stateMachineArn"]

    stored = aws.sfn.describe_state_machine(stateMachineArn=machine)["definition"]
    execution = aws.sfn.start_execution(stateMachineArn=machine, input='{"items": [1, 2]}')["executionArn"]

    assert json.loads(stored) == definition, "the stored definition is the one given"
    described = finished(aws, execution)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [1, 2]


def test_a_stopped_execution_is_aborted_when_stop_execution_returns(aws: Aws) -> None:
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}}}
    machine = aws.sfn.create_state_machine(
        name=unique("stopped"), definition=json.dumps(definition), roleArn=aws.role_arn
    )["stateMachineArn"]
    execution = aws.sfn.start_execution(stateMachineArn=machine)["executionArn"]

    aws.sfn.stop_execution(executionArn=execution, cause="test")
    described = aws.sfn.describe_execution(executionArn=execution)

    assert described["status"] == "ABORTED"
    assert "stopDate" in described
    running = aws.sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]
    assert running == []


def test_setting_redrive_allow_policy_to_empty_removes_it(aws: Aws) -> None:
    url, _ = aws.create_queue(unique("dlq"), RedriveAllowPolicy=json.dumps({"redrivePermission": "denyAll"}))

    aws.sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": ""})

    assert "RedriveAllowPolicy" not in aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_a_fifo_mapping_invokes_with_batches_that_span_message_groups_each_in_order(aws: Aws) -> None:
    results = unique("batches")
    aws.create_table(results, range_key=True)
    url, arn = aws.create_queue(unique("fifo") + ".fifo", FifoQueue="true")
    sent = {group: [f"{group}-{index}" for index in range(3)] for group in ("a", "b", "c")}
    for index in range(3):
        for group, bodies in sent.items():
            aws.sqs.send_message(
                QueueUrl=url, MessageBody=bodies[index], MessageGroupId=group, MessageDeduplicationId=bodies[index]
            )
    function = deploy_active(
        aws, ("batch_recorder.py",), "batch_recorder.handler", environment={"RESULT_TABLE": results}
    )

    aws.lambda_.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=function, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"]
    )

    def batches() -> list[list[list[str]]] | None:
        found = [json.loads(item["batch"]["S"]) for item in aws.query_all(results, "batches")]
        return found if sum(len(batch) for batch in found) >= 9 else None

    delivered = wait_until(batches, "the nine messages delivered", timeout=120, interval=0.5)
    assert any(len({group for group, _ in batch}) > 1 for batch in delivered), delivered
    for group, bodies in sent.items():
        assert [body for batch in delivered for g, body in batch if g == group] == bodies
