"""`creditstream checks serve`, `creditstream objections list|overdue`, `creditstream audit verify`
(the check audit's hash chain) and `creditstream watches status` (watch notifications)."""
from __future__ import annotations

import logging
import sys
import time

import typer
from rich.console import Console
from rich.table import Table

console = Console()
checks_app = typer.Typer(no_args_is_help=True, help="The approval-window check service (逢报必查).")
objections_app = typer.Typer(no_args_is_help=True, help="Objections (异议) and their statutory deadlines.")
audit_app = typer.Typer(no_args_is_help=True, help="The check audit: every check, hash-chained per partition.")
watches_app = typer.Typer(no_args_is_help=True, help="Watch lists: units told when a watched subject's lists change.")


def register(app: typer.Typer) -> None:
    app.add_typer(checks_app, name="checks")
    app.add_typer(objections_app, name="objections")
    app.add_typer(audit_app, name="audit")
    app.add_typer(watches_app, name="watches")


@watches_app.command("status")
def watches_status(unit: str = typer.Option(None, help="One unit only."),
                   as_json: bool = typer.Option(False, "--json", help="As JSON.")) -> None:
    """Watches per unit, their webhook and topic, and the delivery state of their events (read from
    the check service's outbox). Exits 1 when a delivery has failed for good."""
    import json

    from checks.watches import WatchStore
    from creditstream.settings import get_settings

    path = get_settings().data_dir / "checks" / "watches.sqlite"
    if not path.exists():
        console.print("no watches registered yet (POST /v1/watches on the check service)")
        raise typer.Exit(0)
    from checks.watches import Watches

    status = Watches.status_of(WatchStore(path), unit)
    if as_json:
        print(json.dumps(status, ensure_ascii=False))
    else:
        table = Table(title="关注 watch lists")
        for column in ("unit", "watches", "topic", "webhook", "delivered", "pending", "failed", "unpublished",
                       "last error"):
            table.add_column(column)
        for u in status["units"]:
            box = u["outbox"]
            error = next((r["last_error"] for r in u["recent"] if r["last_error"]), "")
            table.add_row(u["unit"], str(u["watches"]), u["topic"], u["webhook"] or "(none)",
                          *(str(box.get(k, 0)) for k in ("delivered", "pending", "failed", "unpublished")), error or "")
        console.print(table)
    raise typer.Exit(1 if any(u["outbox"].get("failed") for u in status["units"]) else 0)


