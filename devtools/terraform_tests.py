"""``make test-terraform``: every ``tests/terraform/*.tftest.hcl`` file, in parallel processes.

``terraform test`` runs its files one after the other, each run a plan of the whole module, and one plan keeps
about one core busy. Two processes, each given about half of the runs (files balanced by their run count), take
little more than half as long on a machine with two cores or more. Each process's output is printed whole when it
ends, so the files' lines do not interleave; the exit status is non-zero if any process failed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from devtools import REPO_ROOT

TEST_DIRECTORY = Path("tests/terraform")
_RUN = re.compile(r"^run\s+\"", re.MULTILINE)


def balanced(files: list[Path], groups: int) -> list[list[Path]]:
    """The files in ``groups`` lists of about equal run counts: each next-largest file to the lightest list."""
    buckets: list[list[Path]] = [[] for _ in range(groups)]
    weights = [0] * groups
    for weight, file in sorted(((len(_RUN.findall(f.read_text())), f) for f in files), reverse=True):
        lightest = weights.index(min(weights))
        buckets[lightest].append(file)
        weights[lightest] += max(weight, 1)
    return [sorted(bucket) for bucket in buckets if bucket]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--terraform", default=os.environ.get("TERRAFORM", "terraform"))
    options = parser.parse_args(argv)
    files = sorted((REPO_ROOT / TEST_DIRECTORY).glob("*.tftest.hcl"))
    processes = [
        subprocess.Popen(  # noqa: S603 - terraform and our own test files, no shell
            [
                options.terraform,
                "test",
                f"-test-directory={TEST_DIRECTORY}",
                *(f"-filter={TEST_DIRECTORY / file.name}" for file in group),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for group in balanced(files, max(options.processes, 1))
    ]
    failed = False
    for process in processes:
        output, _ = process.communicate()
        sys.stdout.write(output)
        failed = failed or process.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
