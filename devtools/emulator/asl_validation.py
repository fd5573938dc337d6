"""An independent Amazon States Language check for the emulator: `asl-validator`_ from npm, run by node.

moto's ASL parser accepts definitions that Step Functions refuses, duplicate state names across Map item
processors among them, so a module could pass every test on the emulator and then fail to deploy. This
module runs the validator the project pins in ``devtools/asl`` (``make venv`` installs it) and turns its
findings into Step Functions' diagnostics (``code``, ``message``, ``location``).

One node process serves every validation: starting node and loading the validator costs several times a
validation, and Terraform calls ValidateStateMachineDefinition on every plan. Results are cached by the
definition's SHA-256 because the same definitions come back again and again (plan, create, refresh).

.. _asl-validator: https://github.com/ChristopheBougere/asl-validator
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from devtools import REPO_ROOT

VALIDATOR_PACKAGE: Final = "asl-validator"
VALIDATOR_VERSION: Final = "4.0.0"
"""Must equal the exact pin in devtools/asl/package.json; a different installed version is refused."""

TOOLS_DIR_VARIABLE: Final = "DDBMIGRATE_ASL_TOOLS_DIR"
DEFAULT_TOOLS_DIR: Final = REPO_ROOT / "devtools" / "asl"
SERVER_SCRIPT: Final = "validate-server.js"
SETUP_HINT: Final = "run `make venv` in the repository (it runs `npm ci` in devtools/asl)"

# Generous: they only turn a wedged node process into an error, they never pace a healthy one.
START_TIMEOUT_SECONDS: Final = 120.0
VALIDATE_TIMEOUT_SECONDS: Final = 120.0
CACHE_SIZE: Final = 512

# Codes whose Step Functions name is known to differ from asl-validator's; the others are passed on as they are.
AWS_CODES: Final = {"DUPLICATE_STATE_NAMES": "DUPLICATE_STATE_NAME"}
DUPLICATE_NAME_PREFIX: Final = "A state with this name already exists: "


class AslValidatorUnavailableError(RuntimeError):
    """node or the pinned asl-validator is not installed where the emulator looks for it."""


class AslValidatorFailedError(RuntimeError):
    """The validator process crashed, hung or answered something other than its protocol."""


@dataclass(frozen=True)
class Diagnostic:
    """One finding, in the shape of ValidateStateMachineDefinition's ``diagnostics``.

    ``validator_code`` is asl-validator's own code (``DUPLICATE_STATE_NAMES``); ``code`` is Step Functions'
    (``DUPLICATE_STATE_NAME``). ``location`` is a JSON pointer into the definition, or empty when unknown.
    """

    code: str
    message: str
    location: str
    validator_code: str
    severity: str = "ERROR"

    def as_aws(self) -> dict[str, str]:
        return {"severity": self.severity, "code": self.code, "message": self.message, "location": self.location}

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.code}: {self.message}{where}"


def invalid_definition_message(diagnostics: Sequence[Diagnostic]) -> str:
    """The message of Step Functions' ``InvalidDefinition`` error: one finding quoted, several as a quoted list."""
    if len(diagnostics) == 1:
        return f"Invalid State Machine Definition: '{diagnostics[0]}'"
    return "Invalid State Machine Definition: '" + ", ".join(f"'{d}'" for d in diagnostics) + "'"


# --------------------------------------------------------------------------------------------------
# Reading the definition


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys the text repeated (``json`` keeps only the last value)."""

    repeated: tuple[str, ...] = ()


def _object_remembering_repeats(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        repeated = []
        for key, _ in pairs:
            if key in seen:
                repeated.append(key)
            seen.add(key)
        result.repeated = tuple(repeated)
    return result


def _pointer(*parts: str | int) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _state_containers(definition: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(path, ``States`` object) of the machine and of every Parallel branch and Map processor in it."""
    if not isinstance(definition, dict):
        return
    states = definition.get("States")
    if not isinstance(states, dict):
        return
    yield (*path, "States"), states
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = (*path, "States", name)
        branches = state.get("Branches")
        if state.get("Type") == "Parallel" and isinstance(branches, list):
            for index, branch in enumerate(branches):
                yield from _state_containers(branch, (*here, "Branches", index))
        for processor in ("ItemProcessor", "Iterator"):
            if state.get("Type") == "Map" and processor in state:
                yield from _state_containers(state[processor], (*here, processor))


