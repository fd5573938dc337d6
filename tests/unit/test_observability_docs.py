"""docs/OBSERVABILITY.md lists exactly the metrics the Lambda handlers publish, so dashboards can rely on it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ("backfill_worker", "stream_forwarder", "replication_consumer")
ROW = re.compile(r"^\| `(?P<lambda>[a-z_]+)` \| `(?P<metric>[A-Za-z]+)` \|")


def published_metrics() -> set[tuple[str, str]]:
    """(package, metric name) of every metrics.add_metric(name="...") call in the handlers."""
    found = set()
    for package in HANDLERS:
        tree = ast.parse((ROOT / "lambda_src" / package / "handler.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_metric":
                names = [kw.value for kw in node.keywords if kw.arg == "name"]
                assert len(names) == 1, f"{package}: add_metric without a literal name= at line {node.lineno}"
                assert isinstance(names[0], ast.Constant), f"{package}: add_metric name is not a literal"
                found.add((package, str(names[0].value)))
    return found


def documented_metrics() -> set[tuple[str, str]]:
    text = (ROOT / "docs" / "OBSERVABILITY.md").read_text(encoding="utf-8")
    section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return {(m["lambda"], m["metric"]) for line in section.splitlines() if (m := ROW.match(line))}


def test_documented_metrics_are_the_published_ones() -> None:
    published = published_metrics()

    assert published, "no metrics found in the handlers"
    assert documented_metrics() == published


def test_the_namespace_the_docs_name_is_the_one_terraform_sets() -> None:
    text = (ROOT / "docs" / "OBSERVABILITY.md").read_text(encoding="utf-8")
    modules = "\n".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "modules").glob("*/*.tf")))
    root = (ROOT / "main.tf").read_text(encoding="utf-8")

    # One home: the root's lambda_settings, which modules/lambda_function puts into every function's environment.
    assert set(re.findall(r'metrics_namespace\s*=\s*"([^"]+)"', root)) == {"ddb-migrate"}
    assert set(re.findall(r"POWERTOOLS_METRICS_NAMESPACE\s*=\s*(\S+)", modules)) == {
        "var.lambda_settings.metrics_namespace"
    }
    assert '`POWERTOOLS_METRICS_NAMESPACE = "ddb-migrate"`' in text
