"""The emulator: moto's server plus what it lacks to run this project (Lambda code, pollers, SFN)."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from moto.server import ThreadedMotoServer

from . import iam_gate, moto_access, moto_patches
from .executor import DEFAULT_MAX_WORKERS_PER_FUNCTION, InvocationResult, LambdaExecutor
from .pollers import DEFAULT_POLL_INTERVAL, PollerManager

LOGGER = logging.getLogger("devtools.emulator")
FUNCTION_LOGGER = logging.getLogger("devtools.emulator.lambda")


class Emulator:
    """A running emulator. Use :func:`start_emulator`, or ``with Emulator() as emulator:``."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        max_workers_per_function: int = DEFAULT_MAX_WORKERS_PER_FUNCTION,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        reset: bool = True,
        cloudwatch_logs: bool = True,
        iam_gate: bool = True,
    ) -> None:
        """``iam_gate``: hold functions, pollers and the state machine to their roles' policies (:mod:`.iam_gate`);
        off, their role sessions may do anything, as every other caller may."""
        self.host = host
        self.port = port
        self.endpoint = ""
        self._max_workers = max_workers_per_function
        self._poll_interval = poll_interval
        self._reset = reset
        self._cloudwatch_logs = cloudwatch_logs
        self._gate = _new_gate(iam_gate)
        self._server: ThreadedMotoServer | None = None
        self._executor: LambdaExecutor | None = None
        self._pollers: PollerManager | None = None
        self._work_dir: Path | None = None
        self._patched = False
        self._saved_sfn_config: dict[str, Any] | None = None
        self._saved_moto_port: str | None = None
        self._moto_port_set = False
        self._stop_lock = threading.Lock()
        self._running = False
        self._saved_werkzeug_level: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Emulator:
        moto_patches.install(self)
        self._patched = True
        iam_gate.activate(self._gate)
        # werkzeug logs every request at INFO (and adds its own stderr handler when none is configured).
        werkzeug = logging.getLogger("werkzeug")
        self._saved_werkzeug_level = werkzeug.level
        werkzeug.setLevel(max(werkzeug.getEffectiveLevel(), logging.WARNING))
        try:
            if self._reset:
                moto_access.reset_all_backends()
            self._saved_sfn_config = moto_access.set_state_machine_execution(True)
            self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
            self._server.start()
            bound_host, self.port = self._server.get_host_and_port()
            client_host = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host  # noqa: S104
            self.endpoint = f"http://{client_host}:{self.port}"
            # moto's Step Functions interpreter calls Lambda at localhost:$MOTO_PORT.
            self._saved_moto_port = os.environ.get("MOTO_PORT")
            os.environ["MOTO_PORT"] = str(self.port)
            self._moto_port_set = True
            self._work_dir = Path(tempfile.mkdtemp(prefix="ddbmigrate-emulator-"))
            self._executor = LambdaExecutor(
                self.endpoint,
                self._work_dir,
                self._max_workers,
                log_sink=self._function_log,
                resolve=moto_access.current_spec,
                credentials=self._gate.function_credentials,
            )
            self._pollers = PollerManager(
                self.endpoint,
                self._invoke_for_mapping,
                self._poll_interval,
                identity=iam_gate.MappingIdentity(self._gate),
            )
            executor = self._executor
            self._pollers.add_housekeeping(lambda: executor.retire_missing(moto_access.function_exists))
            self._pollers.start()
            self._running = True
            # A caller that crashes before stop() must not leave worker processes or the work dir.
            atexit.register(self.stop)
        except BaseException:
            self.stop()
            raise
        LOGGER.info("emulator listening on %s", self.endpoint)
        return self

    def stop(self) -> None:
        """Stop pollers, the server and every worker process, and give moto back its original code."""
        with self._stop_lock:
            atexit.unregister(self.stop)
            self._running = False
            if self._pollers is not None:
                self._pollers.stop()
                self._pollers = None
            if self._server is not None:
                try:
                    self._server.stop()
                except Exception:
                    LOGGER.exception("stopping the moto server failed")
                self._server = None
            if self._executor is not None:
                self._executor.shutdown()
                self._executor = None
            if self._moto_port_set:
                if self._saved_moto_port is None:
                    os.environ.pop("MOTO_PORT", None)
                else:
                    os.environ["MOTO_PORT"] = self._saved_moto_port
                self._moto_port_set = False
            if self._saved_sfn_config is not None:
                moto_access.restore_state_machine_execution(self._saved_sfn_config)
                self._saved_sfn_config = None
            if self._patched:
                if iam_gate.active() is self._gate:
                    iam_gate.deactivate()
                moto_patches.uninstall()
                self._patched = False
            if self._saved_werkzeug_level is not None:
                logging.getLogger("werkzeug").setLevel(self._saved_werkzeug_level)
                self._saved_werkzeug_level = None
            if self._work_dir is not None:
                shutil.rmtree(self._work_dir, ignore_errors=True)
                self._work_dir = None

    def __enter__(self) -> Emulator:
        return self if self._running else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._running

    @property
    def gate(self) -> iam_gate.IamGate:
        """The IAM gate; ``gate.enabled`` may be switched at run time."""
        return self._gate

    def mapping_problems(self) -> dict[str, str]:
        """Event source mappings that cannot make progress (e.g. their function's role is refused), by UUID."""
        pollers = self._pollers
        return {} if pollers is None else pollers.problems()

    # -- helpers for tests and the demo ---------------------------------------------------------

    def client_environment(self) -> dict[str, str]:
        """Environment variables that point AWS SDKs, the CLI and Terraform at this emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }

    def wait_for_idle(self, timeout: float = 30.0) -> None:
        """Block until every enabled event source mapping is drained and no invocation is running.

        Drained means: no stream record after the mapping's checkpoint, no visible, in-flight or
        delayed message in a mapped queue. Two consecutive idle observations are required so that
        work handed from one mapping to another (a function writing to a mapped queue) is not missed.
        Raises ``TimeoutError`` naming what is still busy.
        """
        deadline = time.monotonic() + timeout
        idle_streak = 0
        busy: list[str] = []
        while True:
            pollers, executor = self._pollers, self._executor
            if pollers is None or executor is None:
                raise RuntimeError("the emulator is not running")
            busy = pollers.busy_mappings()
            if executor.busy:
                busy.append("Lambda invocations in progress")
            idle_streak = 0 if busy else idle_streak + 1
            if idle_streak >= 2:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"emulator still busy after {timeout:.1f} s: {', '.join(busy)}")
            time.sleep(self._poll_interval)

    # -- FunctionRunner (called by the patched moto Lambda model) -------------------------------

    def _require_executor(self) -> LambdaExecutor:
        if self._executor is None:
            raise RuntimeError("the emulator is not running")
        return self._executor

    def invoke_moto_function(self, fn: Any, payload: bytes) -> InvocationResult:
        return self._require_executor().invoke(moto_access.function_spec(fn), payload)

    def invoke_moto_function_async(self, fn: Any, payload: bytes) -> str:
        return self._require_executor().invoke_async(moto_access.function_spec(fn), payload)

    # -- internals ------------------------------------------------------------------------------

    def _invoke_for_mapping(self, view: moto_access.MappingView, payload: bytes) -> InvocationResult | None:
        fn = moto_access.find_function(view.account_id, view.region, view.function_arn)
        if fn is None:
            LOGGER.warning("mapping %s: function %s does not exist", view.uuid, view.function_arn)
            return None
        return self._require_executor().invoke(moto_access.function_spec(fn), payload)

    def _function_log(self, spec: Any, stream_name: str, line: str) -> None:
        FUNCTION_LOGGER.info("[%s] %s", spec.function_name, line)
        if self._cloudwatch_logs and self._running:
            if self._gate.log_delivery_denial(spec, stream_name) is not None:
                return  # Lambda drops the logs of a role that may not write them
            try:
                moto_access.append_function_log(spec, stream_name, line)
            except Exception:
                LOGGER.debug("could not copy a log line to CloudWatch Logs", exc_info=True)


def start_emulator(
    port: int = 0,
    host: str = "127.0.0.1",
    *,
    max_workers_per_function: int = DEFAULT_MAX_WORKERS_PER_FUNCTION,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    reset: bool = True,
    cloudwatch_logs: bool = True,
    iam_gate: bool = True,
) -> Emulator:
    """Start the emulator in this process (moto server thread, pollers, worker processes)."""
    return Emulator(
        port,
        host,
        max_workers_per_function=max_workers_per_function,
        poll_interval=poll_interval,
        reset=reset,
        cloudwatch_logs=cloudwatch_logs,
        iam_gate=iam_gate,
    ).start()


def _new_gate(enabled: bool) -> iam_gate.IamGate:
    # A helper because the constructor's ``iam_gate`` flag shadows the module's name there.
    return iam_gate.IamGate(enabled=enabled)
