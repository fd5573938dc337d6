"""Tests against a live endpoint: the embedded emulator in its own process by default, or whatever
``DDB_MIGRATE_TEST_TARGET=external`` reaches (LocalStack with ``AWS_ENDPOINT_URL`` set, or a real account).

Clients come from ``ddbmigrate.aws.client``, which follows the environment the fixtures set up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ddbmigrate import replication_ops
from ddbmigrate.aws import client
from devtools.stack import Stack
from tests.support.localstack import localstack_endpoint
from tests.support.tables import Item

USE_EMULATOR = os.environ.get("DDB_MIGRATE_TEST_TARGET", "emulator") == "emulator"


def deselection_reason(item: pytest.Item) -> str | None:
    """Why ``item`` cannot run on this target, from its marker, or None when it runs here.

    ``@pytest.mark.emulator_only(reason=...)``: needs the embedded emulator (its IAM gate, its fault injection, a
    process of its own); deselected on every external target. ``@pytest.mark.not_on_localstack(reason=...)``:
    runs on the emulator and on AWS, but not on LocalStack (``AWS_ENDPOINT_URL`` answering LocalStack's health
    check); the reason names what LocalStack lacks. A marker without a reason is an error.
    """
    for name in ("emulator_only", "not_on_localstack"):
        marker = item.get_closest_marker(name)
        if marker is None:
            continue
        reason = marker.kwargs.get("reason")
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{name} needs reason=...")
        # The LocalStack probe only for a marked test on an external target: it asks the endpoint over HTTP.
        if not USE_EMULATOR and (name == "emulator_only" or localstack_endpoint() is not None):
            return f"{name}: {reason}"
    return None


@contextmanager
def applied_stacks(directory: Path) -> Iterator[Callable[..., dict[str, Any]]]:
    """What the ``deploy`` fixtures hand a test: apply the root module with the given inputs (one stack per call,
    under ``directory``); the outputs carry ``_terraform_dir`` for ``--terraform-dir``. On leaving, the stacks
    are destroyed again, except on the emulator, whose state ends with it."""
    stacks: list[Stack] = []

    def apply(module_inputs: Mapping[str, Any], extra_hcl: str = "") -> dict[str, Any]:
        stack = Stack(directory / f"stack{len(stacks)}", module_inputs, extra_hcl=extra_hcl)
        stacks.append(stack)
        outputs = stack.apply()
        outputs["_terraform_dir"] = str(stack.directory)
        return outputs

    yield apply
    if not USE_EMULATOR:
        for stack in reversed(stacks):
            stack.destroy()


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real ``ddb-migrate`` command, as an operator would."""
    result = subprocess.run(
        [sys.executable, "-m", "ddbmigrate", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, COLUMNS="160"),
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"ddb-migrate {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def run_migration(terraform_dir: str, *args: str, json_path: Path) -> dict[str, Any]:
    """``ddb-migrate run`` on a deployment; its ``--json-output`` document, with ``_stdout`` (stdout and stderr)
    and ``_exit_code`` added. A failed run does not fail here: the test checks the result."""
    completed = cli("run", "--terraform-dir", terraform_dir, "--json-output", str(json_path), *args, check=False)
    result: dict[str, Any] = json.loads(json_path.read_text())
    result["_stdout"] = completed.stdout + completed.stderr
    result["_exit_code"] = completed.returncode
    return result


def state_records(state_table: str, run_id: str) -> list[Item]:
    paginator = client("dynamodb").get_paginator("query")
    pages = paginator.paginate(
        TableName=state_table,
        KeyConditionExpression="pk = :run",
        ExpressionAttributeValues={":run": {"S": run_id}},
    )
    return [item for page in pages for item in page["Items"]]


def queue_depth(url: str) -> int:
    """Messages in a queue: visible, in flight and delayed (what ``ddb-migrate cutover`` waits to see at zero)."""
    return replication_ops.queue_depth(client("sqs"), url).total
