"""Run one of this project's local servers (the emulator, the DynamoDB model) in a child process."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_SECONDS = 60.0


@contextmanager
def child_server(
    module: str, arguments: Sequence[str] = (), *, what: str, log_path: Path | None = None
) -> Iterator[str]:
    """``python -m <module> --port 0 --ready-file F <arguments>``; yields the endpoint the server writes to F.

    The server picks a free port itself and announces it in the ready file, so nothing races for a port. The
    child is stopped when the block ends, and killed if it does not stop within 20 s.
    """
    work = Path(tempfile.mkdtemp(prefix=f"ddb-migrate-{module.rsplit('.', 1)[-1]}-"))
    ready_file = work / "ready.json"
    log_path = log_path or work / "server.log"
    command = [sys.executable, "-m", module, "--port", "0", "--ready-file", str(ready_file), *arguments]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 - our own module
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not ready_file.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the {what} did not start; its log is {log_path}")
                time.sleep(0.05)
            yield str(json.loads(ready_file.read_text())["endpoint"])
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
