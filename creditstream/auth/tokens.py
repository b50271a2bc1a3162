"""Unit tokens: who may report (or check, or object) for which source unit.

The opposite of the seeds' shared default password: there are no default credentials. Each token
belongs to one unit and carries scopes; only its SHA-256 is kept at rest (the tokens are 256-bit
random, so a plain hash is enough — no password stretching is needed), in a JSON file under
``<data_dir>/secrets`` readable by the owner only. The plaintext is shown once, when created.

A token reads ``cst_<id>_<secret>``: the id is public (it names the token in lists, logs and
``reported_by``), the secret is not. Several processes may share the file: writes take a lock and
replace the file atomically; readers reload it when it changes, so a revocation takes effect in a
running server at its next request.
"""
from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

# read_personal: may see a natural person's clear ID number (each read is audited).
# read_detail: may read the non-public detail of a published record (each query is recorded).
SCOPES = ("report", "check", "object", "admin", "read_personal", "read_detail")
PLATFORM_UNIT = "PLATFORM"  # the unit of the administrators' tokens
_PREFIX = "cst"


class TokenError(ValueError):
    pass


@dataclass(frozen=True)
class TokenInfo:
    id: str
    unit: str
    scopes: tuple[str, ...]
    label: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return self.active and scope in self.scopes


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class TokenStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._cache: tuple[tuple[int, int], dict] | None = None
        # token id -> (sha256, its info or None when revoked), of the document in _cache
        self._by_id: tuple[dict, dict[str, tuple[str, TokenInfo | None]]] | None = None

    @classmethod
    def for_settings(cls, settings) -> "TokenStore":
        return cls(Path(settings.secrets_dir) / "tokens.json")

    # -------------------------------------------------------------------------------- file access
    def _read(self) -> dict:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {"version": 1, "tokens": []}
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._cache is None or self._cache[0] != stamp:
            self._cache = (stamp, json.loads(self.path.read_text(encoding="utf-8")))
        return self._cache[1]

    def _update(self, change) -> object:
        """Run ``change(document)`` under the lock and write the result atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        lock_path = self.path.with_suffix(".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._cache = None
            document = self._read()
            result = change(document)
            temporary = self.path.with_suffix(f".tmp-{os.getpid()}")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(document, f, ensure_ascii=False, indent=1)
            os.replace(temporary, self.path)
            self._cache = None
        return result

    @staticmethod
    def _info(entry: dict) -> TokenInfo:
        return TokenInfo(entry["id"], entry["unit"], tuple(entry["scopes"]), entry.get("label", ""),
                         entry["created_at"], entry.get("revoked_at"))

    # ---------------------------------------------------------------------------------------- API
    @staticmethod
    def _new_entry(unit: str, scopes, label: str) -> tuple[dict, str]:
        unit = (unit or "").strip()
        scopes = tuple(dict.fromkeys(scopes))
        if not unit:
            raise TokenError("a token belongs to a unit: give its code")
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise TokenError(f"scopes must be among {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
        token_id = secrets.token_hex(4)
        plaintext = f"{_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
        entry = {"id": token_id, "unit": unit, "scopes": list(scopes), "label": label, "created_at": _now(),
                 "revoked_at": None, "sha256": _digest(plaintext)}
        return entry, plaintext

    @staticmethod
    def _add(document: dict, entry: dict) -> None:
        if any(t["id"] == entry["id"] for t in document["tokens"]):  # 1 in 4 billion; the caller retries
            raise TokenError("token id collision, try again")
        document["tokens"].append(entry)

    def create(self, unit: str, scopes, label: str = "") -> tuple[TokenInfo, str]:
        """A new token for ``unit`` with ``scopes``; returns its info and the plaintext, which is
        not stored and cannot be shown again."""
        entry, plaintext = self._new_entry(unit, scopes, label)
        self._update(lambda document: self._add(document, entry))
        return self._info(entry), plaintext

    def revoke(self, token_id: str) -> TokenInfo:
        def mark(document: dict) -> TokenInfo:
            for entry in document["tokens"]:
                if entry["id"] == token_id:
                    entry["revoked_at"] = entry.get("revoked_at") or _now()
                    return self._info(entry)
            raise TokenError(f"no token with id {token_id!r}")

        return self._update(mark)

    def list(self, include_revoked: bool = False) -> list[TokenInfo]:
        infos = [self._info(e) for e in self._read()["tokens"]]
        return [i for i in infos if include_revoked or i.active]

    def authenticate(self, presented: str | None) -> TokenInfo | None:
        """The active token ``presented`` is, or None. Constant-time comparison of the hashes."""
        if not presented:
            return None
        parts = presented.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != _PREFIX:
            return None
        digest = _digest(presented.strip())
        found = self._index().get(parts[1])
        if found is not None and hmac.compare_digest(found[0], digest):
            return found[1]
        return None

    def _index(self) -> dict[str, tuple[str, TokenInfo | None]]:
        """The file's tokens by id (the first of an id counts), made once per version of the file:
        a request no longer walks every token nor builds its info (the file is still checked for
        changes on each call, so a revocation takes effect at the next request)."""
        document = self._read()
        if self._by_id is None or self._by_id[0] is not document:
            index: dict[str, tuple[str, TokenInfo | None]] = {}
            for entry in document["tokens"]:
                index.setdefault(entry["id"], (entry["sha256"], None if entry.get("revoked_at") else self._info(entry)))
            self._by_id = (document, index)
        return self._by_id[1]

    def bootstrap_admin(self) -> str | None:
        """On first start: an admin token when there is no active one, returned once to be shown;
        None when one exists (its plaintext is nowhere to be had again). Checked and created under
        the lock, so two processes starting together make one."""
        entry, plaintext = self._new_entry(PLATFORM_UNIT, ["admin"], "first-start administrator")

        def add_if_none(document: dict) -> bool:
            if any("admin" in t["scopes"] and not t.get("revoked_at") for t in document["tokens"]):
                return False
            self._add(document, entry)
            return True

        return plaintext if self._update(add_if_none) else None


def token_summary(info: TokenInfo) -> dict:
    """What may be shown of a token: everything but its hash."""
    return asdict(info)
