"""The emulator runs deployed zips like Lambda: warm workers, environment, context, errors, timeouts."""

from __future__ import annotations

import base64
import json
import sys
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devtools.emulator import Emulator, lambda_concurrency
from tests.support.emulator import FUNCTIONS, Aws, unique, zip_sources
from tests.support.waits import wait_until

BASIC = ("basic_function.py",)


@pytest.fixture(scope="module")
def function(aws: Aws) -> str:
    return aws.deploy(BASIC, "basic_function.handler", {"GREETING": "hello"}, timeout=5)


def test_sync_invoke_runs_the_handler_warm_with_lambda_environment_and_context(
    aws: Aws, function: str, emulator: Emulator
) -> None:
    first_error, first = aws.invoke(function, {"n": 1})
    second_error, second = aws.invoke(function, {"n": 2})

    assert first_error is None
    assert second_error is None
    assert first["event"] == {"n": 1}
    assert second["init_id"] == first["init_id"], "module init must run once per warm worker"
    assert second["invocations"] == first["invocations"] + 1
    name = function.rsplit(":", 1)[-1]
    assert first["environment"] == {
        "GREETING": "hello",
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "_HANDLER": "basic_function.handler",
        # The execution role's session (moto's STS keys start like AWS's).
        "AWS_ACCESS_KEY_ID": first["environment"]["AWS_ACCESS_KEY_ID"],
    }
    assert first["environment"]["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    context = first["context"]
    assert context["function_name"] == name
    assert context["invoked_function_arn"] == function
    assert context["memory_limit_in_mb"] == "256"  # a string, as in the Python runtime
    assert 4000 < context["remaining_ms"] <= 5000
    assert context["aws_request_id"] != second["context"]["aws_request_id"]


def test_function_reaches_dynamodb_in_the_emulator(aws: Aws, function: str) -> None:
    table = unique("items")
    aws.create_table(table)

    error, item = aws.invoke(function, {"action": "dynamodb", "table": table, "key": "a"})

    assert error is None
    assert item == {"pk": {"S": "a"}, "n": {"N": "12345678901234567890123456789012345678"}}
    stored = aws.dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]
    assert stored["n"] == {"N": "12345678901234567890123456789012345678"}


def test_handler_exception_is_an_unhandled_function_error(aws: Aws, function: str) -> None:
    response = aws.lambda_.invoke(
        FunctionName=function, Payload=json.dumps({"action": "fail", "message": "no good"}), LogType="Tail"
    )
    payload = json.loads(response["Payload"].read())

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "InvalidInput"
    assert payload["errorMessage"] == "no good"
    assert any("raise InvalidInput" in frame for frame in payload["stackTrace"])
    log_tail = base64.b64decode(response["LogResult"]).decode()
    assert "START RequestId" in log_tail
    assert "REPORT RequestId" in log_tail
    assert "action=fail" in log_tail


def test_timeout_kills_the_worker_and_the_next_invocation_gets_a_fresh_one(aws: Aws) -> None:
    function = aws.deploy(BASIC, "basic_function.handler", timeout=1)
    _, warm = aws.invoke(function, {})

    error, payload = aws.invoke(function, {"action": "sleep", "seconds": 30})

    # The payload proves the timeout, whatever the machine's speed: a handler that slept its 30 s returns its pid.
    assert "pid" not in payload, "the sleeping handler ran to its end"
    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    error, after = aws.invoke(function, {})
    assert error is None
    assert after["pid"] != warm["pid"]


def test_concurrent_invocations_run_in_parallel_workers(aws: Aws, tmp_path: Path) -> None:
    """Four invocations are inside the handler at the same time: each waits for a file that the test creates only
    once all four have said they started (proved by state, not by timing)."""
    function = aws.deploy(BASIC, "basic_function.handler", timeout=60)
    aws.invoke(function, {})  # one warm worker; the others start in parallel below
    started, release = tmp_path / "started", tmp_path / "release"
    started.mkdir()
    event = {"action": "wait_for_file", "path": str(release), "started_dir": str(started)}

    with ThreadPoolExecutor(4) as pool:
        pending = [pool.submit(aws.invoke, function, event) for _ in range(4)]
        wait_until(lambda: len(list(started.iterdir())) == 4 or None, timeout=60, what="four running invocations")
        release.touch()
        results = [future.result(timeout=60) for future in pending]

    assert all(error is None and payload["released"] for error, payload in results)
    assert len({payload["pid"] for _, payload in results}) == 4


def test_new_deployment_retires_old_workers(aws: Aws) -> None:
    function = aws.deploy(BASIC, "basic_function.handler", {"GREETING": "v1"})
    _, before = aws.invoke(function, {})

    aws.lambda_.update_function_configuration(FunctionName=function, Environment={"Variables": {"GREETING": "v2"}})
    _, after_config = aws.invoke(function, {})
    aws.lambda_.update_function_code(FunctionName=function, ZipFile=zip_sources(*BASIC))
    _, after_code = aws.invoke(function, {})

    assert before["environment"]["GREETING"] == "v1"
    assert after_config["environment"]["GREETING"] == "v2"
    assert len({before["init_id"], after_config["init_id"]}) == 2
    # Same bytes: the code hash does not change, so the workers of that deployment stay warm.
    assert after_code["init_id"] == after_config["init_id"]


