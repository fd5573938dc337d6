"""The emulator's stand-in for the Lambda Python runtime; runs inside each warm worker process.

The parent starts this file with ``python -I -B <this file>`` so that neither the repository nor the
emulator package is importable: the function sees its own code, its layers, the standard library and the
interpreter's site-packages, which stand in for the runtime's boto3. Powertools is in those site-packages too
(the dev environment's), but Lambda's runtime has none: a function may import that copy only when it attaches
AWS's public Powertools layer, for which it stands in. For the same reason only the standard library is
imported here.

Protocol (one JSON document per line):
- parent -> worker on stdin: first a ``config`` message, then one ``invoke`` message per invocation;
- worker -> parent on the original stdout: an ``init`` message once the handler is imported, then one
  ``result`` message per ``invoke``.
File descriptors 1 and 2 both feed the log pipe, so ``print`` and logging from the function end up in
the function's log stream (as they do in Lambda), never in the protocol stream.
"""

from __future__ import annotations

import decimal
import importlib
import importlib.abc
import importlib.machinery
import io
import json
import logging
import math
import os
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

LOG_TAIL_BYTES = 4096
_THIS_FILE = Path(__file__).resolve()


class _TailRecorder:
    """Keeps what the function wrote during the current invocation, for ``LogType=Tail``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chunks: list[str] = []
        self._size = 0
        self._active = False

    def start(self) -> None:
        with self._lock:
            self._chunks, self._size, self._active = [], 0, True

    def record(self, text: str) -> None:
        with self._lock:
            if not self._active:
                return
            self._chunks.append(text)
            self._size += len(text)
            # Bounded so that a chatty function cannot grow the worker's memory.
            if self._size > 4 * LOG_TAIL_BYTES:
                joined = "".join(self._chunks)[-LOG_TAIL_BYTES:]
                self._chunks, self._size = [joined], len(joined)

    def stop(self) -> str:
        with self._lock:
            self._active = False
            tail = "".join(self._chunks)
            self._chunks, self._size = [], 0
        return tail.encode("utf-8")[-LOG_TAIL_BYTES:].decode("utf-8", errors="ignore")


class _TeeStream:
    """``sys.stdout`` / ``sys.stderr`` replacement: writes through to the log pipe and feeds the tail."""

    encoding = "utf-8"
    errors = "backslashreplace"
    closed = False

    def __init__(self, target: io.TextIOWrapper, recorder: _TailRecorder) -> None:
        self._target = target
        self._recorder = recorder

    @property
    def buffer(self) -> Any:
        return self._target.buffer

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._target.fileno()

    def write(self, text: str) -> int:
        self._target.write(text)
        self._target.flush()
        self._recorder.record(text)
        return len(text)

    def flush(self) -> None:
        self._target.flush()


class LambdaContext:
    """The context object the Python runtime passes to handlers (same attribute names and types)."""

    def __init__(
        self,
        aws_request_id: str,
        deadline_ms: int,
        invoked_function_arn: str,
        client_context: Any = None,
        identity: Any = None,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        # The real runtime reads this from the environment and leaves it a string.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context = client_context
        self.identity = identity
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


class _InitFaultError(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.stack = stack or []


_current_request_id = ""


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id
        return True


def _install_root_log_handler() -> None:
    """Like the runtime: the root logger gets a handler that prefixes level, UTC time and request id."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _user_frames(tb: Any) -> list[str]:
    frames = [frame for frame in traceback.extract_tb(tb) if Path(frame.filename).resolve() != _THIS_FILE]
    return traceback.format_list(frames)


def _error_document(error_type: str, message: str, request_id: str, stack: list[str]) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}


def _exception_document(exc: BaseException, request_id: str) -> dict[str, Any]:
    return _error_document(type(exc).__name__, str(exc), request_id, _user_frames(exc.__traceback__))


def _load_handler(handler: str) -> Callable[[Any, LambdaContext], Any]:
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise _InitFaultError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}") from exc
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _InitFaultError(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name.split('.')[0]} as a handler module",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _InitFaultError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    except SyntaxError as exc:
        raise _InitFaultError(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
            [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}'],
        ) from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise _InitFaultError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return function  # type: ignore[no-any-return]


