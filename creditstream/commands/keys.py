"""`creditstream keys rotate|status`: the pseudonymisation keys. Rotation writes the key file;
every process follows it at its next batch or request, and the sink re-seals the stored ID numbers
in the background (see sinks/reseal.py)."""
from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err = Console(stderr=True)
app = typer.Typer(no_args_is_help=True, help="Pseudonymisation keys: rotate, status.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="keys")


@app.command("init")
def init(path: str = typer.Argument(..., help="Where to write the new key file (e.g. ./secrets/keys.json).")) -> None:
    """Create a key file for a deployment (compose mounts it as a secret). Never overwrites one."""
    from creditstream.domain.pseudonym import KeyFailure
    from creditstream.keys import create_key_file

    try:
        created = create_key_file(path)
    except (KeyFailure, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2)
    console.print(f"created {created} (owner-only). Keep a backup: values sealed with it open with nothing else.")


@app.command("rotate")
def rotate_keys(hmac_too: bool = typer.Option(False, "--hmac", help="Also start a new HMAC (pseudonym) key: "
                                              "new records get new pseudonyms; lookups try every key.")) -> None:
    """Add a new encryption key and make it current; stored values are re-sealed in the background."""
    from creditstream.domain.pseudonym import KeyFailure
    from creditstream.keys import ensure_key_file, rotate
    from creditstream.settings import get_settings

    try:
        current = rotate(ensure_key_file(get_settings()), hmac_too=hmac_too)
    except (KeyFailure, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2)
    console.print(f"current keys: encryption {current['aead_current']}, pseudonyms {current['hmac_current']}; "
                  "the sink re-seals stored ID numbers in the background (`creditstream keys status`).")


@app.command("status")
def status() -> None:
    """Key ids in use and how many stored values still wait for re-sealing (asks the running sink)."""
    from creditstream.embedded.stack import SinkClient
    from creditstream.settings import get_settings

    sink = SinkClient(get_settings())
    if not sink.healthy():
        err.print("[red]error:[/red] the sink is not running; start the stack (`creditstream up`) first")
        raise typer.Exit(1)
    info = sink.get("/v1/keys")
    table = Table(title=f"keys: encryption {info['aead_current']} of {', '.join(info['aead_keys'])}; "
                        f"pseudonyms {info['hmac_current']} of {', '.join(info['hmac_keys'])}")
    table.add_column("column")
    table.add_column("values under an older key", justify="right")
    for column, left in info["pending_reseal"].items():
        table.add_row(column, f"{left:,}")
    console.print(table)
    if info.get("last_error"):
        err.print(f"[red]re-sealing stopped:[/red] {info['last_error']}")
        raise typer.Exit(1)
