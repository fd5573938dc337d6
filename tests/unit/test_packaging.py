"""The Lambda zip build (modules/lambda_function/package.py) is byte-reproducible."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_PY = REPO_ROOT / "modules" / "lambda_function" / "package.py"
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
UNIX = 3


def make_sources(root: Path, mtime: float) -> Path:
    """A small source tree with the clutter a real checkout has: caches, compiled files, dot-files."""
    source = root / "lambda_src"
    files = {
        "core/__init__.py": "",
        "core/transform.py": "def apply(item):\n    return item\n",
        "core/sub/__init__.py": "",
        "core/sub/data.json": '{"a": 1}\n',
        "core/py.typed": "",
        "worker/__init__.py": "",
        "worker/handler.py": "def lambda_handler(event, context):\n    return {}\n",
    }
    clutter = {
        "core/__pycache__/transform.cpython-311.pyc": "compiled",
        "core/stale.pyc": "compiled",
        "core/.DS_Store": "finder",
        "worker/.hidden/secret.py": "x = 1\n",
    }
    for name, text in {**files, **clutter}.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    # Different modes and times must not leak into the archive.
    (source / "worker/handler.py").chmod(0o755)
    (source / "core/transform.py").chmod(0o600)
    for path in source.rglob("*"):
        os.utime(path, (mtime, mtime))
    return source


def build(source: Path, output: Path, *packages: str, custom: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(PACKAGE_PY), "--source-dir", str(source)]
    for package in packages:
        args += ["--package", package]
    if custom is not None:
        args += ["--custom-transform", str(custom)]
    args.append(str(output))
    return subprocess.run(args, capture_output=True, text=True, check=False)


@pytest.fixture
def custom_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_transform.py"
    path.write_text("def transform(item):\n    return item\n", encoding="utf-8")
    return path


def test_two_builds_in_different_places_are_byte_identical(tmp_path: Path, custom_file: Path) -> None:
    first_source = make_sources(tmp_path / "a", mtime=1_000_000_000)
    second_source = make_sources(tmp_path / "b", mtime=1_700_000_000)
    first = tmp_path / "out1" / "fn.zip"
    second = tmp_path / "out2" / "fn.zip"

    assert build(first_source, first, "core", "worker", custom=custom_file).returncode == 0
    assert build(second_source, second, "worker", "core", custom=custom_file).returncode == 0

    assert first.read_bytes() == second.read_bytes()


def test_entries_are_sorted_with_fixed_metadata(tmp_path: Path) -> None:
    source = make_sources(tmp_path, mtime=1_600_000_000)
    output = tmp_path / "fn.zip"
    assert build(source, output, "core", "worker").returncode == 0

    with zipfile.ZipFile(output) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert names == [
        "core/",
        "core/__init__.py",
        "core/py.typed",
        "core/sub/",
        "core/sub/__init__.py",
        "core/sub/data.json",
        "core/transform.py",
        "worker/",
        "worker/__init__.py",
        "worker/handler.py",
    ]
    for info in infos:
        mode = info.external_attr >> 16
        assert info.date_time == FIXED_DATE_TIME
        assert info.create_system == UNIX
        if info.is_dir():
            assert stat.S_ISDIR(mode)
            assert stat.S_IMODE(mode) == 0o755
        else:
            assert stat.S_ISREG(mode)
            assert stat.S_IMODE(mode) == 0o644
            assert info.compress_type == zipfile.ZIP_DEFLATED


def test_caches_compiled_files_and_dotfiles_are_left_out(tmp_path: Path) -> None:
    source = make_sources(tmp_path, mtime=1_600_000_000)
    output = tmp_path / "fn.zip"
    assert build(source, output, "core", "worker").returncode == 0

    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
    assert not [name for name in names if name.endswith((".pyc", ".pyo"))]
    assert not [name for name in names if "__pycache__" in name]
    assert not [name for name in names if any(part.startswith(".") for part in name.split("/"))]


def test_custom_transform_is_stored_at_the_zip_root(tmp_path: Path, custom_file: Path) -> None:
    source = make_sources(tmp_path, mtime=1_600_000_000)
    output = tmp_path / "fn.zip"
    assert build(source, output, "core", custom=custom_file).returncode == 0

    with zipfile.ZipFile(output) as archive:
        assert archive.read("custom_transform.py") == custom_file.read_bytes()
        info = archive.getinfo("custom_transform.py")
        names = archive.namelist()
    assert info.date_time == FIXED_DATE_TIME
    assert stat.S_IMODE(info.external_attr >> 16) == 0o644
    assert "my_transform.py" not in names


def test_content_change_changes_the_bytes(tmp_path: Path) -> None:
    source = make_sources(tmp_path, mtime=1_600_000_000)
    before, after = tmp_path / "before.zip", tmp_path / "after.zip"
    assert build(source, before, "core").returncode == 0
    (source / "core/transform.py").write_text("def apply(item):\n    return [item]\n", encoding="utf-8")
    assert build(source, after, "core").returncode == 0
    assert before.read_bytes() != after.read_bytes()


def test_rebuild_replaces_atomically_without_leftovers(tmp_path: Path) -> None:
    source = make_sources(tmp_path, mtime=1_600_000_000)
    out_dir = tmp_path / "build"
    output = out_dir / "fn.zip"
    assert build(source, output, "core").returncode == 0
    first = output.read_bytes()
    result = build(source, output, "core")
    assert result.returncode == 0
    assert output.read_bytes() == first
    assert sorted(path.name for path in out_dir.iterdir()) == ["fn.zip"]
    assert "sha256=" in result.stdout


def test_missing_package_directory_is_a_clear_error(tmp_path: Path) -> None:
    source = make_sources(tmp_path, mtime=1_600_000_000)
    output = tmp_path / "out" / "fn.zip"
    result = build(source, output, "core", "nope")
    assert result.returncode == 1
    assert "nope" in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_custom_transform_is_a_clear_error(tmp_path: Path) -> None:
    source = make_sources(tmp_path, mtime=1_600_000_000)
    result = build(source, tmp_path / "fn.zip", "core", custom=tmp_path / "absent.py")
    assert result.returncode == 1
    assert "absent.py" in result.stderr


def test_package_name_must_stay_inside_the_source_directory(tmp_path: Path) -> None:
    source = make_sources(tmp_path, mtime=1_600_000_000)
    result = build(source, tmp_path / "fn.zip", "../lambda_src/core")
    assert result.returncode == 1
    assert "inside the source directory" in result.stderr


def test_real_worker_packages_build(tmp_path: Path) -> None:
    """The worker's own package directories build, with migration_core and backfill_worker at the root."""
    output = tmp_path / "worker.zip"
    result = build(REPO_ROOT / "lambda_src", output, "migration_core", "backfill_worker")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
    assert "migration_core/__init__.py" in names
    assert "backfill_worker/__init__.py" in names
    assert not [name for name in names if name.endswith(".pyc")]
