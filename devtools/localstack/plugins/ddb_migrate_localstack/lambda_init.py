"""One Lambda execution environment as a local process: the stand-in for LocalStack's Go init plus the runtime.

Started by ``local_executor.LocalPythonRuntimeExecutor`` as ``python -I -u -B lambda_init.py`` with the
function's environment. Standard library only: the function sees its code (``LAMBDA_TASK_ROOT``), its layers,
the standard library and the interpreter's site-packages (the stand-in for the runtime's boto3), never
LocalStack's.

Contract with LocalStack's executor endpoint (``LOCALSTACK_RUNTIME_ENDPOINT``), as the Go init has it:
- after the handler module is imported: ``POST status/<LOCALSTACK_RUNTIME_ID>/ready`` with ``{"port": N}``,
  or ``POST status/<id>/error`` with the init error (then the process exits);
- ``POST /invoke`` on 127.0.0.1:N: ``{"invoke-id", "invoked-function-arn", "payload", "trace-id"}``, answered
  at once; the result follows as ``POST invocations/<id>/logs`` then ``invocations/<id>/response`` or
  ``invocations/<id>/error``.
A handler that runs past the function timeout gets a ``Sandbox.Timedout`` error, and the process replaces
itself (exec) with a fresh one, as Lambda re-initialises an environment after a timeout.
"""

from __future__ import annotations

import decimal
import http.server
import importlib
import io
import json
import logging
import os
import queue
import resource
import sys
import threading
import time
import traceback
import urllib.request
from pathlib import Path
from typing import Any, TextIO

ENDPOINT = os.environ["LOCALSTACK_RUNTIME_ENDPOINT"].rstrip("/")
RUNTIME_ID = os.environ["LOCALSTACK_RUNTIME_ID"]
HANDLER = os.environ.get("_HANDLER", "")
TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT") or str(Path.cwd())
TIMEOUT_SECONDS = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
FUNCTION_NAME = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
FUNCTION_VERSION = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
MEMORY_MB = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
# Set for the process that replaces one after a timeout: the port to listen on again.
PORT_VARIABLE = "_DDB_MIGRATE_LOCAL_INIT_PORT"

