"""Peer platforms (上级/下级平台) and what each is entitled to, from a TOML file like
creditstream/exchange/data/peers.toml. Pure: parsing and the entitlement rule."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from producers.layouts import CATEGORIES

BUNDLED = Path(__file__).resolve().parent / "data" / "peers.toml"
FORMATS = ("csv", "json")
DELIVERIES = ("directory", "http")
PERSON_IDS = ("masked", "clear")


class PeerConfigError(ValueError):
    """The peers file is wrong: the message names the file, the peer and the key."""


@dataclass(frozen=True)
class Peer:
    code: str                       # the peer's platform code; the unit its batches are loaded under here
    name: str
    level: str                      # upper | lower
    categories: tuple[str, ...]
    indicator_sets: tuple[str, ...] = ()   # empty: every indicator set of the categories
    format: str = "csv"
    delivery: str = "directory"
    directory: Path | None = None   # delivery = directory: the peer's inbox
    url: str | None = None          # delivery = http: POST one batch per request
    token_env: str | None = None    # the environment variable holding the peer's bearer token
    person_ids: str = "masked"      # clear: the peer is entitled to persons' ID numbers (opened from the sealed copy)
    batch_max_records: int = 50_000
    retry_seconds: tuple[float, ...] = (10.0, 60.0, 300.0, 1800.0)  # back-off between attempts; the last repeats

    def entitled(self, record: dict) -> bool:
        """A record goes to this peer when it is of a category (and indicator set) the peer is
        entitled to, is the first report of its natural record (a duplicate is the same record
        again), and did not come from this peer in the first place."""
        return (record.get("category") in self.categories
                and (not self.indicator_sets or record.get("catalog") in self.indicator_sets)
                and not record.get("duplicate_of")
                and record.get("source_unit") != self.code)


@dataclass(frozen=True)
class ExchangeConfig:
    platform: str                   # this platform's code, as peers know it
    settle_seconds: float           # a period ends this long before now: rows still being inserted land in the next
    peers: dict[str, Peer]


def load_peers(path: Path | str | None = None, base_dir: Path | None = None) -> ExchangeConfig:
    """Read the peers file; relative directories are under `base_dir` (the data directory)."""
    path = Path(path) if path else BUNDLED
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PeerConfigError(f"{path}: no such peers file") from None
    except tomllib.TOMLDecodeError as exc:
        raise PeerConfigError(f"{path}: not valid TOML: {exc}") from None
    platform = (doc.get("platform") or {})
    if not platform.get("code"):
        raise PeerConfigError(f"{path}: [platform] code is required (this platform's code as peers know it)")
    peers: dict[str, Peer] = {}
    for n, raw in enumerate(doc.get("peers") or [], 1):
        where = f"{path}: peer #{n} ({raw.get('code', '?')})"

        def bad(key: str, why: str) -> PeerConfigError:
            return PeerConfigError(f"{where}: {key} {why}")

        if not raw.get("code"):
            raise bad("code", "is required")
        categories = tuple(raw.get("categories") or ())
        if not categories or any(c not in CATEGORIES for c in categories):
            raise bad("categories", f"must be a non-empty list among {', '.join(CATEGORIES)}")
        for key, allowed in (("format", FORMATS), ("delivery", DELIVERIES), ("person_ids", PERSON_IDS)):
            if key in raw and raw[key] not in allowed:
                raise bad(key, f"must be one of {', '.join(allowed)}, not {raw[key]!r}")
        delivery = raw.get("delivery", "directory")
        directory = None
        if delivery == "directory":
            if not raw.get("directory"):
                raise bad("directory", "is required for delivery = directory")
            directory = Path(raw["directory"])
            if not directory.is_absolute() and base_dir is not None:
                directory = base_dir / directory
        if delivery == "http" and not str(raw.get("url", "")).startswith(("http://", "https://")):
            raise bad("url", "must be an http(s) address for delivery = http")
        retry = tuple(float(s) for s in raw.get("retry_seconds", Peer.retry_seconds))
        if not retry or any(s < 0 for s in retry):
            raise bad("retry_seconds", "must be a non-empty list of seconds >= 0")
        max_records = int(raw.get("batch_max_records", Peer.batch_max_records))
        if max_records < 1:
            raise bad("batch_max_records", "must be at least 1")
        peer = Peer(code=raw["code"], name=raw.get("name", raw["code"]), level=raw.get("level", "upper"),
                    categories=categories, indicator_sets=tuple(raw.get("indicator_sets") or ()),
                    format=raw.get("format", "csv"), delivery=delivery, directory=directory, url=raw.get("url"),
                    token_env=raw.get("token_env"), person_ids=raw.get("person_ids", "masked"),
                    batch_max_records=max_records, retry_seconds=retry)
        if peer.code in peers:
            raise bad("code", "appears twice")
        peers[peer.code] = peer
    return ExchangeConfig(platform=platform["code"], settle_seconds=float(platform.get("settle_seconds", 60)),
                          peers=peers)
