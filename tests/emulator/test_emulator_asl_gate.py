"""The emulator refuses state machine definitions that Step Functions refuses, not only those moto's parser does.

The planted defect is the one moto misses: the same state name in two Map item processors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devtools.emulator.asl_validation import (
    DEFAULT_TOOLS_DIR,
    VALIDATOR_VERSION,
    AslValidator,
    AslValidatorUnavailableError,
    Diagnostic,
    invalid_definition_message,
)
from tests.support.emulator import Aws, unique

DUPLICATE_MESSAGE = (
    "Invalid State Machine Definition: "
    "'DUPLICATE_STATE_NAME: Duplicate State name: Init at /States/Verify/ItemProcessor/States/Init'"
)


def two_maps(copy_names: tuple[str, str], verify_names: tuple[str, str], percentage: Any = 0) -> dict[str, Any]:
    """A machine shaped like the module's: two Maps whose item processors each run two states."""

    def processor(first: str, second: str) -> dict[str, Any]:
        return {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": first,
            "States": {
                first: {"Type": "Pass", "Result": {"start_key": None}, "ResultPath": "$.cursor", "Next": second},
                second: {"Type": "Pass", "Result": {}, "End": True},
            },
        }

    return {
        "StartAt": "Copy",
        "States": {
            "Copy": {
                "Type": "Map",
                "ItemsPath": "$.segments",
                "ToleratedFailurePercentage": percentage,
                "ItemProcessor": processor(*copy_names),
                "ResultPath": None,
                "Next": "Verify",
            },
            "Verify": {
                "Type": "Map",
                "ItemsPath": "$.segments",
                "ToleratedFailurePercentage": percentage,
                "ItemProcessor": processor(*verify_names),
                "ResultPath": None,
                "End": True,
            },
        },
    }


VALID = json.dumps(two_maps(("CopyInit", "CopyDone"), ("VerifyInit", "VerifyDone")))
DUPLICATE = json.dumps(two_maps(("Init", "CopyDone"), ("Init", "VerifyDone")))


@pytest.fixture(scope="module")
def validator() -> Iterator[AslValidator]:
    running = AslValidator()
    yield running
    running.close()


# --------------------------------------------------------------------------------------------------
# The wrapper


def test_duplicate_names_across_map_processors_are_reported_where_step_functions_reports_them(
    validator: AslValidator,
) -> None:
    assert validator.validate(DUPLICATE) == (
        Diagnostic(
            code="DUPLICATE_STATE_NAME",
            message="Duplicate State name: Init",
            location="/States/Verify/ItemProcessor/States/Init",
            validator_code="DUPLICATE_STATE_NAMES",
        ),
    )
    assert invalid_definition_message(validator.validate(DUPLICATE)) == DUPLICATE_MESSAGE


def test_a_valid_definition_has_no_diagnostics(validator: AslValidator) -> None:
    assert validator.validate(VALID) == ()


def test_the_validators_error_codes_are_reported(validator: AslValidator) -> None:
    missing_target = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    wait_without_duration = {"StartAt": "W", "States": {"W": {"Type": "Wait", "End": True}}}

    missing = validator.validate(json.dumps(missing_target))
    schema = validator.validate(json.dumps(wait_without_duration))

    assert [d.validator_code for d in missing] == ["MISSING_TRANSITION_TARGET", "MISSING_TERMINAL_STATE"]
    assert missing[0].message == "Missing 'StartAt'|'Next'|'Default' target: Nowhere"
    assert [d.validator_code for d in schema] == ["WAIT_DURATION"]
    assert all(d.code == d.validator_code and d.severity == "ERROR" for d in (*missing, *schema))


def test_schema_errors_carry_the_location(validator: AslValidator) -> None:
    bad_type = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True, "ResultPath": 7}}}

    (first, *_) = validator.validate(json.dumps(bad_type))

    assert first.code == first.validator_code == "SCHEMA_VALIDATION_FAILED"
    assert first.location == "/States/A/ResultPath"


def test_a_name_repeated_inside_one_states_object_is_a_duplicate(validator: AslValidator) -> None:
    # JSON.parse would keep only the last "A", so the validator alone cannot see this one.
    text = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "A": {"Type": "Succeed"}}}'

    assert validator.validate(text) == (
        Diagnostic("DUPLICATE_STATE_NAME", "Duplicate State name: A", "/States/A", "DUPLICATE_JSON_KEY"),
    )


@pytest.mark.parametrize("percentage", [0, 5, 100, 0.0, 12.5])
def test_any_tolerated_failure_percentage_step_functions_takes_is_accepted(
    validator: AslValidator, percentage: float
) -> None:
    # The module renders an integer (jsonencode(0.0) is 0); Step Functions takes any number in 0..100.
    definition = two_maps(("CopyInit", "CopyDone"), ("VerifyInit", "VerifyDone"), percentage)

    assert validator.validate(json.dumps(definition)) == ()


@pytest.mark.parametrize("percentage", [-1, 101, 100.5])
def test_a_tolerated_failure_percentage_out_of_range_is_refused(validator: AslValidator, percentage: float) -> None:
    definition = two_maps(("CopyInit", "CopyDone"), ("VerifyInit", "VerifyDone"), percentage)

    codes = {d.code for d in validator.validate(json.dumps(definition))}

    assert codes == {"SCHEMA_VALIDATION_FAILED"}


