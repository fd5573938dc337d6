"""Find what a deployed migration consists of, from its state machine or from Terraform outputs."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddbmigrate.aws import client


class DeploymentNotFoundError(RuntimeError):
    """The CLI cannot tell which migration to operate on."""


@dataclass(frozen=True)
class Deployment:
    state_machine_arn: str
    worker_function: str
    source_table: str
    target_table: str
    state_table: str
    default_total_segments: int
    outputs: dict[str, Any]
    # The worker Lambda's environment: verify builds the deployment's transform from TRANSFORM_STEPS/MODULE.
    worker_environment: dict[str, str] = field(default_factory=dict)
    # Where the outputs came from; None when the deployment was found from --state-machine alone.
    terraform_dir: Path | None = None

    def output(self, name: str) -> Any:
        """A Terraform output; None when the feature behind it is disabled (the module outputs null)."""
        if name not in self.outputs:
            raise DeploymentNotFoundError(self.missing_outputs_message(f"Terraform output {name!r}"))
        return self.outputs[name]

    def missing_outputs_message(self, what: str) -> str:
        """Why outputs are missing: with --terraform-dir given, telling the operator to pass it would mislead."""
        if self.terraform_dir is None:
            return (
                f"{what} comes from Terraform outputs: pass --terraform-dir (env DDB_MIGRATE_TERRAFORM_DIR) of the "
                "root module that deploys ddb-migrate; --state-machine alone does not tell it"
            )
        return (
            f"{what} is not among the Terraform outputs of {self.terraform_dir}: it is not deployed there, or the "
            'root module does not re-export the ddb-migrate module\'s outputs (output "migration" { value = '
            "module.<name> } does)"
        )


def terraform_outputs(terraform_dir: Path) -> dict[str, Any]:
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["terraform", f"-chdir={terraform_dir}", "output", "-json"],  # noqa: S607 - terraform from PATH
            check=False,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError as error:
        raise DeploymentNotFoundError(
            "--terraform-dir needs the terraform command on PATH to read the outputs; install it, or pass "
            "--state-machine instead"
        ) from error
    if result.returncode != 0:
        stderr = " ".join(result.stderr.split())
        raise DeploymentNotFoundError(f"terraform output failed in {terraform_dir}: {stderr}")
    try:
        raw: dict[str, dict[str, Any]] = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise DeploymentNotFoundError(f"terraform output -json in {terraform_dir} did not print JSON") from error
    outputs = {name: value["value"] for name, value in raw.items()}
    # A root module may expose the whole module as one object output instead of re-exporting each output.
    wrapped = outputs.get("migration")
    if isinstance(wrapped, dict):
        outputs = {**wrapped, **outputs}
    return outputs


def resolve_state_machine_arn(state_machine: str) -> str:
    if state_machine.startswith("arn:"):
        return state_machine
    paginator = client("stepfunctions").get_paginator("list_state_machines")
    for page in paginator.paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == state_machine:
                return str(machine["stateMachineArn"])
    raise DeploymentNotFoundError(f"no state machine named {state_machine!r} in this account and region")


def _worker_function_of(definition: dict[str, Any]) -> str:
    for state in definition["States"].values():
        if state.get("Type") == "Task" and "FunctionName" in state.get("Parameters", {}):
            return str(state["Parameters"]["FunctionName"])
    raise DeploymentNotFoundError("the state machine has no Lambda task; is it a ddb-migrate state machine?")


def _state_machine_and_outputs(state_machine: str | None, terraform_dir: Path | None) -> tuple[str, dict[str, Any]]:
    outputs: dict[str, Any] = terraform_outputs(terraform_dir) if terraform_dir else {}
    if state_machine is None:
        state_machine = outputs.get("state_machine_arn")
    if not state_machine:
        if terraform_dir is not None:
            raise DeploymentNotFoundError(
                f"the Terraform outputs of {terraform_dir} have no state_machine_arn: ddb-migrate is not deployed "
                "there (run terraform apply), or the root module does not re-export the module's outputs"
            )
        raise DeploymentNotFoundError(
            "which migration? pass --state-machine (name or ARN, env STATE_MACHINE_ARN) "
            "or --terraform-dir (env DDB_MIGRATE_TERRAFORM_DIR)"
        )
    return resolve_state_machine_arn(state_machine), outputs


def load_state_machine_arn(state_machine: str | None, terraform_dir: Path | None) -> str:
    """Only the state machine: enough for the commands that act on executions, without the worker's details."""
    return _state_machine_and_outputs(state_machine, terraform_dir)[0]


def load_deployment(state_machine: str | None, terraform_dir: Path | None) -> Deployment:
    arn, outputs = _state_machine_and_outputs(state_machine, terraform_dir)
    definition = json.loads(client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"])
    function = _worker_function_of(definition)
    config = client("lambda").get_function_configuration(FunctionName=function)
    env: dict[str, str] = config.get("Environment", {}).get("Variables", {})
    missing = [name for name in ("SOURCE_TABLE", "TARGET_TABLE", "STATE_TABLE") if name not in env]
    if missing:
        raise DeploymentNotFoundError(
            f"the worker function {function} of {arn} has no {', '.join(missing)} in its environment; "
            "is it a ddb-migrate state machine?"
        )
    return Deployment(
        state_machine_arn=arn,
        worker_function=function,
        source_table=env["SOURCE_TABLE"],
        target_table=env["TARGET_TABLE"],
        state_table=env["STATE_TABLE"],
        default_total_segments=int(env.get("DEFAULT_TOTAL_SEGMENTS", "16")),
        outputs=outputs,
        worker_environment=dict(env),
        terraform_dir=terraform_dir,
    )
