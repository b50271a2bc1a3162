"""The hash chain of the check audit (provable audit): each stored check record holds the hash of
the one before it in its credit.checks partition, so a record changed, removed or slipped in
afterwards breaks a link that anyone holding the rows can recompute.

Why per partition and computed by the sink: a partition is the one sequence whose order is fixed
for good (Kafka offsets) and that exactly one writer stores, in offset order. The check service
only queues a record and answers (the audit stays off the answer's fast path, and several service
instances need no shared counter); the sink chains as it stores, after the broker has the record,
so no record is lost to the chain and a replayed batch gets the same hashes (the same previous
hash, the same bytes). A chain per day written by the check service would need one writer per
day across every instance and would hold answers until it was written.

    hash = sha256(prev_hash || canonical bytes of the row)

The canonical bytes are a compact JSON array of the row's stored values (times as UTC
milliseconds, dates as ISO days) followed by its partition and offset, so a row moved to another
place breaks the chain too. The first row of a partition links to "" (GENESIS). Pure functions.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterable

GENESIS = ""


def plain(value):
    """A stored value as the chain reads it, whichever client returned it."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return round(value.timestamp() * 1000)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def canonical(values: Iterable, partition: int, offset: int) -> bytes:
    return json.dumps([plain(v) for v in values] + [partition, offset], ensure_ascii=False,
                      separators=(",", ":")).encode()


def link(prev_hash: str, values: Iterable, partition: int, offset: int) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(values, partition, offset)).hexdigest()


def chain(prev_hash: str, rows: list[tuple[list, int, int]]) -> list[tuple[str, str]]:
    """(prev_hash, hash) of each (values, partition, offset) row in offset order."""
    out = []
    for values, partition, offset in rows:
        digest = link(prev_hash, values, partition, offset)
        out.append((prev_hash, digest))
        prev_hash = digest
    return out


@dataclass(frozen=True)
class BrokenLink:
    partition: int
    offset: int
    check_id: str
    problem: str

    def __str__(self) -> str:
        return f"partition {self.partition}, offset {self.offset} (check {self.check_id}): {self.problem}"


@dataclass
class ChainWalk:
    """Verifies one partition's rows in offset order, page after page."""
    partition: int
    previous: str | None          # hash of the row before the first one walked (None: not known)
    rows: int = 0
    unchained: int = 0            # rows stored before the chain existed (no hash)
    broken: BrokenLink | None = None

    def feed(self, rows: Iterable[tuple[list, int, str, str]]) -> BrokenLink | None:
        """Each (values, offset, prev_hash, hash); values as the chain reads them (check_id first).
        Stops at the first broken link and keeps it."""
        for values, offset, prev_hash, digest in rows:
            if self.broken is not None:
                break
            if not digest:
                self.unchained += 1
                continue
            self.rows += 1
            if self.previous is not None and prev_hash != self.previous:
                self.broken = BrokenLink(self.partition, offset, values[0],
                                         "its previous hash is not the hash of the row before it "
                                         "(a row before it was removed, inserted or changed)")
            elif link(prev_hash, values, self.partition, offset) != digest:
                self.broken = BrokenLink(self.partition, offset, values[0],
                                         "its content does not give its hash (the row was changed)")
            self.previous = digest
        return self.broken


def verify(spans: list[dict], page) -> dict:
    """Walk every span (partition, first and last offset, anchor hash) page by page: ``page(
    partition, first, last)`` returns rows (values..., offset, prev_hash, hash) from ``first`` on.
    The report: rows verified, rows without a hash, and the first broken link (None: intact)."""
    report = {"partitions": [], "rows": 0, "unchained": 0, "broken": None}
    for span in spans:
        walk = ChainWalk(span["partition"], GENESIS if span.get("at_beginning") else span.get("anchor"))
        first = span["first_offset"]
        while first <= span["last_offset"] and walk.broken is None:
            got = page(span["partition"], first, span["last_offset"])
            if not got:
                break
            walk.feed((row[:-3], row[-3], row[-2], row[-1]) for row in got)
            first = got[-1][-3] + 1
        report["partitions"].append({"partition": walk.partition, "rows": walk.rows, "unchained": walk.unchained,
                                     "broken": str(walk.broken) if walk.broken else None})
        report["rows"] += walk.rows
        report["unchained"] += walk.unchained
        if walk.broken is not None and report["broken"] is None:
            report["broken"] = str(walk.broken)
    return report
