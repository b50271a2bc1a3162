"""Reading a whole topic as its consumers see it, for reconciliation and tests."""
from __future__ import annotations

import os
import uuid

from confluent_kafka import Consumer, TopicPartition


def read_topic(bootstrap: str, topic: str) -> list[tuple[bytes, bytes]]:
    """Every committed message of a topic. The worker writes in transactions, so offsets also
    hold transaction markers: read until each partition's position reaches its end offset."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{os.getpid()}-{uuid.uuid4().hex[:6]}",
                         "enable.auto.commit": False, "isolation.level": "read_committed"})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    tps = [TopicPartition(topic, p, 0) for p in partitions]
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    consumer.assign(tps)
    out = []
    pending = {p for p, end in ends.items() if end > 0}
    while pending:
        msg = consumer.poll(5)
        if msg is not None and not msg.error():
            out.append((msg.key(), msg.value()))
        for tp in consumer.position([TopicPartition(topic, p) for p in list(pending)]):
            if tp.offset >= ends[tp.partition]:
                pending.discard(tp.partition)
        if msg is None and pending:
            raise TimeoutError(f"timed out reading {topic}")
    consumer.close()
    return out
