"""Apply this project's Terraform module from Python: used by the demo, the integration tests and the benchmarks.

A stack is a throwaway root module in its own directory that instantiates the module (or an example) with the
given inputs and exposes all of its outputs, applied with plain ``terraform apply``. The provider reads the
endpoint from ``AWS_ENDPOINT_URL``, so the same code targets the embedded emulator, LocalStack or AWS.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddbmigrate.terraform_setup import REPO_ROOT, terraform_environment


class TerraformError(RuntimeError):
    """A terraform command failed; the message carries its output."""


@dataclass
class Stack:
    directory: Path
    module_inputs: Mapping[str, Any]
    module_source: Path = REPO_ROOT
    extra_hcl: str = ""
    env: dict[str, str] = field(default_factory=terraform_environment)

    def _render(self) -> str:
        inputs = "\n".join(f"  {key} = {json.dumps(value)}" for key, value in self.module_inputs.items())
        return (
            'provider "aws" {}\n\n'
            f'module "migration" {{\n  source = "{self.module_source}"\n{inputs}\n}}\n\n'
            'output "migration" {\n  value = module.migration\n}\n'
            f"{self.extra_hcl}"
        )

    def terraform(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["terraform", f"-chdir={self.directory}", *args],  # noqa: S607 - terraform from PATH
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise TerraformError(f"terraform {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def write(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "main.tf").write_text(self._render(), encoding="utf-8")

    def apply(self) -> dict[str, Any]:
        self.write()
        self.terraform("init", "-input=false", "-no-color")
        self.terraform("apply", "-input=false", "-auto-approve", "-no-color")
        return self.outputs()

    def plan(self) -> subprocess.CompletedProcess[str]:
        self.write()
        self.terraform("init", "-input=false", "-no-color")
        return self.terraform("plan", "-input=false", "-no-color", check=False)

    def outputs(self) -> dict[str, Any]:
        raw = json.loads(self.terraform("output", "-json").stdout)
        return dict(raw["migration"]["value"])

    def destroy(self) -> None:
        self.terraform("destroy", "-input=false", "-auto-approve", "-no-color")
