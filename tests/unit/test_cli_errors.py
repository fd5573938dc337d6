"""The exit code convention: 0 ok, 1 the command's negative verdict, 2 could not run, as one readable line.

The unreachable endpoint and missing credentials cases run real botocore against a closed loopback port or an
empty configuration, outside moto: that is exactly what an operator's pipeline meets.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ddbmigrate import cli
from ddbmigrate.aws import client
from tests.support.deployment import Deployed, deploy, fake_terraform

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:ddb-migrate"
# Port 9 (discard) on loopback: nothing listens, so every connection is refused at once.
CLOSED_PORT = "http://127.0.0.1:9"


@pytest.fixture
def fresh_clients() -> None:
    client.cache_clear()


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def one_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.usefixtures("fresh_clients")
@pytest.mark.parametrize(
    "command",
    [
        ["verify", "--state-machine", MACHINE],
        ["cutover-check", "--state-machine", MACHINE],
        ["status", "run-1", "--state-machine", MACHINE],
        ["runs", "--state-machine", "ddb-migrate"],
    ],
)
def test_an_unreachable_endpoint_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", CLOSED_PORT)

    result = invoke(*command)

    assert result.exit_code == 2
    line = one_line(result)
    assert f"cannot reach AWS at {CLOSED_PORT}" in line
    assert f"AWS_ENDPOINT_URL is {CLOSED_PORT}" in line


@pytest.mark.usefixtures("fresh_clients")
@pytest.mark.parametrize("command", [["verify"], ["cutover-check"], ["run", "--no-follow"], ["stop", "run-1"]])
def test_missing_credentials_are_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("", encoding="utf-8")
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    # The instance metadata service is the last place botocore looks; this is not an EC2 instance.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    result = invoke(*command, "--state-machine", MACHINE)

    assert result.exit_code == 2
    assert "no AWS credentials found" in one_line(result)


@pytest.mark.usefixtures("fresh_clients")
def test_debug_adds_the_traceback_and_keeps_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", CLOSED_PORT)

    result = invoke("--debug", "status", "run-1", "--state-machine", MACHINE)

    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert "EndpointConnectionError" in result.stderr
    assert result.output.strip().splitlines()[-1].startswith("Error: cannot reach AWS")


def test_a_bug_is_exit_2_with_a_hint_to_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("something odd\nover two lines")

    monkeypatch.setattr(cli, "load_deployment", broken)

    result = invoke("verify", "--state-machine", MACHINE)

    assert result.exit_code == 2
    assert one_line(result) == (
        "Error: unexpected RuntimeError: something odd over two lines (rerun with --debug for the traceback)"
    )


def test_no_deployment_given_is_exit_2() -> None:
    result = invoke("verify")

    assert result.exit_code == 2
    assert "which migration? pass --state-machine" in one_line(result)


@pytest.mark.usefixtures("aws")
def test_a_state_machine_that_does_not_exist_is_exit_2() -> None:
    result = invoke("run", "--state-machine", "nope")

    assert result.exit_code == 2
    assert "no state machine named 'nope'" in one_line(result)


@pytest.mark.usefixtures("aws")
def test_a_terraform_dir_without_the_module_says_it_is_not_deployed_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed: Deployed = deploy(tmp_path, monkeypatch)
    fake_terraform(tmp_path, monkeypatch, {"unrelated": "x"})

    result = deployed.invoke("status")

    assert result.exit_code == 2
    line = one_line(result)
    assert "have no state_machine_arn: ddb-migrate is not deployed there" in line
    assert "pass --terraform-dir" not in line


def test_a_bad_value_from_an_environment_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOTAL_SEGMENTS", "0")

    result = invoke("run", "--state-machine", MACHINE)

    assert result.exit_code == 2
    assert "Invalid value for environment variable TOTAL_SEGMENTS (read for '--total-segments')" in result.output


def test_a_bad_value_on_the_command_line_names_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOTAL_SEGMENTS", "8")

    result = invoke("run", "--total-segments", "0", "--state-machine", MACHINE)

    assert result.exit_code == 2
    assert "Invalid value for '--total-segments'" in result.output
    assert "TOTAL_SEGMENTS" not in result.output


@pytest.mark.usefixtures("aws")
def test_json_dash_writes_the_document_to_stdout_and_the_text_to_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True)

    result = deployed.invoke("replication", "status", "--json", "-")

    assert result.exit_code == 0, result.output
    assert result.stdout.lstrip().startswith("{")
    assert '"dlq"' in result.stdout
    assert "dead-letter queue" in result.stderr
    assert not (Path.cwd() / "-").exists()
