# mypy: ignore-errors
# (checked by the project's mypy from .venv, where localstack is not installed)
"""A LocalStack Lambda runtime executor that runs each execution environment as a local Python process.

LocalStack 4.14's only community executor is ``docker``: it starts a container from AWS's runtime image
with LocalStack's Go "init" inside, which implements the Lambda runtime API for the runtime and talks back to
LocalStack's executor endpoint (``localstack.services.lambda_.invocation.executor_endpoint``). This executor
starts ``lambda_init.py`` (next to this file) with a local Python 3.12 instead; that process loads the
handler itself and speaks the same executor-endpoint contract:

- it listens on 127.0.0.1 (a port it picks) for ``POST /invoke`` with ``{"invoke-id", "invoked-function-arn",
  "payload", "trace-id"}``;
- once the handler is imported it posts ``<endpoint>/status/<id>/ready`` (with ``{"port": N}`` in the body:
  the one addition to the contract, read by ``_LocalEndpoint`` below), or ``<endpoint>/status/<id>/error``
  with the init error;
- per invocation it posts ``<endpoint>/invocations/<req>/logs`` (``{"logs": "..."}``) and then
  ``.../response`` or ``.../error``.

Selected with ``LAMBDA_RUNTIME_EXECUTOR=local-python``. The interpreter is ``DDB_MIGRATE_LAMBDA_PYTHON``
(default ``~/.pyenv/versions/3.12.1/bin/python``); its site-packages stand in for the runtime's boto3.
Only ``python3.*`` zip functions are supported.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import threading
from collections import deque
from concurrent.futures import InvalidStateError
from http import HTTPStatus
from pathlib import Path

from localstack.http import Response
from localstack.services.lambda_.invocation.executor_endpoint import ExecutorEndpoint, StatusErrorException
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)
from werkzeug import Request

from localstack import config

LOG = logging.getLogger(__name__)

INIT_SCRIPT = Path(__file__).with_name("lambda_init.py")
DEFAULT_PYTHON = str(Path.home() / ".pyenv" / "versions" / "3.12.1" / "bin" / "python")
LOG_KEEP_LINES = 2000
# After a timeout the process replaces itself and imports the handler again (Lambda's INIT gets 10 s).
REINIT_WAIT_SECONDS = 30.0
# Passed through from LocalStack's own environment so that the function's process, too, keeps to loopback.
PASSTHROUGH_ENV = (
    "PATH",
    "LANG",
    "LC_ALL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
)


def lambda_python() -> str:
    return os.environ.get("DDB_MIGRATE_LAMBDA_PYTHON") or DEFAULT_PYTHON


class _LocalEndpoint(ExecutorEndpoint):
    """The executor endpoint, plus: the ready call carries the port the process listens on, and after a
    timeout (the process replaces itself) the next invocation waits for the new process's ready call."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.ready = threading.Event()

    def invocation_error(self, request: Request, req_id: str) -> Response:
        try:
            if json.loads(request.data or b"{}").get("errorType") == "Sandbox.Timedout":
                self.ready.clear()
        except (ValueError, AttributeError):
            pass
        return super().invocation_error(request, req_id)

    def status_ready(self, request: Request, executor_id: str) -> Response:
        self.ready.set()
        try:
            body = json.loads(request.data or b"{}")
            if isinstance(body, dict) and "port" in body:
                self.container_port = int(body["port"])
        except ValueError:
            LOG.warning("Execution environment %s sent a ready call without a port", executor_id)
        if self.startup_future is None or self.startup_future.done():
            # a re-initialised process (after a timeout) reports ready again: nothing waits for it
            return Response(status=HTTPStatus.ACCEPTED)
        return super().status_ready(request, executor_id)


class LocalPythonRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.executor_endpoint = _LocalEndpoint(self.id, container_address="127.0.0.1", container_port=None)
        self.process: subprocess.Popen[bytes] | None = None
        self._logs: deque[str] = deque(maxlen=LOG_KEEP_LINES)
        self._reader: threading.Thread | None = None

    # lifecycle
    def start(self, env_vars: dict[str, str]) -> None:
        self.executor_endpoint.start()
        config_ = self.function_version.config
        code_dir = Path(config_.code.get_unzipped_code_location())
        layer_dirs = [str(Path(layer.code.get_unzipped_code_location())) for layer in config_.layers or []]

        env = {key: os.environ[key] for key in PASSTHROUGH_ENV if key in os.environ}
        env.update({str(key): str(value) for key, value in env_vars.items() if value is not None})
        env["LAMBDA_TASK_ROOT"] = str(code_dir)
        env["LAMBDA_RUNTIME_DIR"] = str(INIT_SCRIPT.parent)
        env["LOCALSTACK_LAYER_DIRS"] = os.pathsep.join(layer_dirs)
        env.setdefault("HOME", str(code_dir))
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{config_.runtime}"

        LOG.debug("Starting local Lambda environment %s for %s", self.id, self.function_version.qualified_arn)
        self.process = subprocess.Popen(  # noqa: S603 - fixed interpreter and script
            [lambda_python(), "-I", "-u", "-B", str(INIT_SCRIPT)],
            env=env,
            cwd=str(code_dir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # stays in LocalStack's process group, so that run.py's stop of that group ends it too
        )
        self._reader = threading.Thread(
            target=self._read_output, args=(self.process,), name=f"lambda-local-{self.id}", daemon=True
        )
        self._reader.start()
        self.executor_endpoint.wait_for_startup()

    def _read_output(self, process: subprocess.Popen[bytes]) -> None:
        """Keeps the process's output for get_logs; if it dies before its ready call, startup fails."""
        for raw in iter(process.stdout.readline, b""):  # type: ignore[union-attr]
            self._logs.append(raw.decode("utf-8", errors="replace"))
        code = process.wait()
        future = self.executor_endpoint.startup_future
        if future is not None and not future.done():
            payload = json.dumps(
                {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: init Error: Runtime exited with error: exit status {code}",
                }
            ).encode()
            with contextlib.suppress(InvalidStateError):  # raced with a ready call or a cancel
                future.set_exception(StatusErrorException("Environment startup failed", payload=payload))

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        try:
            self.executor_endpoint.shutdown()
        except Exception as e:  # as the docker executor does
            LOG.debug("Error stopping executor endpoint of %s: %s", self.function_version.qualified_arn, e)

    # addresses
    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://127.0.0.1:{port}{self.executor_endpoint.get_endpoint_prefix()}"

    # invocations
    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        if not self.executor_endpoint.ready.wait(REINIT_WAIT_SECONDS):
            raise LambdaRuntimeException(f"Execution environment {self.id} did not re-initialise after a timeout")
        if self.process is None or self.process.poll() is not None:
            raise LambdaRuntimeException(f"Execution environment {self.id} is not running")
        return self.executor_endpoint.invoke(payload)

    def get_logs(self) -> str:
        return "".join(self._logs)

    # versions
    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        runtime = function_version.config.runtime or ""
        if not runtime.startswith("python"):
            raise LambdaRuntimeException(
                f"The local-python executor runs python3.* zip functions only, not {runtime or 'images'}"
            )
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()
        for layer in function_version.config.layers or []:
            layer.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        if not Path(lambda_python()).exists():
            LOG.warning("local-python executor: interpreter %s not found", lambda_python())
            return False
        return True


class LocalPythonRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "local-python"

    def load(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return LocalPythonRuntimeExecutor
