"""``ddb-migrate replication ...``: the live replication's queue consumer, its DLQ and the stream failures.

Every resource comes from the Terraform outputs (``--terraform-dir``); see ``replication_ops``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ddbmigrate.aws import client
from ddbmigrate.cli_support import (
    EXIT_VERDICT,
    deployment_flags,
    exit_codes,
    fail,
    json_option,
    json_target,
    option,
    state,
    with_deployment,
    write_json,
)
from ddbmigrate.deployment import load_deployment
from ddbmigrate.replication_ops import (
    REPLICATION_OUTPUTS,
    Clients,
    MappingStateTimeoutError,
    ReplicationResources,
    discard_dlq,
    peek_dlq,
    queue_depth,
    read_status,
    read_stream_failures,
    redrive_dlq,
    set_mapping_enabled,
)


@click.group(epilog=exit_codes("a subcommand's negative verdict"))
def replication() -> None:
    """Live replication: status, pause and resume of the queue consumer, the DLQ and stream failures.

    These commands need the Terraform outputs: pass --terraform-dir.

    \b
    Example:
      ddb-migrate replication status --terraform-dir infra/
    """


def _resources(state_machine: str | None, terraform_dir: Path | None) -> ReplicationResources:
    deployment = load_deployment(state_machine, terraform_dir)
    resources = ReplicationResources.from_deployment(deployment)
    if all(deployment.outputs.get(name) in (None, "") for name in REPLICATION_OUTPUTS):
        where = f"the root module in {terraform_dir}" if terraform_dir else "this deployment"
        fail(
            f"replication is not enabled in {where}: every replication output is null; deploy it with "
            "replication = { enabled = true } and terraform apply"
        )
    return resources


def _clients() -> Clients:
    return Clients(
        sqs=client("sqs"), lambda_=client("lambda"), cloudwatch=client("cloudwatch"), dynamodb=client("dynamodb")
    )


@replication.command("status", epilog=exit_codes(None))
@with_deployment
@json_option()
def replication_status(state_machine: str | None, terraform_dir: Path | None, json_path: Path | None) -> None:
    """Queue depth, oldest message, DLQ, stream failures, mapping states, stream lag and cutoff.

    \b
    Example:
      ddb-migrate replication status --terraform-dir infra/ --json -
    """
    json_path = json_target(json_path)
    console = state().console
    resources = _resources(state_machine, terraform_dir)
    status = read_status(resources, _clients(), datetime.now(UTC))

    def depth(value: Any) -> str:
        return "not configured" if value is None else value.describe()

    def seconds(value: float | None, what: str) -> str:
        return f"unknown (no CloudWatch {what} datapoint in 5 minutes)" if value is None else f"{value:,.1f} s"

    rows = [
        ("queue", depth(status.queue)),
        ("in flight", "-" if status.queue is None else f"{status.queue.in_flight:,}"),
        ("oldest message age", seconds(status.oldest_message_age_seconds, "ApproximateAgeOfOldestMessage")),
        ("dead-letter queue", depth(status.dlq)),
        ("stream failure queue", depth(status.stream_failures)),
        ("consumer mapping", status.consumer_mapping_state or "not configured"),
        ("forwarder mapping", status.forwarder_mapping_state or "not configured"),
        ("stream lag (IteratorAge)", seconds(status.iterator_age_seconds, "IteratorAge")),
        ("cutoff", status.cutoff or "none"),
    ]
    for label, value in rows:
        console.print(f"{label:<26} {value}", markup=False)
    write_json(json_path, status.to_json())


WAIT_HELP = "How long to wait for the mapping to reach its new state before giving up (exit 2)."


@replication.command("pause", epilog=exit_codes(None))
@with_deployment
@option("--wait-seconds", type=click.FloatRange(0), default=120.0, show_default=True, help=WAIT_HELP)
@json_option()
def replication_pause(
    state_machine: str | None, terraform_dir: Path | None, wait_seconds: float, json_path: Path | None
) -> None:
    """Disable the queue consumer's mapping; changes keep accumulating in the queue (up to its retention).

    \b
    Example:
      ddb-migrate replication pause --terraform-dir infra/
    """
    _set_consumer(state_machine, terraform_dir, enabled=False, wait_seconds=wait_seconds, json_path=json_path)


@replication.command("resume", epilog=exit_codes(None))
@with_deployment
@option("--wait-seconds", type=click.FloatRange(0), default=120.0, show_default=True, help=WAIT_HELP)
@json_option()
def replication_resume(
    state_machine: str | None, terraform_dir: Path | None, wait_seconds: float, json_path: Path | None
) -> None:
    """Enable the queue consumer's mapping again.

    \b
    Example:
      ddb-migrate replication resume --terraform-dir infra/
    """
    _set_consumer(state_machine, terraform_dir, enabled=True, wait_seconds=wait_seconds, json_path=json_path)


def _set_consumer(
    state_machine: str | None,
    terraform_dir: Path | None,
    *,
    enabled: bool,
    wait_seconds: float,
    json_path: Path | None,
) -> None:
    json_path = json_target(json_path)
    console = state().console
    resources = _resources(state_machine, terraform_dir)
    if resources.consumer_mapping_uuid is None:
        fail("the consumer mapping is not configured (consumer_event_source_mapping_uuid is null)")
    try:
        mapping_state = set_mapping_enabled(
            client("lambda"),
            resources.consumer_mapping_uuid,
            enabled,
            on_state=lambda seen: console.print(
                f"consumer mapping {resources.consumer_mapping_uuid}: {seen}", markup=False
            ),
            timeout_seconds=wait_seconds,
        )
    except MappingStateTimeoutError as error:
        fail(str(error))
    write_json(json_path, {"mapping_uuid": resources.consumer_mapping_uuid, "state": mapping_state})


STREAM_FAILURES_EXPLANATION = (
    "These are Lambda invocation records of the stream forwarder's mapping. Each names a shard and a range of "
    "sequence numbers whose change records were never forwarded to the queue; they carry no item data, so "
    "there is nothing to redrive. DynamoDB Streams keeps records for 24 hours, after which the range cannot be "
    "read again. The changes in those ranges are missing from the target until you repair it: run a new "
    "backfill (`ddb-migrate run`, which copies the current source state; the live queue keeps newer changes "
    "in order) or re-sync the affected keys, then check with `ddb-migrate verify`."
)


@replication.command("redrive", epilog=exit_codes("messages were left in the DLQ because redrive refuses them"))
@with_deployment
@option("--dry-run", is_flag=True, help="Only say what would be moved; every message stays in the DLQ.")
@option("--max-messages", type=click.IntRange(1), help="Stop after this many DLQ messages.")
@option(
    "--stream-failures",
    is_flag=True,
    help="Report the stream failure queue (the forwarder mapping's on-failure records) instead of the DLQ.",
)
@option(
    "--acknowledge",
    is_flag=True,
    help="With --stream-failures: delete the reported records (after you repaired the target).",
)
@json_option()
def replication_redrive(
    state_machine: str | None,
    terraform_dir: Path | None,
    dry_run: bool,
    max_messages: int | None,
    stream_failures: bool,
    acknowledge: bool,
    json_path: Path | None,
) -> None:
    """Move DLQ messages back to the replication queue as "re-read the source" messages (never verbatim).

    Messages that are not replication messages stay in the DLQ: see them with `replication dlq show`, remove
    them with `replication dlq discard`.

    \b
    Example:
      ddb-migrate replication redrive --terraform-dir infra/ --dry-run
      ddb-migrate replication redrive --terraform-dir infra/ --stream-failures
    """
    json_path = json_target(json_path)
    console = state().console
    resources = _resources(state_machine, terraform_dir)
    clients = _clients()
    if stream_failures:
        if resources.stream_failure_queue_url is None:
            fail("the stream failure queue is not configured (stream_failure_queue_url is null)")
        failures = read_stream_failures(
            clients.sqs, resources.stream_failure_queue_url, acknowledge=acknowledge, now=datetime.now(UTC)
        )
        console.print(f"{len(failures)} stream failure record(s) in {resources.stream_failure_queue_url}", markup=False)
        for failure in failures:
            if failure.unparsed is not None:
                console.print(
                    f"  {failure.message_id}: not an invocation record: {failure.unparsed[:200]}", markup=False
                )
                continue
            expired = {True: "EXPIRED from the stream", False: "still in the stream", None: "retention unknown"}
            console.print(
                f"  shard {failure.shard_id}, sequence {failure.start_sequence_number}..{failure.end_sequence_number}"
                f" ({failure.batch_size} record(s), {failure.first_arrival} .. {failure.last_arrival}, "
                f"{failure.condition}): {expired[failure.expired]}",
                markup=False,
            )
        if failures:
            console.print(STREAM_FAILURES_EXPLANATION, markup=False)
            console.print("deleted from the queue (--acknowledge)" if acknowledge else "left in the queue")
        write_json(
            json_path,
            {"stream_failures": [failure.to_json() for failure in failures], "acknowledged": acknowledge},
        )
        return
    if resources.dlq_url is None or resources.queue_url is None:
        fail("the replication queue or its DLQ is not configured (Terraform outputs are null)")
    report = redrive_dlq(
        clients.sqs,
        dlq_url=resources.dlq_url,
        queue_url=resources.queue_url,
        dry_run=dry_run,
        max_messages=max_messages,
    )
    if dry_run:
        console.print(f"dry run: {report.would_move} message(s) would be sent back as resync messages")
    else:
        console.print(f"moved {report.moved} message(s) back to the queue as resync messages")
    for message_id, reason in report.refused:
        console.print(f"  left in the DLQ {message_id}: {reason}", markup=False)
    if report.refused:
        flags = deployment_flags(state_machine, terraform_dir)
        console.print(
            f"redrive cannot resend those: see them with `ddb-migrate replication dlq show{flags}`, remove them "
            f"with `ddb-migrate replication dlq discard --message-id ID{flags}`",
            markup=False,
        )
    write_json(json_path, report.to_json())
    if report.refused:
        sys.exit(EXIT_VERDICT)


# ----------------------------------------------------------------------------------------------------------------
# replication dlq show|discard
# ----------------------------------------------------------------------------------------------------------------


@replication.group(epilog=exit_codes("a subcommand's negative verdict"))
def dlq() -> None:
    """Look into the replication DLQ, and discard messages nothing can apply.

    \b
    Example:
      ddb-migrate replication dlq show --terraform-dir infra/
    """


def _dlq_url(state_machine: str | None, terraform_dir: Path | None) -> str:
    resources = _resources(state_machine, terraform_dir)
    if resources.dlq_url is None:
        fail("the replication DLQ is not configured (replication_dlq_url is null)")
    return resources.dlq_url


@dlq.command("show", epilog=exit_codes(None))
@with_deployment
@option(
    "--max-messages",
    type=click.IntRange(1),
    default=100,
    show_default=True,
    help="Most messages to look at.",
)
@json_option()
def dlq_show(state_machine: str | None, terraform_dir: Path | None, max_messages: int, json_path: Path | None) -> None:
    """List DLQ messages without deleting them: id, group, receive count, sent time, what each holds.

    Each message is received and made visible again at once; its receive count goes up by one. In a FIFO
    queue SQS hands out a group's later messages only after the earlier ones are gone, so a group's oldest
    messages are shown.

    \b
    Example:
      ddb-migrate replication dlq show --terraform-dir infra/ --json -
    """
    json_path = json_target(json_path)
    console = state().console
    url = _dlq_url(state_machine, terraform_dir)
    sqs = client("sqs")
    depth = queue_depth(sqs, url)
    letters = peek_dlq(sqs, url, max_messages=max_messages)
    console.print(f"{depth.describe()} message(s) in {url}; showing {len(letters)}", markup=False)
    for letter in letters:
        verdict = (
            "redrive resends it" if letter.redrive_refusal is None else f"redrive refuses: {letter.redrive_refusal}"
        )
        console.print(
            f"  {letter.message_id}  group {letter.group_id or '-'}  received {letter.receive_count or 0}x  "
            f"sent {letter.sent_at or '-'}\n    {letter.summary}\n    {verdict}",
            markup=False,
        )
    write_json(json_path, {"queue_url": url, "messages": [letter.to_json() for letter in letters]})


@dlq.command("discard", epilog=exit_codes(None))
@with_deployment
@option(
    "--message-id",
    "message_ids",
    multiple=True,
    help="Discard only this message (repeat the option for several); every message by default.",
)
@option("--yes", is_flag=True, help="Do not ask; needed when stdin is not a terminal.")
@json_option()
def dlq_discard(
    state_machine: str | None,
    terraform_dir: Path | None,
    message_ids: tuple[str, ...],
    yes: bool,
    json_path: Path | None,
) -> None:
    """Delete DLQ messages for good, after asking for the queue's name to be typed (or --yes).

    The changes they hold are never applied: repair those items first (a new backfill, or `verify` and a fix).

    \b
    Example:
      ddb-migrate replication dlq discard --terraform-dir infra/ --message-id 0b1c...
    """
    json_path = json_target(json_path)
    console = state().console
    url = _dlq_url(state_machine, terraform_dir)
    queue_name = url.rstrip("/").rsplit("/", 1)[-1]
    sqs = client("sqs")
    if not yes:
        what = f"{len(message_ids)} message(s)" if message_ids else f"every message ({queue_depth(sqs, url).total:,})"
        console.print(f"This deletes {what} from {url} for good.", markup=False)
        try:
            typed = click.prompt("Type the queue's name to confirm", default="", show_default=False, err=True)
        except click.exceptions.Abort:
            typed = ""
        if typed.strip() != queue_name:
            fail(f"not confirmed (the queue's name is {queue_name}); nothing was deleted")
    deleted = discard_dlq(sqs, url, message_ids=set(message_ids) if message_ids else None)
    console.print(f"discarded {len(deleted)} message(s) from {url}", markup=False)
    for letter in deleted:
        console.print(f"  {letter.message_id}: {letter.summary}", markup=False)
    missing = sorted(set(message_ids) - {letter.message_id for letter in deleted})
    if missing:
        console.print(f"not found in the DLQ: {', '.join(missing)}", markup=False)
    write_json(
        json_path,
        {"queue_url": url, "discarded": [letter.to_json() for letter in deleted], "not_found": missing},
    )
