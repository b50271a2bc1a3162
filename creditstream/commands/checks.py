"""`creditstream checks serve` and `creditstream objections list|overdue`."""
from __future__ import annotations

import logging
import time

import typer
from rich.console import Console
from rich.table import Table

console = Console()
checks_app = typer.Typer(no_args_is_help=True, help="The approval-window check service (逢报必查).")
objections_app = typer.Typer(no_args_is_help=True, help="Objections (异议) and their statutory deadlines.")


def register(app: typer.Typer) -> None:
    app.add_typer(checks_app, name="checks")
    app.add_typer(objections_app, name="objections")


@checks_app.command("serve")
def serve_command(host: str = typer.Option(None, help="Address (default CREDITSTREAM_CHECK_BIND, 127.0.0.1)."),
                  port: int = typer.Option(None, help="Port (default CREDITSTREAM_CHECK_PORT, 18190).")) -> None:
    """Serve blacklist status, checks, bulk checks, feedback, objections, repair and exits."""
    serve(host, port, announce_admin=True)


def serve(host: str | None, port: int | None, announce_admin: bool = True) -> None:
    import uvicorn

    from checks.api import create_app
    from checks.service import build_service
    from creditstream.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    service = build_service(settings)
    if announce_admin:
        admin = service.tokens.bootstrap_admin()
        if admin:
            console.print("[bold yellow]first start:[/bold yellow] an administrator token was created. It is shown "
                          "this once and stored only as a hash; keep it safe:")
            console.print(f"    {admin}")
    service.start()
    # uvicorn stops on SIGTERM or Ctrl-C; then the audit queue is drained and flushed.
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

