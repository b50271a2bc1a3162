"""Changelog tables: the batch overlay, commit and abort, restore from changelog messages."""
from __future__ import annotations

from hypothesis import given, strategies as st

from creditstream.domain.dedup import Sighting
from stream_apps.tables import (ChangelogTable, StreamTables, natural_key_bytes, pack_sighting, sighting_of,
                                unpack_sighting)


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
    key = natural_key_bytes("0123456789abcdef01234567")
    event_id = "5f" * 16  # the adapters' ids: a 16-byte digest in hex
    t = StreamTables().natural_key_to_sighting
    t.put(2, key, pack_sighting(Sighting(event_id, 2, 99, 20000)))
    ((partition, changelog_key, value),) = list(t.changes())
    # The changelog stays readable text, whatever memory holds.
    assert changelog_key == b"0123456789abcdef01234567"
    assert sighting_of(value) == Sighting(event_id, 2, 99, 20000)
    fresh = StreamTables().natural_key_to_sighting
    fresh.load(partition, changelog_key, value)
    assert unpack_sighting(fresh.get(2, key)) == Sighting(event_id, 2, 99, 20000)


@given(st.text(min_size=1, max_size=40), st.integers(0, 65535), st.integers(0, 2**62), st.integers(0, 2**31))
def test_a_packed_sighting_reads_back_as_it_was(event_id, partition, offset, day):
    assert unpack_sighting(pack_sighting(Sighting(event_id, partition, offset, day))) == (
        Sighting(event_id, partition, offset, day))


@given(st.text(min_size=1, max_size=30) | st.text("0123456789abcdefABCDEF ", min_size=1, max_size=30))
def test_any_natural_key_comes_back_from_memory_as_the_changelog_key_it_was(text):
    t = StreamTables().natural_key_to_sighting
    t.load(0, text.encode(), b"e1:0:5:20000")
    ((key, packed),) = t.data[0].items()
    assert t.key_bytes(key) == text.encode()
    assert unpack_sighting(packed) == Sighting("e1", 0, 5, 20000)
    assert t.get(0, natural_key_bytes(text)) == packed


def test_drop_forgets_revoked_partitions():
    t = ChangelogTable("t", "topic", str.encode, bytes.decode)
    t.put(0, "a", "x")
    t.put(1, "b", "y")
    t.commit()
    t.drop([0])
    assert t.get(0, "a") is None and t.get(1, "b") == "y"
