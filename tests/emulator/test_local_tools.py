"""The local tooling around the demo: interruptible loading and terraform, progress lines, the emulator's
banner, a half-built virtualenv, and the example READMEs' offline ``terraform init``."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from rich.console import Console

from devtools import demo as demo_module
from devtools import local, stack, tables
from devtools.datagen import generate_items
from devtools.demo import Demo, DemoReport
from devtools.stack import Stack
from migration_core.retry import RetryPolicy
from tests.support.waits import wait_until

ROOT = Path(__file__).resolve().parents[2]
# Only catches a hang: everything below finishes in well under a second when it works.
HANG_SECONDS = 30.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    wait_until(condition, what, timeout=HANG_SECONDS, interval=0.01)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.fixture
def interrupt_main() -> Iterator[Callable[[], None]]:
    """A function any thread can call to raise KeyboardInterrupt in the main thread, as Ctrl-C does.

    A real signal (not _thread.interrupt_main) so that a main thread blocked on a lock wakes up; SIGUSR1 rather
    than SIGINT so that nothing outside this test can mistake it for the user's Ctrl-C.
    """
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be installed from the main thread")

    def raise_interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGUSR1, raise_interrupt)
    main = threading.main_thread().ident
    assert main is not None
    try:
        yield lambda: signal.pthread_kill(main, signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, previous)


# ------------------------------------------------------------------------------------------------------------
# Loading: Ctrl-C while every writer thread is backing off must not wait out their retries
# ------------------------------------------------------------------------------------------------------------


def main_thread_waits_for_the_writer() -> bool:
    """Whether the main thread is inside the writer's wait for its chunks (every chunk submitted)."""
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    while frame is not None:
        if frame.f_code.co_name == "wait" and "concurrent" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


class ThrottledForever:
    """A DynamoDB client whose every BatchWriteItem is throttled, like a table with no capacity (or a dead
    endpoint: both are retryable). Once the main thread waits for the writer, it interrupts it, once."""

    def __init__(self, interrupt: Callable[[], None]) -> None:
        self.calls = 0
        self._interrupt = interrupt
        self._interrupted = False
        self._lock = threading.Lock()

    def batch_write_item(self, **_: Any) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
            interrupt = not self._interrupted and main_thread_waits_for_the_writer()
            self._interrupted = self._interrupted or interrupt
        if interrupt:
            self._interrupt()
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}}, "BatchWriteItem"
        )


def test_an_interrupted_load_stops_its_writer_threads_at_once(
    monkeypatch: pytest.MonkeyPatch, interrupt_main: Callable[[], None]
) -> None:
    fake = ThrottledForever(interrupt_main)
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: fake)
    monkeypatch.setattr(tables, "key_schema_of", lambda table: {"pk": "S", "sk": "N"})

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        tables.load_items("orders", generate_items(5_000))
    elapsed = time.monotonic() - started

    # Uninterrupted, every chunk in the writer would make all of its throttled calls (ten, paced and backed off
    # for up to 20 s each) before the load could return; interrupted, each stops at its next backoff or turn.
    chunks_in_writer = 8 * tables.LOAD_SLICE_CHUNKS_PER_THREAD
    assert fake.calls < chunks_in_writer * RetryPolicy().max_attempts // 2
    assert elapsed < HANG_SECONDS
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("batch-write")]


def test_load_reports_its_progress_per_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    class Accepting:
        def batch_write_item(self, RequestItems: dict[str, list[Any]], **_: Any) -> dict[str, Any]:  # noqa: N803
            return {"UnprocessedItems": {}}

    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: Accepting())
    monkeypatch.setattr(tables, "key_schema_of", lambda table: {"pk": "S", "sk": "N"})
    seen: list[int] = []

    written = tables.load_items("orders", generate_items(2_000), concurrency=2, progress=seen.append)

    slice_size = 2 * tables.LOAD_SLICE_CHUNKS_PER_THREAD * 25
    assert written == 2_000
    assert seen == [*range(slice_size, 2_000, slice_size), 2_000]


# ------------------------------------------------------------------------------------------------------------
# terraform: interrupted, it is stopped with its provider plugins
# ------------------------------------------------------------------------------------------------------------

# Stands in for terraform: starts a "provider" that, like a go-plugin provider, ignores SIGINT (a background job
# of a non-interactive shell does) and leaves a socket directory in TMPDIR, prints the provider's pid and the
# directory, and waits. On SIGINT it stops its provider and exits, as terraform does, unless told to ignore SIGINT
# (a terraform that hangs while stopping).
FAKE_TERRAFORM = """#!/usr/bin/env bash
sleep 300 &
provider=$!
mkdir "$TMPDIR/plugin1234"
if [[ "${FAKE_TERRAFORM_HANGS:-}" == 1 ]]; then
  trap '' INT
else
  trap 'kill "$provider"; exit 130' INT
fi
echo "provider $provider $TMPDIR/plugin1234"
while true; do sleep 0.05; done
"""


