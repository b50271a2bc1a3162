"""`creditstream schemas`: check evolution locally, release changed sources, push to a registry."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from creditstream.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Avro schemas: compatibility check, release, Schema Registry.")
console = Console()
err = Console(stderr=True)

_STATE_STYLE = {"ok": "green", "unreleased": "yellow", "incompatible": "red", "tampered": "red"}


_DIR = typer.Option(None, "--schemas-dir", help="Schema directory (default: the package's own).")


@app.command("check")
def check_schemas(schemas_dir: Path = _DIR) -> None:
    """Check that each released version is unchanged and BACKWARD compatible with the one before,
    and that every source is released. Exits 1 otherwise, naming the offending field."""
    from avro_schemas.catalog import SCHEMA_DIR
    from avro_schemas.evolution import check

    findings = check(schemas_dir or SCHEMA_DIR)
    table = Table(title="schemas: BACKWARD compatibility (Apache avro)")
    for column in ("schema", "version", "id", "state", "detail"):
        table.add_column(column, overflow="fold")
    for f in findings:
        style = _STATE_STYLE.get(f.state, "red")
        table.add_row(f.name.rsplit(".", 1)[-1], f"v{f.version}" if f.version else "source", str(f.schema_id or ""),
                      f"[{style}]{f.state}[/{style}]", f.message)
    console.print(table)
    failed = [f for f in findings if not f.ok]
    for f in failed:
        err.print(f"[red]{f.state}:[/red] {f.name}: {f.message}")
    raise typer.Exit(1 if failed else 0)


@app.command("release")
def release_schemas(names: list[str] = typer.Argument(None, help="Full names to release (default: every changed source)."),
                    schemas_dir: Path = _DIR) -> None:
    """Freeze every changed source as its next version with a new id (refused if not BACKWARD compatible)."""
    from avro_schemas.catalog import SCHEMA_DIR
    from avro_schemas.evolution import IncompatibleChange, release

    try:
        released = release(schemas_dir or SCHEMA_DIR, names=names or None)
    except IncompatibleChange as exc:
        err.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(1)
    for r in released:
        console.print(f"released {r.name} v{r.version} as id {r.schema_id} ({r.file})")
    if not released:
        console.print("nothing to release: every source is its newest version")


@app.command("register")
def register_schemas(url: str = typer.Option(None, help="Schema Registry URL (default: CREDITSTREAM_SCHEMA_REGISTRY_URL).")) -> None:
    """Register every released version in a Schema Registry, oldest first, under BACKWARD subjects."""
    from avro_schemas.catalog import released_versions
    from avro_schemas.registry import connect, register, subject_for

    url = url or get_settings().schema_registry_url
    if not url:
        err.print("[red]error:[/red] no Schema Registry: set CREDITSTREAM_SCHEMA_REGISTRY_URL or pass --url")
        raise typer.Exit(2)
    pinned = released_versions()
    try:
        registered = register(connect(url), pinned)
    except Exception as exc:  # connection refused, 409 incompatible, 401 ...: say which, no traceback
        err.print(f"[red]error:[/red] Schema Registry at {url}: {type(exc).__name__}: {exc}")
        raise typer.Exit(1)
    manifest_ids = {(v.name, v.version): v.schema_id for v in pinned}
    table = Table(title=f"registered at {url}")
    for column in ("subject", "version", "registry id", "manifest id"):
        table.add_column(column)
    for sv in registered:
        table.add_row(subject_for(sv.name), f"v{sv.version}", str(sv.schema_id), str(manifest_ids[(sv.name, sv.version)]))
    console.print(table)