def test_import_error_is_reported_like_the_runtime(aws: Aws) -> None:
    function = aws.deploy(BASIC, "missing_module.handler")

    error, payload = aws.invoke(function, {})

    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "missing_module" in payload["errorMessage"]


def test_event_invocation_returns_at_once_and_runs_in_the_background(aws: Aws) -> None:
    function = aws.deploy(BASIC, "basic_function.handler")
    table = unique("async")
    aws.create_table(table)

    response = aws.lambda_.invoke(
        FunctionName=function,
        InvocationType="Event",
        Payload=json.dumps({"action": "dynamodb", "table": table, "key": "k"}),
    )

    assert response["StatusCode"] == 202
    wait_until(lambda: aws.dynamodb.get_item(TableName=table, Key={"pk": {"S": "k"}}).get("Item"), what="item")


def test_function_output_reaches_cloudwatch_logs(aws: Aws) -> None:
    function = aws.deploy(BASIC, "basic_function.handler")
    aws.invoke(function, {"action": "describe"})
    group = f"/aws/lambda/{function.rsplit(':', 1)[-1]}"

    def messages() -> list[str]:
        events = aws.logs.filter_log_events(logGroupName=group)["events"]
        return [str(event["message"]) for event in events]

    lines = wait_until(lambda: [m for m in messages() if "action=describe" in m], what="log line")
    assert lines


def test_published_version_keeps_its_configuration(aws: Aws) -> None:
    function = aws.deploy(BASIC, "basic_function.handler", {"GREETING": "v1"})
    version = aws.lambda_.publish_version(FunctionName=function)["Version"]
    aws.lambda_.update_function_configuration(FunctionName=function, Environment={"Variables": {"GREETING": "v2"}})

    _, published = aws.invoke(function, {}, Qualifier=version)
    _, by_arn = aws.invoke(f"{function}:{version}", {})
    _, latest = aws.invoke(function, {"qualifier": version})  # a payload key is not a qualifier

    assert published["environment"]["GREETING"] == "v1"
    assert published["environment"]["AWS_LAMBDA_FUNCTION_VERSION"] == version
    assert published["context"]["invoked_function_arn"] == f"{function}:{version}"
    assert by_arn["environment"]["GREETING"] == "v1"
    assert latest["environment"]["GREETING"] == "v2"
    assert latest["environment"]["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"


def _throttled(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    return dict(caught.value.response)


def test_reserved_concurrency_throttles_invocations_beyond_it(aws: Aws, tmp_path: Path) -> None:
    """Lambda refuses an invocation beyond the function's reserved concurrency with 429 TooManyRequestsException,
    and every invocation of a function reserved at 0; Step Functions retries on that error name."""
    function = aws.deploy(BASIC, "basic_function.handler", {}, timeout=60)
    name = function.rsplit(":", 1)[-1]

    aws.lambda_.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    refused = _throttled(lambda: aws.invoke(function, {}))
    assert refused["Error"]["Code"] == "TooManyRequestsException"
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 429

    aws.lambda_.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    release = tmp_path / "release"
    with ThreadPoolExecutor(1) as pool:
        holding = pool.submit(aws.invoke, function, {"action": "wait_for_file", "path": str(release)})
        wait_until(lambda: lambda_concurrency.running(function) == 1 or None, what="the first invocation to run")
        second = _throttled(lambda: aws.invoke(function, {}))
        release.touch()
        error, held = holding.result(timeout=60)
        assert error is None
        assert held["released"] is True
    assert second["Error"]["Code"] == "TooManyRequestsException"

    error, _ = aws.invoke(function, {})
    assert error is None, "once the running invocation ended, the next one runs"
    aws.lambda_.delete_function_concurrency(FunctionName=name)


POWERTOOLS_PUBLIC_LAYER = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"


def test_powertools_is_there_only_from_the_zip_or_the_public_layer(aws: Aws, tmp_path: Path) -> None:
    """Lambda's Python runtime has boto3 but no Powertools: a zip without it and without the layer fails its init,
    as it would on AWS (and on LocalStack), instead of quietly using the emulator's own copy."""
    sources = ("powertools_function.py",)
    handler = "powertools_function.handler"

    alone = aws.deploy(sources, handler)
    error, payload = aws.invoke(alone, {})
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'aws_lambda_powertools'" in payload["errorMessage"]

    layered = aws.deploy(sources, handler, layers=(POWERTOOLS_PUBLIC_LAYER,))
    error, payload = aws.invoke(layered, {})
    assert error is None, payload
    assert payload["powertools"].startswith(sys.prefix), "the emulator's copy stands in for the public layer"

    bundle = tmp_path / "bundled.zip"
    wheels = sorted((Path(__file__).parents[2] / "modules" / "lambda_function" / "vendor").glob("*.whl"))
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("powertools_function.py", (FUNCTIONS / sources[0]).read_text())
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as source:
                for name in source.namelist():
                    archive.writestr(name, source.read(name))
    bundled = aws.deploy(sources, handler, code=bundle.read_bytes())
    error, payload = aws.invoke(bundled, {})
    assert error is None, payload
    assert not payload["powertools"].startswith(sys.prefix), "a bundled Powertools comes from the zip"
