"""Run the embedded emulator in a child process and point this process's AWS clients at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ddbmigrate.child_server import child_server

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
    with (
        child_server("ddbmigrate.emulator", what="emulator", log_path=log_path) as endpoint,
        environment({"AWS_ENDPOINT_URL": endpoint, **EMULATOR_CREDENTIALS}),
    ):
        yield endpoint
