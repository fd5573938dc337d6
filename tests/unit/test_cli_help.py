"""Every command's --help is complete (help for each option, an example, the exit codes) and the README's
"Operator CLI" section lists exactly the commands and options --help shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ddbmigrate.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
DEPLOYMENT_OPTIONS = {"--state-machine", "--terraform-dir"}
GLOBAL_OPTIONS = {"--debug", "--version"}
# Every command has --help; the README mentions it once for all of them.
COMMON_OPTIONS = {"--help"}
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def commands(group: click.Group = main, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    """Every command and group under ``main``, by its path ("replication dlq show")."""
    for name, command in sorted(group.commands.items()):
        yield " ".join((*path, name)), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


LEAVES = {path: command for path, command in commands() if not isinstance(command, click.Group)}
EVERYTHING = {"": main, **dict(commands())}


def options(command: click.Command, *, hidden: bool = False) -> set[str]:
    names: set[str] = set()
    for parameter in command.params:
        if isinstance(parameter, click.Option) and (hidden or not parameter.hidden):
            names.update(name for name in (*parameter.opts, *parameter.secondary_opts) if name.startswith("--"))
    return names - {"--help"}


def cli_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Operator CLI\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def readme_rows() -> dict[str, set[str]]:
    """The section's table: command path → the options its second column lists."""
    rows: dict[str, set[str]] = {}
    for line in cli_section().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        words = cells[0].strip("`").split()
        path = " ".join(word for word in words if word.islower() or word == "cutover-check")
        rows[path] = set(OPTION.findall(cells[1]))
    return rows


@pytest.mark.parametrize("path", sorted(EVERYTHING))
def test_every_command_help_has_an_example_and_the_exit_codes(path: str) -> None:
    result = CliRunner().invoke(main, [*path.split(), "--help"])

    assert result.exit_code == 0
    assert "Example:\n    ddb-migrate " in result.output, "the example is kept verbatim (\\b) and runnable"
    text = " ".join(result.output.split())
    assert "Exit status: 0 ok;" in text
    assert "2 could not run (credentials, endpoint, missing deployment or execution, bad input)" in text


@pytest.mark.parametrize("path", sorted(EVERYTHING))
def test_every_option_has_help_text(path: str) -> None:
    command = EVERYTHING[path]
    missing = [
        parameter.name
        for parameter in command.params
        if isinstance(parameter, click.Option) and not parameter.hidden and not (parameter.help or "").strip()
    ]
    assert missing == []


def test_the_readme_table_lists_every_command_and_nothing_else() -> None:
    assert set(readme_rows()) == set(LEAVES)


@pytest.mark.parametrize("path", sorted(LEAVES))
def test_the_readme_lists_exactly_the_options_of_each_command(path: str) -> None:
    command = LEAVES[path]
    listed = readme_rows()[path]
    expected = options(command)
    if expected >= DEPLOYMENT_OPTIONS:
        # Stated once for all of them above the table, and checked below.
        expected -= DEPLOYMENT_OPTIONS
    assert listed == expected


def test_the_readme_names_the_commands_that_take_the_deployment_options() -> None:
    section = cli_section()
    without = sorted(path for path, command in LEAVES.items() if not options(command) >= DEPLOYMENT_OPTIONS)

    assert without == []
    assert "Every command takes `--state-machine NAME|ARN`" in section
    assert "or `--terraform-dir DIR`" in section


def test_every_option_and_command_the_readme_mentions_exists() -> None:
    section = cli_section()
    known = (
        GLOBAL_OPTIONS
        | COMMON_OPTIONS
        | {name for command in LEAVES.values() for name in options(command, hidden=True)}
    )
    assert set(OPTION.findall(section)) - known == set()
    for mention in re.findall(r"ddb-migrate ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)*)", section):
        words = mention.split()
        # The longest prefix that names a command; a mention may go on with words of the sentence.
        assert any(" ".join(words[:length]) in EVERYTHING for length in range(1, len(words) + 1)), mention


def test_the_global_options_and_environment_variables_are_in_the_readme() -> None:
    section = cli_section()
    for name in GLOBAL_OPTIONS:
        assert f"`{name}`" in section
    envvars = {
        parameter.envvar
        for command in EVERYTHING.values()
        for parameter in command.params
        if isinstance(parameter, click.Option) and isinstance(parameter.envvar, str)
    }
    assert {name for name in envvars if f"`{name}`" not in section} == set()


def test_the_readme_states_the_exit_code_convention() -> None:
    section = " ".join(cli_section().split())
    assert "`0` ok; `1` the command's negative verdict" in section
    assert (
        "`2` could not run (credentials, endpoint unreachable, missing deployment or execution, bad input)" in section
    )
