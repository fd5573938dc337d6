"""``make test-terraform``'s split of the test files between processes."""

from __future__ import annotations

from pathlib import Path

from devtools import REPO_ROOT
from devtools.terraform_tests import TEST_DIRECTORY, balanced


def runs(count: int) -> str:
    return "".join(f'run "r{index}" {{\n  command = plan\n}}\n' for index in range(count))


def test_files_are_split_by_their_runs_and_each_runs_once(tmp_path: Path) -> None:
    sizes = {"a": 9, "b": 5, "c": 4, "d": 1, "e": 1}
    files = []
    for name, count in sizes.items():
        file = tmp_path / f"{name}.tftest.hcl"
        file.write_text(runs(count))
        files.append(file)
    groups = balanced(files, 2)
    assert sorted(file.name for group in groups for file in group) == sorted(file.name for file in files)
    assert sorted(sum(sizes[file.stem.split(".")[0]] for file in group) for group in groups) == [10, 10]
    assert balanced(files, 1) == [sorted(files)]
    assert balanced(files[:1], 3) == [files[:1]]


def test_every_test_file_of_the_module_is_in_a_group() -> None:
    files = sorted((REPO_ROOT / TEST_DIRECTORY).glob("*.tftest.hcl"))
    assert len(files) > 10
    assert sorted(file for group in balanced(files, 2) for file in group) == files
