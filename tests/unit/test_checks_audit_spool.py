"""The check audit's spool and its sender's step, without Kafka: what is appended comes back once,
in order, across segments and restarts; a torn write is passed over; a batch the broker did not
acknowledge is sent again from the same position."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from checks.audit_sender import AuditShipper, BatchNotAcknowledged
from checks.audit_spool import SpoolInUse, SpoolReader, SpoolWriter, backlog_bytes


def record(n: int) -> dict:
    return {"check_id": f"c{n}", "listed": n % 7 == 0, "hits": [], "index": {"version": "v", "as_of": None}}


def read_all(reader: SpoolReader) -> list[dict]:
    out = []
    while True:
        records, position = reader.read(max_bytes=256)
        if position is None:
            return out
        reader.commit(position)
        out += records


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(st.integers(min_value=1, max_value=30), max_size=25),
       segment_bytes=st.integers(min_value=64, max_value=4096))
def test_every_record_comes_back_once_in_order_across_segments(tmp_path_factory, batches, segment_bytes):
    directory = tmp_path_factory.mktemp("spool")
    writer, n = SpoolWriter(directory, segment_bytes=segment_bytes), 0
    expected = []
    for size in batches:
        records = [record(n + i) for i in range(size)]
        n += size
        writer.append(records)
        expected += records
    assert read_all(SpoolReader(directory)) == expected
    assert backlog_bytes(directory) == 0
    # Segments before the sent position are dropped: left are at most the position's and the newest.
    assert len(list(directory.glob("*.spool"))) <= 2


def test_a_new_reader_resumes_at_the_committed_position(tmp_path):
    writer = SpoolWriter(tmp_path)
    writer.append([record(1), record(2)])
    first = SpoolReader(tmp_path)
    records, position = first.read()
    first.commit(position)
    writer.append([record(3)])
    assert read_all(SpoolReader(tmp_path)) == [record(3)]


def test_a_restarted_service_writes_a_new_segment_and_a_torn_frame_before_it_is_skipped(tmp_path):
    writer = SpoolWriter(tmp_path)
    writer.append([record(1)])
    (segment,) = tmp_path.glob("*.spool")
    with open(segment, "ab") as handle:  # a service killed inside write(): half a frame
        handle.write(b"\x40\x00\x00\x00\x01\x02")
    reader = SpoolReader(tmp_path)
    assert read_all(reader) == [record(1)]  # the newest segment: the torn tail may still be written
    assert reader.skipped_bytes == 0
    writer.close()
    again = SpoolWriter(tmp_path)  # the next start
    again.append([record(2)])
    assert read_all(reader) == [record(2)]
    assert reader.skipped_bytes == 6


def test_a_second_service_cannot_write_the_same_spool(tmp_path):
    held = SpoolWriter(tmp_path)  # noqa: F841 (the lock is held while it lives)
    with pytest.raises(SpoolInUse, match="writer.lock"):
        SpoolWriter(tmp_path)


def test_a_frame_larger_than_one_read_is_read_whole(tmp_path):
    big = [record(n) for n in range(500)]
    SpoolWriter(tmp_path).append(big)
    records, position = SpoolReader(tmp_path).read(max_bytes=64)
    assert records == big and position is not None


class Broker:
    """Acknowledges or refuses whole batches, as librdkafka's flush reports them."""

    def __init__(self, refuse: int):
        self.refuse, self.sent, self._batch = refuse, [], []

    def send(self, value, key=None, on_delivery=None):
        self._batch.append((key, value, on_delivery))

    def flush(self, timeout):
        batch, self._batch = self._batch, []
        for key, value, on_delivery in batch:
            if self.refuse:
                on_delivery("timed out")
            else:
                self.sent.append(value)
        self.refuse = max(0, self.refuse - 1)
        return 0


def test_a_batch_not_acknowledged_is_sent_again_and_the_position_waits(tmp_path):
    writer = SpoolWriter(tmp_path)
    writer.append([record(1), record(2)])
    broker = Broker(refuse=1)
    shipper = AuditShipper(SpoolReader(tmp_path), broker)
    with pytest.raises(BatchNotAcknowledged):
        shipper.step()
    assert backlog_bytes(tmp_path) > 0
    assert shipper.step() == 2 and broker.sent == [record(1), record(2)]
    assert backlog_bytes(tmp_path) == 0 and shipper.step() == 0
