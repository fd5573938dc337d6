"""The handlers' shared Powertools setup: Powertools' Tracer exists only when Terraform turns it on."""

from __future__ import annotations

from migration_core import observability


def test_the_tracer_exists_only_when_the_environment_turns_it_on() -> None:
    assert observability.setup({}).tracer is None
    assert observability.setup({"POWERTOOLS_TRACE_DISABLED": "true"}).tracer is None
    assert observability.setup({"POWERTOOLS_TRACE_DISABLED": "false"}).tracer is not None


def test_metrics_use_the_namespace_terraform_sets() -> None:
    metrics = observability.setup({"POWERTOOLS_METRICS_NAMESPACE": "custom"}).metrics

    assert metrics.namespace == "custom"
