"""The log of batch ranges, written before each insert (see sinks/partition_batch.py for why)."""
from __future__ import annotations

from sinks.partition_batch import PartitionBatch

COLUMNS = ["kafka_topic", "kafka_partition", "first_offset", "last_offset"]


def log_ranges(client, database: str, batches: list[PartitionBatch]) -> None:
    """One small insert for every batch about to be stored. Logged twice (a retry) is harmless:
    the ranges are the same."""
    rows = [[b.topic, b.partition, *b.offset_range] for b in batches]
    if rows:
        client.insert(f"{database}.sink_batches", rows, column_names=COLUMNS)


def logged_ranges(client, database: str, topic: str, partition: int, from_offset: int) -> list[tuple[int, int]]:
    """Ranges logged for this partition that end at or after ``from_offset`` (the committed offset):
    batches that may have been stored without their commit, to be cut again exactly."""
    rows = client.query(
        f"SELECT DISTINCT first_offset, last_offset FROM {database}.sink_batches "
        "WHERE kafka_topic = {topic:String} AND kafka_partition = {partition:UInt16} "
        "AND last_offset >= {from_offset:UInt64} ORDER BY first_offset",
        parameters={"topic": topic, "partition": partition, "from_offset": max(from_offset, 0)}).result_rows
    return [(int(f), int(l)) for f, l in rows]
