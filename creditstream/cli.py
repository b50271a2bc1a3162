"""The creditstream command: starts things and shows things; it holds no rules."""
from __future__ import annotations

import signal
import time

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from creditstream.commands import schemas as schemas_commands
from creditstream.commands import load as load_commands, validate as validate_commands
from creditstream.commands import serve as serve_commands, tokens as tokens_commands, zero_report as zero_report_commands
from creditstream.commands import keys as keys_commands, report as report_commands
from creditstream.commands import chaos as chaos_commands
from creditstream.commands import checks as checks_commands
from creditstream.commands import exchange as exchange_commands
from creditstream.embedded.kafka import EmbeddedStackError
from creditstream.settings import get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="creditstream: public credit information as a stream.")
db_app = typer.Typer(no_args_is_help=True, help="ClickHouse schema migrations.")
app.add_typer(db_app, name="db")
app.add_typer(schemas_commands.app, name="schemas")
for _module in (load_commands, validate_commands, serve_commands, tokens_commands, zero_report_commands,
                chaos_commands):
    _module.register(app)
report_commands.register(app)
keys_commands.register(app)
checks_commands.register(app)
exchange_commands.register(app)
console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _counts_table(units: list[dict], previous: dict[str, int], elapsed: float, status: str) -> Table:
    table = Table(title="creditstream — counts per source unit (from ClickHouse)", caption=status)
    for col in ("source unit", "records", "rejected", "total", "per s"):
        table.add_column(col, justify="left" if col == "source unit" else "right")
    total_r = total_j = 0
    for u in units:
        total = u["records"] + u["rejected"]
        rate = (total - previous.get(u["source_unit"], total)) / elapsed if elapsed > 0 else 0.0
        table.add_row(u["source_unit"], f"{u['records']:,}", f"{u['rejected']:,}", f"{total:,}", f"{rate:,.0f}")
        total_r += u["records"]
        total_j += u["rejected"]
    table.add_section()
    table.add_row("all", f"{total_r:,}", f"{total_j:,}", f"{total_r + total_j:,}", "")
    return table


def _print_addresses(stack) -> None:
    """Where to look: the live page (its token in the fragment, which the browser keeps to itself)
    and Prometheus."""
    from creditstream.service_token import service_token
    from dashboards.live_page import live_page_url

    settings = stack.settings
    # soft_wrap: an address broken over two lines cannot be copied or clicked
    console.print(f"live page   {live_page_url(settings.sink_url, service_token(settings))}", soft_wrap=True)
    console.print(f"Prometheus  {stack.prometheus.url if stack.prometheus else 'not running'}", soft_wrap=True)
    if "ingest" in stack.processes:
        base = f"http://127.0.0.1:{settings.ingest_port}"
        console.print(f"ingest      {base}/v1/reports (HTTP push), {base}/form (online form)", soft_wrap=True)


@app.command()
def up(demo: bool = typer.Option(True, help="Run the synthetic demo feed."),
       rate: float = typer.Option(None, help="Demo records per second."),
       refresh: float = typer.Option(1.0, help="Seconds between refreshes.")) -> None:
    """Start the embedded stack (Kafka, topics, sink, worker, demo feed) and show live counts."""
    from creditstream.embedded.stack import EmbeddedStack, SinkClient

    from creditstream.auth.tokens import TokenStore

    settings = get_settings()
    stack = EmbeddedStack(settings, demo=demo, demo_rate=rate, log=lambda m: console.print(f"[dim]{m}[/dim]"),
                          prometheus=True, ingest=True, checks=True)
    # Made here, not by the ingest child, so that it is shown on this terminal and never in a log file.
    settings.secrets_dir.mkdir(parents=True, exist_ok=True)
    admin = TokenStore.for_settings(settings).bootstrap_admin()
    if admin:
        console.print("[bold yellow]first start:[/bold yellow] administrator token (shown this once, stored only "
                      f"as a hash; `creditstream tokens create` makes unit tokens):\n    {admin}", soft_wrap=True)
    # SIGTERM as Ctrl-C, so a supervisor stopping us also stops everything we started.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    started = time.monotonic()
    try:
        with console.status("starting the embedded stack (Apache Kafka, ClickHouse, worker, sink)…"):
            stack.start()
    except EmbeddedStackError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        stack.stop()
        raise typer.Exit(130)
    console.print(f"[green]up[/green] in {time.monotonic() - started:.1f} s — broker {settings.bootstrap_servers}, "
                  f"ClickHouse {settings.clickhouse_url}, logs in {settings.log_dir.resolve()}. Ctrl-C stops it all.")
    _print_addresses(stack)
    sink = SinkClient(settings)
    previous: dict[str, int] = {}
    last = time.monotonic()
    exit_code = 0
    restarts: dict[str, list[float]] = {}
    try:
        with Live(console=console, refresh_per_second=4) as live:
            while True:
                failed = stack.failed()
                if failed:
                    # A supervisor's job: start again what exited; give up when one keeps dying.
                    now = time.monotonic()
                    for name in failed:
                        proc = stack.processes.get(name) or (stack.kafka.process if stack.kafka else None)
                        recent = [t for t in restarts.get(name, []) if now - t < 600] + [now]
                        restarts[name] = recent
                        if len(recent) > 5:
                            err.print(f"[red]{name} exited {len(recent)} times in 10 minutes[/red]; "
                                      f"last lines of its log:\n{proc.tail() if proc else ''}")
                            exit_code = 1
                            break
                        err.print(f"[yellow]{name} exited; starting it again[/yellow] (log: "
                                  f"{proc.log_path if proc else settings.log_dir})")
                        try:
                            stack.restart(name)
                        except EmbeddedStackError as exc:
                            err.print(f"[red]{name} could not be restarted:[/red] {exc}")
                    if exit_code:
                        break
                try:
                    units = sink.get("/v1/counts")["units"]
                    status = f"updated {time.strftime('%H:%M:%S')}"
                except Exception as exc:
                    units, status = [], f"sink not answering: {type(exc).__name__}"
                now = time.monotonic()
                live.update(_counts_table(units, previous, now - last, status))
                previous = {u["source_unit"]: u["records"] + u["rejected"] for u in units}
                last = now
                time.sleep(refresh)
    except KeyboardInterrupt:
        pass
    finally:
        with console.status("stopping…"):
            stack.stop()
        console.print("stopped; nothing left running.")
    raise typer.Exit(exit_code)


