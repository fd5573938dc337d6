"""Make ``terraform init`` work offline when a local provider mirror exists, and normally elsewhere.

Terraform reads its CLI configuration from ``TF_CLI_CONFIG_FILE``. When a filesystem mirror of the
hashicorp/aws provider is present (``TF_PROVIDER_MIRROR``, or one found under ``/opt``), this writes a
configuration that installs providers from it; otherwise it writes one with only the registry.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from devtools import REPO_ROOT

DEFAULT_RC_PATH = REPO_ROOT / ".terraform-cli.rc"
PROVIDER_GLOB = "registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws*"
SEARCH_ROOTS = (Path("/opt"), Path("/usr/local/share/terraform"), Path.home() / ".terraform.d")


def find_provider_mirror() -> Path | None:
    """Return the root of a filesystem mirror that holds hashicorp/aws, if any."""
    configured = os.environ.get("TF_PROVIDER_MIRROR")
    if configured:
        return Path(configured)
    for root in SEARCH_ROOTS:
        if not root.is_dir():
            continue
        for candidate in sorted(root.iterdir()):
            if candidate.is_dir() and any(candidate.glob(PROVIDER_GLOB)):
                return candidate
    return None


def render_cli_config(mirror: Path | None, plugin_cache: Path) -> str:
    # Without the second setting, Terraform re-installs a provider into the cache whenever a directory's lock
    # file does not yet list it (every new stack), replacing the cache entry that other stacks' .terraform
    # links point at while they plan or apply. With it, a cached provider is only linked. (The lock files then
    # record this platform's checksum only, which is all a throwaway stack needs.)
    cache = f'plugin_cache_dir = "{plugin_cache}"\nplugin_cache_may_break_dependency_lock_file = true\n'
    if mirror is None:
        return cache
    return (
        cache
        + "provider_installation {\n"
        + f'  filesystem_mirror {{\n    path    = "{mirror}"\n'
        + '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
        + '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n'
        + "}\n"
    )


PLUGIN_CACHE = REPO_ROOT / ".terraform-plugin-cache"
# Held exclusively around ``terraform init``: the first inits of a run fill the cache, and two must not fill
# the same entry at once.
INIT_LOCK = PLUGIN_CACHE / ".init.lock"


@contextlib.contextmanager
def init_lock() -> Iterator[None]:
    PLUGIN_CACHE.mkdir(exist_ok=True)
    with INIT_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_cli_config(path: Path = DEFAULT_RC_PATH) -> Path:
    plugin_cache = PLUGIN_CACHE
    plugin_cache.mkdir(exist_ok=True)
    path.write_text(render_cli_config(find_provider_mirror(), plugin_cache), encoding="utf-8")
    return path


def terraform_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for running terraform subprocesses with the project's CLI configuration."""
    env = dict(os.environ if base is None else base)
    env["TF_CLI_CONFIG_FILE"] = str(write_cli_config())
    env.setdefault("TF_IN_AUTOMATION", "1")
    env.setdefault("CHECKPOINT_DISABLE", "1")
    return env


def locked_init(directory: Path, arguments: list[str], terraform: str = "terraform") -> int:
    """``terraform init`` in ``directory`` while holding the plugin cache's lock, so parallel inits cannot race."""
    with init_lock():
        command = [terraform, f"-chdir={directory}", "init", "-input=false", "-backend=false", *arguments]
        return subprocess.run(command, env=terraform_environment(), check=False).returncode  # noqa: S603 - our own command line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=DEFAULT_RC_PATH)
    parser.add_argument(
        "--init",
        type=Path,
        metavar="DIR",
        help="instead: run terraform init (no backend) in DIR under the plugin cache's lock; "
        "arguments after -- go to terraform init",
    )
    parser.add_argument("init_arguments", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.init is not None:
        raise SystemExit(locked_init(args.init, args.init_arguments, os.environ.get("TERRAFORM", "terraform")))
    print(write_cli_config(args.output))


if __name__ == "__main__":
    main()
