"""Backfill worker Lambda: parse the event, dispatch to migration_core, report logs and metrics.

Configuration and clients are built once per container through ``migration_core.observability.cold_start``, as in
the other handlers; the worker builds them at import (its cold start), so a bad environment fails the cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from migration_core import observability
from migration_core.backfill import BackfillService
from migration_core.capacity import CapacityActions, CapacityClient
from migration_core.config import WorkerConfig, read_client_config, write_client_config
from migration_core.errors import InvalidInput
from migration_core.guards import stepfunctions_execution_status
from migration_core.models import RunSpec, SegmentRequest, SegmentResult
from migration_core.wire import wired

OBSERVABILITY = observability.setup()
logger = OBSERVABILITY.logger
metrics = OBSERVABILITY.metrics


@dataclass(frozen=True)
class WorkerRuntime:
    config: WorkerConfig
    service: BackfillService
    # Pre-warm's capacity actions; their Application Auto Scaling client is created on the first capacity action.
    capacity: CapacityActions


@observability.cold_start
def _runtime() -> WorkerRuntime:
    config = WorkerConfig.from_environment()
    service = BackfillService(
        config=config,
        client=wired(boto3.client("dynamodb", config=read_client_config())),
        target_client=wired(config.target_access.client("dynamodb", config=read_client_config())),
        write_client=wired(
            config.target_access.client("dynamodb", config=write_client_config(config.write_concurrency))
        ),
        retry_policy=config.retry_policy(),
        # The run lock's stale check (DescribeExecution of the holder); only the plan step calls it.
        execution_status=stepfunctions_execution_status(boto3.client("stepfunctions", config=read_client_config())),
        # Only a plan with a budget given as a share reads auto-scaling, so the client is made then.
        autoscaling=lambda: boto3.client("application-autoscaling", config=read_client_config()),
        target_autoscaling=lambda: config.target_access.client("application-autoscaling", config=read_client_config()),
        # Only a run with source export reads S3, so the client is made then; the export is the source's, in its
        # region.
        s3=lambda: boto3.client("s3", config=read_client_config()),
    )
    capacity = CapacityActions(
        lambda: CapacityClient(
            boto3.client("dynamodb", config=read_client_config()),
            boto3.client("application-autoscaling", config=read_client_config()),
        ),
        (config.source_table, config.target_table),
        left_alone=config.prewarm_left_alone(),
    )
    return WorkerRuntime(config, service, capacity)


# The cold start: a missing or malformed setting raises ConfigurationError here.
_runtime()

CAPACITY_ACTIONS = ("capacity_capture", "capacity_raise", "capacity_status", "capacity_reset")
PASS_ACTIONS = ("hand_off", "handed_off")
EXPORT_ACTIONS = ("export_start", "export_status", "export_files")


@OBSERVABILITY.instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action")
    run = event.get("run")
    run = run if isinstance(run, dict) else {}
    logger.append_keys(action=action, run_id=run.get("run_id"), phase=event.get("phase"), segment=event.get("segment"))
    try:
        return _dispatch(action, event, context)
    except Exception:
        logger.exception("Worker action failed")
        raise


def _dispatch(action: Any, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    service = _runtime().service
    if action == "plan":
        planned = service.plan(event.get("input"), event.get("execution"), event.get("execution_arn"))
        logger.info("Run planned", extra={"run": planned["run"]})
        return planned
    if action == "segment":
        result = service.run_segment(SegmentRequest.from_event(event), context.get_remaining_time_in_millis)
        _publish_metrics(result)
        response = result.to_event()
        logger.info("Segment invocation finished", extra={"result": response})
        return response
    if action == "summarize":
        summary = service.summarize(RunSpec.from_event(event.get("run")), event.get("capacity"))
        logger.info("Run summarized", extra={"summary": summary})
        return summary
    if action == "report_failure":
        return service.report_failure(RunSpec.from_event(event.get("run")), event.get("error"), event.get("capacity"))
    if action in PASS_ACTIONS:
        return _pass_action(action, event)
    if action in CAPACITY_ACTIONS + EXPORT_ACTIONS:
        return _capacity(action, event) if action in CAPACITY_ACTIONS else _export(action, event)
    raise InvalidInput(
        f"unknown action {action!r}; expected plan, segment, hand_off, handed_off, summarize or report_failure "
        f"(with pre-warm also {', '.join(CAPACITY_ACTIONS)}; with export also {', '.join(EXPORT_ACTIONS)})"
    )


def _export(action: str, event: dict[str, Any]) -> dict[str, Any]:
    service = _runtime().service
    run = RunSpec.from_event(event.get("run"))
    if action == "export_start":
        result = service.export_start(run)
    elif action == "export_status":
        result = service.export_status(run, event.get("export"))
    else:
        result = service.export_files(run, event.get("export"))
    logger.info("Export step", extra={"result": result})
    return result


def _pass_action(action: str, event: dict[str, Any]) -> dict[str, Any]:
    """hand_off and handed_off: a child ending before its segment does, and the next pass of its Map."""
    service = _runtime().service
    if action == "hand_off":
        request = SegmentRequest.from_event(event)
        logger.info("Segment handed off to the next pass")
        return service.hand_off(request)
    handed_off = service.handed_off(RunSpec.from_event(event.get("run")), event.get("phase"))
    logger.info("Segments for the next pass", extra={"segments": len(handed_off["segments"])})
    return handed_off


def _capacity(action: str, event: dict[str, Any]) -> dict[str, Any]:
    runtime = _runtime()
    if not runtime.config.prewarm_allowed:
        raise InvalidInput(f"{action}: pre-warm is not enabled for this deployment (PREWARM_ALLOWED)")
    run = RunSpec.from_event(event.get("run"))
    if action == "capacity_capture":
        capacity = runtime.capacity.capture(run)
    elif action == "capacity_reset":
        capacity = runtime.capacity.reset(run, event.get("capacity"))
    else:
        capacity = runtime.capacity.raise_capacity(run, event.get("capacity"))
    logger.info("Capacity step", extra={"capacity": capacity})
    return capacity


def _publish_metrics(result: SegmentResult) -> None:
    counts = result.counts
    metrics.add_metric(name="ItemsScanned", unit=MetricUnit.Count, value=counts.scanned)
    metrics.add_metric(name="ItemsWritten", unit=MetricUnit.Count, value=counts.written)
    metrics.add_metric(name="ItemsSkipped", unit=MetricUnit.Count, value=counts.skipped)
    metrics.add_metric(name="ItemsDeleted", unit=MetricUnit.Count, value=counts.deleted)
    metrics.add_metric(name="WriteRetries", unit=MetricUnit.Count, value=counts.retries)
