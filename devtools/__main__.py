"""``python -m devtools``: the dev tools a checkout runs (``make demo`` calls ``demo``).

\b
  python -m devtools emulator --port 4566
  python -m devtools demo --items 10000 --segments 4
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ddbmigrate import runner
from ddbmigrate.cli_support import EXIT_VERDICT, Main, State, exit_codes, option, state


@click.group(cls=Main, epilog=exit_codes("the command's negative verdict (see each command)"))
@option("--debug", is_flag=True, envvar="DDB_MIGRATE_DEBUG", help="Show the traceback of an error.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Dev tools of a checkout: the embedded AWS emulator and the demo."""
    ctx.obj = State(debug=debug)


@main.command(epilog=exit_codes(None))
@option("--port", type=click.IntRange(0, 65535), default=0, help="Port on 127.0.0.1; 0 picks a free one.")
@option("--ready-file", type=click.Path(dir_okay=False, path_type=Path), help="Write the endpoint here.")
def emulator(port: int, ready_file: Path | None) -> None:
    """Run the embedded AWS emulator in the foreground until interrupted.

    \b
    Example:
      python -m devtools emulator --port 4566
    """
    from devtools.emulator.__main__ import serve  # noqa: PLC0415 - moto is heavy; only this command needs it
    from devtools.local import announce_when_ready  # noqa: PLC0415 - next to serve, which it goes with

    with announce_when_ready(ready_file, lambda banner: click.echo(banner, err=True)) as watched_ready_file:
        serve(port=port, ready_file=watched_ready_file)


@main.command(epilog=exit_codes("the migration was not verified"))
@option("--items", type=click.IntRange(100), default=50_000, show_default=True, help="Source items to generate.")
@option("--segments", type=click.IntRange(1, 10_000), default=8, show_default=True, help="Backfill segments.")
@option(
    "--workload-rate",
    type=click.FloatRange(0.1),
    default=40.0,
    show_default=True,
    help="Writes per second the simulated application makes to the source during the migration.",
)
@option(
    "--endpoint",
    type=click.Choice(["emulator", "external"]),
    default="emulator",
    envvar="DDB_MIGRATE_DEMO_TARGET",
    show_default=True,
    help="emulator: start the embedded emulator; external: use AWS_ENDPOINT_URL (LocalStack) or AWS itself "
    "(env DDB_MIGRATE_DEMO_TARGET).",
)
@option(
    "--source",
    type=click.Choice(["scan", "export"]),
    default="scan",
    envvar="DDB_MIGRATE_DEMO_SOURCE",
    show_default=True,
    help="scan: the backfill scans the live source; export: it copies a point-in-time export of it (point-in-time "
    "recovery on, the module's export bucket) and reads nothing through the source's capacity "
    "(env DDB_MIGRATE_DEMO_SOURCE).",
)
@option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".build/demo"),
    show_default=True,
    help="Where the demo's Terraform stack, logs and results go.",
)
def demo(items: int, segments: int, workload_rate: float, endpoint: str, source: str, workdir: Path) -> None:
    """A verified live migration under load: replication paused → backfill → drain → verify.

    \b
    Example:
      python -m devtools demo --items 10000 --segments 4
      python -m devtools demo --source export
    """
    from devtools.demo import Demo  # noqa: PLC0415 - only this command needs the demo machinery

    report = Demo(
        items=items,
        segments=segments,
        workload_rate=workload_rate,
        workdir=workdir.resolve() / runner.new_run_name("demo"),
        console=state().console,
        use_emulator=endpoint == "emulator",
        source=source,
    ).run()
    if not report.verified:
        sys.exit(EXIT_VERDICT)


if __name__ == "__main__":
    main(prog_name="python -m devtools")
