"""`creditstream serve`: the ingest service (HTTP push, online form, zero reports) under uvicorn."""
from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(host: str = typer.Option("127.0.0.1", help="Address to listen on."),
          port: int = typer.Option(None, help="Port; CREDITSTREAM_INGEST_PORT (18180) when not given.")) -> None:
    """Serve POST /v1/reports, the online form (/form) and zero reports, guarded by unit tokens."""
    import uvicorn

    from creditstream.settings import get_settings
    from producers.credit_producer import BrokerUnreachable
    from producers.http_app import build_app

    settings = get_settings()
    app, ctx = build_app(settings)
    admin = ctx.store.bootstrap_admin() if settings.bootstrap_admin else None
    if admin:
        console.print("[bold yellow]first start:[/bold yellow] an administrator token was created. It is shown "
                      "this once and stored only as a hash; keep it safe:")
        console.print(f"    {admin}")
        console.print("create unit tokens with `creditstream tokens create --unit CODE --scope report` "
                      "or POST /v1/tokens with this token.")
    try:
        ctx.events.check_broker(timeout=5)
    except BrokerUnreachable as exc:
        console.print(f"[yellow]warning:[/yellow] {exc}; reports will be answered 503 until it is up")
    port = port or settings.ingest_port
    console.print(f"ingest service on http://{host}:{port} — online form at http://{host}:{port}/form")
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
    finally:
        ctx.events.flush_all()
        ctx.zero_reports.flush_all()
