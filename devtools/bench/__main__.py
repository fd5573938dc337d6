"""``python -m devtools.bench``: run the benchmark suite, print the tables, write the JSON."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from devtools import REPO_ROOT

from .cpu import profile
from .report import render
from .suite import CASES, FULL, QUICK, run_suite, write

DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results.json"
QUICK_OUTPUT = REPO_ROOT / "benchmarks" / "results-quick.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI smoke run: tiny sizes, under a minute")
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)} (default: all)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"JSON results file (default: {DEFAULT_OUTPUT.relative_to(REPO_ROOT)}, "
        f"or {QUICK_OUTPUT.relative_to(REPO_ROOT)} with --quick)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of the worker's copy path (case c) and exit"
    )
    args = parser.parse_args(argv)
    # Not a terminal (make, CI logs): rich would wrap the tables at 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 150)
    if args.profile:
        console.print(profile())
        return 0
    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    config = QUICK if args.quick else FULL
    output = args.output or (QUICK_OUTPUT if args.quick else DEFAULT_OUTPUT)
    try:
        document = run_suite(config, cases, progress=lambda message: console.print(f"[dim]{message}[/dim]"))
    except ValueError as error:
        parser.error(str(error))
    write(document, output)
    render(document, console)
    console.print(f"Results written to {output}")
    return 0 if document["lost_items"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
