"""The README's inputs/outputs tables match the root module's code (devtools/tfdocs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import tfdocs

ROOT = Path(__file__).resolve().parents[2]


def test_readme_tables_match_the_root_module() -> None:
    current, expected = tfdocs.expected_readme(ROOT, ROOT / "README.md")
    assert current == expected, (
        "The README's inputs/outputs tables differ from variables.tf/outputs.tf: "
        "run `.venv/bin/python -m devtools.tfdocs --write`."
    )


def test_every_root_variable_and_output_is_documented() -> None:
    variables, outputs = tfdocs.load_module(ROOT)
    assert [v.name for v in variables if not v.description.strip()] == []
    assert [v.name for v in variables if v.type == "any"] == []
    assert [o.name for o in outputs if not o.description.strip()] == []


def write_module(directory: Path, source: str) -> Path:
    (directory / "main.tf").write_text(source, encoding="utf-8")
    return directory


def test_descriptions_types_and_defaults_render_as_terraform_reads_them(tmp_path: Path) -> None:
    module = write_module(
        tmp_path,
        r"""
variable "b_heredoc" {
  description = <<-EOT
    First line with <region> and a | pipe.
      Indented "quoted" line with $${literal}.
  EOT
  type = object({ a = optional(list(string), ["x"]) })
  default = { a = ["y"] }
}

variable "a_required" {
  description = "Escapes: \"q\", back\\slash, \u00e9, tab\tend."
  type        = string
}

variable "c_null" {
  description = "Nullable."
  type        = number
  default     = null
}

variable "d_scalars" {
  description = "Scalars."
  type        = list(any)
  default     = [-1.5, true, "s"]
}

output "z" {
  description = "Out `code` here."
  value       = 1
}
""",
    )
    variables, outputs = tfdocs.load_module(module)

    assert [v.name for v in variables] == ["a_required", "b_heredoc", "c_null", "d_scalars"]
    required, heredoc, nullable, scalars = variables
    assert required == tfdocs.Variable("a_required", 'Escapes: "q", back\\slash, é, tab\tend.', "string", None, True)
    assert heredoc.description == 'First line with <region> and a | pipe.\n  Indented "quoted" line with ${literal}.\n'
    assert heredoc.type == 'object({a = optional(list(string), ["x"])})'
    assert heredoc.default == '{a = ["y"]}'
    assert (nullable.default, nullable.required) == ("null", False)
    assert scalars.default == '[-1.5, true, "s"]'

    tables = tfdocs.render_tables(variables, outputs)
    assert tables.splitlines() == [
        "### Inputs",
        "",
        "| name | description | type | default | required |",
        "| --- | --- | --- | --- | :---: |",
        '| `a_required` | Escapes: "q", back\\slash, é, tab\tend. | `string` | n/a | yes |',
        '| `b_heredoc` | First line with &lt;region> and a \\| pipe.<br>  Indented "quoted" line with ${literal}. '
        '| `object({a = optional(list(string), ["x"])})` | `{a = ["y"]}` | no |',
        "| `c_null` | Nullable. | `number` | `null` | no |",
        '| `d_scalars` | Scalars. | `list(any)` | `[-1.5, true, "s"]` | no |',
        "",
        "### Outputs",
        "",
        "| name | description |",
        "| --- | --- |",
        "| `z` | Out `code` here. |",
    ]


def test_write_replaces_only_the_marked_section_and_check_then_passes(tmp_path: Path) -> None:
    module = write_module(tmp_path, 'output "only" {\n  description = "The only output."\n  value = 1\n}\n')
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{tfdocs.BEGIN_MARKER}\nstale\n{tfdocs.END_MARKER}\n\nAfter.\n", encoding="utf-8")

    assert tfdocs.main(["--check", "--module-dir", str(module)]) == 1
    assert tfdocs.main(["--write", "--module-dir", str(module)]) == 0
    assert readme.read_text(encoding="utf-8") == (
        f"# Title\n\n{tfdocs.BEGIN_MARKER}\n### Inputs\n\nNo inputs.\n\n### Outputs\n\n"
        f"| name | description |\n| --- | --- |\n| `only` | The only output. |\n{tfdocs.END_MARKER}\n\nAfter.\n"
    )
    assert tfdocs.main(["--check", "--module-dir", str(module)]) == 0


@pytest.mark.parametrize(
    "readme",
    [
        "no markers at all\n",
        f"{tfdocs.BEGIN_MARKER}\n{tfdocs.BEGIN_MARKER}\n{tfdocs.END_MARKER}\n",
        f"{tfdocs.END_MARKER}\n{tfdocs.BEGIN_MARKER}\n",
    ],
)
def test_missing_duplicated_or_reversed_markers_are_refused(tmp_path: Path, readme: str) -> None:
    module = write_module(tmp_path, 'variable "v" {\n  description = "V."\n  type = string\n}\n')
    (tmp_path / "README.md").write_text(readme, encoding="utf-8")

    assert tfdocs.main(["--check", "--module-dir", str(module)]) == 2
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == readme


def test_a_variable_declared_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.tf").write_text('variable "v" {\n  type = string\n}\n', encoding="utf-8")
    (tmp_path / "b.tf").write_text('variable "v" {\n  type = number\n}\n', encoding="utf-8")

    with pytest.raises(tfdocs.TfDocsError, match="variable declared more than once: v"):
        tfdocs.load_module(tmp_path)
