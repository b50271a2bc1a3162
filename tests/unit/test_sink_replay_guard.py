"""The replay guard: the same event id at a later offset is dropped, within a window of offsets."""
from __future__ import annotations

from sinks.replay_guard import RecentEventIds, first_seen


def test_first_of_each_id_is_kept_in_a_batch():
    fresh, dropped = first_seen([("a", 1), ("b", 2), ("a", 3)], None)
    assert fresh == [("a", 1), ("b", 2)] and dropped == 1


def test_ids_stored_before_are_dropped():
    seen = RecentEventIds(window=100)
    seen.add(5, "a")
    seen.advance_to(6)
    fresh, dropped = first_seen([("a", 1), ("c", 2)], seen)
    assert fresh == [("c", 2)] and dropped == 1


def test_a_batch_does_not_count_its_own_ids_when_retried():
    seen = RecentEventIds(window=100)
    seen.add_many(["a", "b"], [10, 11])
    seen.advance_to(10)  # the batch [10, 11] again
    assert "a" not in seen and "b" not in seen
    seen.advance_to(12)
    assert "a" in seen and "b" in seen


def test_window_is_counted_in_offsets_from_the_batch_start():
    seen = RecentEventIds(window=10)
    for offset, eid in [(0, "a"), (5, "b"), (12, "c")]:
        seen.add(offset, eid)
    seen.advance_to(15)  # keeps offsets >= 5
    assert "a" not in seen and "b" in seen and "c" in seen
    assert len(seen) == 2


def test_an_id_stored_again_after_its_window_counts_from_then():
    seen = RecentEventIds(window=10)
    seen.add(0, "a")
    seen.advance_to(20)
    assert "a" not in seen
    seen.add(25, "a")
    seen.advance_to(30)
    assert "a" in seen


def test_memory_is_given_back_while_answers_stay_exact():
    seen = RecentEventIds(window=100)
    seen.add_many([f"e{i}" for i in range(5000)], list(range(5000)))
    seen.advance_to(5000)
    assert len(seen.stored_at) <= 100 and len(seen) == 100
    assert "e4899" not in seen and "e4900" in seen
