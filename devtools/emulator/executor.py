"""Runs deployed Lambda zips in warm local Python worker processes.

One pool of workers per deployment (function, version, code hash, configuration). A worker imports the
handler once (module init) and then serves invocations one at a time, as a Lambda execution environment
does; a pool grows up to ``max_workers_per_function`` so that concurrent invocations (Distributed Map
children, event source mapping batches) run in parallel, and further callers wait for a free worker.
A new deployment of the same function retires the old pool. A worker that times out, crashes or fails
its init is killed and replaced on the next invocation.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .role_credentials import RoleCredentials

LOGGER = logging.getLogger("devtools.emulator.lambda")

BOOTSTRAP = Path(__file__).with_name("_worker_bootstrap.py")
DEFAULT_MAX_WORKERS_PER_FUNCTION = 4
# Lambda gives the INIT phase 10 s of its own before counting the function timeout.
INIT_TIMEOUT_SECONDS = 10.0
ASYNC_INVOKE_THREADS = 16
# A worker is replaced when its role session has less left than this: more than any invocation can take.
CREDENTIALS_MARGIN_SECONDS = 1800.0

LogSink = Callable[["FunctionSpec", str, str], None]
Identity = tuple[str, str, str, str]
"""(account, region, function name, version)."""
Resolver = Callable[[Identity], "FunctionSpec | None"]
CredentialSource = Callable[["FunctionSpec"], RoleCredentials | None]
"""The execution role's session for a new worker; None leaves the worker with dummy credentials."""


@dataclass(frozen=True)
class LayerCode:
    sha256: str
    code: bytes = field(compare=False, repr=False)


@dataclass(frozen=True)
class FunctionSpec:
    """Everything the executor needs to know about one deployed function version."""

    account_id: str
    region: str
    function_name: str
    function_arn: str
    version: str
    handler: str
    runtime: str
    timeout_seconds: float
    memory_size: int
    environment: tuple[tuple[str, str], ...]
    code_sha256: str
    code: bytes = field(compare=False, repr=False)
    layers: tuple[LayerCode, ...] = ()
    role_arn: str = ""
    """The execution role; its session is the worker's credentials."""
    public_powertools_layer: bool = False
    """The function attaches AWS's public Powertools layer. Lambda's runtime has no Powertools: without that layer
    a function must bring its own, so the worker may import the emulator's copy only with it."""

    @property
    def identity(self) -> Identity:
        return (self.account_id, self.region, self.function_name, self.version)

    @property
    def deployment_key(self) -> str:
        """Changes whenever the code or any configuration a worker depends on changes."""
        material = json.dumps(
            [
                self.identity,
                self.handler,
                self.runtime,
                self.timeout_seconds,
                self.memory_size,
                self.environment,
                self.code_sha256,
                [layer.sha256 for layer in self.layers],
                self.role_arn,
                self.public_powertools_layer,
            ]
        )
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    @property
    def qualified_arn(self) -> str:
        return self.function_arn if self.version == "$LATEST" else f"{self.function_arn}:{self.version}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"


@dataclass
class InvocationResult:
    """The outcome of one synchronous invocation, as the Invoke API reports it."""

    request_id: str
    payload: bytes
    function_error: str | None = None
    log_tail: str = ""
    executed_version: str = "$LATEST"

    @property
    def error_type(self) -> str | None:
        if self.function_error is None:
            return None
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            return str(json.loads(self.payload)["errorType"])
        return "Unknown"

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


def _error_payload(error_type: str, message: str, request_id: str = "", stack: list[str] | None = None) -> bytes:
    document: dict[str, Any] = {"errorMessage": message, "errorType": error_type}
    if request_id:
        document["requestId"] = request_id
    if stack is not None:
        document["stackTrace"] = stack
    return json.dumps(document).encode("utf-8")


class _WorkerGoneError(Exception):
    """The worker process exited or its protocol stream closed."""


class _WorkerTimeoutError(Exception):
    pass


class _InitFailedError(Exception):
    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(error.get("errorMessage", ""))
        self.error = dict(error)


def _log_stream_name(version: str) -> str:
    today = dt.datetime.now(dt.UTC)
    return f"{today:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


