"""The lint gates that are ours (not a tool's own): each passes good input and fails bad input, naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devtools import REPO_ROOT, check_json
from devtools.terraform_setup import terraform_environment


def test_the_json_check_names_every_file_that_does_not_parse(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"a": [1, 2]}')
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": [1, 2}')

    assert check_json.problems([str(good)]) == []
    (problem,) = check_json.problems([str(good), str(bad)])
    assert problem.startswith(f"{bad}: ")
    assert check_json.main([str(bad)]) == 1
    assert check_json.main([str(good)]) == 0


def validate(directory: Path) -> subprocess.CompletedProcess[str]:
    environment = terraform_environment()
    script = REPO_ROOT / "devtools" / "terraform_validate.sh"
    return subprocess.run([str(script), str(directory)], capture_output=True, text=True, env=environment, check=False)


def test_terraform_validate_fails_on_a_module_that_references_an_undeclared_variable(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('output "x" {\n  value = var.missing\n}\n')

    result = validate(tmp_path)

    assert result.returncode == 1
    assert "Reference to undeclared input variable" in result.stderr
    assert f"terraform validate failed in {tmp_path}" in result.stderr


def test_terraform_validate_passes_a_valid_module(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('variable "x" {\n  type = string\n}\n\noutput "x" {\n  value = var.x\n}\n')

    result = validate(tmp_path)

    assert result.returncode == 0, result.stderr


def test_the_pre_commit_config_that_make_lint_runs_is_valid() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(REPO_ROOT / ".pre-commit-config.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "pre-commit run --all-files" in (REPO_ROOT / "Makefile").read_text()
