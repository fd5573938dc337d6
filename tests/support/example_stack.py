"""Apply one of the repository's ``examples/`` as its README does: its own files, plain terraform init + apply.

The example's ``*.tf`` files are copied into a directory of their own and their ``source = "../../"`` is pointed
at this checkout, so that state, lock file and ``.terraform`` stay out of the repository, several tests can apply
the same example at once, and ``ddb-migrate --terraform-dir`` works on the copy as on a user's root module. The
inputs go into ``terraform.tfvars.json``, where a user would put them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from devtools import REPO_ROOT
from devtools.stack import Stack

EXAMPLES_DIR = REPO_ROOT / "examples"
# How every example calls the module: the repository root, two levels up.
_MODULE_SOURCE = re.compile(r'^(\s*source\s*=\s*)"\.\./\.\./?"', re.MULTILINE)


@dataclass
class ExampleStack(Stack):
    """``module_inputs`` are the example's own variables."""

    example: str = field(kw_only=True)

    def write(self) -> None:
        example_dir = EXAMPLES_DIR / self.example
        files = sorted(example_dir.glob("*.tf"))
        if not files:
            raise FileNotFoundError(f"{example_dir} holds no *.tf files")
        self.directory.mkdir(parents=True, exist_ok=True)
        # A relative path keeps it a local module, used in place as the example uses it, rather than a copy.
        module_source = os.path.relpath(self.module_source, self.directory)
        calls = 0
        for path in files:
            text, count = _MODULE_SOURCE.subn(rf'\g<1>"{module_source}"', path.read_text(encoding="utf-8"))
            calls += count
            (self.directory / path.name).write_text(text, encoding="utf-8")
        if calls == 0:
            raise ValueError(f'{example_dir} has no module call with source = "../../"')
        (self.directory / "terraform.tfvars.json").write_text(json.dumps(self.module_inputs), encoding="utf-8")

    def outputs(self) -> dict[str, Any]:
        raw: dict[str, dict[str, Any]] = json.loads(self.terraform("output", "-json").stdout)
        return {name: value["value"] for name, value in raw.items()}
