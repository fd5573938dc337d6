"""Run the embedded emulator in a child process and point this process's AWS clients at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_SECONDS = 60
EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@contextmanager
def environment(overrides: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def running_emulator(log_path: Path | None = None) -> Iterator[str]:
    """Start ``python -m ddbmigrate.emulator``; yields its endpoint with AWS_* variables set for it."""
    work = Path(tempfile.mkdtemp(prefix="ddb-migrate-emulator-"))
    ready_file = work / "ready.json"
    log_path = log_path or work / "emulator.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own module, fixed argv
            [sys.executable, "-m", "ddbmigrate.emulator", "--port", "0", "--ready-file", str(ready_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not ready_file.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the emulator did not start; its log is {log_path}")
                time.sleep(0.1)
            endpoint = str(json.loads(ready_file.read_text())["endpoint"])
            with environment({"AWS_ENDPOINT_URL": endpoint, **EMULATOR_CREDENTIALS}):
                yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
