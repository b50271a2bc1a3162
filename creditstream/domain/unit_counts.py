"""Per-unit counts in daily windows: what each unit reported, how much passed, why the rest was
rejected, how late, how much was repeated, and which prohibited fields it sent (names only).

Keys are (unit, day) with day the China date as days since epoch; values plain dicts so that
they serialise as they are."""
from __future__ import annotations


def empty_counts() -> dict:
    return {"records": 0, "rejected": 0, "late": 0, "duplicates": 0, "replays": 0,
            "rejected_by_reason": {}, "prohibited_dropped": {}}


def count_outcome(counts: dict, *, record: dict | None = None, rejection: dict | None = None,
                  prohibited: list[str] = (), replay: bool = False) -> None:
    """Add one inbound event's outcome to its unit's window (in place: the stream owns `counts`)."""
    if replay:
        counts["replays"] += 1
        return
    if record is not None:
        counts["records"] += 1
        counts["late"] += bool(record["late"])
        counts["duplicates"] += record["duplicate_of"] is not None
    elif rejection is not None:
        counts["rejected"] += 1
        by_reason = counts["rejected_by_reason"]
        for code in {r["code"] for r in rejection["reasons"]}:
            by_reason[code] = by_reason.get(code, 0) + 1
    dropped = counts["prohibited_dropped"]
    for name in prohibited:
        dropped[name] = dropped.get(name, 0) + 1
