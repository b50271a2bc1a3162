"""`creditstream tokens create|list|revoke`: unit tokens for the ingest service (and, later, the
approval-window check API). Works on the token file directly, so it needs no running service."""
from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err = Console(stderr=True)
app = typer.Typer(no_args_is_help=True, help="Unit tokens: create, list, revoke.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="tokens")


def _store():
    from creditstream.auth.tokens import TokenStore
    from creditstream.settings import get_settings

    return TokenStore.for_settings(get_settings())


@app.command("create")
def create(unit: str = typer.Option(..., "--unit", help="The unit's code; the token reports only for it."),
           scope: list[str] = typer.Option(["report"], "--scope", help="report, check, object or admin; repeatable."),
           label: str = typer.Option("", "--label", help="Who holds it (a clerk, a system).")) -> None:
    """Create a token; its plaintext is printed once and kept nowhere."""
    from creditstream.auth.tokens import TokenError

    try:
        info, plaintext = _store().create(unit, scope, label)
    except TokenError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2)
    err.print(f"token {info.id} for unit {info.unit} (scopes: {', '.join(info.scopes)}); shown once:")
    print(plaintext)


@app.command("list")
def list_tokens(all_: bool = typer.Option(False, "--all", help="Include revoked tokens.")) -> None:
    """List tokens (never their secrets)."""
    table = Table(title="unit tokens")
    for column in ("id", "unit", "scopes", "label", "created", "revoked"):
        table.add_column(column)
    for info in _store().list(include_revoked=all_):
        table.add_row(info.id, info.unit, ",".join(info.scopes), info.label, info.created_at, info.revoked_at or "")
    console.print(table)


@app.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="The token's id (the part after cst_).")) -> None:
    """Revoke a token; a running service refuses it from its next request."""
    from creditstream.auth.tokens import TokenError

    try:
        info = _store().revoke(token_id)
    except TokenError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2)
    console.print(f"revoked {info.id} (unit {info.unit}) at {info.revoked_at}")
