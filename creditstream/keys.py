"""Where the pseudonymisation keys live, and their rotation.

One JSON key file: ``{"hmac": {"h1": "<b64>"}, "hmac_current": "h1", "aead": {"k1": "<b64>"},
"aead_current": "k1"}``. In the embedded default it is ``<data_dir>/secrets/keys.json``, generated
on first start with owner-only permissions; in compose it is a secret mounted read-only and named
by ``CREDITSTREAM_KEYS_FILE``. Keys are never deleted by rotation: old records stay readable and
findable; rotation adds a key and makes it current.

Processes reload the file when it changes (mtime and size), so a rotation reaches a running
worker, sink or API at its next batch or request.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
from pathlib import Path

from creditstream.domain.pseudonym import KeyFailure, Pseudonymiser
from creditstream.settings import Settings


def key_file(settings: Settings) -> Path:
    return Path(settings.keys_file) if settings.keys_file else settings.secrets_dir / "keys.json"


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _write(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _parse(data: dict, path: Path) -> Pseudonymiser:
    try:
        return Pseudonymiser(
            hmac_keys={k: base64.b64decode(v) for k, v in data["hmac"].items()},
            hmac_current=data["hmac_current"],
            aead_keys={k: base64.b64decode(v) for k, v in data["aead"].items()},
            aead_current=data["aead_current"])
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFailure(f"key file {path} is malformed: {type(exc).__name__} {exc}") from None


def create_key_file(path: Path) -> Path:
    """A new key file (owner-only) at `path`; refuses to replace one, whose loss would make every
    value sealed with it unreadable."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".keys.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            raise KeyFailure(f"key file {path} exists; it is never overwritten")
        _write(path, {"hmac": {"h1": _new_key()}, "hmac_current": "h1",
                      "aead": {"k1": _new_key()}, "aead_current": "k1"})
    return path


def ensure_key_file(settings: Settings) -> Path:
    """The key file, generated (owner-only) when the embedded default starts the first time. A
    configured file that is missing is an error, never silently replaced by new keys: records
    sealed with the lost keys would become unreadable."""
    path = key_file(settings)
    if path.exists():
        return path
    if settings.keys_file:
        raise KeyFailure(f"key file {path} (CREDITSTREAM_KEYS_FILE) does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    try:
        return create_key_file(path)
    except KeyFailure:  # another process made it first
        return path


class KeyRing:
    """The current key set of a key file, reloaded when the file changes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._current: Pseudonymiser | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> "KeyRing":
        return cls(ensure_key_file(settings))

    def current(self) -> Pseudonymiser:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise KeyFailure(f"key file {self.path} is gone") from None
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp or self._current is None:
            self._current = _parse(json.loads(self.path.read_text()), self.path)
            self._stamp = stamp
        return self._current


def rotate(path: Path, hmac_too: bool = False) -> dict:
    """Add a new AEAD key (and, with hmac_too, a new HMAC key) and make it current. Returns the
    new current key ids."""
    with open(path.parent / ".keys.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text())
        _parse(data, path)  # refuse to rotate a broken file
        for kind, prefix, wanted in (("aead", "k", True), ("hmac", "h", hmac_too)):
            if not wanted:
                continue
            number = 1 + max(int(k[1:]) for k in data[kind] if k[1:].isdigit())
            kid = f"{prefix}{number}"
            data[kind][kid] = _new_key()
            data[f"{kind}_current"] = kid
        _write(path, data)
    return {"aead_current": data["aead_current"], "hmac_current": data["hmac_current"]}
