"""The README's tables of the root module's inputs and outputs, generated from the Terraform sources.

`python -m devtools.tfdocs --write` rewrites the README between `<!-- BEGIN_TF_DOCS -->` and
`<!-- END_TF_DOCS -->`; `--check` exits 1 when that section no longer matches the code (a unit test runs the same
comparison, so the docs cannot drift). Every `*.tf` file of the module directory is read with python-hcl2, so a
variable declared outside `variables.tf` is documented too. Rows are sorted by name, like terraform-docs.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

BEGIN_MARKER = "<!-- BEGIN_TF_DOCS -->"
END_MARKER = "<!-- END_TF_DOCS -->"

# Values come back in their HCL source form: strings keep their quotes and escapes, expressions (types, object
# and list defaults) are wrapped in ${...}. That keeps defaults readable as HCL instead of Python reprs.
_OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False, wrap_objects=True, wrap_tuples=True)

_HEREDOC = re.compile(r"\A<<(-?)([A-Za-z_][A-Za-z0-9_-]*)\n(.*?)^[ \t]*\2\Z", re.DOTALL | re.MULTILINE)
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))|\$\$\{|%%\{", re.DOTALL)
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class TfDocsError(Exception):
    """The sources or the README cannot be turned into the tables (exit status 2)."""


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    type: str
    default: str | None  # HCL text of the default; None when the variable is required
    required: bool


@dataclass(frozen=True)
class Output:
    name: str
    description: str


def load_module(module_dir: Path) -> tuple[list[Variable], list[Output]]:
    """Every variable and output declared in the module directory's `*.tf` files, sorted by name."""
    files = sorted(module_dir.glob("*.tf"))
    if not files:
        raise TfDocsError(f"no *.tf files in {module_dir}")
    variables: list[Variable] = []
    outputs: list[Output] = []
    for path in files:
        parsed = parse_file(path)
        variables.extend(_variable(label, body) for label, body in _blocks(parsed, "variable"))
        outputs.extend(
            Output(unquote_label(label), _text(body.get("description"))) for label, body in _blocks(parsed, "output")
        )
    _refuse_duplicates([v.name for v in variables], "variable")
    _refuse_duplicates([o.name for o in outputs], "output")
    return sorted(variables, key=lambda v: v.name), sorted(outputs, key=lambda o: o.name)


def parse_file(path: Path) -> dict[str, Any]:
    """One Terraform file as python-hcl2 reads it: block labels and strings keep their quotes, expressions are
    wrapped in ${...}."""
    try:
        parsed: dict[str, Any] = hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=_OPTIONS)
    except Exception as exc:  # python-hcl2 raises lark's parse errors, which name line and column
        raise TfDocsError(f"{path}: cannot parse: {exc}") from exc
    return parsed


def render_tables(variables: Sequence[Variable], outputs: Sequence[Output]) -> str:
    """The Markdown that goes between the markers (without the markers)."""
    lines = ["### Inputs", ""]
    if variables:
        lines += ["| name | description | type | default | required |", "| --- | --- | --- | --- | :---: |"]
        lines += [
            "| "
            + " | ".join(
                [
                    _code(v.name),
                    _prose(v.description),
                    _code(v.type),
                    "n/a" if v.default is None else _code(v.default),
                    "yes" if v.required else "no",
                ]
            )
            + " |"
            for v in variables
        ]
    else:
        lines.append("No inputs.")
    lines += ["", "### Outputs", ""]
    if outputs:
        lines += ["| name | description |", "| --- | --- |"]
        lines += [f"| {_code(o.name)} | {_prose(o.description)} |" for o in outputs]
    else:
        lines.append("No outputs.")
    return "\n".join(lines)


def replace_section(readme: str, tables: str) -> str:
    """The README with the text between the markers replaced by the tables; everything else is left alone."""
    if readme.count(BEGIN_MARKER) != 1 or readme.count(END_MARKER) != 1:
        raise TfDocsError(f"the README must contain {BEGIN_MARKER} and {END_MARKER} exactly once each")
    start = readme.index(BEGIN_MARKER) + len(BEGIN_MARKER)
    end = readme.index(END_MARKER)
    if end < start:
        raise TfDocsError(f"{END_MARKER} comes before {BEGIN_MARKER} in the README")
    return f"{readme[:start]}\n{tables}\n{readme[end:]}"