def _state_name_locations(definition: Any) -> dict[str, list[str]]:
    """Every state name and the JSON pointers of the states that carry it, in document order."""
    locations: dict[str, list[str]] = {}
    for path, states in _state_containers(definition):
        for name in states:
            locations.setdefault(name, []).append(_pointer(*path, name))
    return locations


def _repeated_state_names(definition: Any) -> list[Diagnostic]:
    """Duplicates inside one ``States`` object, which node's JSON.parse drops before the validator sees them."""
    found = []
    for path, states in _state_containers(definition):
        for name in getattr(states, "repeated", ()):
            found.append(
                Diagnostic(
                    code="DUPLICATE_STATE_NAME",
                    message=f"Duplicate State name: {name}",
                    location=_pointer(*path, name),
                    validator_code="DUPLICATE_JSON_KEY",
                )
            )
    return found


def _for_validator(node: Any) -> Any:
    """The definition as sent to asl-validator: a fractional ``ToleratedFailurePercentage`` truncated.

    asl-validator 4.0.0 types the field as an integer, Step Functions takes any number from 0 to 100; the
    value only needs to stay in or out of that range for the check to agree with Step Functions.
    """
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "ToleratedFailurePercentage" and isinstance(value, float) and 0 <= value <= 100:
                result[key] = int(value)
            else:
                result[key] = _for_validator(value)
        return result
    if isinstance(node, list):
        return [_for_validator(value) for value in node]
    return node


def _from_validator(errors: list[dict[str, str]], definition: Any) -> list[Diagnostic]:
    locations = _state_name_locations(definition)
    diagnostics = []
    for error in errors:
        validator_code = str(error.get("code", ""))
        message = str(error.get("message", ""))
        location = str(error.get("instancePath", ""))
        if validator_code == "DUPLICATE_STATE_NAMES" and message.startswith(DUPLICATE_NAME_PREFIX):
            name = message.removeprefix(DUPLICATE_NAME_PREFIX)
            message = f"Duplicate State name: {name}"
            # asl-validator names the state but not where it is; Step Functions points at the second one.
            seen = locations.get(name, [])
            location = seen[1] if len(seen) > 1 else ""
        diagnostics.append(
            Diagnostic(
                code=AWS_CODES.get(validator_code, validator_code),
                message=message,
                location=location,
                validator_code=validator_code,
            )
        )
    return diagnostics


# --------------------------------------------------------------------------------------------------
# The node process