@pytest.mark.parametrize("hangs", [False, True], ids=["stops-on-sigint", "hangs-and-is-killed"])
def test_an_interrupted_terraform_is_stopped_with_its_providers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hangs: bool
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "terraform").write_text(FAKE_TERRAFORM)
    (bin_dir / "terraform").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_TERRAFORM_HANGS": "1" if hangs else ""}
    # The grace periods are what a hanging terraform costs; the test needs none of them.
    monkeypatch.setattr(stack, "INTERRUPT_GRACE_SECONDS", 0.2)
    monkeypatch.setattr(stack, "SECOND_INTERRUPT_GRACE_SECONDS", 0.2)
    providers: list[int] = []
    sockets: list[Path] = []

    def on_line(line: str) -> None:
        providers.append(int(line.split()[1]))
        sockets.append(Path(line.split()[2]))
        assert sockets[0].is_dir()
        raise KeyboardInterrupt  # the user's Ctrl-C, arriving while terraform runs

    with pytest.raises(KeyboardInterrupt):
        Stack(tmp_path, {}, env=env).terraform("apply", on_line=on_line)

    assert len(providers) == 1
    wait_for(lambda: not alive(providers[0]), "the provider to be gone")
    assert not sockets[0].parent.exists(), "terraform's temporary directory is removed"


def test_terraform_output_is_returned_and_failures_raise(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "terraform").write_text('#!/usr/bin/env bash\necho "out $*"\necho "err" >&2\nexit "${CODE:-0}"\n')
    (bin_dir / "terraform").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    lines: list[str] = []

    result = Stack(tmp_path, {}, env=env).terraform("plan", on_line=lines.append)

    assert (result.returncode, result.stdout, result.stderr) == (0, f"out -chdir={tmp_path} plan\n", "err\n")
    assert lines == [f"out -chdir={tmp_path} plan"]
    with pytest.raises(stack.TerraformError, match="terraform plan failed"):
        Stack(tmp_path, {}, env={**env, "CODE": "1"}).terraform("plan")


# ------------------------------------------------------------------------------------------------------------
# The demo's progress lines
# ------------------------------------------------------------------------------------------------------------


def make_demo(tmp_path: Path) -> tuple[Demo, io.StringIO]:
    output = io.StringIO()
    console = Console(file=output, force_terminal=False, width=200)
    return Demo(items=100, segments=1, workload_rate=1.0, workdir=tmp_path, console=console), output


class FakeStack:
    """Prints what terraform apply prints, then waits until the demo has reported progress."""

    directory = Path("stack")

    def __init__(self, output: io.StringIO) -> None:
        self._output = output

    def apply(self, on_line: Callable[[str], None] | None = None) -> dict[str, Any]:
        assert on_line is not None
        for line in [
            "Initializing provider plugins...",
            "Plan: 3 to add, 0 to change, 0 to destroy.",
            "module.migration.aws_iam_role.worker: Creating...",
            "module.migration.aws_iam_role.worker: Creation complete after 1s [id=demo-worker]",
        ]:
            on_line(line)
        wait_for(lambda: "1 of 3 resources applied" in self._output.getvalue(), "a progress line")
        return {}


def test_terraform_apply_shows_the_plan_and_then_its_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_module, "PROGRESS_SECONDS", 0.01)
    demo, output = make_demo(tmp_path)

    demo.apply(FakeStack(output), DemoReport(items=100, segments=1))  # type: ignore[arg-type]

    text = output.getvalue()
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in text
    assert "… 1 of 3 resources applied (" in text


def test_the_drain_reports_the_queue_while_it_waits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_module, "PROGRESS_SECONDS", 0.01)
    monkeypatch.setattr(demo_module, "POLL_SECONDS", 0.0)
    demo, output = make_demo(tmp_path)
    polls = [7, 0, 0, 0]
    calls = 0

    def operator(*args: str, check: bool = True, quiet: bool = False) -> None:
        nonlocal calls
        if calls == 1:
            # The first poll's answer is in; the next one is slow enough for a progress line to report it.
            wait_for(lambda: "messages in the queue" in output.getvalue(), "a progress line")
        path = Path(args[args.index("--json") + 1])
        path.write_text(json.dumps({"queue": {"visible": polls[calls], "in_flight": 2, "delayed": 0}}))
        calls += 1

    monkeypatch.setattr(demo, "operator", operator)

    demo.wait_for_empty_queue(FakeStack(output), backlog=2)  # type: ignore[arg-type]

    assert "… 9 messages in the queue (7 visible, 2 in flight), waiting for at most 2 (" in output.getvalue()


def test_a_quick_phase_prints_no_progress_line(tmp_path: Path) -> None:
    demo, output = make_demo(tmp_path)

    with demo.progress(lambda: "never shown"):
        pass

    assert output.getvalue() == ""


# ------------------------------------------------------------------------------------------------------------
# python -m devtools emulator: the environment to export, and that the state is in memory only
# ------------------------------------------------------------------------------------------------------------


