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

    def output(self, name: str) -> Any:
        """A Terraform output; None when the feature behind it is disabled (the module outputs null)."""
        if name not in self.outputs:
            raise DeploymentNotFoundError(
                f"Terraform output {name!r} is not available; pass --terraform-dir of a root module "
                "that exposes the ddb-migrate outputs"
            )
        return self.outputs[name]


def terraform_outputs(terraform_dir: Path) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["terraform", f"-chdir={terraform_dir}", "output", "-json"],  # noqa: S607 - terraform from PATH
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise DeploymentNotFoundError(f"terraform output failed in {terraform_dir}: {result.stderr.strip()}")
    raw: dict[str, dict[str, Any]] = json.loads(result.stdout)
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


def load_deployment(state_machine: str | None, terraform_dir: Path | None) -> Deployment:
    outputs: dict[str, Any] = terraform_outputs(terraform_dir) if terraform_dir else {}
    if state_machine is None:
        state_machine = outputs.get("state_machine_arn")
    if not state_machine:
        raise DeploymentNotFoundError(
            "which migration? pass --state-machine (name or ARN, env STATE_MACHINE_ARN) "
            "or --terraform-dir (env DDB_MIGRATE_TERRAFORM_DIR)"
        )
    arn = resolve_state_machine_arn(state_machine)
    definition = json.loads(client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"])
    function = _worker_function_of(definition)
    config = client("lambda").get_function_configuration(FunctionName=function)
    env: dict[str, str] = config.get("Environment", {}).get("Variables", {})
    return Deployment(
        state_machine_arn=arn,
        worker_function=function,
        source_table=env["SOURCE_TABLE"],
        target_table=env["TARGET_TABLE"],
        state_table=env["STATE_TABLE"],
        default_total_segments=int(env.get("DEFAULT_TOTAL_SEGMENTS", "16")),
        outputs=outputs,
        worker_environment=dict(env),
    )