class _Server:
    """One running ``node validate-server.js``; the caller serialises requests."""

    def __init__(self, node: str, tools_dir: Path) -> None:
        self._closed = False
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [node, str(tools_dir / SERVER_SCRIPT)],
            cwd=tools_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        assert self._process.stdout is not None  # noqa: S101 - Popen with stdout=PIPE
        self._selector.register(self._process.stdout, selectors.EVENT_READ)
        try:
            self._handshake(tools_dir)
        except BaseException:
            self.close()
            raise

    def _handshake(self, tools_dir: Path) -> None:
        hello = self._read(START_TIMEOUT_SECONDS)
        if hello.get("ready") is not True:
            raise self._failure(f"did not start: {hello}")
        if hello.get("validator") != VALIDATOR_VERSION:
            raise AslValidatorUnavailableError(
                f"{VALIDATOR_PACKAGE} {hello.get('validator')} is installed in {tools_dir}, the emulator needs "
                f"{VALIDATOR_VERSION}: {SETUP_HINT}"
            )

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def request(self, document: Any) -> dict[str, Any]:
        stdin = self._process.stdin
        assert stdin is not None  # noqa: S101 - Popen with stdin=PIPE
        try:
            stdin.write(json.dumps({"definition": document}).encode() + b"\n")
            stdin.flush()
        except OSError as exc:
            raise self._failure(f"could not send a definition ({exc})") from exc
        return self._read(VALIDATE_TIMEOUT_SECONDS)

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        stdout = self._process.stdout
        assert stdout is not None  # noqa: S101 - Popen with stdout=PIPE
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._failure(f"no answer within {timeout:.0f} s")
            if not self._selector.select(remaining):
                continue
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                self._process.wait()
                raise self._failure(f"node exited with status {self._process.returncode}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            answer = json.loads(line)
        except ValueError as exc:
            raise self._failure(f"answered something that is not JSON: {line[:200]!r}") from exc
        if not isinstance(answer, dict):
            raise self._failure(f"answered {answer!r}")
        return answer

    def _failure(self, what: str) -> AslValidatorFailedError:
        self._stderr.seek(0)
        stderr = self._stderr.read()[-4000:].decode(errors="replace").strip()
        return AslValidatorFailedError(f"asl-validator server {what}" + (f"; its stderr:\n{stderr}" if stderr else ""))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._process.stdin is not None:
            # End of input is the server's signal to exit.
            self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._selector.close()
        self._stderr.close()


class AslValidator:
    """Validates definitions with the pinned asl-validator; thread-safe, one node process started on demand."""

    def __init__(self, tools_dir: Path | None = None, *, node: str | None = None, cache_size: int = CACHE_SIZE) -> None:
        configured = os.environ.get(TOOLS_DIR_VARIABLE)
        self.tools_dir = tools_dir or (Path(configured) if configured else DEFAULT_TOOLS_DIR)
        self._node = node
        self._cache: OrderedDict[str, tuple[Diagnostic, ...]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._server_lock = threading.Lock()
        self._server: _Server | None = None
        self.validations = 0
        """How many definitions went to node (cache hits do not); tests use it to see the cache work."""

    def check_available(self) -> str:
        """The node executable, after checking that it and the pinned validator are installed."""
        node = self._node or shutil.which("node")
        if node is None:
            raise AslValidatorUnavailableError(
                f"node is not on PATH; the emulator checks state machine definitions with {VALIDATOR_PACKAGE} "
                f"(Node.js >= 18): install Node.js, then {SETUP_HINT}"
            )
        manifest = self.tools_dir / "node_modules" / VALIDATOR_PACKAGE / "package.json"
        try:
            installed = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            installed = None
        if installed != VALIDATOR_VERSION:
            state = f"version {installed} is" if installed else "it is not"
            raise AslValidatorUnavailableError(
                f"the emulator checks state machine definitions with {VALIDATOR_PACKAGE} {VALIDATOR_VERSION}, "
                f"but {state} installed in {self.tools_dir}: {SETUP_HINT}"
            )
        if not (self.tools_dir / SERVER_SCRIPT).is_file():
            raise AslValidatorUnavailableError(f"{self.tools_dir / SERVER_SCRIPT} is missing: {SETUP_HINT}")
        return node

    def validate(self, definition: str) -> tuple[Diagnostic, ...]:
        """Step Functions-style diagnostics of a definition's text; empty when the validator accepts it."""
        key = hashlib.sha256(definition.encode("utf-8", "surrogatepass")).hexdigest()
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        result = tuple(self._validate(definition))
        with self._cache_lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    def _validate(self, definition: str) -> list[Diagnostic]:
        try:
            document = json.loads(definition, object_pairs_hook=_object_remembering_repeats)
        except ValueError as exc:
            return [Diagnostic("INVALID_JSON_DESCRIPTION", str(exc), "", "INVALID_JSON_DESCRIPTION")]
        if not isinstance(document, dict):
            return [Diagnostic("SCHEMA_VALIDATION_FAILED", "The definition must be a JSON object", "", "NOT_AN_OBJECT")]
        answer = self._ask(_for_validator(document))
        if "failure" in answer:
            raise AslValidatorFailedError(f"asl-validator could not check the definition: {answer['failure']}")
        errors = answer.get("errors")
        if not isinstance(errors, list):
            raise AslValidatorFailedError(f"asl-validator server answered {answer!r}")
        return _repeated_state_names(document) + _from_validator(errors, document)

    def _ask(self, document: Any) -> dict[str, Any]:
        with self._server_lock:
            if self._server is None or not self._server.alive:
                if self._server is not None:
                    self._server.close()
                self._server = None
                self._server = _Server(self.check_available(), self.tools_dir)
            self.validations += 1
            try:
                return self._server.request(document)
            except AslValidatorFailedError:
                self._server.close()
                self._server = None
                raise

    def close(self) -> None:
        """Stop the node process (the cache stays); the next validation starts a new one."""
        with self._server_lock:
            if self._server is not None:
                self._server.close()
                self._server = None


_default: AslValidator | None = None
_default_lock = threading.Lock()


def default_validator() -> AslValidator:
    """The process-wide validator the emulator uses, so its cache outlives one emulator."""
    global _default  # noqa: PLW0603 - one validator (and node process) per Python process is the point
    with _default_lock:
        if _default is None:
            _default = AslValidator()
            atexit.register(_default.close)
        return _default


def validate_definition(definition: str) -> tuple[Diagnostic, ...]:
    return default_validator().validate(definition)
