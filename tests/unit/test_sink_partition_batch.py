"""How batches are cut: by size, by age, and exactly at the ranges an earlier run logged."""
from __future__ import annotations

from sinks.partition_batch import PartitionBatcher
from sinks.tables import Consumed


def msg(offset: int) -> Consumed:
    return Consumed(offset, b"k", b"v" * 10, 0)


def ranges(batches) -> list[tuple[int, int]]:
    return [b.offset_range for b in batches]


def feed(batcher: PartitionBatcher, offsets) -> None:
    for o in offsets:
        batcher.add(msg(o))


def test_cut_by_size():
    b = PartitionBatcher("t", 0, max_rows=3, max_seconds=60)
    feed(b, range(10, 17))
    assert ranges(b.take_closed()) == [(10, 12), (13, 15)]
    assert b.pending_rows() == 1


def test_cut_by_age_only_when_old_enough():
    b = PartitionBatcher("t", 0, max_rows=100, max_seconds=5)
    feed(b, [1, 2])
    started = b.current.started
    b.cut_due(now=started + 4.9)
    assert b.take_closed() == []
    b.cut_due(now=started + 5.0)
    assert ranges(b.take_closed()) == [(1, 2)]


def test_logged_range_is_replayed_exactly_whatever_the_size_and_age():
    b = PartitionBatcher("t", 0, max_rows=2, max_seconds=0.0, planned=[(100, 104)])
    feed(b, [100, 101, 102])
    b.cut_due(now=b.current.started + 1000)  # neither size nor age cuts a replay
    assert b.take_closed() == []
    feed(b, [103, 104, 105])
    closed = b.take_closed()
    assert ranges(closed) == [(100, 104)]
    assert closed[0].token("records") == "t:0:100-104:records"
    assert b.current.first_offset == 105 and b.current.planned is None


def test_free_batch_never_runs_into_a_logged_range():
    b = PartitionBatcher("t", 0, max_rows=100, max_seconds=60, planned=[(50, 59)])
    feed(b, range(40, 60))
    assert ranges(b.take_closed()) == [(40, 49), (50, 59)]


def test_replay_keeps_the_logged_range_when_messages_were_compacted_away():
    b = PartitionBatcher("t", 0, max_rows=100, max_seconds=60, planned=[(10, 19)])
    feed(b, [12, 15, 21])  # 10, 11, 13, 14, 16..19 gone
    closed = b.take_closed()
    assert [m.offset for m in closed[0].messages] == [12, 15]
    assert closed[0].token("x") == "t:0:10-19:x"


def test_replay_closes_at_the_end_of_the_partition():
    b = PartitionBatcher("t", 0, max_rows=100, max_seconds=60, planned=[(10, 19)])
    feed(b, [10, 11])
    b.cut_due(at_end=False)
    assert b.take_closed() == []
    b.cut_due(at_end=True)
    assert ranges(b.take_closed()) == [(10, 19)]


def test_ranges_already_passed_are_ignored():
    b = PartitionBatcher("t", 0, max_rows=3, max_seconds=60, planned=[(0, 9), (10, 19)])
    feed(b, [25, 26, 27])
    assert ranges(b.take_closed()) == [(25, 27)]


def test_close_open_drops_an_incomplete_replay_but_closes_a_free_batch():
    b = PartitionBatcher("t", 0, max_rows=100, max_seconds=60, planned=[(10, 19)])
    feed(b, [10, 11])
    b.close_open()
    assert b.take_closed() == []
    feed(b, [20, 21])
    b.close_open()
    assert ranges(b.take_closed()) == [(20, 21)]