def test_the_emulator_banner_has_the_exact_exports() -> None:
    banner = local.emulator_banner("http://127.0.0.1:4566")

    assert [line.strip() for line in banner.splitlines() if line.strip().startswith("export ")] == [
        "export AWS_ENDPOINT_URL=http://127.0.0.1:4566",
        "export AWS_ACCESS_KEY_ID=testing",
        "export AWS_SECRET_ACCESS_KEY=testing",
        "export AWS_DEFAULT_REGION=us-east-1",
    ]
    assert "in memory only" in banner


def test_the_banner_comes_once_the_emulator_is_ready(tmp_path: Path) -> None:
    announced: list[str] = []

    with local.announce_when_ready(None, announced.append) as ready_file:
        temporary = ready_file.parent
        assert announced == []
        ready_file.write_text(json.dumps({"endpoint": "http://127.0.0.1:5000"}))
        wait_for(lambda: bool(announced), "the banner")

    assert announced == [local.emulator_banner("http://127.0.0.1:5000")]
    assert not temporary.exists()


def test_a_given_ready_file_is_used_and_kept(tmp_path: Path) -> None:
    given = tmp_path / "ready.json"

    with local.announce_when_ready(given, lambda banner: None) as ready_file:
        assert ready_file == given

    assert tmp_path.exists()


def test_the_emulator_command_prints_the_banner(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools", "emulator", "--ready-file", str(ready_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    streams: dict[str, list[str]] = {"stdout": [], "stderr": []}
    readers = [
        threading.Thread(target=streams[name].extend, args=(stream,), daemon=True)
        for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for reader in readers:
        reader.start()
    try:
        # Starting the emulator imports moto: seconds on an idle machine, more on a busy one.
        def banner() -> bool:
            assert process.poll() is None, "".join(streams["stderr"])
            return "in memory only" in "".join(streams["stderr"])

        wait_until(banner, "the banner", timeout=120)
        endpoint = json.loads(ready_file.read_text())["endpoint"]
        process.send_signal(signal.SIGINT)
        process.wait(timeout=HANG_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    for reader in readers:
        reader.join(timeout=HANG_SECONDS)

    assert "".join(streams["stdout"]).strip() == endpoint, "stdout stays the bare endpoint, for scripts"
    assert f"export AWS_ENDPOINT_URL={endpoint}" in "".join(streams["stderr"])


# ------------------------------------------------------------------------------------------------------------
# make: a virtualenv left half-built by an interrupted setup is rebuilt
# ------------------------------------------------------------------------------------------------------------


# Stands in for the interpreter that creates the virtualenv (ensurepip takes many seconds): "-m venv DIR" makes a
# virtualenv whose python answers "-m pip --version".
FAKE_PYTHON = """#!/usr/bin/env bash
[[ "$1 $2" == "-m venv" ]] || exit 2
mkdir -p "$3/bin"
printf '#!/usr/bin/env bash\\n[[ "$*" == "-m pip --version" ]]\\n' >"$3/bin/python"
chmod +x "$3/bin/python"
"""


def test_a_virtualenv_without_pip_is_created_afresh(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    # What an interrupted `python -m venv` leaves: an interpreter, and no pip.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (venv / "leftover").write_text("from the interrupted setup")
    python = tmp_path / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    script = ROOT / "devtools" / "ensure_venv.sh"

    result = subprocess.run([str(script), str(python), str(venv)], capture_output=True, text=True, check=True)

    assert "no working pip" in result.stderr
    assert not (venv / "leftover").exists()
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], check=True)
    # A working one is left as it is.
    (venv / "marker").write_text("kept")
    result = subprocess.run([str(script), str(python), str(venv)], capture_output=True, text=True, check=True)
    assert (venv / "marker").exists()
    assert result.stderr == ""


def test_a_missing_virtualenv_is_created(tmp_path: Path) -> None:
    python = tmp_path / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)

    result = subprocess.run(
        [str(ROOT / "devtools" / "ensure_venv.sh"), str(python), str(tmp_path / ".venv")],
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stderr == ""
    assert (tmp_path / ".venv" / "bin" / "python").exists()


def test_the_makefile_builds_the_virtualenv_through_the_check() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]

    assert "devtools/ensure_venv.sh $(PYTHON) $(VENV)" in recipe
    assert "-m venv" not in recipe, "the venv must only be created through devtools/ensure_venv.sh"
    assert recipe.rstrip().endswith("touch $@"), "the stamp is written last"


# ------------------------------------------------------------------------------------------------------------
# examples: terraform init offline
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("readme", sorted((ROOT / "examples").glob("*/README.md")), ids=lambda path: path.parent.name)
def test_every_example_says_how_terraform_init_works_offline(readme: Path) -> None:
    text = readme.read_text()

    assert "terraform init" in text
    assert 'export TF_CLI_CONFIG_FILE="$(git rev-parse --show-toplevel)/.terraform-cli.rc"' in text
    assert "make tf-setup" in text
