"""The results document as rich tables on the terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table

from .suite import CASE_KEYS


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _ratio(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}x"


def render(document: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    machine, versions = document["machine"], document["versions"]
    console.print(
        f"[bold]ddb-migrate benchmarks[/bold] ({document['mode']}, {document['duration_seconds']} s) on "
        f"{machine['cpu_count']} x {machine['cpu_model']}, Python {machine['python']}, "
        f"load {machine['load_average_at_start']}; botocore {versions.get('botocore')}, moto {versions.get('moto')}, "
        f"commit {str(versions.get('git_commit') or '?')[:10]}{' (dirty)' if versions.get('git_dirty') == 'True' else ''}"
    )
    cases = document["cases"]
    renderers = {
        "a": _throughput,
        "b": _capacity,
        "c": _cpu,
        "d": _replication,
        "e": _projection,
        "f": _budget,
        "g": _export,
    }
    for case, key in CASE_KEYS.items():
        if key in cases:
            console.print(renderers[case](cases[key]))
    lost = document["lost_items"]
    console.print(f"[bold]{'[green]' if lost == 0 else '[red]'}Items lost by our code: {lost}[/][/bold]")


def _throughput(result: dict[str, Any]) -> Table:
    params = result["parameters"]
    table = Table(
        title=f"a. Backfill vs the seed's algorithm ({params['items']:,} items, {params['latency_ms'][0]:g}-"
        f"{params['latency_ms'][1]:g} ms per request, no capacity limit)",
        title_justify="left",
    )
    for column in ("items", "variant", "segments", "items/s", "vs seed", "client cores", "model cores", "lost"):
        table.add_column(column, justify="right" if column not in ("items", "variant") else "left")
    for shape, data in result["shapes"].items():
        seed = data["summary"]["seed_items_per_second"]
        for row in data["runs"]:
            ratio = row["items_per_second"] / seed if seed else None
            table.add_row(
                f"{shape} ({data['mean_item_bytes']:.0f} B)",
                row["variant"],
                str(row["segments"]),
                _fmt(row["items_per_second"]),
                _ratio(ratio) if row["variant"] == "ours" else "",
                f"{row['client_cpu_cores']:.2f}",
                f"{row['model_cpu_cores']:.2f}",
                _fmt(row["lost_items"] + row["different_items"] + row.get("dropped", 0)),
            )
    return table


def _capacity(result: dict[str, Any]) -> Table:
    params = result["parameters"]
    table = Table(
        title=f"b. Share of the target's write capacity used ({params['seconds_of_work']:g} s of work at C, "
        "bucket starts empty, 1 s burst)",
        title_justify="left",
    )
    for column in (
        "C (WCU)",
        "variant",
        "segments",
        "utilization",
        "sends/item",
        "calls/needed",
        "throttled",
        "retries",
        "client cores",
        "lost",
    ):
        table.add_column(column, justify="right" if column != "variant" else "left")
    for row in result["runs"]:
        table.add_row(
            _fmt(row["capacity_wcu"]),
            row["variant"],
            str(row["segments"]),
            f"{row['utilization']:.0%}",
            f"{row['send_amplification']:.2f}",
            f"{row['calls_per_batch_needed']:.2f}",
            _fmt(row["throttled_requests"]),
            _fmt(row["retries"]),
            f"{row['client_cpu_cores']:.2f}" if "client_cpu_cores" in row else "",
            _fmt(row["lost_items"] + row["different_items"] + row.get("dropped", 0)),
        )
    return table


def _cpu(result: dict[str, Any]) -> Table:
    table = Table(title="c. Client CPU per item, zero-latency transport (µs/item, best of runs)", title_justify="left")
    for column in (
        "items",
        "ours",
        "floor",
        "ours/floor",
        "floor: scan",
        "floor: write",
        "botocore defaults",
        "ours + transform",
    ):
        table.add_column(column, justify="right" if column != "items" else "left")
    for size in ("small", "large"):
        data = result[size]
        variants = data["variants"]
        table.add_row(
            f"{size} ({data['mean_item_bytes']:.0f} B)",
            _fmt(variants["ours"]["cpu_us_per_item"]),
            _fmt(variants["floor"]["cpu_us_per_item"]),
            _ratio(data["ratio_ours_to_floor"]),
            _fmt(variants["floor_scan_only"]["cpu_us_per_item"]),
            _fmt(data["floor_write_cpu_us_per_item"]),
            _fmt(variants["floor_botocore_default_config"]["cpu_us_per_item"]),
            _fmt(variants["ours_typical_transform"]["cpu_us_per_item"]),
        )
    return table


def _replication(result: dict[str, Any]) -> Table:
    table = Table(title="d. Live replication through the Lambda handlers", title_justify="left")
    table.add_column("stage (model, one invocation at a time) / lag (emulator)", justify="left")
    table.add_column("events/s", justify="right")
    table.add_column("CPU µs/event", justify="right")
    table.add_column("lag p50 ms", justify="right")
    table.add_column("lag p99 ms", justify="right")
    table.add_column("lost", justify="right")
    throughput = result["throughput"]
    stages = (
        (
            "forwarder",
            "forwarder_comparison",
            (("one_at_a_time", "one call at a time"), ("deployed", "calls in flight")),
        ),
        ("consumer", "consumer_comparison", (("per_event", "one event per call"), ("batched", "batched"))),
    )
    for stage, key, modes in stages:
        for workload, data in throughput.get(key, {}).get("workloads", {}).items():
            for mode, label in modes:
                table.add_row(
                    f"{stage}, {workload} keys, {label}",
                    _fmt(data[mode]["events_per_second"]),
                    _fmt(data[mode]["cpu_us_per_event"]),
                    "",
                    "",
                    "",
                )
            ratio = data[f"ratio_{modes[1][0]}_to_{modes[0][0]}"]
            table.add_row(f"{stage}, {workload} keys: {modes[1][1]} / {modes[0][1]}", _ratio(ratio), "", "", "", "")
    lost = throughput["lost_events"] + throughput["failed_events"]
    table.add_row("events lost or failed (forwarder and consumer)", "", "", "", "", _fmt(lost))
    lag = result.get("lag")
    if lag:
        table.add_row(
            f"source write -> target ({lag['writes_per_second']:g} writes/s)",
            "",
            "",
            _fmt(lag["lag_ms_p50"], 0),
            _fmt(lag["lag_ms_p99"], 0),
            _fmt(lag["lost_items"]),
        )
    return table


def _projection(result: dict[str, Any]) -> Group:
    drain = result.get("drain")
    return Group(_backfill_projection(result), *([_drain_projection(drain)] if drain else []))


def _drain_projection(drain: dict[str, Any]) -> Table:
    table = Table(
        title=f"e. Drain after the backfill: the application's writes meanwhile, applied by the consumers at "
        f"{drain['consumer_events_per_second']:,.0f} events/s each (case d, batched, distinct keys)",
        title_justify="left",
    )
    for column in ("WCU", "backfill hours", "app writes/s", "consumers", "backlog events", "drain hours"):
        table.add_column(column, justify="right")
    for row in drain["rows"]:
        table.add_row(
            _fmt(row["capacity_wcu"]),
            _fmt(row["backfill_hours"], 2),
            _fmt(row["application_writes_per_second"]),
            _fmt(row["consumer_concurrency"]),
            _fmt(row["backlog_events"]),
            _fmt(row["drain_hours"], 2) if row["drain_hours"] is not None else "never (writes outpace)",
        )
    return table


def _backfill_projection(result: dict[str, Any]) -> Table:
    params, inputs = result["parameters"], result["inputs"]
    table = Table(
        title=f"e. Projection: {params['items']:,} items of {params['item_bytes']:,} B on AWS "
        f"(utilization {inputs['utilization']:.0%} from {inputs['utilization_source']}, "
        f"{inputs['cpu_us_per_item_at_item_bytes']} µs CPU/item)",
        title_justify="left",
    )
    for column in (
        "WCU",
        "Lambda MB",
        "items/s/worker",
        f"hours ({params['segments']} segments)",
        "bound",
        "segments needed",
        "hours then",
        "seed hours",
    ):
        table.add_column(column, justify="right")
    for row in result["rows"]:
        table.add_row(
            _fmt(row["capacity_wcu"]),
            _fmt(row["lambda_memory_mb"]),
            _fmt(row["per_worker_items_per_second"], 0),
            _fmt(row["hours"], 2),
            row["bound"],
            _fmt(row["segments_needed_for_capacity"]),
            _fmt(row["hours_with_segments_needed"], 2),
            _fmt(row["seed_hours"], 1),
        )
    return table


def _budget(result: dict[str, Any]) -> Group:
    return Group(_budget_held(result), _budget_application(result))


def _budget_held(result: dict[str, Any]) -> Table:
    params = result["parameters"]
    table = Table(
        title=f"f. Capacity budget held: units/s the model counted over each run, as a least-squares slope "
        f"(sust.) and the highest over {params['peak_window_seconds']:g} s (peak), vs the budget (tables at "
        f"{params['headroom']:g}x the budget)",
        title_justify="left",
        caption=f"verdict: the binding budget's run rate within ±{params['tolerance']:.0%}, 'over' if any run rate "
        f"is above {1 + params['tolerance']:g}x; 'below, CPU' where the machine was short of CPU (load or "
        f"client + model cores near its {result['cpu_count']}): the budget is an upper bound, the machine set the "
        "pace",
        caption_justify="left",
    )
    for column in (
        "N",
        "binds",
        "RCU\nbudget",
        "RCU/s",
        "sust.",
        "peak",
        "WCU\nbudget",
        "WCU/s",
        "sust.",
        "peak",
        "verdict",
        "s",
        "cores\nclient+model",
        "load",
        "lost",
    ):
        table.add_column(column, justify="left" if column in ("binds", "verdict") else "right", no_wrap=True)
    for row in result["runs"]:
        cells: list[str] = []
        for kind in ("reads", "writes"):
            data = row[kind]
            cells += [
                _fmt(data["budget"], 0),
                f"{_fmt(data['per_second'])} {_ratio(data['ratio'])}",
                _ratio(data["sustained_ratio"]),
                _ratio(data["peak_ratio"]),
            ]
        verdict = row["verdict"] + (", CPU" if row["verdict"] == "below" and row["cpu_bound"] else "")
        table.add_row(
            str(row["segments"]),
            row["binding"],
            *cells,
            verdict,
            _fmt(row["wall_seconds"]),
            f"{row['client_cpu_cores']:.2f}+{row['model_cpu_cores']:.2f}",
            _fmt(row["load_average"]),
            _fmt(row["lost_items"]),
        )
    return table


def _budget_application(result: dict[str, Any]) -> Table:
    params, application = result["parameters"], result["application"]
    table = Table(
        title=f"f. An application beside a backfill of {application['items']:,} items ({params['application_segments']} "
        f"segments): {params['application_reads_per_second']:g} GetItem/s on a {params['source_read_capacity']:g} RCU "
        f"source, {params['application_writes_per_second']:g} PutItem/s on a {params['target_write_capacity']:g} WCU "
        f"target, no retries; budget = {params['budget_share']:g} x (capacity - application)",
        title_justify="left",
    )
    for column in (
        "backfill",
        "RCU/WCU budget",
        "GetItem",
        "throttled",
        "PutItem",
        "throttled",
        "backfill seconds",
        "backfill throttled",
        "RCU/s",
        "WCU/s",
        "lost",
    ):
        table.add_column(column, justify="left" if column == "backfill" else "right")
    for row in application["runs"]:
        budgets = "-" if row["read_budget_rcu"] is None else f"{row['read_budget_rcu']:g} / {row['write_budget_wcu']:g}"
        get_item, put_item = row["application_get_item"], row["application_put_item"]
        table.add_row(
            row["variant"],
            budgets,
            _fmt(get_item["requests"]),
            _fmt(get_item["throttled"]),
            _fmt(put_item["requests"]),
            _fmt(put_item["throttled"]),
            _fmt(row["wall_seconds"]),
            _fmt(row["backfill_throttled_requests"]),
            _fmt(row["reads"]["per_second"]),
            _fmt(row["writes"]["per_second"]),
            _fmt(row["lost_items"]),
        )
    return table


def _export(result: dict[str, Any]) -> Group:
    return Group(_export_runs(result), _export_cost(result))


def _export_runs(result: dict[str, Any]) -> Table:
    params, summary = result["parameters"], result["summary"]
    table = Table(
        title=f"g. Backfill from a point-in-time export vs a Scan, on the emulator ({result['items']:,} "
        f"{params['shape']} items of {result['mean_item_bytes']:.0f} B, same source, transform derives the key)",
        title_justify="left",
        caption=f"The emulator's export stays IN_PROGRESS for a fixed {params['export_seconds']:g} s (a setting; "
        "AWS's take minutes to hours): 'export wait' measures that setting, not an export. Measured: the copy and "
        f"the source's reads. A Scan of the whole table costs {summary['scan_source_rcu_formula']:,.1f} RCU by "
        "DynamoDB's rules; CloudWatch adds the plan's sample and rounds up per page.",
        caption_justify="left",
    )
    for column in (
        "variant",
        "segments",
        "plan + export wait + files s",
        "copy s",
        "wall s",
        "copy items/s",
        "client cores",
        "source RCU\nCloudWatch",
        "source RCU\nrun's counts",
        "lost",
    ):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in result["runs"]:
        if row["variant"] == "export":
            before = f"{row['plan_seconds']:.2f} + {row['export_wait_seconds']:.2f} + {row['export_files_seconds']:.2f}"
            segments = f"{row['segments']} (files)"
        else:
            before, segments = "(in copy)", str(row["segments"])
        table.add_row(
            row["variant"],
            segments,
            before,
            _fmt(row["copy_seconds"], 2),
            _fmt(row["wall_seconds"], 2),
            _fmt(row["copy_items_per_second"]),
            f"{row['client_cpu_cores']:.2f}",
            _fmt(row["source_rcu_cloudwatch"]),
            _fmt(row["source_rcu_counted"]),
            _fmt(row["lost_items"]),
        )
    table.add_row("export / scan", "", "", "", "", _ratio(summary["ratio_export_copy_to_scan_copy"]), "", "", "", "")
    return table


def _export_cost(result: dict[str, Any]) -> Table:
    cost = result["cost"]
    prices = cost["prices"]
    table = Table(
        title=f"g. Cost of the copy's reads, by migration_core.estimate ({prices['region']} list prices of "
        f"{prices['as_of']}; export ${cost['export_price_per_gb']:g}/GB; items of the measured mean size)",
        title_justify="left",
        caption="Both copies write the same items (same write cost); a Scan reads the table through its capacity "
        "(eventually consistent, 4 KB units halved), an export is billed per GB and reads none of it. Provisioned: "
        "the units consumed, in unit-hours. S3 storage and requests, and the export's duration, are not included.",
        caption_justify="left",
    )
    for column in (
        "table GB",
        "items",
        "Scan RCU",
        "Scan reads $\non demand",
        "Scan reads $\nprovisioned",
        "export $",
        "Scan run $\non demand",
        "export run $\non demand",
    ):
        table.add_column(column, justify="right")
    for row in cost["rows"]:
        table.add_row(
            _fmt(row["table_gb"], 0),
            _fmt(row["items"]),
            _fmt(row["on_demand"]["scan_read_units"]),
            _fmt(row["on_demand"]["scan_read_cost_usd"], 2),
            _fmt(row["provisioned"]["scan_read_cost_usd"], 2),
            _fmt(row["export_cost_usd"], 2),
            _fmt(row["on_demand"]["scan_run_cost_usd"], 2),
            _fmt(row["on_demand"]["export_run_cost_usd"], 2),
        )
    return table
