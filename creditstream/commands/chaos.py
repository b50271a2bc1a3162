"""`creditstream chaos`: the fault-injection run (creditstream/faults/chaos.py) on a fresh
embedded stack, with a JSON report of what was killed, how long recovery took and what was lost."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer
from rich.console import Console

console = Console()


def register(app: typer.Typer) -> None:
    app.command("chaos")(chaos)


def chaos(records: int = typer.Option(200_000, help="Events in the main feed."),
          kills: int = typer.Option(20, help="Faults: SIGKILL of worker, sink, broker; sink killed after insert."),
          burst: int = typer.Option(100_000, help="Events published while ClickHouse is down (0: skip)."),
          outage: float = typer.Option(30.0, help="Seconds ClickHouse refuses writes."),
          seed: int = typer.Option(12, help="Random seed of the feed and of the fault schedule."),
          rate: float = typer.Option(0.0, help="Events a second for the main feed (0: as fast as possible)."),
          data_dir: Path = typer.Option(None, help="Where the stack keeps its data (default: a new temporary dir)."),
          report: Path = typer.Option(None, help="Write the JSON report here.")) -> None:
    """Run a feed through the embedded stack while killing its processes; reconcile every event id."""
    from creditstream.faults.chaos import Chaos, ChaosConfig
    from creditstream.settings import get_settings
    from creditstream.embedded.process import free_ports

    base = get_settings()
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="creditstream-chaos-"))
    kafka, controller, sink, web, check, ingest = free_ports(6)
    settings = base.model_copy(update={
        "data_dir": data_dir, "kafka_port": kafka, "kafka_controller_port": controller, "sink_port": sink,
        "worker_web_port": web, "check_port": check, "ingest_port": ingest,
        "sink_fault_dir": str(data_dir / "faults"), "topic_partitions": 2})
    config = ChaosConfig(records=records, kills=kills, burst=burst, outage_seconds=outage, seed=seed, feed_rate=rate)
    result = Chaos(settings, config, log=lambda m: console.print(f"[dim]{m}[/dim]")).run()
    body = json.dumps(result.to_dict(), ensure_ascii=False, indent=1, default=str)
    if report:
        report.write_text(body + "\n")
    console.print(body)
    verdict = "[green]nothing lost, nothing doubled[/green]" if result.ok else "[red]reconciliation failed[/red]"
    console.print(f"{verdict}: {result.stored_records:,} records, {result.stored_rejections:,} rejections, "
                  f"{len(result.faults)} faults, {result.wall_seconds:.0f} s")
    raise typer.Exit(0 if result.ok else 1)
