"""The offline Terraform setup: concurrent stacks never refill the shared plugin cache under each other."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import terraform_setup


def test_a_cached_provider_is_linked_not_reinstalled() -> None:
    config = terraform_setup.render_cli_config(Path("/mirror"), Path("/cache"))

    assert 'plugin_cache_dir = "/cache"' in config
    assert "plugin_cache_may_break_dependency_lock_file = true" in config


def test_init_is_serialized_across_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terraform_setup, "PLUGIN_CACHE", tmp_path)
    monkeypatch.setattr(terraform_setup, "INIT_LOCK", tmp_path / ".init.lock")
    holder = (
        "import fcntl, sys, time\n"
        "handle = open(sys.argv[1], 'a')\n"
        "fcntl.flock(handle, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder, str(tmp_path / ".init.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as other:
        assert other.stdout is not None
        assert other.stdin is not None
        assert other.stdout.readline().strip() == "held"
        with (tmp_path / ".init.lock").open("a") as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        other.stdin.close()
        other.wait(timeout=60)

    with terraform_setup.init_lock(), (tmp_path / ".init.lock").open("a") as handle, pytest.raises(BlockingIOError):
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
