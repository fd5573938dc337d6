"""Run one of this project's local servers (the emulator, the DynamoDB model) in a child process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_SECONDS = 60.0
# The emulator stops its functions and pollers on SIGTERM within a second or two; past this, it is killed.
STOP_TIMEOUT_SECONDS = 10.0


@contextmanager
def child_server(
    module: str, arguments: Sequence[str] = (), *, what: str, log_path: Path | None = None
) -> Iterator[str]:
    """``python -m <module> --port 0 --ready-file F <arguments>``; yields the endpoint the server writes to F.

    The server picks a free port itself and announces it in the ready file, so nothing races for a port. The
    child is stopped when the block ends, and killed if it does not stop within STOP_TIMEOUT_SECONDS; the
    temporary directory of its ready file (and default log) is removed.
    """
    work = Path(tempfile.mkdtemp(prefix=f"ddb-migrate-{module.rsplit('.', 1)[-1]}-"))
    try:
        ready_file = work / "ready.json"
        kept_log = log_path
        log_path = log_path or work / "server.log"
        command = [sys.executable, "-m", module, "--port", "0", "--ready-file", str(ready_file), *arguments]
        with log_path.open("w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 - our own module
            try:
                deadline = time.monotonic() + START_TIMEOUT_SECONDS
                while not ready_file.exists():
                    if process.poll() is not None or time.monotonic() > deadline:
                        # The default log goes with the temporary directory, so its end goes into the message.
                        where = f"its log is {kept_log}" if kept_log else "it logged:\n" + _tail(log_path)
                        raise RuntimeError(f"the {what} did not start; {where}")
                    time.sleep(0.05)
                yield str(json.loads(ready_file.read_text())["endpoint"])
            finally:
                stop_process(process, STOP_TIMEOUT_SECONDS)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds, or at once when a second Ctrl-C cuts the wait short."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
