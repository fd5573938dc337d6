"""Step Functions on the emulator: a Distributed Map whose children invoke a local Lambda, errors, and the
two actions the Terraform provider needs that moto lacks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.emulator import Aws, unique
from tests.support.waits import wait_until


def definition(function_arn: str) -> dict[str, Any]:
    invoke = "arn:aws:states:::lambda:invoke"
    return {
        "StartAt": "Plan",
        "States": {
            "Plan": {
                "Type": "Task",
                "Resource": invoke,
                "Parameters": {
                    "FunctionName": function_arn,
                    "Payload": {"action": "plan", "input.$": "$", "execution.$": "$$.Execution.Name"},
                },
                "ResultSelector": {"segments.$": "$.Payload.segments", "execution.$": "$.Payload.execution"},
                "ResultPath": "$.plan",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Failed"}],
                "Next": "CopyMap",
            },
            "CopyMap": {
                "Type": "Map",
                "ItemsPath": "$.plan.segments",
                "ItemSelector": {"phase": "copy", "segment.$": "$$.Map.Item.Value"},
                "MaxConcurrency": 4,
                # An integer, as Terraform's jsonencode(0.0) renders it; moto's own parser wants 0.0.
                "ToleratedFailurePercentage": 0,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Segment",
                    "States": {
                        "Segment": {
                            "Type": "Task",
                            "Resource": invoke,
                            "Parameters": {
                                "FunctionName": function_arn,
                                "Payload": {"action": "segment", "segment.$": "$.segment", "phase.$": "$.phase"},
                            },
                            "Retry": [
                                {
                                    "ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
                                    "MaxAttempts": 3,
                                    "JitterStrategy": "FULL",
                                }
                            ],
                            "ResultSelector": {"segment.$": "$.Payload.segment"},
                            "End": True,
                        }
                    },
                },
                "ResultPath": None,
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"},
        },
    }


def run(aws: Aws, state_machine: str, execution_input: dict[str, Any]) -> dict[str, Any]:
    execution = aws.sfn.start_execution(stateMachineArn=state_machine, input=json.dumps(execution_input))

    def finished() -> dict[str, Any] | None:
        described = dict(aws.sfn.describe_execution(executionArn=execution["executionArn"]))
        return None if described["status"] == "RUNNING" else described

    return wait_until(finished, "the execution to finish", timeout=30)


@pytest.fixture(scope="module")
def state_machine(aws: Aws) -> str:
    function = aws.deploy(("basic_function.py",), "basic_function.handler")
    response = aws.sfn.create_state_machine(
        name=unique("backfill"), definition=json.dumps(definition(function)), roleArn=aws.role_arn, type="STANDARD"
    )
    return response["stateMachineArn"]


def test_definition_is_stored_as_given(aws: Aws, state_machine: str) -> None:
    stored = aws.sfn.describe_state_machine(stateMachineArn=state_machine)["definition"]

    assert '"ToleratedFailurePercentage": 0,' in stored


def test_distributed_map_children_invoke_the_local_lambda(aws: Aws, state_machine: str) -> None:
    first = run(aws, state_machine, {"segments": 6})
    second = run(aws, state_machine, {"segments": 2})

    assert first["status"] == "SUCCEEDED", first
    output = json.loads(first["output"])
    assert output["plan"]["segments"] == [0, 1, 2, 3, 4, 5]
    assert output["plan"]["execution"] == first["name"]
    assert second["status"] == "SUCCEEDED"
    assert first["name"] != second["name"], "unnamed executions get distinct generated names"
    map_runs = aws.sfn.list_map_runs(executionArn=first["executionArn"])["mapRuns"]
    assert len(map_runs) == 1


def test_custom_exception_surfaces_as_the_execution_error(aws: Aws, state_machine: str) -> None:
    result = run(aws, state_machine, {"segments": 0})

    assert result["status"] == "FAILED"
    assert result["error"] == "InvalidInput"
    cause = json.loads(result["cause"])
    assert cause["errorType"] == "InvalidInput"
    assert cause["errorMessage"] == "segments must be at least 1, got 0"


def test_validate_state_machine_definition(aws: Aws) -> None:
    valid = aws.sfn.validate_state_machine_definition(
        definition=json.dumps(definition("arn:aws:lambda:us-east-1:123456789012:function:f")), type="STANDARD"
    )
    invalid = aws.sfn.validate_state_machine_definition(definition='{"StartAt": "Missing", "States": {}}')

    assert valid["result"] == "OK"
    assert valid["diagnostics"] == []
    assert invalid["result"] == "FAIL"
    assert invalid["diagnostics"][0]["severity"] == "ERROR"


def test_list_state_machine_versions(aws: Aws, state_machine: str) -> None:
    assert aws.sfn.list_state_machine_versions(stateMachineArn=state_machine)["stateMachineVersions"] == []

    published = aws.sfn.update_state_machine(stateMachineArn=state_machine, roleArn=aws.role_arn, publish=True)
    versions = aws.sfn.list_state_machine_versions(stateMachineArn=state_machine)["stateMachineVersions"]

    assert [v["stateMachineVersionArn"] for v in versions] == [published["stateMachineVersionArn"]]


def test_a_stopped_execution_is_aborted_when_stop_execution_returns(aws: Aws) -> None:
    """Step Functions reports ABORTED as soon as StopExecution returns; moto's interpreter waited for the running
    state to end (for a Distributed Map, its children)."""
    waiting = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}}
    machine = aws.sfn.create_state_machine(
        name=unique("stop"), definition=json.dumps(waiting), roleArn=aws.role_arn, type="STANDARD"
    )["stateMachineArn"]
    execution = aws.sfn.start_execution(stateMachineArn=machine)["executionArn"]

    aws.sfn.stop_execution(executionArn=execution, cause="operator")

    described = aws.sfn.describe_execution(executionArn=execution)
    assert described["status"] == "ABORTED"
    assert "stopDate" in described
