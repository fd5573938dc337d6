"""``python -m devtools.emulator [--port 0] [--host 127.0.0.1] [--ready-file PATH] [--no-iam-gate]``.

Runs until SIGTERM or SIGINT. Once the endpoint answers, writes ``{"endpoint": ...}`` to the ready
file (atomically: a reader never sees a partial file) and prints the endpoint on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from .server import start_emulator


def write_ready_file(path: Path, endpoint: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"endpoint": endpoint, "pid": os.getpid()}, handle)
            handle.write("\n")
        Path(staging).replace(path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def _configure_logging(level: str) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level.upper(), format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    # One line per HTTP request would drown the function logs.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # moto warns on every parse that ToleratedFailure* settings are not enforced.
    logging.getLogger("moto.stepfunctions.parser.asl.parse.preprocessor").setLevel(logging.ERROR)


def serve(
    port: int = 0,
    ready_file: Path | None = None,
    host: str = "127.0.0.1",
    log_level: str = "INFO",
    *,
    iam_gate: bool = True,
) -> None:
    """Run the emulator in the foreground until SIGTERM or SIGINT; stops everything it started."""
    _configure_logging(log_level)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        emulator = start_emulator(port, host, iam_gate=iam_gate)
        try:
            if ready_file is not None:
                write_ready_file(ready_file, emulator.endpoint)
            print(emulator.endpoint, flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            emulator.stop()
            if ready_file is not None:
                ready_file.unlink(missing_ok=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--ready-file", type=Path, help='write {"endpoint": ...} here once ready')
    parser.add_argument("--log-level", default="INFO", help="emulator and function log level (default INFO)")
    parser.add_argument(
        "--no-iam-gate",
        dest="iam_gate",
        action="store_false",
        help="let functions, pollers and state machines do anything, whatever their roles' policies say",
    )
    args = parser.parse_args(argv)
    serve(args.port, args.ready_file, args.host, args.log_level, iam_gate=args.iam_gate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