def _json_default(value: Any) -> Any:
    # The runtime's marshaller turns Decimal into a number, which boto3 resource users rely on.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _max_memory_mb() -> int:
    # ru_maxrss survives exec, so it would report the emulator's own size; VmHWM restarts at exec.
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return math.ceil(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return math.ceil(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _send(stream: TextIO, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message, separators=(",", ":")) + "\n")
    stream.flush()


def _configure_process(config: dict[str, Any]) -> None:
    task_root = config["task_root"]
    roots = {Path(root).resolve() for root in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    runtime_paths = [
        path for path in sys.path if path and any(Path(path).resolve().is_relative_to(root) for root in roots)
    ]
    # Editable installs (.pth files) put the repository's sources on sys.path; a Lambda sees only its
    # zip, its layers and the runtime, so anything outside the interpreter's own prefix is dropped.
    own_paths = [task_root, *config.get("layer_paths", [])]
    sys.path[:] = [*own_paths, *runtime_paths]
    if not config.get("runtime_powertools", False):
        sys.meta_path.insert(0, _OnlyFromOwnCode(own_paths, LAYER_ONLY_PACKAGES))
    os.chdir(task_root)


# Packages the interpreter's site-packages hold for the emulator's own use that Lambda's Python runtime lacks.
LAYER_ONLY_PACKAGES = frozenset({"aws_lambda_powertools"})


class _OnlyFromOwnCode(importlib.abc.MetaPathFinder):
    """Finds the given top-level packages in the function's zip and layers only, as the runtime would."""

    def __init__(self, paths: list[str], names: frozenset[str]) -> None:
        self._paths = paths
        self._names = names

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in self._names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, self._paths)
        if spec is None:
            raise ModuleNotFoundError(f"No module named '{fullname}'", name=fullname)
        return spec


def _invoke(
    handler: Callable[[Any, LambdaContext], Any], request: dict[str, Any], init_ms: float | None
) -> tuple[dict[str, Any], float]:
    global _current_request_id  # noqa: PLW0603 - the logging filter reads the current request id
    request_id = request["request_id"]
    _current_request_id = request_id
    started = time.monotonic()
    context = LambdaContext(
        request_id,
        int(request["deadline_ms"]),
        request["invoked_function_arn"],
        request.get("client_context"),
        request.get("identity"),
    )
    try:
        event = json.loads(request["payload"])
        result = handler(event, context)
        try:
            response: dict[str, Any] = {
                "ok": True,
                "payload": json.dumps(result, default=_json_default, ensure_ascii=False),
            }
        except (TypeError, ValueError) as exc:
            response = {
                "ok": False,
                "error": _error_document("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id, []),
            }
    except Exception as exc:
        sys.stdout.write(
            f"[ERROR] {type(exc).__name__}: {exc}\nTraceback (most recent call last):\n"
            + "".join(_user_frames(exc.__traceback__))
        )
        response = {"ok": False, "error": _exception_document(exc, request_id)}
    finally:
        _current_request_id = ""
    duration_ms = (time.monotonic() - started) * 1000
    return response, duration_ms


def main() -> int:
    protocol_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.close(null_fd)
    os.dup2(2, 1)
    log_target = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", write_through=True
    )
    recorder = _TailRecorder()
    sys.stdout = _TeeStream(log_target, recorder)
    sys.stderr = _TeeStream(log_target, recorder)

    config_line = protocol_in.readline()
    if not config_line:
        return 0
    config = json.loads(config_line)
    _configure_process(config)
    _install_root_log_handler()

    init_started = time.monotonic()
    try:
        handler = _load_handler(config["handler"])
    except _InitFaultError as fault:
        sys.stdout.write(f"[ERROR] {fault.error_type}: {fault}\n")
        _send(
            protocol_out,
            {"type": "init", "ok": False, "error": _error_document(fault.error_type, str(fault), "", fault.stack)},
        )
        return 1
    except Exception as exc:
        sys.stdout.write(f"[ERROR] {type(exc).__name__}: {exc}\n" + "".join(_user_frames(exc.__traceback__)))
        _send(protocol_out, {"type": "init", "ok": False, "error": _exception_document(exc, "")})
        return 1
    init_ms: float | None = (time.monotonic() - init_started) * 1000
    _send(protocol_out, {"type": "init", "ok": True})

    version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    for line in protocol_in:
        request = json.loads(line)
        request_id = request["request_id"]
        recorder.start()
        sys.stdout.write(f"START RequestId: {request_id} Version: {version}\n")
        response, duration_ms = _invoke(handler, request, init_ms)
        init_note = f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else ""
        init_ms = None
        sys.stdout.write(
            f"END RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory} MB\t"
            f"Max Memory Used: {_max_memory_mb()} MB{init_note}\n"
        )
        response.update({"type": "result", "request_id": request_id, "log_tail": recorder.stop()})
        _send(protocol_out, response)
    return 0


if __name__ == "__main__":
    sys.exit(main())