REAL_STDOUT: TextIO = sys.__stdout__ or sys.stdout
REAL_STDERR: TextIO = sys.__stderr__ or sys.stderr
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _post(path: str, body: bytes) -> None:
    request = urllib.request.Request(  # noqa: S310 - LocalStack's http endpoint
        f"{ENDPOINT}/{path}", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with _OPENER.open(request, timeout=30) as response:
            response.read()
    except Exception as exc:
        REAL_STDERR.write(f"[local-init] POST {path} failed: {exc}\n")


# --- logs ------------------------------------------------------------------------------------------------


class _Capture:
    """What the function writes during the current invocation (and its init), for the logs call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []

    def add(self, text: str) -> None:
        with self._lock:
            self._parts.append(text)

    def take(self) -> str:
        with self._lock:
            text, self._parts = "".join(self._parts), []
        return text


CAPTURE = _Capture()


class _Tee(io.TextIOBase):
    def __init__(self, real: Any) -> None:
        self._real = real

    def write(self, text: str) -> int:
        CAPTURE.add(text)
        self._real.write(text)
        return len(text)

    def flush(self) -> None:
        self._real.flush()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return int(self._real.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._real, "encoding", "utf-8"))


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _RequestIdFilter.request_id
        return True


def _setup_logging() -> None:
    sys.stdout = _Tee(REAL_STDOUT)
    sys.stderr = _Tee(REAL_STDERR)
    # as awslambdaric does: one handler on the root logger, UTC timestamps, the request id in each line
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


# --- handler ---------------------------------------------------------------------------------------------


def _error(exc: BaseException, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    # the runtime's own errors (Runtime.*) carry no stack trace, as on Lambda
    frames = [] if error_type else traceback.format_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc) if message is None else message,
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": frames,
    }


def _load_handler() -> Any:
    sys.path[:0] = [TASK_ROOT] + [
        path
        for layer in filter(None, os.environ.get("LOCALSTACK_LAYER_DIRS", "").split(os.pathsep))
        for path in (
            str(Path(layer) / "python"),
            str(
                Path(layer) / "python" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
            ),
        )
    ]
    try:
        module_name, function_name = HANDLER.rsplit(".", 1)
    except ValueError as exc:
        raise _InitError(_error(exc, "Runtime.MalformedHandlerName", f"Bad handler '{HANDLER}': {exc}")) from exc
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise _InitError(
            _error(exc, "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
        ) from exc
    except ImportError as exc:
        raise _InitError(
            _error(exc, "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
        ) from exc
    except Exception as exc:
        raise _InitError(_error(exc)) from exc
    function = getattr(module, function_name, None)
    if function is None:
        missing = KeyError(function_name)
        raise _InitError(
            _error(missing, "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
        )
    return function


class _InitError(Exception):
    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage"))
        self.payload = payload


class LambdaContext:
    def __init__(self, request_id: str, invoked_arn: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = FUNCTION_NAME
        self.function_version = FUNCTION_VERSION
        self.memory_limit_in_mb = str(MEMORY_MB)
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# --- serving ---------------------------------------------------------------------------------------------

INVOKES: queue.Queue[dict[str, Any]] = queue.Queue()


class _InvokeHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != "/invoke":
            self.send_response(404)
            self.end_headers()
            return
        INVOKES.put(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Invocation:
    """One invocation's state, shared by the main thread and the timeout timer; the first to finish posts."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.lock = threading.Lock()
        self.done = False

    def finish(self) -> bool:
        with self.lock:
            if self.done:
                return False
            self.done = True
            return True


def _max_memory_mb() -> int:
    # not getrusage's ru_maxrss: a child started by fork+exec inherits its parent's (LocalStack's) peak
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _report(request_id: str, started: float, init_ms: float | None, extra: str = "") -> str:
    duration_ms = (time.monotonic() - started) * 1000
    max_rss_mb = _max_memory_mb()
    init = f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else ""
    return (
        f"{extra}END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: "
        f"{max(1, int(duration_ms + 0.999))} ms\tMemory Size: {MEMORY_MB} MB\tMax Memory Used: {max_rss_mb} MB{init}\t\n"
    )


def _restart(server: http.server.HTTPServer) -> None:
    REAL_STDOUT.flush()
    REAL_STDERR.flush()
    server.socket.close()
    os.environ[PORT_VARIABLE] = str(server.server_address[1])
    os.execv(sys.executable, [sys.executable, "-I", "-u", "-B", str(Path(__file__).resolve())])  # noqa: S606


def _on_timeout(invocation: _Invocation, started: float, init_ms: float | None, server: http.server.HTTPServer) -> None:
    if not invocation.finish():
        return
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    line = f"{stamp}Z {invocation.request_id} Task timed out after {TIMEOUT_SECONDS:.2f} seconds\n\n"
    logs = CAPTURE.take() + _report(invocation.request_id, started, init_ms, extra=line)
    _post(f"invocations/{invocation.request_id}/logs", json.dumps({"logs": logs}).encode())
    error = {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {invocation.request_id} Error: Task timed out after {TIMEOUT_SECONDS:.2f} seconds",
    }
    _post(f"invocations/{invocation.request_id}/error", json.dumps(error).encode())
    _restart(server)


def _invoke(function: Any, message: dict[str, Any], init_ms: float | None, server: http.server.HTTPServer) -> None:
    request_id = str(message.get("invoke-id", ""))
    invocation = _Invocation(request_id)
    started = time.monotonic()
    deadline = started + TIMEOUT_SECONDS
    _RequestIdFilter.request_id = request_id
    if message.get("trace-id"):
        os.environ["_X_AMZN_TRACE_ID"] = str(message["trace-id"])
    CAPTURE.add(f"START RequestId: {request_id} Version: {FUNCTION_VERSION}\n")
    timer = threading.Timer(TIMEOUT_SECONDS, _on_timeout, args=(invocation, started, init_ms, server))
    timer.daemon = True
    timer.start()
    outcome: tuple[str, bytes]
    try:
        raw = message.get("payload") or "{}"
        try:
            event = json.loads(raw)
        except ValueError as exc:
            payload = _error(exc, "Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}")
            outcome = ("error", json.dumps(payload).encode())
        else:
            context = LambdaContext(request_id, str(message.get("invoked-function-arn", "")), deadline)
            try:
                result = function(event, context)
            except Exception as exc:
                payload = _error(exc)
                payload["requestId"] = request_id
                sys.stdout.write(
                    f"[ERROR] {payload['errorType']}: {payload['errorMessage']}\n"
                    + "Traceback (most recent call last):\n"
                    + "".join(payload["stackTrace"])
                )
                outcome = ("error", json.dumps(payload).encode())
            else:
                try:
                    outcome = ("response", json.dumps(result, default=_json_default).encode())
                except (TypeError, ValueError) as exc:
                    payload = _error(exc, "Runtime.MarshalError", f"Unable to marshal response: {exc}")
                    outcome = ("error", json.dumps(payload).encode())
    finally:
        timer.cancel()
    if not invocation.finish():
        return  # the timeout already answered; the process is being replaced
    sys.stdout.flush()
    logs = CAPTURE.take() + _report(request_id, started, init_ms)
    _post(f"invocations/{request_id}/logs", json.dumps({"logs": logs}).encode())
    _post(f"invocations/{request_id}/{outcome[0]}", outcome[1])


def main() -> None:
    _setup_logging()
    init_started = time.monotonic()
    server = http.server.HTTPServer(("127.0.0.1", int(os.environ.pop(PORT_VARIABLE, "0"))), _InvokeHandler)
    port = server.server_address[1]
    try:
        function = _load_handler()
    except _InitError as exc:
        text = CAPTURE.take()
        REAL_STDOUT.write(text)
        REAL_STDOUT.write(f"[ERROR] {exc.payload['errorType']}: {exc.payload['errorMessage']}\n")
        _post(f"status/{RUNTIME_ID}/error", json.dumps(exc.payload).encode())
        sys.exit(1)
    init_ms: float | None = (time.monotonic() - init_started) * 1000
    threading.Thread(target=server.serve_forever, name="invoke-server", daemon=True).start()
    _post(f"status/{RUNTIME_ID}/ready", json.dumps({"port": port}).encode())
    while True:
        message = INVOKES.get()
        _invoke(function, message, init_ms, server)
        init_ms = None


if __name__ == "__main__":
    main()
