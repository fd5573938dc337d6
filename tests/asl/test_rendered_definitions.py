"""Every state machine definition the module renders passes asl-validator, as the emulator's gate would demand.

The definitions come from the plans of the run blocks that already exist in tests/terraform (mock provider, no
AWS account): ``terraform test -json -verbose`` prints each run's plan, and each planned ``aws_sfn_state_machine``
carries its rendered definition. The files chosen are those that plan an example or assert on the definition, so
a new variant there is checked without touching this test; the coverage tests fail when pre-warm on or off (and
each with the export states), or an example under examples/, is no longer among the rendered plans.

The integration suite checks the same definitions a second way: it applies the module and every example to the
emulator, whose CreateStateMachine runs the same validator.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import pytest

from devtools import REPO_ROOT
from devtools.emulator.asl_validation import AslValidator
from devtools.terraform_setup import init_lock, terraform_environment

TESTS_DIR = Path("tests") / "terraform"
EXAMPLES_DIR = REPO_ROOT / "examples"
# Terraform runs the plans one after the other; on a busy machine that takes minutes, which is no failure.
pytestmark = pytest.mark.timeout(3600)


@dataclass(frozen=True)
class RunBlock:
    file: str
    name: str
    source: str | None
    """The run's ``module { source }``; None for the repository's root module."""
    variables: dict[str, Any]
    """File-level ``variables`` overlaid with the run's own."""


@dataclass(frozen=True)
class Rendered:
    run: RunBlock
    address: str
    definition: str


def definition_test_files() -> list[Path]:
    """The tftest files that plan an example or assert on the definition, relative to the repository."""
    chosen = []
    for path in sorted((REPO_ROOT / TESTS_DIR).glob("*.tftest.hcl")):
        text = path.read_text(encoding="utf-8")
        if "state_machine_definition" in text or '"./examples/' in text:
            chosen.append(path.relative_to(REPO_ROOT))
    return chosen


def _merged(blocks: list[dict[str, Any]] | None) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in blocks or []:
        merged.update({key: value for key, value in block.items() if not key.startswith("__")})
    return merged


def _unquoted(value: Any) -> Any:
    return value.strip('"') if isinstance(value, str) else value


def run_blocks(path: Path) -> dict[str, RunBlock]:
    with (REPO_ROOT / path).open(encoding="utf-8") as handle:
        document = hcl2.load(handle)
    file_variables = _merged(document.get("variables"))
    blocks = {}
    for entry in document.get("run", []):
        for quoted_name, body in entry.items():
            name = _unquoted(quoted_name)
            modules = body.get("module") or [{}]
            source = _unquoted(modules[0].get("source"))
            variables = {**file_variables, **_merged(body.get("variables"))}
            blocks[name] = RunBlock(str(path), name, source, variables)
    return blocks


def _plans(command: list[str], environment: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The JSON messages terraform prints, one per line; a plan line carries the provider schema (megabytes)."""
    with (
        tempfile.TemporaryFile("w+") as stderr,
        subprocess.Popen(
            command, cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, stderr=stderr, text=True
        ) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip():
                yield json.loads(line)
        process.wait()
        stderr.seek(0)
        # 1 is a failed assertion somewhere, which tests/terraform reports; only a broken run is ours to report.
        if process.returncode not in (0, 1):
            raise AssertionError(f"{' '.join(command)} failed ({process.returncode}):\n{stderr.read()}")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[Rendered]:
    files = definition_test_files()
    blocks = {(str(path), name): block for path in files for name, block in run_blocks(path).items()}
    # A data directory of our own: the repository's .terraform belongs to whoever else runs terraform there.
    environment = {**terraform_environment(), "TF_DATA_DIR": str(tmp_path_factory.mktemp("tf-data"))}
    with init_lock():
        subprocess.run(
            ["terraform", "init", "-input=false", "-backend=false", f"-test-directory={TESTS_DIR}"],
            cwd=REPO_ROOT,
            env=environment,
            check=True,
            capture_output=True,
        )
    command = ["terraform", "test", f"-test-directory={TESTS_DIR}", "-json", "-verbose"]
    command += [f"-filter={path}" for path in files]
    found = []
    for message in _plans(command, environment):
        if message.get("type") != "test_plan":
            continue
        block = blocks[(message["@testfile"], message["@testrun"])]
        for change in message["test_plan"].get("resource_changes", []):
            after = change.get("change", {}).get("after") or {}
            if change.get("type") == "aws_sfn_state_machine" and isinstance(after.get("definition"), str):
                found.append(Rendered(block, change["address"], after["definition"]))
    return found


def test_every_rendered_definition_passes_the_asl_validator(rendered: list[Rendered]) -> None:
    validator = AslValidator()
    try:
        refused = [
            f"{item.run.file} run {item.run.name!r}, {item.address}: {'; '.join(map(str, diagnostics))}"
            for item in rendered
            if (diagnostics := validator.validate(item.definition))
        ]
    finally:
        validator.close()

    assert rendered, "no plan rendered a state machine definition"
    assert refused == [], "definitions Step Functions would refuse:\n" + "\n".join(refused)


def test_the_module_is_rendered_with_and_without_prewarm(rendered: list[Rendered]) -> None:
    variants = {
        bool((item.run.variables.get("prewarm") or {}).get("enabled", False))
        for item in rendered
        if item.run.source is None
    }

    assert variants == {False, True}


def test_the_module_is_rendered_with_export_with_and_without_prewarm(rendered: list[Rendered]) -> None:
    """The export states (export.enabled) are validated beside the capacity states and without them."""
    variants = {
        bool((item.run.variables.get("prewarm") or {}).get("enabled", False))
        for item in rendered
        if item.run.source is None and (item.run.variables.get("export") or {}).get("enabled", False)
    }

    assert variants == {False, True}


def test_every_example_is_rendered(rendered: list[Rendered]) -> None:
    examples = sorted(path.name for path in EXAMPLES_DIR.iterdir() if path.is_dir())
    checked = {item.run.source.removeprefix("./examples/") for item in rendered if item.run.source}

    assert [example for example in examples if example not in checked] == []
