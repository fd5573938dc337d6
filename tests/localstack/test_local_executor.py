"""The ``local-python`` runtime executor (``devtools/localstack/plugins``): LocalStack's own Lambda service runs each
execution environment as a local Python process, which must behave like the Lambda runtime: result, context and
environment, handler errors, timeouts with a fresh environment afterwards, init errors, and the logs."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.support.emulator import Aws, unique
from tests.support.localstack import deploy_active
from tests.support.waits import wait_until

BASIC = ("basic_function.py",)


def test_invoke_returns_the_result_with_context_environment_and_log_tail(aws: Aws) -> None:
    function = deploy_active(aws, BASIC, "basic_function.handler", environment={"GREETING": "hello"}, timeout=5)

    response = aws.lambda_.invoke(FunctionName=function, Payload=json.dumps({"n": 1}), LogType="Tail")
    first = json.loads(response["Payload"].read())
    _, second = aws.invoke(function, {"n": 2})

    assert "FunctionError" not in response
    assert first["event"] == {"n": 1}
    assert second["init_id"] == first["init_id"], "module init must run once per warm environment"
    assert second["invocations"] == first["invocations"] + 1
    name = function.rsplit(":", 1)[-1]
    environment = first["environment"]
    assert environment["GREETING"] == "hello"
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert environment["_HANDLER"] == "basic_function.handler"
    assert environment["AWS_ENDPOINT_URL"], "the function must reach LocalStack, not AWS"
    context = first["context"]
    assert context["function_name"] == name
    assert context["invoked_function_arn"] == function
    assert 0 < context["remaining_ms"] <= 5000
    assert context["aws_request_id"] != second["context"]["aws_request_id"]
    log_tail = base64.b64decode(response["LogResult"]).decode()
    assert f"START RequestId: {context['aws_request_id']}" in log_tail
    assert "action=describe" in log_tail
    assert f"REPORT RequestId: {context['aws_request_id']}" in log_tail


def test_function_reaches_dynamodb_through_the_endpoint(aws: Aws) -> None:
    function = deploy_active(aws, BASIC, "basic_function.handler")
    table = unique("items")
    aws.create_table(table)

    error, item = aws.invoke(function, {"action": "dynamodb", "table": table, "key": "a"})

    assert error is None
    assert item == {"pk": {"S": "a"}, "n": {"N": "12345678901234567890123456789012345678"}}


def test_handler_exception_is_an_unhandled_function_error(aws: Aws) -> None:
    function = deploy_active(aws, BASIC, "basic_function.handler")

    response = aws.lambda_.invoke(
        FunctionName=function, Payload=json.dumps({"action": "fail", "message": "no good"}), LogType="Tail"
    )
    payload = json.loads(response["Payload"].read())

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "InvalidInput"
    assert payload["errorMessage"] == "no good"
    assert any("raise InvalidInput" in frame for frame in payload["stackTrace"])
    assert "action=fail" in base64.b64decode(response["LogResult"]).decode()


def test_timeout_is_sandbox_timedout_and_the_next_invocation_gets_a_fresh_environment(aws: Aws) -> None:
    function = deploy_active(aws, BASIC, "basic_function.handler", timeout=1)
    _, warm = aws.invoke(function, {})

    error, payload = aws.invoke(function, {"action": "sleep", "seconds": 30})

    # The payload proves the timeout, whatever the machine's speed: a handler that slept its 30 s returns its pid.
    assert "pid" not in payload, "the sleeping handler ran to its end"
    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    error, after = aws.invoke(function, {})
    assert error is None
    assert after["init_id"] != warm["init_id"], "a timed-out environment must be initialised again"
    assert after["invocations"] == 1


def test_import_error_is_reported_like_the_runtime(aws: Aws) -> None:
    function = deploy_active(aws, BASIC, "missing_module.handler")

    error, payload = aws.invoke(function, {})

    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "missing_module" in payload["errorMessage"]


def test_missing_handler_function_is_reported_like_the_runtime(aws: Aws) -> None:
    function = deploy_active(aws, BASIC, "basic_function.no_such_handler")

    error, payload = aws.invoke(function, {})

    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.HandlerNotFound"
    assert "no_such_handler" in payload["errorMessage"]


def test_function_output_reaches_cloudwatch_logs(aws: Aws) -> None:
    function = deploy_active(aws, BASIC, "basic_function.handler")
    _, result = aws.invoke(function, {"action": "describe"})
    request_id = result["context"]["aws_request_id"]
    group = f"/aws/lambda/{function.rsplit(':', 1)[-1]}"

    def messages() -> list[str] | None:
        try:
            events = aws.logs.filter_log_events(logGroupName=group)["events"]
        except aws.logs.exceptions.ResourceNotFoundException:
            return None  # Lambda creates the group with the first lines it ships, after the invocation returned
        found = [str(event["message"]) for event in events]
        return found if any(message.startswith(f"REPORT RequestId: {request_id}") for message in found) else None

    lines = wait_until(messages, "the invocation's REPORT line in CloudWatch Logs", timeout=60, interval=0.5)
    assert any(line.startswith(f"START RequestId: {request_id}") for line in lines)
    assert any("action=describe" in line for line in lines)


def test_a_state_machine_task_invokes_the_function(aws: Aws) -> None:
    """LocalStack's own Step Functions calling the function through ``lambda:invoke``, as the module's does."""
    function = deploy_active(aws, BASIC, "basic_function.handler")
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "End": True,
            }
        },
    }
    machine = aws.sfn.create_state_machine(
        name=unique("invoke"), definition=json.dumps(definition), roleArn=aws.role_arn
    )["stateMachineArn"]

    execution = aws.sfn.start_execution(
        stateMachineArn=machine, input=json.dumps({"action": "plan", "input": {"segments": 2}, "execution": "x"})
    )

    def finished() -> dict[str, Any] | None:
        described = dict(aws.sfn.describe_execution(executionArn=execution["executionArn"]))
        return None if described["status"] == "RUNNING" else described

    described = wait_until(finished, "the execution to finish", timeout=60, interval=0.5)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"segments": [0, 1], "execution": "x"}
