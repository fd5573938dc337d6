"""Starts LocalStack 4.14.0 on loopback with the project's plugins, waits until it is healthy, stops it on exit.

    devtools/localstack/run.sh                 # in the foreground until Ctrl-C / SIGTERM
    devtools/localstack/run.sh -- CMD [ARG...] # runs CMD against it (AWS_ENDPOINT_URL set), then stops it;
                                               # exits with CMD's status

Standard library only; any python3 runs it. LocalStack runs from .venv-localstack (devtools/localstack/setup.sh)
in a process group of its own, which also holds the local-python Lambda processes; on exit the whole group
gets SIGTERM, then SIGKILL after a grace period. It listens on 127.0.0.1 only (with the default hypercorn
gateway), and every outbound download goes to a closed loopback port.

Options: --port (default 4566, or LOCALSTACK_PORT), --log FILE (LocalStack's output; default
$TMPDIR/ddb-migrate-localstack-<port>.log), --timeout seconds to wait for health (default 120), --debug (DEBUG=1),
--gateway-server hypercorn|twisted (default hypercorn: the only one of the two that binds 127.0.0.1 alone).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = ROOT / ".venv-localstack"
LAMBDA_PYTHON = ROOT / ".venv-localstack-lambda" / "bin" / "python"
# The services the project's integration suite uses; health must list each as available or running.
REQUIRED_SERVICES = (
    "dynamodb",
    "dynamodbstreams",
    "lambda",
    "stepfunctions",
    "sqs",
    "iam",
    "sts",
    "kms",
    "logs",
    "cloudwatch",
    "s3",
    "application-autoscaling",
)
HEALTHY = {"available", "running"}
STOP_GRACE_SECONDS = 20


def closed_loopback_port() -> int:
    """A loopback port nothing listens on: bound and released, so connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def localstack_env(port: int, debug: bool, gateway_server: str, scratch: Path) -> dict[str, str]:
    proxy = f"http://127.0.0.1:{closed_loopback_port()}"
    keep = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "LC_ALL", "USER") if key in os.environ}
    return {
        **keep,
        # Directories of this instance alone: by default every LocalStack on the machine shares
        # <site-packages>/localstack/.filesystem and $TMPDIR/localstack (state, Lambda code), and one that stops
        # deletes them under the others (seen as CloudWatch's "unable to open database file").
        "FILESYSTEM_ROOT": str(scratch / "filesystem"),
        "TMPDIR": str(scratch / "tmp"),
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        # The host in the URLs LocalStack hands out (GetFunction's Code.Location, which `ddb-migrate verify` downloads;
        # queue URLs). The default, localhost.localstack.cloud, resolves to 127.0.0.1 only through public DNS.
        "LOCALSTACK_HOST": f"localhost:{port}",
        # 4.14's default (twisted) ignores GATEWAY_LISTEN's host for IPv4 and binds 0.0.0.0; hypercorn binds it
        "GATEWAY_SERVER": gateway_server,
        # nothing leaves loopback: LocalStack tries downloads at start
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "OUTBOUND_HTTP_PROXY": proxy,
        "OUTBOUND_HTTPS_PROXY": proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DNS_ADDRESS": "0",
        "LOCALSTACK_TELEMETRY_DISABLED": "1",
        # the project's plugins (devtools/localstack/plugins)
        "PROVIDER_OVERRIDE_DYNAMODB": "moto",
        "PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "moto",
        "PROVIDER_OVERRIDE_APPLICATION_AUTOSCALING": "moto",
        # LocalStack's event source mappings wait this long after every batch, even a full one (default 1 s):
        # one batch per second per mapping, where Lambda's SQS pollers poll again at once and its stream pollers
        # read each shard four times a second. With 0 the wait is only after an empty poll (its own backoff).
        "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": "0",
        "LAMBDA_RUNTIME_EXECUTOR": "local-python",
        "DDB_MIGRATE_LAMBDA_PYTHON": str(LAMBDA_PYTHON),
        **({"DEBUG": "1"} if debug else {}),
    }


def health(port: int) -> dict[str, str] | None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}/_localstack/health", timeout=5) as response:
            services = json.load(response).get("services", {})
    except (OSError, ValueError):
        return None
    return {str(name): str(state) for name, state in services.items()}


def wait_healthy(process: subprocess.Popen[bytes], port: int, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    services: dict[str, str] | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"LocalStack exited with status {process.returncode}; see {log}")
        services = health(port)
        if services is not None and all(services.get(name) in HEALTHY for name in REQUIRED_SERVICES):
            return
        time.sleep(0.5)
    missing = {name: (services or {}).get(name) for name in REQUIRED_SERVICES}
    raise RuntimeError(f"LocalStack not healthy after {timeout:.0f} s: {missing}; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to LocalStack's process group (LocalStack and its Lambda processes), then SIGKILL."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"LocalStack did not stop within {STOP_GRACE_SECONDS} s of SIGTERM: killing it", file=sys.stderr)
    # the group may outlive its leader: Lambda processes LocalStack did not stop
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCALSTACK_PORT", "4566")))
    parser.add_argument("--log", type=Path)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("--gateway-server", choices=("hypercorn", "twisted"), default="hypercorn")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    python = VENV / "bin" / "python"
    if not python.exists() or not LAMBDA_PYTHON.exists():
        print("run.py: run devtools/localstack/setup.sh first", file=sys.stderr)
        return 2
    if port_in_use(args.port):
        print(f"run.py: 127.0.0.1:{args.port} is in use (another LocalStack?); pick --port", file=sys.stderr)
        return 2
    log = args.log or Path(tempfile.gettempdir()) / f"ddb-migrate-localstack-{args.port}.log"

    # SIGTERM/SIGHUP end the run as Ctrl-C does, so that the finally below stops LocalStack
    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signum)

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)

    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix=f"ddb-migrate-localstack-{args.port}-"))
    (scratch / "tmp").mkdir()
    with log.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - fixed interpreter and module
            [str(python), "-m", "localstack.runtime.main"],
            env=localstack_env(args.port, args.debug, args.gateway_server, scratch),
            cwd=scratch,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(process, args.port, args.timeout, log)
        endpoint = f"http://127.0.0.1:{args.port}"
        print(
            f"LocalStack 4.14.0 ready at {endpoint} in {time.monotonic() - started:.1f} s (pid {process.pid}, log {log})",
            flush=True,
        )
        if not command:
            print("Ctrl-C stops it.", flush=True)
            process.wait()
            print(f"LocalStack exited with status {process.returncode}; see {log}", file=sys.stderr)
            return 1
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"])),
        }
        return subprocess.call(command, env=env)  # noqa: S603 - the caller's command
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        print(f"run.py: {exc}", file=sys.stderr)
        return 1
    finally:
        stop(process)
        shutil.rmtree(scratch, ignore_errors=True)
        print(f"LocalStack stopped (log {log})", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
