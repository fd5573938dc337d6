"""Apply this project's Terraform module from Python: used by the demo, the integration tests and the benchmarks.

A stack is a throwaway root module in its own directory that instantiates the module (or an example) with the
given inputs and exposes all of its outputs, applied with plain ``terraform apply``. The provider reads the
endpoint from ``AWS_ENDPOINT_URL``, so the same code targets the embedded emulator, LocalStack or AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools import REPO_ROOT
from devtools.terraform_setup import init_lock, terraform_environment

# An interrupted terraform first gets a Ctrl-C: it asks its providers to stop and records what it applied. It
# then waits for the operations in flight, which against an endpoint that is gone (the same Ctrl-C stops the
# emulator) are retrying; a second Ctrl-C makes it give up on them and exit. Past both, it is killed.
INTERRUPT_GRACE_SECONDS = 3.0
SECOND_INTERRUPT_GRACE_SECONDS = 7.0


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

    def terraform(
        self, *args: str, check: bool = True, on_line: Callable[[str], None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run terraform in the stack's directory; ``on_line`` sees each line of its stdout as it comes.

        Terraform runs in a process group of its own, so a Ctrl-C in the terminal reaches only this process,
        which then stops terraform and its provider plugins as a group (see ``_interrupt``). Its temporary
        files (the plugins' sockets) go to a directory of its own that is removed afterwards, even when it had
        to be killed.
        """
        argv = ["terraform", f"-chdir={self.directory}", *args]
        # A short name: the plugins' Unix socket paths, under it, must stay within about 100 characters.
        serialized = init_lock() if args[:1] == ("init",) else contextlib.nullcontext()
        with serialized, tempfile.TemporaryDirectory(prefix="tf-", ignore_cleanup_errors=True) as scratch:
            returncode, stdout, stderr = _run(argv, {**self.env, "TMPDIR": scratch}, on_line)
        result = subprocess.CompletedProcess(argv, returncode, stdout, stderr)
        if check and result.returncode != 0:
            raise TerraformError(f"terraform {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def write(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "main.tf").write_text(self._render(), encoding="utf-8")

    def apply(self, on_line: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Init and apply; ``on_line`` sees the output of both, for progress."""
        self.write()
        self.terraform("init", "-input=false", "-no-color", on_line=on_line)
        self.terraform("apply", "-input=false", "-auto-approve", "-no-color", on_line=on_line)
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


def _run(argv: list[str], env: dict[str, str], on_line: Callable[[str], None] | None) -> tuple[int, str, str]:
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None  # noqa: S101 - Popen with stdout=PIPE
    assert process.stderr is not None  # noqa: S101 - Popen with stderr=PIPE
    stderr: list[str] = []
    stderr_reader = threading.Thread(target=stderr.extend, args=(process.stderr,), daemon=True)
    stderr_reader.start()
    stdout: list[str] = []
    try:
        for line in process.stdout:
            stdout.append(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))
        process.wait()
    except BaseException:
        _interrupt(process)
        raise
    finally:
        stderr_reader.join(timeout=INTERRUPT_GRACE_SECONDS + SECOND_INTERRUPT_GRACE_SECONDS)
        process.stdout.close()
        process.stderr.close()
    return process.returncode, "".join(stdout), "".join(stderr)


def _interrupt(process: subprocess.Popen[str]) -> None:
    """Stop terraform as a user would, with Ctrl-C and then a second one; whatever is left of its process group
    after that (the provider plugins included) is killed. A Ctrl-C of our own that cuts a wait short goes
    straight to the kill."""
    try:
        for grace in (INTERRUPT_GRACE_SECONDS, SECOND_INTERRUPT_GRACE_SECONDS):
            if process.poll() is not None:
                return
            os.killpg(process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace)
    finally:
        # Only while terraform is unreaped is the group id certainly still its own.
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
