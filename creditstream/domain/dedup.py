"""De-duplication, as pure decisions over what the stream remembers.

Two kinds of repeat:
- a replay: the same event id again (a unit re-sending a file, an adapter retrying). It was
  handled the first time; it is dropped and counted.
- a duplicate: the same natural record (`assessment.natural_key`) under another event id —
  another unit or another platform reporting the same decision. It is kept, once, flagged
  `duplicate_of` the first event id, so totals can be counted de-duplicated across platforms.

Both memories are bounded: entries older than the retention are forgotten (days since epoch).
"""
from __future__ import annotations

from typing import NamedTuple


class Sighting(NamedTuple):
    """Where and when an event id (or a natural record) was first handled."""
    event_id: str
    partition: int
    offset: int
    day: int


def is_replay(first: Sighting | None, event_id: str, partition: int, offset: int) -> bool:
    """A replay is this event id seen before at another position of the inbound log. The same
    position read again is a redelivery (a worker that stopped before committing), and is
    handled again, or its outputs could be lost."""
    return (first is not None and first.event_id == event_id
            and (first.partition, first.offset) != (partition, offset))


def duplicate_of(first: Sighting | None, event_id: str) -> str | None:
    """The event id this record duplicates, if another event reported the same natural record."""
    if first is None or first.event_id == event_id:
        return None
    return first.event_id


def expired(sighting: Sighting, today: int, retention_days: int) -> bool:
    return sighting.day < today - retention_days
