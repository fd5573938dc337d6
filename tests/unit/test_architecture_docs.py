"""docs/ARCHITECTURE.md's layout table names every part of the repository, and only parts that exist."""

from __future__ import annotations

import re
import subprocess

from devtools import REPO_ROOT

# The folders whose every subfolder is a part of its own (a module, a package, a kind of test).
PARTS_WITH_SUBFOLDERS = ("modules", "lambda_src", "scripts", "devtools", "tests", "examples")


def layout_paths() -> set[str]:
    text = (REPO_ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Repository layout", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {path.rstrip("/") for row in rows for path in re.findall(r"`([^`]+)`", row.split("|")[1])}


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.splitlines() if (REPO_ROOT / name).exists()]


def parts() -> set[str]:
    found = set()
    for name in tracked_files():
        pieces = name.split("/")
        found.add(pieces[0])
        if pieces[0] in PARTS_WITH_SUBFOLDERS and len(pieces) > 2:
            found.add("/".join(pieces[:2]))
    return found - set(PARTS_WITH_SUBFOLDERS) - {".gitignore"}


def test_every_path_the_layout_names_exists() -> None:
    missing = sorted(path for path in layout_paths() if not (REPO_ROOT / path).exists())

    assert missing == []


def test_every_part_of_the_repository_is_in_the_layout() -> None:
    unlisted = sorted(parts() - layout_paths())

    assert unlisted == []
