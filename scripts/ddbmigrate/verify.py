"""``ddb-migrate verify``: compare transform(source) with the target, locally or as a Step Functions run.

The comparison itself is ``migration_core.verify``; this module scans, settles, looks for extra items, reports.

Extra items (in the target, produced by no source item), chosen with ``--extra-check``:

- ``lookup``: after the source pass, scan the target's keys and look each one up in the source (BatchGetItem).
  A target item is extra when no source item has its key, or that item's transform does not produce it. Sound
  only when every target key equals its source key, so ``auto`` picks it when both tables have the same key
  schema, there is no custom transform module and no step writes a key attribute. Forced with a custom module,
  it is abandoned (reported as not checked) as soon as the source pass sees a transform change a key.
  Memory: one page at a time.
- ``key-set``: scan the target's keys *before* the source pass and strike out every key the source produces;
  what is left is extra. Works for any transform (splits, merges, derived keys). Scanning the target first keeps
  items created during the run out of the candidates, and a candidate deleted meanwhile is dropped by the
  settle re-check (it is gone from the target by then). Memory: one key string per target item, about 90
  bytes plus the key's JSON text in CPython (~150 bytes for a short two-part key: 2,000,000 keys ≈ 300 MB);
  past ``--max-key-set`` keys the check stops and says so.
  Needs the whole source, so not with ``--sample``.
- ``off``.

Settling: differences found while replication is applying changes are not errors yet. ``--settle-seconds``
after a pass, every differing item is read again (source and target, consistent reads) and only what still
differs is reported. At most ``MAX_TRACKED_MISMATCHES`` mismatches are kept for that; the rest are counted as
found and reported as ``not_rechecked``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

import boto3
from botocore.config import Config
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ddbmigrate import runner
from ddbmigrate.aws import DATA_CONFIG
from ddbmigrate.deployed_transform import DeployedTransform
from ddbmigrate.deployment import Deployment
from ddbmigrate.progress import read_progress
from migration_core.attribute_values import format_key
from migration_core.items import key_of
from migration_core.retry import RetryPolicy
from migration_core.state import StateStore
from migration_core.tables import describe_table
from migration_core.target_access import TargetAccess
from migration_core.types import Item
from migration_core.verify import (
    ItemReader,
    Mismatch,
    Recheck,
    Verifier,
    VerifyCounts,
    canonical_key,
    describe_mismatch,
    key_from_canonical,
    settle_counts,
    verify_summary,
)

ExtraCheck = Literal["auto", "lookup", "key-set", "off"]
EXTRA_CHECKS: tuple[ExtraCheck, ...] = ("auto", "lookup", "key-set", "off")
MAX_TRACKED_MISMATCHES = 100_000
# Threads of a local verify; more scan segments than this are worked through by the same threads.
MAX_LOCAL_WORKERS = 64
# DynamoDB's limit on Scan's TotalSegments.
MAX_SCAN_SEGMENTS = 1_000_000
# Mismatches kept for the JSON summary and the state table (the console shows --show of them).
MAX_SUMMARY_SAMPLE = 100
RECHECK_CHUNK = 1000


class VerifyFailedError(RuntimeError):
    """The verification could not run to the end (as opposed to finding differences)."""


@dataclass(frozen=True)
class VerifySettings:
    segments: int = 8
    sample_fraction: float = 1.0
    settle_seconds: float = 5.0
    extra_check: ExtraCheck = "auto"
    max_key_set: int = 2_000_000
    # --distributed only: the read budget ("500" units/s or "25%"; None: the deployment's default).
    max_read_rate: str | None = None


@dataclass
class _Tally:
    """What the scanning threads found so far; every change happens under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: VerifyCounts = field(default_factory=VerifyCounts)
    tracked: list[Mismatch] = field(default_factory=list)
    untracked: int = 0
    last_found: float = 0.0
    changed_key: tuple[Item, Item] | None = None

    def add_mismatches(self, mismatches: Sequence[Mismatch], now: float) -> None:
        room = max(0, MAX_TRACKED_MISMATCHES - len(self.tracked))
        self.tracked.extend(mismatches[:room])
        self.untracked += max(0, len(mismatches) - room)
        if mismatches:
            self.last_found = now


