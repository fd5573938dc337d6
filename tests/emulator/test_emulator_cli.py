"""``python -m devtools.emulator``: ready file, endpoint on stdout, clean shutdown on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from moto.awslambda.models import LambdaFunction
from moto.dynamodb.models.table import Table

from devtools.emulator import start_emulator
from tests.support.emulator import Aws
from tests.support.waits import wait_until


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_module_runs_until_sigterm_and_leaves_nothing_running(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready" / "emulator.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.emulator", "--port", "0", "--ready-file", str(ready_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_until(lambda: ready_file.exists() or process.poll() is not None, timeout=60, what="ready file")
        assert process.poll() is None, "the emulator exited during start-up"
        endpoint = json.loads(ready_file.read_text())["endpoint"]
        assert endpoint.startswith("http://127.0.0.1:")
        aws = Aws(endpoint)
        function = aws.deploy(("basic_function.py",), "basic_function.handler")
        error, payload = aws.invoke(function, {})
        assert error is None
        worker_pid = int(payload["pid"])
        assert alive(worker_pid)

        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0
    assert stdout.strip() == endpoint
    assert not ready_file.exists()
    assert not alive(worker_pid), "the Lambda worker process outlived the emulator"


def test_stop_gives_moto_back_its_own_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_PORT", "5999")
    original_invoke = LambdaFunction.__dict__["invoke"]

    emulator = start_emulator()
    try:
        assert LambdaFunction.__dict__["invoke"] is not original_invoke
        assert isinstance(Table.__dict__["lambda_event_source_mappings"], property)
        assert os.environ["MOTO_PORT"] == str(emulator.port)
    finally:
        emulator.stop()

    assert LambdaFunction.__dict__["invoke"] is original_invoke
    assert "lambda_event_source_mappings" not in Table.__dict__
    assert os.environ["MOTO_PORT"] == "5999"
