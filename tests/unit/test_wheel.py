"""The wheel that ``pip install`` builds holds the operator CLI and what it needs, and nothing of the dev tools."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from devtools import REPO_ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("ddb_migrate-*.whl")
    return built


@pytest.fixture(scope="module")
def unpacked(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_only_top_level_package_is_the_cli(wheel: Path) -> None:
    top_level = {name.split("/")[0] for name in names(wheel)}

    assert top_level == {"ddbmigrate", "ddb_migrate-0.1.0.dist-info"}


def test_the_console_script_is_the_cli(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read("ddb_migrate-0.1.0.dist-info/entry_points.txt").decode()

    assert "[console_scripts]\nddb-migrate = ddbmigrate.cli:main" in entry_points


def test_the_lambdas_shared_library_ships_inside_the_package_and_the_handlers_do_not(wheel: Path) -> None:
    packages = {str(Path(name).parent) for name in names(wheel) if name.endswith(".py")}
    library = {package for package in packages if package.startswith("ddbmigrate/_vendor/migration_core")}

    assert packages - library == {"ddbmigrate"}
    assert "ddbmigrate/_vendor/migration_core" in library
    assert {package.split("/")[-1] for package in packages}.isdisjoint(
        {"backfill_worker", "stream_forwarder", "replication_consumer"}
    )


def test_no_dev_tool_or_test_dependency_is_imported_by_the_shipped_code(unpacked: Path) -> None:
    forbidden = re.compile(
        r"^\s*(from|import)\s+(devtools|moto|tests|pytest|backfill_worker|stream_forwarder|replication_consumer)\b",
        re.MULTILINE,
    )
    offenders = [
        str(path.relative_to(unpacked)) for path in unpacked.rglob("*.py") if forbidden.search(path.read_text())
    ]

    assert offenders == []


def test_the_shipped_code_does_not_look_for_the_repository(unpacked: Path) -> None:
    offenders = [str(path.relative_to(unpacked)) for path in unpacked.rglob("*.py") if "parents[" in path.read_text()]

    assert offenders == []


def test_the_installed_cli_runs_without_the_checkout(unpacked: Path, tmp_path: Path) -> None:
    # -S skips site, so the checkout's editable .pth (lambda_src, scripts, the repository) is not on the path;
    # site-packages itself still provides boto3, click and the rest of the declared dependencies.
    site_packages = sysconfig.get_paths()["purelib"]
    modules = sorted(
        ".".join(path.relative_to(unpacked).with_suffix("").parts)
        for path in unpacked.rglob("*.py")
        if path.name != "__main__.py"
    )
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name.replace('ddbmigrate._vendor.', ''))\n"
        "import migration_core, ddbmigrate\n"
        "print(migration_core.__file__)\n"
        "assert not any(name == 'devtools' or name.startswith('devtools.') for name in sys.modules)\n"
    )
    environment = {"PYTHONPATH": f"{unpacked}:{site_packages}", "PATH": "/usr/bin:/bin"}

    imported = subprocess.run(
        [sys.executable, "-S", "-c", script], env=environment, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    helped = subprocess.run(
        [sys.executable, "-S", "-m", "ddbmigrate", "--help"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == str(unpacked / "ddbmigrate" / "_vendor" / "migration_core" / "__init__.py")
    assert helped.returncode == 0, helped.stderr
    assert "verify" in helped.stdout
    assert "demo" not in helped.stdout