@app.command()
def counts() -> None:
    """Print records and rejections per source unit, read from ClickHouse."""
    from creditstream.embedded.stack import SinkClient
    from sinks.clickhouse import connect
    from sinks.queries import counts_per_unit

    settings = get_settings()
    sink = SinkClient(settings)
    if sink.healthy():
        units = sink.get("/v1/counts")["units"]
    else:
        try:
            client = connect(settings)
            units = counts_per_unit(client, settings.clickhouse_database)
        except Exception as exc:
            _fail(f"cannot read ClickHouse at {settings.clickhouse_url}: {exc}")
    console.print(_counts_table(units, {}, 0, f"{settings.clickhouse_url}"))


@app.command()
def feed(rate: float = typer.Option(200.0, help="Records per second."),
         limit: int = typer.Option(None, help="Stop after this many records."),
         seed: int = typer.Option(None, help="Random seed (reproducible feed).")) -> None:
    """Publish synthetic demo reports to credit.inbound."""
    from producers import demo_feed

    settings = get_settings()
    sent = demo_feed.run(settings.bootstrap_servers, rate, limit, seed)
    console.print(f"sent {sent:,} demo records")


@app.command("topics")
def create_topics() -> None:
    """Create the pipeline's topics on the configured broker (idempotent)."""
    from creditstream.topics import ensure_topics, topic_specs

    settings = get_settings()
    created = ensure_topics(settings.bootstrap_servers, topic_specs(settings.topic_partitions, settings.topic_replication, settings.inbound_retention_days))
    console.print(f"created: {', '.join(created) or 'nothing (all exist)'}")


def _db_client():
    from creditstream.embedded.stack import SinkClient
    from sinks.clickhouse import connect

    settings = get_settings()
    if settings.clickhouse_url.startswith("chdb://") and SinkClient(settings).healthy():
        _fail("the sink is running and owns the chdb directory; it migrates at start-up")
    return settings, connect(settings)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the schema migrations not applied yet."""
    from sinks.clickhouse import migrate

    settings, client = _db_client()
    applied = migrate(client, settings.clickhouse_database)
    console.print(f"applied: {', '.join(applied) or 'nothing (up to date)'}")


@db_app.command("status")
def db_status() -> None:
    """List the migrations and whether each is applied (or changed since it was)."""
    from sinks.clickhouse import migration_status

    settings, client = _db_client()
    table = Table(title=f"migrations in {settings.clickhouse_database}")
    for col in ("version", "name", "state", "applied at"):
        table.add_column(col)
    colour = {"applied": "green", "pending": "yellow", "changed": "red"}
    rows = migration_status(client, settings.clickhouse_database)
    for m in rows:
        table.add_row(f"{m['version']:04d}", m["name"], f"[{colour[m['state']]}]{m['state']}[/]",
                      str(m["applied_at"] or ""))
    console.print(table)
    if any(m["state"] == "changed" for m in rows):
        _fail("an applied migration file was edited; add a new migration instead", code=1)


def main() -> None:
    app()
