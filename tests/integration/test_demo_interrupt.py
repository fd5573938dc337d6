"""Ctrl-C in ``python -m devtools demo`` (``make demo``) stops everything the demo started and removes its temporary
files: the emulator and its functions, terraform and its provider plugins, the writer and workload threads.

The demo runs on its own embedded emulator, in a session of its own, and gets SIGINT as a terminal's Ctrl-C
delivers it: to every process of the foreground process group at once, so the emulator dies while the demo's
threads may still be talking to it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.emulator_only(reason="the demo interrupted here runs its own emulator")

# Bounds that only catch a hang; the demo stops within seconds when it works.
START_TIMEOUT_SECONDS = 600
EXIT_TIMEOUT_SECONDS = 60
GONE_TIMEOUT_SECONDS = 30


def proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent pid, session id, start time) of a process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name, in parentheses, may itself hold spaces and parentheses.
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), int(fields[3]), int(fields[19])


def all_processes() -> dict[int, tuple[str, int, int, int]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) is not None:
            found[int(entry.name)] = stat
    return found


class ProcessTracker:
    """Every process ever seen in the demo's tree or session, polled until stopped: a child that is orphaned
    when its parent dies is no longer in the tree afterwards, but it was seen in it before."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.seen: dict[int, tuple[int, str]] = {}  # pid -> (start time, what it was)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ProcessTracker:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(0.1)

    def poll(self) -> None:
        processes = all_processes()
        children: dict[int, list[int]] = {}
        for pid, (_, parent, _, _) in processes.items():
            children.setdefault(parent, []).append(pid)
        tree, stack = set(), [self.root]
        while stack:
            pid = stack.pop()
            tree.add(pid)
            stack.extend(children.get(pid, []))
        for pid, (_, _, session, start) in processes.items():
            if (pid in tree or session == self.root) and pid not in self.seen:
                self.seen[pid] = (start, _command(pid))

    def still_running(self) -> list[str]:
        left = []
        for pid, (start, command) in self.seen.items():
            stat = proc_stat(pid)
            if stat is not None and stat[3] == start and stat[0] != "Z":
                left.append(f"{pid}: {command}")
        return left


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError):
        return "?"


@pytest.mark.parametrize(
    ("phase", "markers", "items"),
    [
        # The first progress line of the load: the writer threads are busy when the Ctrl-C arrives. (A machine
        # that loads the demo's 50,000 items in under 10 s gets it right after the load; the checks still hold.)
        ("loading", ("items loaded (", "● loading"), 50_000),
        # terraform prints its plan when it starts creating resources.
        ("terraform apply", ("Plan: ",), 100),
    ],
    ids=["loading", "terraform-apply"],
)
def test_ctrl_c_stops_everything_the_demo_started(
    tmp_path: Path, phase: str, markers: tuple[str, ...], items: int
) -> None:
    # Not under tmp_path: terraform's provider plugins put Unix sockets in TMPDIR, whose paths must stay short.
    temp_dir = Path(tempfile.mkdtemp(prefix="demo-"))
    try:
        leftovers = interrupt_demo(tmp_path, temp_dir, phase, markers, items)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)

    assert leftovers == [], "temporary files left behind"


def interrupt_demo(tmp_path: Path, temp_dir: Path, phase: str, markers: tuple[str, ...], items: int) -> list[str]:
    """Start the demo, Ctrl-C it once it prints one of ``markers`` (in ``phase``) and check that it stopped
    everything; returns what it left in its temporary directory."""
    env = {**os.environ, "TMPDIR": str(temp_dir), "COLUMNS": "160"}
    command = [sys.executable, "-m", "devtools", "demo", "--items", str(items), "--segments", "2"]
    command += ["--workload-rate", "5", "--workdir", str(tmp_path / "work")]
    demo = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    output: list[str] = []
    reached = threading.Event()

    def read() -> None:
        assert demo.stdout is not None
        for line in demo.stdout:
            output.append(line)
            if any(marker in line for marker in markers):
                reached.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    with ProcessTracker(demo.pid) as tracker:
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not reached.wait(0.1):
                assert demo.poll() is None, f"the demo ended before {phase}:\n{''.join(output)}"
                assert time.monotonic() < deadline, f"the demo did not reach {phase}:\n{''.join(output)}"
            tracker.poll()
            os.killpg(demo.pid, signal.SIGINT)
            try:
                demo.wait(timeout=EXIT_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the demo was still running {EXIT_TIMEOUT_SECONDS} s after Ctrl-C:\n{''.join(output)}")
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait()
    # Tracking stops with the demo: once it is gone, its pid could be some other process's.
    reader.join(timeout=EXIT_TIMEOUT_SECONDS)
    transcript = "".join(output)

    deadline = time.monotonic() + GONE_TIMEOUT_SECONDS
    while (left := tracker.still_running()) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert demo.returncode != 0, transcript
    assert "interrupted" in transcript, transcript
    assert "Traceback" not in transcript, transcript
    assert len(tracker.seen) > 1, "no child process was ever seen: the tracker did not work"
    assert not left, "still running after the demo exited:\n" + "\n".join(left)
    return sorted(path.name for path in temp_dir.iterdir())
