"""Changelog tables: the batch overlay, commit and abort, restore from changelog messages."""
from __future__ import annotations

from hypothesis import given, strategies as st

from creditstream.domain.dedup import Sighting
from stream_apps.tables import ChangelogTable, StreamTables, sighting_bytes, sighting_of


def table():
    return StreamTables().subject_to_list_state


def test_writes_are_visible_in_the_batch_and_kept_only_on_commit():
    t = table()
    t.put(0, "k", {"v": 1})
    assert t.get(0, "k") == {"v": 1}
    t.abort()
    assert t.get(0, "k") is None
    t.put(0, "k", {"v": 1})
    t.commit()
    assert t.get(0, "k") == {"v": 1} and t.get(1, "k") is None


def test_values_changed_in_place_do_not_leak_into_an_aborted_batch():
    t = StreamTables().unit_day_to_counts
    t.put(0, "u", {"records": 1})
    t.commit()
    t.for_update(0, "u", dict)["records"] += 1
    t.abort()
    assert t.get(0, "u") == {"records": 1}


def test_deletes_are_tombstones():
    t = table()
    t.put(0, "k", {"v": 1})
    t.commit()
    t.put(0, "k", None)
    assert list(t.changes()) == [(0, b"k", None)]
    t.commit()
    assert t.get(0, "k") is None and len(t) == 0


ops = st.lists(st.tuples(st.integers(0, 2), st.sampled_from("abc"), st.one_of(st.none(), st.integers(0, 9))))


@given(st.lists(ops, max_size=5))
def test_restoring_from_the_changelog_rebuilds_the_committed_state(batches):
    live = table()
    changelog = []
    for batch in batches:
        for partition, key, value in batch:
            live.put(partition, key, None if value is None else {"v": value})
        changelog += list(live.changes())
        live.commit()
    restored = table()
    for partition, key, value in changelog:
        restored.load(partition, key, value)
    assert {p: d for p, d in restored.data.items() if d} == {p: d for p, d in live.data.items() if d}


def test_sightings_round_trip_through_their_changelog_bytes():
    t = StreamTables().natural_key_to_sighting
    t.put(2, "nk", sighting_bytes(Sighting("e:1", 2, 99, 20000)))  # held as its changelog bytes
    ((partition, key, value),) = list(t.changes())
    fresh = StreamTables().natural_key_to_sighting
    fresh.load(partition, key, value)
    assert sighting_of(fresh.get(2, "nk")) == Sighting("e:1", 2, 99, 20000)


def test_drop_forgets_revoked_partitions():
    t = ChangelogTable("t", "topic", str.encode, bytes.decode)
    t.put(0, "a", "x")
    t.put(1, "b", "y")
    t.commit()
    t.drop([0])
    assert t.get(0, "a") is None and t.get(1, "b") == "y"
