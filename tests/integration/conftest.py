"""Integration fixtures (fixtures only; helpers are in ``tests/support``): the embedded AWS emulator by default, or any endpoint the user points at.

``DDB_MIGRATE_TEST_TARGET=external`` runs the same tests against whatever boto3 and the Terraform provider reach
from the environment: LocalStack with ``AWS_ENDPOINT_URL`` set, or a real account with it unset.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.local import running_emulator
from tests.support.live import USE_EMULATOR, applied_stacks, deselection_reason

DESELECTED = pytest.StashKey[list[tuple[str, str]]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here is an integration test; the ones marked for another target are deselected, each with the
    reason its marker gives (listed at the end of the run)."""
    kept, deselected = [], []
    for item in items:
        item.add_marker(pytest.mark.integration)
        reason = deselection_reason(item)
        if reason is None:
            kept.append(item)
        else:
            deselected.append(item)
            config.stash.setdefault(DESELECTED, []).append((item.nodeid, reason))
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller prints the summary
        workeroutput["deselected"] = config.stash.get(DESELECTED, [])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist's controller: every worker collects the same tests, so the first worker's list is the list."""
    deselected = getattr(node, "workeroutput", {}).get("deselected", [])
    if deselected and DESELECTED not in node.config.stash:
        node.config.stash[DESELECTED] = [tuple(entry) for entry in deselected]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    deselected = config.stash.get(DESELECTED, [])
    if deselected:
        terminalreporter.section(f"deselected on this target ({len(deselected)})")
        for nodeid, reason in deselected:
            terminalreporter.line(f"{nodeid}: {reason}")


@pytest.fixture(scope="session")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """Start the embedded emulator in its own process and point boto3 and Terraform at it."""
    if not USE_EMULATOR:
        yield os.environ.get("AWS_ENDPOINT_URL")
        return
    with running_emulator(tmp_path_factory.mktemp("emulator") / "emulator.log") as endpoint:
        yield endpoint


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Names unique per test, so tests can share one emulator or one account."""
    suffix = secrets.token_hex(3)
    return lambda prefix: f"it-{prefix}-{suffix}"


@pytest.fixture
def deploy(aws_endpoint: str | None, tmp_path: Path) -> Iterator[Callable[..., dict[str, Any]]]:
    """Apply the root module with the given inputs; destroyed again after the test."""
    with applied_stacks(tmp_path) as apply:
        yield apply


@pytest.fixture(scope="module")
def deploy_for_module(
    aws_endpoint: str | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., dict[str, Any]]]:
    """``deploy`` for a module-scoped fixture, so that the tests of a module can share a deployment (an apply
    takes about a minute on the emulator); destroyed again after the module's last test."""
    with applied_stacks(tmp_path_factory.mktemp("stacks")) as apply:
        yield apply
