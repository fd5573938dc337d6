"""Run the embedded emulator in a child process and point this process's AWS clients at it."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from devtools.child_server import child_server

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
    """Start ``python -m devtools.emulator``; yields its endpoint with AWS_* variables set for it."""
    with (
        child_server("devtools.emulator", what="emulator", log_path=log_path) as endpoint,
        environment({"AWS_ENDPOINT_URL": endpoint, **EMULATOR_CREDENTIALS}),
    ):
        yield endpoint


def emulator_exports(endpoint: str) -> list[str]:
    """The shell lines that point the AWS CLI, boto3 and Terraform at an emulator on ``endpoint``."""
    variables = {"AWS_ENDPOINT_URL": endpoint, **EMULATOR_CREDENTIALS}
    # AWS_REGION repeats AWS_DEFAULT_REGION for this process's clients; every tool reads the latter.
    return [f"export {name}={value}" for name, value in variables.items() if name != "AWS_REGION"]


def emulator_banner(endpoint: str) -> str:
    return "\n".join(
        [
            f"AWS emulator listening on {endpoint}. In another shell, point the AWS CLI, boto3 and Terraform at it:",
            "",
            *(f"  {line}" for line in emulator_exports(endpoint)),
            "",
            "Its state (tables, queues, functions, state machines, executions) lives in memory only: everything is",
            "gone when it stops. Stop it with Ctrl-C.",
        ]
    )


@contextmanager
def announce_when_ready(ready_file: Path | None, announce: Callable[[str], None]) -> Iterator[Path]:
    """Yields the ready file to hand to the emulator; once the emulator writes it, ``announce`` gets the banner.

    The emulator announces itself through its ready file (and a bare endpoint on stdout, which scripts read), so
    the banner for people is printed from here, without the emulator knowing about it.
    """
    temporary: Path | None = None
    watched = ready_file
    if watched is None:
        temporary = Path(tempfile.mkdtemp(prefix="ddb-migrate-emulator-"))
        watched = temporary / "ready.json"
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            if watched.exists():
                announce(emulator_banner(str(json.loads(watched.read_text(encoding="utf-8"))["endpoint"])))
                return

    watcher = threading.Thread(target=watch, name="emulator-banner", daemon=True)
    watcher.start()
    try:
        yield watched
    finally:
        done.set()
        watcher.join()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
