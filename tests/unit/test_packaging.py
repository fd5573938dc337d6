"""The Lambda zip build (modules/lambda_function/package.py) is byte-reproducible."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
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


def build(
    source: Path, output: Path, *packages: str, custom: Path | None = None, wheels: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(PACKAGE_PY), "--source-dir", str(source)]
    for package in packages:
        args += ["--package", package]
    if custom is not None:
        args += ["--custom-transform", str(custom)]
    for wheel in wheels:
        args += ["--wheel", str(wheel)]
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


VENDOR = REPO_ROOT / "modules" / "lambda_function" / "vendor"
VENDORED_WHEELS = tuple(sorted(VENDOR.glob("*.whl")))


def _locked_versions() -> dict[str, str]:
    lock = (REPO_ROOT / "requirements" / "dev.lock").read_text(encoding="utf-8")
    pins = (line.split("==") for line in lock.splitlines() if "==" in line)
    return {name.strip().lower().replace("-", "_"): version.strip() for name, version in pins}


def test_the_bundled_wheels_are_the_releases_the_tests_run() -> None:
    """What a deployment bundles is exactly what requirements/dev.lock installs for the tests, and main.tf names."""
    locked = _locked_versions()
    vendored = {wheel.name.split("-")[0].lower(): wheel.name.split("-")[1] for wheel in VENDORED_WHEELS}
    assert vendored == {
        "aws_lambda_powertools": locked["aws_lambda_powertools"],
        "typing_extensions": locked["typing_extensions"],
    }
    main_tf = (REPO_ROOT / "main.tf").read_text(encoding="utf-8")
    for wheel in VENDORED_WHEELS:
        assert f"modules/lambda_function/vendor/{wheel.name}" in main_tf


def test_the_vendored_wheels_are_the_files_their_readme_records() -> None:
    """A wheel replaced without updating the record (or changed on disk) is caught before it ships."""
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    for wheel in VENDORED_WHEELS:
        assert f"| `{wheel.name}` | `{hashlib.sha256(wheel.read_bytes()).hexdigest()}` |" in readme


def test_wheels_are_unpacked_at_the_zip_root_reproducibly(tmp_path: Path) -> None:
    source = make_sources(tmp_path, 1_700_000_000)
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    for output in (first, second):
        assert build(source, output, "core", "worker", wheels=VENDORED_WHEELS).returncode == 0

    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = set(archive.namelist())
        assert {"aws_lambda_powertools/__init__.py", "typing_extensions.py", "core/transform.py"} <= names
        assert not any(name.endswith(".pyc") for name in names)
        infos = archive.infolist()
    assert all(info.date_time == FIXED_DATE_TIME for info in infos)


def test_the_bundled_powertools_imports_from_the_zip_alone(tmp_path: Path) -> None:
    """The zip's Powertools is importable and is the pinned release, without anything installed beside it."""
    source = make_sources(tmp_path, 1_700_000_000)
    output = tmp_path / "bundle.zip"
    assert build(source, output, "core", wheels=VENDORED_WHEELS).returncode == 0
    extracted = tmp_path / "task"
    with zipfile.ZipFile(output) as archive:
        archive.extractall(extracted)
    probe = (
        "import aws_lambda_powertools, aws_lambda_powertools.shared.version as v, typing_extensions;"
        "from aws_lambda_powertools import Logger, Metrics;"
        "print(aws_lambda_powertools.__file__, v.VERSION)"
    )
    # -S leaves site-packages out: only the zip's files and the standard library can be imported, plus
    # jmespath, which the Lambda runtime provides with boto3 (a copy of the test run's stands in for it).
    runtime = tmp_path / "runtime"
    jmespath = importlib.util.find_spec("jmespath")
    assert jmespath is not None
    assert jmespath.origin is not None
    shutil.copytree(Path(jmespath.origin).parent, runtime / "jmespath")
    env = {"PYTHONPATH": f"{extracted}{os.pathsep}{runtime}"}
    result = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 0, result.stderr
    location, version = result.stdout.split()
    assert location.startswith(str(extracted))
    assert version == _locked_versions()["aws_lambda_powertools"]


def test_a_wheel_that_is_not_pure_python_is_refused(tmp_path: Path) -> None:
    source = make_sources(tmp_path, 1_700_000_000)
    native = tmp_path / "native-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(native, "w") as archive:
        archive.writestr("native/__init__.py", "")

    result = build(source, tmp_path / "out.zip", "core", wheels=(native,))

    assert result.returncode == 1
    assert "is not pure Python" in result.stderr