def expected_readme(module_dir: Path, readme_path: Path) -> tuple[str, str]:
    """(current README text, README text with freshly rendered tables)."""
    current = readme_path.read_text(encoding="utf-8")
    return current, replace_section(current, render_tables(*load_module(module_dir)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.tfdocs",
        description="Render the README's tables of the root module's inputs and outputs.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the README section between the markers")
    mode.add_argument("--check", action="store_true", help="exit 1 when the README section is out of date")
    parser.add_argument("--module-dir", type=Path, default=Path(), help="the Terraform module (default: .)")
    parser.add_argument("--readme", type=Path, default=None, help="the README (default: MODULE_DIR/README.md)")
    args = parser.parse_args(argv)
    readme_path: Path = args.readme or args.module_dir / "README.md"
    try:
        current, expected = expected_readme(args.module_dir, readme_path)
    except (TfDocsError, OSError) as exc:
        print(f"tfdocs: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if current != expected:
            print(
                f"tfdocs: the inputs/outputs tables in {readme_path} are out of date; "
                "run `python -m devtools.tfdocs --write`",
                file=sys.stderr,
            )
            return 1
        return 0
    if current != expected:
        readme_path.write_text(expected, encoding="utf-8")
        print(f"tfdocs: updated {readme_path}")
    return 0


def _blocks(parsed: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(label, body) for block in parsed.get(kind, []) for label, body in block.items()]


def _variable(label: str, body: dict[str, Any]) -> Variable:
    has_default = "default" in body
    return Variable(
        name=unquote_label(label),
        description=_text(body.get("description")),
        type=_expression(body["type"]) if "type" in body else "any",
        default=_default(body["default"]) if has_default else None,
        required=not has_default,
    )


def _refuse_duplicates(names: list[str], kind: str) -> None:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise TfDocsError(f"{kind} declared more than once: {', '.join(duplicates)}")


def unquote_label(label: str) -> str:
    """A block label without its quotes, as python-hcl2 keeps them."""
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


def _text(value: Any) -> str:
    """A description as Terraform reads it: quotes removed, escapes decoded, heredocs dedented."""
    if value is None:
        return ""
    if not isinstance(value, str) or not (len(value) >= 2 and value[0] == value[-1] == '"'):
        raise TfDocsError(f"a description must be a literal string, got {value!r}")
    inner = value[1:-1]
    heredoc = _HEREDOC.match(inner)
    if heredoc:
        return _heredoc(heredoc.group(3), flush=heredoc.group(1) == "-")
    return _decode_escapes(inner)


def _heredoc(body: str, *, flush: bool) -> str:
    lines = body.split("\n")
    if flush:
        # <<- removes the indentation of the least indented non-blank line from every line.
        indents = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
        cut = min(indents, default=0)
        lines = [line[cut:] for line in lines]
    # Heredocs take no backslash escapes, only the template ones.
    return "\n".join(lines).replace("$${", "${").replace("%%{", "%{")


def _decode_escapes(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        short, long, simple = match.group(1), match.group(2), match.group(3)
        if short or long:
            return chr(int(short or long, 16))
        if simple is not None:
            if simple not in _SIMPLE_ESCAPES:
                raise TfDocsError(f"unknown escape sequence \\{simple} in {text!r}")
            return _SIMPLE_ESCAPES[simple]
        return match.group(0)[1:]  # $${ -> ${ and %%{ -> %{

    return _ESCAPE.sub(replace, text)


def _expression(value: Any) -> str:
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    if isinstance(value, str):
        return value
    raise TfDocsError(f"unexpected expression {value!r}")


def _default(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str) and value.startswith('"<<'):
        # A heredoc default reads better as the one-line string it stands for.
        text = _text(value)
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return _expression(value)


def _code(text: str) -> str:
    # Backticks are not escapable inside a code span; a longer fence is how CommonMark handles them.
    fence = "``" if "`" in text else "`"
    padded = f" {text} " if fence == "``" else text
    return f"{fence}{padded}{fence}".replace("|", "\\|")


def _prose(text: str) -> str:
    # Placeholders such as <region> would be read as HTML tags and vanish; a table cell cannot hold a newline,
    # so line breaks become <br>. A lone ">" is harmless and stays readable in the source.
    escaped = text.strip().replace("<", "&lt;").replace("|", "\\|")
    return "<br>".join(line.rstrip() for line in escaped.split("\n"))


if __name__ == "__main__":
    sys.exit(main())
