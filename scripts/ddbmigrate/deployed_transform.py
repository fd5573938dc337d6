"""The transform a deployment runs, rebuilt in the CLI so that ``verify`` compares against the same thing.

Declarative steps come from the worker Lambda's ``TRANSFORM_STEPS``. A custom module (``TRANSFORM_MODULE``) only
exists inside the Lambda's zip, so it is taken from ``--transform-file`` when given, else downloaded with
GetFunction's presigned ``Code.Location``. Either way the module is the operator's own code from their own
deployment, imported into this process like the Lambda imports it.
"""

from __future__ import annotations

import importlib.util
import io
import json
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from ddbmigrate.aws import client
from migration_core.errors import TransformError
from migration_core.transform import CustomTransform, Transformer
from migration_core.verify import steps_preserve_keys

DOWNLOAD_TIMEOUT_SECONDS = 60


class TransformUnavailableError(RuntimeError):
    """The deployment's transform cannot be rebuilt here; the message says what to pass instead."""


@dataclass(frozen=True)
class DeployedTransform:
    transformer: Transformer
    steps: Sequence[Mapping[str, Any]]
    # Where the custom module came from, for the report; None without a custom module.
    custom_origin: str | None

    def preserves_keys(self, key_names: Sequence[str]) -> bool:
        """Whether every target key surely equals its source key: no custom code and no step on a key."""
        return self.custom_origin is None and steps_preserve_keys(self.steps, key_names)


def load_deployed_transform(
    worker_function: str, environment: Mapping[str, str], transform_file: Path | None
) -> DeployedTransform:
    raw_steps = environment.get("TRANSFORM_STEPS", "").strip() or "[]"
    try:
        steps = json.loads(raw_steps)
    except json.JSONDecodeError as exc:
        raise TransformUnavailableError(f"the worker's TRANSFORM_STEPS is not valid JSON: {exc}") from exc
    module_name = environment.get("TRANSFORM_MODULE", "").strip()
    custom: CustomTransform | None = None
    origin: str | None = None
    if transform_file is not None:
        if not module_name:
            # Comparing against a transform the deployment does not run would report differences that are not.
            raise TransformUnavailableError(
                f"--transform-file is for deployments with a custom transform module, and {worker_function} "
                "has no TRANSFORM_MODULE: its transform is TRANSFORM_STEPS alone"
            )
        custom = _transform_function(_import_file(transform_file, "ddb_migrate_transform_file"), str(transform_file))
        origin = str(transform_file)
    elif module_name:
        archive = download_function_code(worker_function)
        custom = load_module_from_zip(archive, module_name)
        origin = f"module {module_name!r} from the code of {worker_function}"
    try:
        transformer = Transformer.from_spec(steps, custom)
    except TransformError as exc:
        raise TransformUnavailableError(f"the worker's transform cannot be built: {exc}") from exc
    return DeployedTransform(transformer=transformer, steps=list(steps), custom_origin=origin)


def download_function_code(function_name: str) -> bytes:
    """The deployment package of a zip Lambda, fetched from GetFunction's presigned URL."""
    hint = "pass --transform-file PATH with the file the Terraform module was given as transform.custom_file"
    location = client("lambda").get_function(FunctionName=function_name).get("Code", {}).get("Location")
    if not location:
        raise TransformUnavailableError(f"GetFunction gives no code location for {function_name}; {hint}")
    if urllib.parse.urlsplit(location).scheme not in ("https", "http"):
        raise TransformUnavailableError(f"the code location of {function_name} is not an HTTP(S) URL; {hint}")
    try:
        with urllib.request.urlopen(location, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310 - scheme checked
            return cast(bytes, response.read())
    except (urllib.error.URLError, OSError) as exc:
        raise TransformUnavailableError(f"downloading the code of {function_name} failed ({exc}); {hint}") from exc


def load_module_from_zip(archive: bytes, module_name: str) -> CustomTransform:
    """Import ``<module_name>.py`` from the zip root (where the build puts the user's file) and return its
    ``transform``; the module's own imports resolve against this process (migration_core included)."""
    entry = f"{module_name}.py"
    try:
        bundle = zipfile.ZipFile(io.BytesIO(archive))
        source = bundle.read(entry)
    except zipfile.BadZipFile as exc:
        raise TransformUnavailableError(f"the worker's code is not a zip archive: {exc}") from exc
    except KeyError:
        raise TransformUnavailableError(
            f"the worker's code has no {entry} (TRANSFORM_MODULE); pass --transform-file PATH"
        ) from None
    with tempfile.TemporaryDirectory(prefix="ddb-migrate-transform-") as directory:
        path = Path(directory) / entry
        path.write_bytes(source)
        module = _import_file(path, f"ddb_migrate_deployed_{module_name}")
    return _transform_function(module, f"{entry} from the worker's code")


def _import_file(path: Path, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise TransformUnavailableError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module may fail in any way while it is imported
        raise TransformUnavailableError(f"importing the transform module {path} failed: {exc!r}") from exc
    return module


def _transform_function(module: ModuleType, origin: str) -> CustomTransform:
    function = getattr(module, "transform", None)
    if not callable(function):
        raise TransformUnavailableError(f"{origin} must define transform(item) -> item | list[item] | None")
    return cast(CustomTransform, function)
