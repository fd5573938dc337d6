"""``python -m devtools.check_json FILE...``: every file parses as JSON; each one that does not is named."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def problems(paths: list[str]) -> list[str]:
    found = []
    for name in paths:
        try:
            json.loads(Path(name).read_text(encoding="utf-8"))
        except (ValueError, OSError) as error:
            found.append(f"{name}: {error}")
    return found


def main(argv: list[str]) -> int:
    found = problems(argv)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
