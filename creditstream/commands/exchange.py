"""`creditstream exchange send|status|receive`: batches to and from the other platform levels."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err = Console(stderr=True)
app = typer.Typer(no_args_is_help=True, help="Exchange with other platform levels: send, status, receive.")

PeerOpt = typer.Option(None, "--peer", help="Only this peer (repeatable); every configured peer when not given.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="exchange")


def _fail(message: str, code: int = 2):
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _setup(peers: list[str] | None):
    from creditstream.exchange.peers import PeerConfigError, load_peers
    from creditstream.exchange.receipts import Receipts
    from creditstream.exchange.send import exchange_dir
    from creditstream.settings import get_settings

    settings = get_settings()
    try:
        config = load_peers(settings.exchange_peers or None, base_dir=settings.data_dir.resolve())
    except PeerConfigError as exc:
        _fail(str(exc))
    unknown = [p for p in peers or () if p not in config.peers]
    if unknown:
        _fail(f"no peer {', '.join(unknown)} in the peers file; configured: {', '.join(config.peers) or 'none'}")
    return settings, config, Receipts(exchange_dir(settings.data_dir) / "receipts.sqlite")


@app.command("send")
def send(peer: list[str] = PeerOpt) -> None:
    """Build each peer's batches of the records stored since its last period, and deliver them
    (failed deliveries of earlier runs first, once their back-off has passed)."""
    from creditstream.embedded.stack import SinkClient
    from creditstream.exchange.send import Sender, SinkRecords, exchange_dir

    settings, config, receipts = _setup(peer)
    sink = SinkClient(settings)
    if not sink.healthy():
        _fail(f"the sink is not answering at {settings.sink_url}; records are read through it (start the stack)", 1)
    opener = None
    if any(p.person_ids == "clear" for p in config.peers.values()):
        from creditstream.keys import KeyRing

        ring = KeyRing.for_settings(settings)
        opener = lambda sealed: ring.current().open(sealed)  # noqa: E731
    sender = Sender(config, receipts, exchange_dir(settings.data_dir) / "batches", SinkRecords(sink), opener)
    try:
        outcomes = sender.run(peer or None)
    except OSError as exc:
        _fail(f"reading records from the sink failed: {exc}", 1)
    table = Table(title="exchange send")
    for col in ("peer", "batches built", "delivered", "acknowledged", "failed (will retry)"):
        table.add_column(col, justify="left" if col == "peer" else "right")
    for o in outcomes:
        table.add_row(o.peer, str(len(o.built)), str(len(o.delivered)), str(len(o.acknowledged)),
                      f"[red]{len(o.failed)}[/red]" if o.failed else "0")
    console.print(table)
    for o in outcomes:
        for batch_id, error in o.failed.items():
            err.print(f"[yellow]{o.peer}[/yellow] {batch_id}: {error}")
    receipts.close()
    if any(o.failed for o in outcomes):
        raise typer.Exit(1)


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
           batches: bool = typer.Option(False, "--batches", help="List every batch, not just totals.")) -> None:
    """Per peer: sent (awaiting acknowledgement), acknowledged, pending, failed-and-retrying."""
    from creditstream.exchange.send import PeerOutcome, Sender, exchange_dir

    settings, config, receipts = _setup(None)
    sender = Sender(config, receipts, exchange_dir(settings.data_dir) / "batches", fetch=lambda *a: [])
    for p in config.peers.values():  # acknowledgements the peers wrote since the last look
        sender.collect_acks(p, PeerOutcome(p.code))
    summary = receipts.summary()
    for code in config.peers:
        summary.setdefault(code, {s: {"batches": 0, "records": 0} for s in ("pending", "sent", "acknowledged", "failed")})
    if as_json:
        out = {"peers": summary}
        if batches:
            out["batches"] = receipts.batches()
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    table = Table(title=f"exchange status — {receipts.path}")
    for col in ("peer", "sent, awaiting ack", "acknowledged", "pending", "failed, retrying", "next attempt",
                "batched until"):
        table.add_column(col, justify="left" if col in ("peer", "next attempt", "batched until") else "right")
    for code, states in sorted(summary.items()):
        cell = lambda s: f"{states[s]['batches']} ({states[s]['records']:,} rec.)"  # noqa: E731
        name = config.peers[code].name if code in config.peers else "(no longer configured)"
        failed = cell("failed")
        table.add_row(f"{code} {name}", cell("sent"), cell("acknowledged"), cell("pending"),
                      f"[red]{failed}[/red]" if states["failed"]["batches"] else failed,
                      states["failed"].get("next_attempt_at") or "", states.get("batched_until") or "never")
    console.print(table)
    for code, states in sorted(summary.items()):
        if states["failed"].get("last_error"):
            err.print(f"[yellow]{code}[/yellow] last error: {states['failed']['last_error']}")
    if batches:
        listing = Table(title="batches")
        for col in ("batch", "state", "records", "attempts", "period", "last error"):
            listing.add_column(col)
        for b in receipts.batches():
            listing.add_row(b["batch_id"], b["state"], str(b["count"]), str(b["attempts"]),
                            f"{b['period_start']} – {b['period_end']}", b["last_error"] or "")
        console.print(listing)
    receipts.close()


@app.command("receive")
def receive(directory: Path = typer.Argument(..., help="The inbox a peer delivers batches to (with manifests)."),
            unit: str = typer.Option(..., "--unit", help="The peer's platform code: its records are loaded as its "
                                                        "reports, and duplicates of ours are counted once.")) -> None:
    """Load every batch in DIRECTORY that has a manifest and no acknowledgement yet: its checksum
    checked, its rows through the same adapter and validation as `creditstream load`, then
    acknowledged (<batch>.ack.json) for the sender."""
    from creditstream.exchange import batch as B
    from creditstream.exchange.send import write_ack
    from creditstream.settings import get_settings
    from producers.batch_file import LoadOptions, load_file
    from producers.credit_producer import BrokerUnreachable, CreditProducer

    manifests = sorted(directory.glob(f"*{B.MANIFEST_SUFFIX}"))
    waiting = [m for m in manifests if not (directory / m.name.replace(B.MANIFEST_SUFFIX, B.ACK_SUFFIX)).exists()]
    if not waiting:
        console.print(f"nothing to load in {directory} ({len(manifests)} batches, all acknowledged)")
        return
    producer = CreditProducer(get_settings().bootstrap_servers)
    try:
        producer.check_broker()
    except BrokerUnreachable as exc:
        _fail(str(exc), 1)
    bad = 0
    for manifest_path in waiting:
        try:
            manifest = B.Manifest.from_json(manifest_path.read_bytes())
            data = (directory / manifest.file).read_bytes()
        except (OSError, ValueError, TypeError) as exc:
            err.print(f"[red]{manifest_path.name}[/red]: cannot read the batch: {exc}")
            bad += 1
            continue
        problems = B.verify(manifest, data)
        if problems:
            err.print(f"[red]{manifest.file}[/red]: {'; '.join(problems)}; not loaded, not acknowledged")
            bad += 1
            continue
        summary = load_file(directory / manifest.file, LoadOptions(unit=unit.strip(), reported_by="exchange"), producer)
        if summary.error is not None or not summary.complete:
            err.print(f"[red]{manifest.file}[/red]: {summary.error or 'not every row was delivered'}; not acknowledged")
            bad += 1
            continue
        write_ack(directory, manifest_path, loaded=summary.sent,
                  problems=[f"{k}: {v}" for k, v in sorted(summary.report.problems.items())])
        console.print(f"{manifest.file}: {summary.sent:,} rows loaded as {unit} ({summary.report.layout}), acknowledged")
    producer.close()
    if bad:
        raise typer.Exit(1)