class LocalVerify:
    """One local verification of a deployment's source and target tables."""

    def __init__(
        self,
        *,
        source_table: str,
        target_table: str,
        transform: DeployedTransform,
        settings: VerifySettings,
        console: Console,
        dynamodb: Any = None,
        target_access: TargetAccess | None = None,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._source_table = source_table
        self._target_table = target_table
        self._transform = transform
        self._settings = settings
        self._console = console
        self._workers = min(settings.segments, MAX_LOCAL_WORKERS)
        # Each worker thread may have a Scan and a BatchGetItem in flight.
        pool = Config(max_pool_connections=2 * self._workers + 4)
        config = DATA_CONFIG.merge(pool)
        self._dynamodb: Any = dynamodb or boto3.client("dynamodb", config=config)
        # A target in another account or region is read as the deployment's Lambdas read it (an assumed role, or
        # its ARN; a client of its region).
        self._target_dynamodb: Any = (
            target_access.client("dynamodb", config=config)
            if target_access and (target_access.role_arn or target_access.region)
            else self._dynamodb
        )
        self._retry_policy = retry_policy or RetryPolicy()
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng or random.Random()
        self._stop = threading.Event()

    def run(self) -> dict[str, Any]:
        started = self._monotonic()
        source = describe_table(self._dynamodb, self._source_table)
        target = describe_table(self._target_dynamodb, self._target_table)
        verifier = Verifier(
            transformer=self._transform.transformer,
            source_key_schema=source.key_schema,
            target_key_schema=target.key_schema,
            source_reader=ItemReader(self._dynamodb, self._source_table, source.key_schema, self._retry_policy),
            target_reader=ItemReader(self._target_dynamodb, self._target_table, target.key_schema, self._retry_policy),
        )
        total_segments, segments = self._scan_plan()
        mode, note = self._extra_mode(verifier, list(target.key_schema))
        tally = _Tally()
        estimate = round(source.item_count * len(segments) / total_segments)
        with self._progress() as progress:
            key_set: set[str] | None = None
            if mode == "key-set":
                key_set, note = self._target_keys(progress, target.key_schema, target.item_count, total_segments)
                if key_set is None:
                    mode = "off"
            self._source_pass(progress, verifier, tally, key_set, total_segments, segments, estimate)
            counts, extra, remaining, resolved = self._settle(
                progress, verifier, tally.tracked, tally.counts, 0, found_at=tally.last_found
            )
            extra_checked = False
            if mode == "lookup" and tally.changed_key is not None:
                source_key, target_key = tally.changed_key
                note = (
                    f"not checked: the transform turned source key {format_key(source_key)} into "
                    f"{format_key(target_key)}, and looking target keys up in the source needs unchanged keys; "
                    "use --extra-check key-set"
                )
            elif mode in ("lookup", "key-set"):
                already = {canonical_key(m.target_key) for m in remaining if m.kind == "extra"}
                extras = self._extra_candidates(progress, verifier, tally, key_set, total_segments, segments)
                extras = [m for m in extras if canonical_key(m.target_key) not in already]
                counts, extra, found, resolved_extra = self._settle(
                    progress, verifier, extras, counts, extra + len(extras), found_at=self._monotonic()
                )
                remaining += found
                resolved += resolved_extra
                extra_checked = True
        not_rechecked = tally.untracked if self._settings.settle_seconds > 0 else 0
        return verify_summary(
            source_table=self._source_table,
            target_table=self._target_table,
            counts=counts,
            extra=extra,
            extra_checked=extra_checked,
            extra_check=mode,
            extra_note=note,
            sample_fraction=self._settings.sample_fraction,
            settle_seconds=self._settings.settle_seconds,
            resolved_by_settle=resolved if self._settings.settle_seconds > 0 else None,
            not_rechecked=not_rechecked,
            sample=[mismatch.to_json() for mismatch in remaining[:MAX_SUMMARY_SAMPLE]],
            distributed=False,
            run_id=None,
            duration_seconds=self._monotonic() - started,
        )

    # ----------------------------------------------------------------------------------------------------------

    def _scan_plan(self) -> tuple[int, list[int]]:
        """Scan segments: all of them, or for a sample a random share of a finer split of the key space."""
        fraction = self._settings.sample_fraction
        if fraction >= 1:
            return self._settings.segments, list(range(self._settings.segments))
        total = min(MAX_SCAN_SEGMENTS, max(self._settings.segments, math.ceil(self._settings.segments / fraction)))
        chosen = self._rng.sample(range(total), max(1, round(total * fraction)))
        return total, sorted(chosen)

    def _extra_mode(self, verifier: Verifier, target_key_names: list[str]) -> tuple[ExtraCheck, str]:
        requested = self._settings.extra_check
        sampled = self._settings.sample_fraction < 1
        if requested == "off":
            return "off", "not checked (--extra-check off)"
        lookup_possible = verifier.same_key_schema
        if requested == "lookup" and not lookup_possible:
            return "off", "not checked: lookup needs the same key schema on source and target; use key-set"
        if requested == "lookup" or (
            requested == "auto" and lookup_possible and self._transform.preserves_keys(target_key_names)
        ):
            return "lookup", "every target key looked up in the source"
        if sampled:
            return "off", "not checked: the key-set check needs the whole source, not a sample"
        return "key-set", "target keys compared with the keys the source produces"

    def _progress(self) -> Progress:
        return Progress(
            TextColumn("[bold]{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[found]}"),
            TimeRemainingColumn(),
            console=self._console,
            disable=not self._console.is_terminal,
        )

    def _target_keys(
        self, progress: Progress, key_schema: dict[str, str], estimate: int, total_segments: int
    ) -> tuple[set[str] | None, str]:
        keys: set[str] = set()
        lock = threading.Lock()
        limit = self._settings.max_key_set
        task = progress.add_task("target keys", total=estimate or None, found="")
        over = threading.Event()

        def on_page(items: list[Item]) -> None:
            page = [canonical_key(key_of(item, key_schema)) for item in items]
            with lock:
                keys.update(page)
                if len(keys) > limit:
                    over.set()
                    self._stop.set()
            progress.advance(task, len(items))

        self._scan(
            self._target_dynamodb,
            self._target_table,
            total_segments,
            list(range(total_segments)),
            on_page,
            list(key_schema),
        )
        self._stop.clear()
        if over.is_set():
            return None, (
                f"not checked: the target has more than --max-key-set {limit:,} keys; raise it (about 150 bytes "
                "per key) or use --extra-check lookup when the transform keeps keys"
            )
        return keys, "target keys compared with the keys the source produces"

    def _source_pass(
        self,
        progress: Progress,
        verifier: Verifier,
        tally: _Tally,
        key_set: set[str] | None,
        total_segments: int,
        segments: list[int],
        estimate: int,
    ) -> None:
        task = progress.add_task("source", total=estimate or None, found="")

        def on_page(items: list[Item]) -> None:
            check = verifier.check_page(items)
            with tally.lock:
                tally.counts += check.counts
                tally.add_mismatches(check.mismatches, self._monotonic())
                if tally.changed_key is None:
                    tally.changed_key = check.changed_key
                if key_set is not None:
                    key_set.difference_update(check.produced_keys)
                found = tally.counts.missing + tally.counts.different
            progress.update(task, advance=len(items), found=f"{found:,} differing")

        self._console.print(
            f"verifying {self._source_table} → {self._target_table}: {len(segments)} of {total_segments} "
            f"scan segment(s){' (sample)' if len(segments) < total_segments else ''}"
        )
        self._scan(self._dynamodb, self._source_table, total_segments, segments, on_page, None)

    def _extra_candidates(
        self,
        progress: Progress,
        verifier: Verifier,
        tally: _Tally,
        key_set: set[str] | None,
        total_segments: int,
        segments: list[int],
    ) -> list[Mismatch]:
        if key_set is not None:
            return [
                Mismatch("extra", key_from_canonical(k), None, note="no source item produces this key") for k in key_set
            ]
        extras: list[Mismatch] = []
        task = progress.add_task("extra items", total=None, found="")
        key_names = list(verifier.target_key_schema)

        def on_page(items: list[Item]) -> None:
            found, read = verifier.check_target_keys(items)
            with tally.lock:
                extras.extend(found)
                tally.counts += VerifyCounts(consumed_rcu=read.consumed_rcu, retries=read.retries)
            progress.update(task, advance=len(items), found=f"{len(extras):,} extra")

        self._scan(self._target_dynamodb, self._target_table, total_segments, segments, on_page, key_names)
        return extras

    def _settle(
        self,
        progress: Progress,
        verifier: Verifier,
        mismatches: list[Mismatch],
        counts: VerifyCounts,
        extra: int,
        *,
        found_at: float,
    ) -> tuple[VerifyCounts, int, list[Mismatch], int]:
        """(counts, extra, mismatches still there, how many resolved) after letting replication settle.

        The wait counts from when the last of these mismatches was found: earlier ones have had longer already.
        """
        if self._settings.settle_seconds <= 0 or not mismatches:
            return counts, extra, list(mismatches), 0
        wait_seconds = max(0.0, self._settings.settle_seconds - (self._monotonic() - found_at))
        self._console.print(
            f"re-checking {len(mismatches):,} differing item(s) after {self._settings.settle_seconds:g} s, "
            "so that changes still in flight through replication are not reported"
        )
        self._sleep(wait_seconds)
        task = progress.add_task("re-check", total=len(mismatches), found="")
        chunks = [mismatches[start : start + RECHECK_CHUNK] for start in range(0, len(mismatches), RECHECK_CHUNK)]
        pairs: list[tuple[Mismatch, Mismatch | None]] = []
        consumed, retries = 0.0, 0
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            for recheck in pool.map(verifier.recheck, chunks):
                pairs.extend(recheck.pairs)
                consumed += recheck.consumed_rcu
                retries += recheck.retries
                progress.advance(task, len(recheck.pairs))
        combined = Recheck(pairs, consumed_rcu=consumed, retries=retries)
        counts, extra = settle_counts(counts, extra, combined)
        return counts, extra, combined.remaining, combined.resolved

    def _scan(
        self,
        dynamodb: Any,
        table: str,
        total_segments: int,
        segments: list[int],
        on_page: Callable[[list[Item]], None],
        projection: list[str] | None,
    ) -> None:
        def scan(segment: int) -> None:
            arguments: dict[str, Any] = {"TableName": table, "Segment": segment, "TotalSegments": total_segments}
            if projection:
                names = {f"#k{index}": name for index, name in enumerate(projection)}
                arguments["ProjectionExpression"] = ", ".join(names)
                arguments["ExpressionAttributeNames"] = names
            for page in dynamodb.get_paginator("scan").paginate(**arguments):
                if self._stop.is_set():
                    return
                on_page(page.get("Items", []))

        with ThreadPoolExecutor(max_workers=min(self._workers, len(segments))) as pool:
            futures = [pool.submit(scan, segment) for segment in segments]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((future for future in done if future.exception() is not None), None)
            if failed is not None:
                # Let the other segments stop at their next page instead of scanning on for nothing.
                self._stop.set()
                pool.shutdown(cancel_futures=True)
                self._stop.clear()
                failed.result()


def run_distributed(
    deployment: Deployment,
    settings: VerifySettings,
    total_segments: int,
    console: Console,
    *,
    poll_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Run the verify mode of the backfill state machine and return its summary (the execution output)."""
    run_input = {
        "mode": "verify",
        "total_segments": total_segments,
        "settle_seconds": settings.settle_seconds,
        "sample_fraction": settings.sample_fraction,
    }
    if settings.max_read_rate is not None:
        run_input["max_read_rate"] = settings.max_read_rate
    name = runner.new_run_name("verify")
    execution_arn = runner.start_execution(deployment, run_input, name)
    console.print(f"started distributed verify [bold]{name}[/]: {execution_arn}")
    with Progress(
        TextColumn("[bold]verify"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("segments {task.fields[segments]}"),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("verify", total=None, segments="-")
        while True:
            result = runner.describe(execution_arn)
            progress = read_progress(deployment.state_table, name)
            if progress is not None:
                phase = progress.phase("verify")
                estimate = round((progress.source_item_count or 0) * settings.sample_fraction)
                scanned = phase.counts["scanned"]
                bar.update(
                    task,
                    completed=scanned,
                    total=max(estimate, scanned) or None,
                    segments=f"{phase.segments_done}/{phase.segments_total}",
                )
            if result.status in runner.TERMINAL_STATUSES:
                break
            sleep(poll_seconds)
    if not result.succeeded or result.output is None:
        failure = result.failure
        reason = "" if failure is None else f": {failure.headline}"
        raise VerifyFailedError(f"the verify execution {name} ended {result.status}{reason}")
    return result.output


def record_result(state_table: str, summary: dict[str, Any], dynamodb: Any) -> bool:
    """Store a complete-source verify as the last one (cutover-check reads it); a sampled look is not stored."""
    if summary["sampled"]:
        return False
    StateStore(dynamodb, state_table).record_verify(summary)
    return True


def render_report(summary: dict[str, Any], console: Console, show: int) -> None:
    """The same report for a local and a distributed verify."""

    def say(text: str, *, markup: bool = True, style: str | None = None) -> None:
        # Keys and values must reach the terminal (and logs) unbroken and uninterpreted.
        console.print(text, markup=markup, style=style, soft_wrap=True, highlight=False)

    verdict = "[bold green]MATCH[/]" if summary["clean"] else "[bold red]DIFFERENT[/]"
    scope = (
        f" (sampled: about {summary['sample_fraction']:.1%} of the source, not a full verification)"
        if summary["sampled"]
        else ""
    )
    say(f"{verdict} {summary['source_table']} → {summary['target_table']}{scope}")
    extra = f"{summary['extra']:,}" if summary["extra_checked"] else f"{summary['extra']:,} (not searched)"
    say(
        f"  source items {summary['source_items']:,}, checked {summary['checked']:,}: "
        f"matching {summary['matching']:,}, missing {summary['missing']:,}, different {summary['different']:,}, "
        f"extra {extra}, skipped by the transform {summary['skipped']:,}"
    )
    say(f"  extra items: {summary['extra_note']}", markup=False)
    if summary["resolved_by_settle"]:
        say(
            f"  {summary['resolved_by_settle']:,} item(s) differed at first and matched after "
            f"{summary['settle_seconds']:g} s (changes in flight)"
        )
    if summary["not_rechecked"]:
        say(
            f"  [yellow]{summary['not_rechecked']:,} differing item(s) beyond the first "
            f"{MAX_TRACKED_MISMATCHES:,} were not re-checked[/]"
        )
    sample: list[dict[str, Any]] = summary.get("sample", [])
    for entry in sample[:show]:
        for index, line in enumerate(describe_mismatch(entry)):
            say(line, markup=False, style=None if index else "bold")
    hidden = summary["missing"] + summary["different"] + summary["extra"] - min(show, len(sample))
    if hidden > 0 and show:
        say(f"  ... {hidden:,} more differing key(s) not shown (--show, --json)")
