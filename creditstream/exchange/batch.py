"""A batch: one file of one layout for one peer and period, and its manifest (count, SHA-256 of
the file, period). Pure: bytes in, bytes out; nothing here writes or sends."""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from creditstream.exchange.national import Rendered

MANIFEST_SUFFIX = ".manifest.json"
ACK_SUFFIX = ".ack.json"


@dataclass(frozen=True)
class Manifest:
    batch_id: str
    sender: str                  # this platform's code
    peer: str
    layout: str                  # the mapping (producers/mappings/<layout>.yaml) the file is in
    format: str                  # csv | json
    file: str
    count: int
    sha256: str
    period_start: str            # ISO instants, UTC: records stored in [start, end)
    period_end: str
    created_at: str
    not_representable: dict = field(default_factory=dict)  # field -> records whose value the layout has no place for

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | str) -> "Manifest":
        return cls(**json.loads(data))


def batch_id(sender: str, peer: str, period_start: datetime, layout: str, part: int) -> str:
    """Deterministic: the same period built again is the same batch, so a receipt is never doubled."""
    return f"{sender}_{peer}_{period_start.astimezone(timezone.utc):%Y%m%dT%H%M%S%fZ}_{layout}_{part:03d}"


def encode(rendered: Rendered, fmt: str) -> bytes:
    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(rendered.header)
        writer.writerows(rendered.rows)
        return out.getvalue().encode("utf-8-sig")  # the BOM: Excel opens it as UTF-8
    if fmt == "json":
        records = [dict(zip(rendered.header, row)) for row in rendered.rows]
        return json.dumps(records, ensure_ascii=False, indent=0).encode("utf-8")
    raise ValueError(f"unknown batch format {fmt!r}")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(rendered: Rendered, fmt: str, *, sender: str, peer: str, period_start: datetime, period_end: datetime,
          part: int = 1, now: datetime | None = None) -> tuple[Manifest, bytes]:
    data = encode(rendered, fmt)
    bid = batch_id(sender, peer, period_start, rendered.layout, part)
    manifest = Manifest(batch_id=bid, sender=sender, peer=peer, layout=rendered.layout, format=fmt,
                        file=f"{bid}.{fmt}", count=len(rendered.rows), sha256=sha256(data),
                        period_start=_iso(period_start), period_end=_iso(period_end),
                        created_at=_iso(now or datetime.now(timezone.utc)),
                        not_representable=dict(sorted(rendered.not_representable.items())))
    return manifest, data


def verify(manifest: Manifest, data: bytes) -> list[str]:
    """What a receiver checks before loading a batch: the file is the one the manifest describes."""
    problems = []
    if sha256(data) != manifest.sha256:
        problems.append(f"{manifest.file}: SHA-256 {sha256(data)} differs from the manifest's {manifest.sha256}")
    return problems


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