def test_text_that_is_not_json_is_reported_without_asking_node(validator: AslValidator) -> None:
    before = validator.validations

    (diagnostic,) = validator.validate('{"StartAt": ')

    assert diagnostic.code == "INVALID_JSON_DESCRIPTION"
    assert validator.validations == before


def test_results_are_cached_by_definition(validator: AslValidator) -> None:
    definition = json.dumps(two_maps(("CacheInit", "CacheDone"), ("CacheInit", "CacheEnd")))
    first = validator.validate(definition)
    asked = validator.validations

    again = [validator.validate(definition) for _ in range(5)]

    assert validator.validations == asked
    assert all(result == first for result in again)
    assert first[0].code == "DUPLICATE_STATE_NAME"


def test_a_new_node_process_is_started_after_close(validator: AslValidator) -> None:
    validator.close()

    assert validator.validate(json.dumps(two_maps(("AfterA", "AfterB"), ("AfterC", "AfterD")))) == ()


def test_the_pinned_version_is_the_one_npm_installs() -> None:
    manifest = json.loads((DEFAULT_TOOLS_DIR / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((DEFAULT_TOOLS_DIR / "package-lock.json").read_text(encoding="utf-8"))

    assert manifest["dependencies"] == {"asl-validator": VALIDATOR_VERSION}
    assert lock["packages"]["node_modules/asl-validator"]["version"] == VALIDATOR_VERSION


def test_missing_node_says_to_run_make_venv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(AslValidatorUnavailableError, match=r"node is not on PATH.*make venv"):
        AslValidator().check_available()


def test_a_missing_validator_says_to_run_make_venv(tmp_path: Path) -> None:
    with pytest.raises(AslValidatorUnavailableError, match=r"asl-validator 4\.0\.0.*not installed.*make venv"):
        AslValidator(tmp_path).validate(VALID)


def test_the_emulator_does_not_start_without_the_validator(tmp_path: Path) -> None:
    environment = {**os.environ, "DDBMIGRATE_ASL_TOOLS_DIR": str(tmp_path)}

    result = subprocess.run(
        [sys.executable, "-m", "devtools.emulator", "--port", "0", "--ready-file", str(tmp_path / "ready.json")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode != 0
    assert "make venv" in result.stderr
    assert not (tmp_path / "ready.json").exists()


# --------------------------------------------------------------------------------------------------
# The emulator


def test_moto_alone_would_accept_the_planted_duplicate() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    # 0.0: moto's grammar wants a float there unless the emulator's patch is installed.
    AmazonStateLanguageParser.parse(json.dumps(two_maps(("Init", "CopyDone"), ("Init", "VerifyDone"), 0.0)))


def test_validate_state_machine_definition_fails_on_the_duplicate(aws: Aws) -> None:
    valid = aws.sfn.validate_state_machine_definition(definition=VALID, type="STANDARD")
    invalid = aws.sfn.validate_state_machine_definition(definition=DUPLICATE, type="STANDARD")

    assert (valid["result"], valid["diagnostics"]) == ("OK", [])
    assert invalid["result"] == "FAIL"
    assert invalid["diagnostics"] == [
        {
            "severity": "ERROR",
            "code": "DUPLICATE_STATE_NAME",
            "message": "Duplicate State name: Init",
            "location": "/States/Verify/ItemProcessor/States/Init",
        }
    ]


def test_create_state_machine_refuses_the_duplicate(aws: Aws) -> None:
    name = unique("duplicate")

    with pytest.raises(ClientError) as refused:
        aws.sfn.create_state_machine(name=name, definition=DUPLICATE, roleArn=aws.role_arn, type="STANDARD")

    error = refused.value.response
    assert error["Error"]["Code"] == "InvalidDefinition"
    assert error["Error"]["Message"] == DUPLICATE_MESSAGE
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert name not in [machine["name"] for machine in aws.sfn.list_state_machines()["stateMachines"]]


def test_update_state_machine_refuses_the_duplicate_and_keeps_the_definition(aws: Aws) -> None:
    created = aws.sfn.create_state_machine(name=unique("valid"), definition=VALID, roleArn=aws.role_arn)
    arn = created["stateMachineArn"]
    changed = two_maps(("CopyInit", "CopyDone"), ("VerifyInit", "VerifyDone"))
    changed["Comment"] = "still valid"

    with pytest.raises(ClientError) as refused:
        aws.sfn.update_state_machine(stateMachineArn=arn, definition=DUPLICATE)
    aws.sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(changed))

    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    assert refused.value.response["Error"]["Message"] == DUPLICATE_MESSAGE
    assert json.loads(aws.sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == changed


def test_several_findings_are_listed_like_step_functions_lists_them(aws: Aws) -> None:
    definition = two_maps(("Init", "Done"), ("Init", "Done"))

    with pytest.raises(ClientError) as refused:
        aws.sfn.create_state_machine(name=unique("two"), definition=json.dumps(definition), roleArn=aws.role_arn)

    assert refused.value.response["Error"]["Message"] == (
        "Invalid State Machine Definition: "
        "''DUPLICATE_STATE_NAME: Duplicate State name: Init at /States/Verify/ItemProcessor/States/Init', "
        "'DUPLICATE_STATE_NAME: Duplicate State name: Done at /States/Verify/ItemProcessor/States/Done''"
    )
