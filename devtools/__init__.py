"""Dev tooling that is not shipped: the embedded AWS emulator, the fault model, the benchmarks and the demo.

It runs only from a checkout, so it may locate the repository; the shipped CLI (``scripts/ddbmigrate``) never does.
"""

from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