@audit_app.command("verify")
def audit_verify(from_: str = typer.Option(None, "--from", help="First day or time (UTC) of checks: YYYY-MM-DD[THH:MM]."),
                 to: str = typer.Option(None, "--to", help="Day or time (UTC) the checks end before."),
                 as_json: bool = typer.Option(False, "--json", help="The report as JSON.")) -> None:
    """Recompute the hash chain of the checks asked in [--from, --to) from the stored rows (read
    through the running sink) and name the first broken link. Exits 1 when one is broken."""
    import json
    import urllib.error
    from urllib.parse import urlencode

    from creditstream.domain.audit_chain import verify
    from creditstream.embedded.stack import SinkClient
    from creditstream.settings import get_settings

    sink = SinkClient(get_settings())
    if not sink.healthy():
        console.print("[red]error:[/red] the sink is not running; start the stack (`creditstream up`) first")
        raise typer.Exit(2)
    try:
        spans = sink.get("/v1/audit/checks/spans?" + urlencode({k: v for k, v in (("from", from_), ("to", to)) if v}),
                         timeout=60)["spans"]
        report = verify(spans, lambda p, a, b: sink.get(
            f"/v1/audit/checks/rows?partition={p}&first={a}&last={b}", timeout=60)["rows"])
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("detail", exc.reason)
        console.print(f"[red]error:[/red] {detail}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        table = Table(title=f"check audit chain {from_ or '…'} – {to or '…'}")
        for column in ("partition", "rows verified", "before the chain", "first broken link"):
            table.add_column(column)
        for p in report["partitions"]:
            table.add_row(str(p["partition"]), f"{p['rows']:,}", f"{p['unchained']:,}", p["broken"] or "intact")
        console.print(table)
        if report["broken"]:
            console.print(f"[red]broken:[/red] {report['broken']}")
        else:
            console.print(f"[green]intact:[/green] {report['rows']:,} check records verified")
    raise typer.Exit(1 if report["broken"] else 0)


@checks_app.command("serve")
def serve_command(host: str = typer.Option(None, help="Address (default CREDITSTREAM_CHECK_BIND, 127.0.0.1)."),
                  port: int = typer.Option(None, help="Port (default CREDITSTREAM_CHECK_PORT, 18190).")) -> None:
    """Serve blacklist status, checks, bulk checks, feedback, objections, repair and exits."""
    serve(host, port, announce_admin=True)


def serve(host: str | None, port: int | None, announce_admin: bool = True) -> None:
    import uvicorn

    from checks.api import create_app
    from checks.audit_spool import SpoolInUse
    from checks.service import build_service
    from creditstream.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    try:
        service = build_service(settings)
    except SpoolInUse as exc:  # another check service on the same data directory
        console.print(f"[red]error:[/red] the check audit spool is in use: {exc}; give each check service its "
                      "own CREDITSTREAM_CHECK_AUDIT_SPOOL (or data directory)")
        raise typer.Exit(1) from None
    if announce_admin:
        admin = service.tokens.bootstrap_admin()
        if admin:
            console.print("[bold yellow]first start:[/bold yellow] an administrator token was created. It is shown "
                          "this once and stored only as a hash; keep it safe:")
            console.print(f"    {admin}")
    service.start()
    # The index follower and the watches are Python threads: with the default 5 ms switch
    # interval a request arriving while one of them runs waits up to 5 ms for the interpreter.
    sys.setswitchinterval(0.0005)
    # uvicorn stops on SIGTERM or Ctrl-C; then the audit sender sends what the spool holds.
    host, port = host or settings.check_bind, port or settings.check_port
    console.print(f"check service on http://{host}:{port} — OpenAPI at /docs; ready at /readyz once the index is built")
    try:
        # No access log: request paths carry subject ids.
        uvicorn.run(create_app(service), host=host, port=port, log_level="warning", access_log=False,
                    server_header=False, loop="auto", http="auto")
    finally:
        service.stop()


def _book():
    from checks.book import ObjectionBook
    from creditstream.settings import get_settings

    book = ObjectionBook(get_settings().bootstrap_servers).start()
    deadline = time.monotonic() + 30
    while not book.ready and time.monotonic() < deadline and not book.follower.failure:
        time.sleep(0.1)
    book.stop()
    if not book.ready:
        console.print(f"[red]error:[/red] cannot read credit.objections: {book.follower.failure or 'timed out'}")
        raise typer.Exit(2)
    return book


def _print(objections, now_ms: int, title: str) -> None:
    from datetime import datetime, timezone

    from creditstream.domain.objections import STEP_LABELS

    def when(ms):
        return datetime.fromtimestamp(ms / 1000, timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M") if ms else ""

    table = Table(title=title)
    for column in ("objection", "state", "subject", "record", "unit", "filed", "overdue steps (deadline)"):
        table.add_column(column)
    for o in objections:
        late = ", ".join(f"{STEP_LABELS.get(s, s)} ({when(due)})" for s, due in o.overdue_steps(now_ms))
        table.add_row(o.objection_id, o.state + (f" {o.outcome}" if o.outcome else ""), o.subject_masked or o.subject_key,
                      o.document_number or o.basis_event_id, o.source_unit, when(o.filed_at), late)
    console.print(table)


@objections_app.command("list")
def list_objections(all_: bool = typer.Option(False, "--all", help="Resolved ones too.")) -> None:
    """Objections, read from credit.objections."""
    now = int(time.time() * 1000)
    items = [o for o in _book().all() if all_ or o.open]
    _print(items, now, f"异议 objections ({'all' if all_ else 'open'}): {len(items)}")


@objections_app.command("overdue")
def overdue() -> None:
    """Objections with a statutory step past its deadline (3 / 10 / 2 working days)."""
    now = int(time.time() * 1000)
    items = [o for o in _book().all() if o.overdue_steps(now)]
    _print(items, now, f"逾期异议 objections past a statutory deadline: {len(items)}")
    raise typer.Exit(1 if items else 0)

