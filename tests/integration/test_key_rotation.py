"""A key rotation re-seals the stored ID numbers in ClickHouse (real chdb) and leaves every value
readable and every subject findable; a value no key opens stops the work loudly."""
from __future__ import annotations


import pytest

from creditstream.domain.pseudonym import KeyFailure
from creditstream.keys import KeyRing, ensure_key_file, rotate
from creditstream.settings import Settings
from sinks.reseal import Resealer, pending, reseal_pass
from tests.conftest import wait_for

pytestmark = pytest.mark.integration
NUMBERS = [f"1101051949123100{i:02d}" for i in range(12)]




def store(client, db, keys, numbers, offset=0):
    rows = [(f"e-{offset + i}", keys.pseudonym(n), keys.seal(n), keys.seal(n), "credit.records", 0, offset + i)
            for i, n in enumerate(numbers)]
    client.insert(f"{db}.records", rows, column_names=["event_id", "subject_key", "subject_sealed",
                                                      "legal_representative_id_sealed", "kafka_topic",
                                                      "kafka_partition", "kafka_offset"])
    client.insert(f"{db}.blacklist_history", [(f"c-{offset + i}", keys.pseudonym(n), keys.seal(n), "credit.blacklist",
                                              0, offset + i) for i, n in enumerate(numbers)],
                  column_names=["change_id", "subject_key", "subject_sealed", "kafka_topic", "kafka_partition",
                                "kafka_offset"])


def test_rotation_reseals_history_in_the_background_and_everything_stays_readable(client, db, tmp_path):
    ring = KeyRing(ensure_key_file(Settings(data_dir=tmp_path)))
    store(client, db, ring.current(), NUMBERS[:8])
    assert set(pending(client, db, "k1").values()) == {0}
    rotate(ring.path)
    keys = ring.current()
    store(client, db, keys, NUMBERS[8:], offset=8)  # written after the rotation: already under k2
    assert pending(client, db, "k2") == {"records.subject_sealed": 8, "records.legal_representative_id_sealed": 8,
                                         "blacklist_history.subject_sealed": 8}
    resealer = Resealer(client, db, ring.current, interval=0.2)
    resealer.start()
    try:
        wait_for(lambda: set(pending(client, db, "k2").values()) == {0}, timeout=60, what="re-sealing")
    finally:
        resealer.stop()
    rows = client.query(f"SELECT subject_key, subject_sealed, legal_representative_id_sealed FROM {db}.records "
                        "ORDER BY kafka_offset").result_rows
    assert [keys.open(s) for _, s, _ in rows] == NUMBERS
    assert [keys.open(s) for _, _, s in rows] == NUMBERS
    assert all(s.startswith("k2:") for _, s, _ in rows)
    assert [k for k, _, _ in rows] == [keys.pseudonym(n) for n in NUMBERS]  # lookups unchanged


def test_a_sealed_value_no_key_opens_stops_the_pass_loudly(client, db, tmp_path):
    ring = KeyRing(ensure_key_file(Settings(data_dir=tmp_path)))
    store(client, db, ring.current(), NUMBERS[:2])
    client.insert(f"{db}.records", [("e-x", "pid:h1:x", "k1:" + "A" * 60, "credit.records", 0, 99)],
                  column_names=["event_id", "subject_key", "subject_sealed", "kafka_topic", "kafka_partition",
                                "kafka_offset"])
    rotate(ring.path)
    with pytest.raises(KeyFailure):
        reseal_pass(client, db, ring.current())