class _Worker:
    """One warm execution environment: a child process running the bootstrap."""

    def __init__(
        self,
        spec: FunctionSpec,
        code_dir: Path,
        layer_paths: list[str],
        endpoint: str,
        scratch_root: Path,
        log_sink: LogSink,
        credentials: RoleCredentials | None = None,
    ) -> None:
        self.spec = spec
        self.credentials = credentials
        self.log_stream_name = _log_stream_name(spec.version)
        self._log_sink = log_sink
        self._responses: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._tmp_dir = Path(tempfile.mkdtemp(prefix="tmp-", dir=scratch_root))
        env = _worker_environment(spec, endpoint, code_dir, self.log_stream_name, self._tmp_dir, credentials)
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv: our interpreter and our bootstrap file
            [sys.executable, "-I", "-B", str(BOOTSTRAP)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=code_dir,
            # Own process group: a Ctrl-C aimed at the emulator must not interrupt handlers, and a
            # kill takes any subprocess the function started with it.
            start_new_session=True,
        )
        if self.proc.stdin is None or self.proc.stdout is None or self.proc.stderr is None:
            raise RuntimeError("worker pipes were not created")
        self._stdin: IO[bytes] = self.proc.stdin
        threading.Thread(
            target=self._read_protocol, args=(self.proc.stdout,), name=f"lambda-proto-{spec.function_name}", daemon=True
        ).start()
        threading.Thread(
            target=self._read_logs, args=(self.proc.stderr,), name=f"lambda-logs-{spec.function_name}", daemon=True
        ).start()
        self._send(
            {
                "type": "config",
                "task_root": str(code_dir),
                "handler": spec.handler,
                "layer_paths": layer_paths,
                "runtime_powertools": spec.public_powertools_layer,
            }
        )

    def _read_protocol(self, stream: IO[bytes]) -> None:
        # ValueError/OSError: kill() closed the pipe under us.
        with contextlib.suppress(ValueError, OSError):
            for raw in stream:
                try:
                    self._responses.put(json.loads(raw))
                except ValueError:
                    LOGGER.exception("%s: unreadable message from worker: %r", self.spec.function_name, raw[:200])
        self._responses.put(None)

    def _read_logs(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(ValueError, OSError):
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                try:
                    self._log_sink(self.spec, self.log_stream_name, line)
                except Exception:
                    LOGGER.exception("log sink failed")

    def _send(self, message: Mapping[str, Any]) -> None:
        try:
            self._stdin.write(json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n")
            self._stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise _WorkerGoneError(str(exc)) from exc

    def _receive(self, timeout: float) -> dict[str, Any]:
        try:
            message = self._responses.get(timeout=max(timeout, 0.0))
        except queue.Empty as exc:
            raise _WorkerTimeoutError from exc
        if message is None:
            self._responses.put(None)
            raise _WorkerGoneError(f"exit status {self.proc.wait()}")
        return message

    def wait_initialised(self, timeout: float) -> None:
        message = self._receive(timeout)
        if not message.get("ok"):
            raise _InitFailedError(message.get("error") or {})

    def call(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        self._send(request)
        return self._receive(timeout)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def credentials_expiring(self) -> bool:
        return self.credentials is not None and self.credentials.expires_within(CREDENTIALS_MARGIN_SECONDS)

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.close()
        shutil.rmtree(self._tmp_dir, ignore_errors=True)


def _worker_environment(
    spec: FunctionSpec,
    endpoint: str,
    code_dir: Path,
    log_stream: str,
    tmp_dir: Path,
    credentials: RoleCredentials | None = None,
) -> dict[str, str]:
    env = dict(spec.environment)
    # Set after the function's own variables: Lambda does not let configuration override these.
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "TMPDIR": str(tmp_dir),
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_ENDPOINT_URL": endpoint,
            # Keep the developer's ~/.aws files and the instance metadata service out of the function.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if credentials is not None:
        env.update(credentials.environment())
    if "LD_LIBRARY_PATH" in os.environ:
        env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
    return env


class _PoolRetiredError(Exception):
    pass


class _Pool:
    def __init__(self, spec: FunctionSpec, capacity: int, spawn: Callable[[FunctionSpec], _Worker]) -> None:
        self.spec = spec
        self._capacity = capacity
        self._spawn = spawn
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._size = 0
        self.busy = 0
        self.retired = False

    def acquire(self) -> tuple[_Worker, bool]:
        """Return a worker and whether it is new (its init still to be awaited)."""
        stale: list[_Worker] = []
        try:
            return self._acquire(stale)
        finally:
            for worker in stale:
                worker.kill()

    def _acquire(self, stale: list[_Worker]) -> tuple[_Worker, bool]:
        with self._cond:
            while True:
                if self.retired:
                    raise _PoolRetiredError
                while self._idle and self._idle[-1].credentials_expiring:
                    stale.append(self._idle.pop())
                    self._size -= 1
                if self._idle:
                    self.busy += 1
                    # Most recently used first, so sequential callers keep hitting the warmest worker.
                    return self._idle.pop(), False
                if self._size < self._capacity:
                    self._size += 1
                    self.busy += 1
                    break
                self._cond.wait()
        try:
            return self._spawn(self.spec), True
        except BaseException:
            with self._cond:
                self._size -= 1
                self.busy -= 1
                self._cond.notify()
            raise

    def release(self, worker: _Worker, healthy: bool) -> None:
        with self._cond:
            self.busy -= 1
            keep = healthy and not self.retired and worker.alive and not worker.credentials_expiring
            if keep:
                self._idle.append(worker)
            else:
                self._size -= 1
            self._cond.notify()
        if not keep:
            worker.kill()

    def retire(self) -> None:
        with self._cond:
            self.retired = True
            idle, self._idle = self._idle, []
            self._size -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.kill()


class LambdaExecutor:
    """Invokes functions described by :class:`FunctionSpec` in warm worker processes."""

    def __init__(
        self,
        endpoint: str,
        work_dir: Path,
        max_workers_per_function: int = DEFAULT_MAX_WORKERS_PER_FUNCTION,
        log_sink: LogSink | None = None,
        resolve: Resolver | None = None,
        credentials: CredentialSource | None = None,
    ) -> None:
        """``resolve`` returns the current spec of a function (None once deleted); callers that were
        waiting for a worker when a new deployment retired their pool continue with it. ``credentials``
        gives each new worker its execution role's session, as Lambda does."""
        self.endpoint = endpoint
        self._resolve = resolve
        self._credentials = credentials
        self._work_dir = work_dir
        self._max_workers = max(1, max_workers_per_function)
        self._log_sink: LogSink = log_sink or _log_to_logger
        self._lock = threading.Lock()
        self._pools: dict[str, _Pool] = {}
        self._current: dict[Identity, str] = {}
        self._extract_lock = threading.Lock()
        self._async = ThreadPoolExecutor(ASYNC_INVOKE_THREADS, thread_name_prefix="lambda-async")
        self._async_pending = 0
        self._closed = False
        (work_dir / "code").mkdir(parents=True, exist_ok=True)
        (work_dir / "layers").mkdir(parents=True, exist_ok=True)
        (work_dir / "tmp").mkdir(parents=True, exist_ok=True)

    # -- public API -----------------------------------------------------------------------------

    def invoke(
        self,
        spec: FunctionSpec,
        payload: bytes,
        *,
        invoked_function_arn: str | None = None,
        client_context: Any = None,
    ) -> InvocationResult:
        request_id = str(uuid.uuid4())
        unsupported = self._unsupported(spec)
        if unsupported is not None:
            return InvocationResult(request_id, _error_payload(*unsupported, request_id), "Unhandled", "", spec.version)
        while True:
            pool = self._pool_for(spec)
            try:
                worker, fresh = pool.acquire()
            except _PoolRetiredError:
                # Going back to _pool_for with the old spec would bring the old deployment back.
                latest = self._resolve(spec.identity) if self._resolve else None
                if latest is None or latest.deployment_key == spec.deployment_key:
                    return InvocationResult(
                        request_id,
                        _error_payload("ResourceNotFoundException", f"Function not found: {spec.qualified_arn}"),
                        "Unhandled",
                        "",
                        spec.version,
                    )
                spec = latest
                continue
            except Exception as exc:
                LOGGER.exception("%s: cannot start a worker", spec.function_name)
                return InvocationResult(
                    request_id,
                    _error_payload("Runtime.Unknown", f"Could not start the function: {exc}", request_id),
                    "Unhandled",
                    "",
                    spec.version,
                )
            break
        return self._run(pool, worker, fresh, spec, payload, request_id, invoked_function_arn, client_context)

    def invoke_async(self, spec: FunctionSpec, payload: bytes) -> str:
        """InvocationType=Event: queue the invocation and return at once, as Lambda does."""
        request_id = str(uuid.uuid4())
        with self._lock:
            self._async_pending += 1

        def run() -> None:
            try:
                result = self.invoke(spec, payload)
                if result.function_error:
                    LOGGER.warning(
                        "%s: asynchronous invocation failed: %s",
                        spec.function_name,
                        result.payload.decode("utf-8", "replace"),
                    )
            finally:
                with self._lock:
                    self._async_pending -= 1

        self._async.submit(run)
        return request_id

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._async_pending > 0 or any(pool.busy for pool in self._pools.values())

    def retire_missing(self, live: Callable[[Identity], bool]) -> None:
        """Retire the pools of functions that no longer exist (deleted, or the emulator was reset)."""
        with self._lock:
            gone = [identity for identity in self._current if not live(identity)]
            pools = [self._pools.pop(self._current.pop(identity)) for identity in gone]
        for pool in pools:
            pool.retire()

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
            self._pools.clear()
            self._current.clear()
        for pool in pools:
            pool.retire()
        self._async.shutdown(wait=False, cancel_futures=True)

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _unsupported(spec: FunctionSpec) -> tuple[str, str] | None:
        if not spec.runtime.startswith("python"):
            return (
                "Runtime.InvalidRuntime",
                f"The emulator runs Python functions only; {spec.function_name} uses {spec.runtime!r}",
            )
        if not spec.code:
            return ("Runtime.InvalidEntrypoint", f"Function {spec.function_name} has no zip code to run")
        return None

    def _pool_for(self, spec: FunctionSpec) -> _Pool:
        key = spec.deployment_key
        retired: _Pool | None = None
        with self._lock:
            if self._closed:
                raise RuntimeError("the Lambda executor has been shut down")
            pool = self._pools.get(key)
            if pool is None:
                pool = _Pool(spec, self._max_workers, self._spawn)
                self._pools[key] = pool
                previous = self._current.get(spec.identity)
                if previous is not None and previous != key:
                    retired = self._pools.pop(previous, None)
                self._current[spec.identity] = key
        if retired is not None:
            LOGGER.info("%s: new deployment, retiring the previous workers", spec.function_name)
            retired.retire()
        return pool

    def _spawn(self, spec: FunctionSpec) -> _Worker:
        code_dir = self._extract(self._work_dir / "code", spec.code_sha256, spec.code)
        layer_paths: list[str] = []
        minor = f"python{sys.version_info.major}.{sys.version_info.minor}"
        # Later layers win in Lambda's /opt merge, so they come first on sys.path.
        for layer in reversed(spec.layers):
            root = self._extract(self._work_dir / "layers", layer.sha256, layer.code)
            layer_paths += [str(root / "python"), str(root / "python" / "lib" / minor / "site-packages")]
        credentials = self._credentials(spec) if self._credentials is not None else None
        return _Worker(spec, code_dir, layer_paths, self.endpoint, self._work_dir / "tmp", self._log_sink, credentials)

    def _extract(self, parent: Path, sha256: str, code: bytes) -> Path:
        name = hashlib.sha256(sha256.encode("utf-8")).hexdigest()[:32]
        target = parent / name
        with self._extract_lock:
            if not target.is_dir():
                staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=parent))
                with zipfile.ZipFile(io.BytesIO(code)) as archive:
                    archive.extractall(staging)
                staging.rename(target)
        return target

    def _run(
        self,
        pool: _Pool,
        worker: _Worker,
        fresh: bool,
        spec: FunctionSpec,
        payload: bytes,
        request_id: str,
        invoked_function_arn: str | None,
        client_context: Any,
    ) -> InvocationResult:
        def failed(error_type: str, message: str) -> InvocationResult:
            return InvocationResult(
                request_id, _error_payload(error_type, message, request_id), "Unhandled", "", spec.version
            )

        healthy = False
        try:
            if fresh:
                try:
                    worker.wait_initialised(max(INIT_TIMEOUT_SECONDS, spec.timeout_seconds))
                except _InitFailedError as exc:
                    error = exc.error
                    return InvocationResult(
                        request_id,
                        _error_payload(
                            str(error.get("errorType", "Runtime.Unknown")),
                            str(error.get("errorMessage", "")),
                            request_id,
                            list(error.get("stackTrace") or []),
                        ),
                        "Unhandled",
                        "",
                        spec.version,
                    )
                except _WorkerTimeoutError:
                    return failed("Sandbox.Timedout", f"RequestId: {request_id} Error: INIT phase timed out")
            deadline_ms = int(time.time() * 1000 + spec.timeout_seconds * 1000)
            try:
                response = worker.call(
                    {
                        "type": "invoke",
                        "request_id": request_id,
                        "payload": payload.decode("utf-8"),
                        "deadline_ms": deadline_ms,
                        "invoked_function_arn": invoked_function_arn or spec.qualified_arn,
                        "client_context": client_context,
                    },
                    spec.timeout_seconds,
                )
            except _WorkerTimeoutError:
                LOGGER.warning("%s: task timed out after %.2f s", spec.function_name, spec.timeout_seconds)
                return failed(
                    "Sandbox.Timedout",
                    f"RequestId: {request_id} Error: Task timed out after {spec.timeout_seconds:.2f} seconds",
                )
            healthy = True
            tail = str(response.get("log_tail", ""))
            if response.get("ok"):
                return InvocationResult(request_id, str(response["payload"]).encode("utf-8"), None, tail, spec.version)
            return InvocationResult(
                request_id,
                json.dumps(response.get("error") or {}).encode("utf-8"),
                "Unhandled",
                tail,
                spec.version,
            )
        except _WorkerGoneError as exc:
            return failed("Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: {exc}")
        finally:
            pool.release(worker, healthy)


def _log_to_logger(spec: FunctionSpec, stream: str, line: str) -> None:
    LOGGER.info("[%s] %s", spec.function_name, line)


def payload_text(result: InvocationResult) -> str:
    return result.payload.decode("utf-8", errors="replace")


def b64_tail(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
