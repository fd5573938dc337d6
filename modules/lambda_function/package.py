#!/usr/bin/env python3
"""Build a byte-reproducible Lambda deployment zip. Standard library only.

Usage::

    package.py --source-dir lambda_src --package migration_core --package backfill_worker \
        [--custom-transform my_transform.py] [--wheel vendor/some-1.0-py3-none-any.whl ...] OUTPUT.zip

Every package directory is stored under its own name at the zip root; the optional custom transform
file is stored as ``custom_transform.py`` at the zip root (the name ``TRANSFORM_MODULE`` imports). Each
``--wheel`` (pure-Python wheels only: the functions' runtime and architecture are not this machine's) is
unpacked at the zip root too, as pip would install it into site-packages, so a dependency ships pinned,
byte for byte the release that was tested.

The same inputs give the same bytes on every run and every machine with the same zlib: entries are
sorted, every timestamp is 1980-01-01 00:00:00 (the earliest a zip can express), files are 0644 and
directories 0755 whatever the checkout says, the creating system is fixed to Unix (so Lambda honours
the modes), and the compression level is fixed. Caches (``__pycache__``, ``*.pyc``) and dot-files are
left out; ``modules/lambda_function/main.tf`` applies the very same rule when it hashes the sources at
plan time, so the hash and the zip always describe the same file set.

The zip is written to a temporary file next to OUTPUT and moved into place with ``os.replace``, so
concurrent builds of the same content never expose a half-written archive.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
DIR_MODE = 0o755
CREATE_SYSTEM_UNIX = 3
COMPRESSION = zipfile.ZIP_DEFLATED
COMPRESS_LEVEL = 9
CUSTOM_TRANSFORM_NAME = "custom_transform.py"
EXCLUDED_DIR_NAMES = frozenset({"__pycache__"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


class PackageError(Exception):
    """A bad input: the message says which one."""


def is_excluded(relative: PurePosixPath) -> bool:
    """Mirror of the filter in main.tf: caches, compiled files and dot-files never ship."""
    hidden_or_cache = any(part in EXCLUDED_DIR_NAMES or part.startswith(".") for part in relative.parts)
    return hidden_or_cache or relative.name.endswith(EXCLUDED_SUFFIXES)


def collect(source_dir: Path, packages: Sequence[str], custom_transform: Path | None) -> dict[str, Path]:
    """Map of archive name to the file on disk that provides it."""
    entries: dict[str, Path] = {}
    for package in packages:
        package_path = PurePosixPath(package)
        if package_path.is_absolute() or ".." in package_path.parts or not package_path.parts:
            raise PackageError(f"package {package!r} must be a directory name inside the source directory")
        root = source_dir / package
        if not root.is_dir():
            raise PackageError(f"package directory {root} does not exist")
        found = 0
        for path in root.rglob("*"):
            if not path.is_file():
                continue
            relative = PurePosixPath(package) / PurePosixPath(path.relative_to(root).as_posix())
            if is_excluded(relative):
                continue
            entries[relative.as_posix()] = path
            found += 1
        if found == 0:
            raise PackageError(f"package directory {root} has no files to package")
    if custom_transform is not None:
        if not custom_transform.is_file():
            raise PackageError(f"custom transform file {custom_transform} does not exist")
        if CUSTOM_TRANSFORM_NAME in entries:
            raise PackageError(f"{CUSTOM_TRANSFORM_NAME} would overwrite a packaged file")
        entries[CUSTOM_TRANSFORM_NAME] = custom_transform
    return entries


def wheel_entries(wheel: Path) -> dict[str, bytes]:
    """The files a pure-Python wheel installs, by archive name (a wheel's root is site-packages)."""
    if not wheel.is_file():
        raise PackageError(f"wheel {wheel} does not exist")
    if not wheel.name.endswith("-none-any.whl"):
        raise PackageError(f"wheel {wheel.name} is not pure Python (its tag must end in -none-any)")
    entries: dict[str, bytes] = {}
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            relative = PurePosixPath(info.filename)
            if info.is_dir() or is_excluded(relative):
                continue
            if relative.is_absolute() or ".." in relative.parts or ".data" in relative.parts[0]:
                raise PackageError(f"wheel {wheel.name} holds {info.filename}, which pip would not install at the root")
            entries[relative.as_posix()] = archive.read(info)
    return entries


def directories_of(names: Iterable[str]) -> set[str]:
    dirs: set[str] = set()
    for name in names:
        for parent in PurePosixPath(name).parents:
            if parent != PurePosixPath("."):
                dirs.add(f"{parent.as_posix()}/")
    return dirs


def zip_info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
    info.create_system = CREATE_SYSTEM_UNIX
    if name.endswith("/"):
        info.external_attr = ((0o040000 | mode) << 16) | 0x10  # S_IFDIR + MS-DOS directory bit
        info.compress_type = zipfile.ZIP_STORED
    else:
        info.external_attr = (0o100000 | mode) << 16  # S_IFREG
        info.compress_type = COMPRESSION
    return info


def write_zip(entries: dict[str, Path | bytes], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            names = sorted(set(entries) | directories_of(entries))
            for name in names:
                if name.endswith("/"):
                    archive.writestr(zip_info(name, DIR_MODE), b"")
                else:
                    source = entries[name]
                    data = source if isinstance(source, bytes) else source.read_bytes()
                    archive.writestr(zip_info(name, FILE_MODE), data, compresslevel=COMPRESS_LEVEL)
        # mkstemp creates 0600; the artifact should look like any other file.
        temp.chmod(0o644)
        temp.replace(output)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def build(
    source_dir: Path,
    packages: Sequence[str],
    custom_transform: Path | None,
    output: Path,
    wheels: Sequence[Path] = (),
) -> str:
    """Build OUTPUT and return the hex SHA-256 of its bytes."""
    entries: dict[str, Path | bytes] = dict(collect(source_dir, packages, custom_transform))
    for wheel in wheels:
        for name, data in wheel_entries(wheel).items():
            if name in entries:
                raise PackageError(f"{name} of wheel {wheel.name} would overwrite a packaged file")
            entries[name] = data
    write_zip(entries, output)
    return hashlib.sha256(output.read_bytes()).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source-dir", type=Path, required=True, help="directory holding the packages")
    parser.add_argument("--package", action="append", required=True, help="package directory to include (repeatable)")
    parser.add_argument("--custom-transform", type=Path, help="file stored as custom_transform.py")
    parser.add_argument(
        "--wheel", type=Path, action="append", default=[], help="pure-Python wheel to unpack (repeatable)"
    )
    parser.add_argument("output", type=Path, help="zip file to write")
    args = parser.parse_args(argv)
    try:
        digest = build(args.source_dir, args.package, args.custom_transform, args.output, args.wheel)
    except (PackageError, OSError, zipfile.BadZipFile) as error:
        print(f"package.py: {error}", file=sys.stderr)
        return 1
    print(f"built {args.output} sha256={digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
