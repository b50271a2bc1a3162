"""The stream worker: credit.inbound -> credit.records | credit.rejected (+ credit.blacklist).

Reads as faust examples do: app, topics, agents. The rules live in creditstream.domain and the
batch step in stream_apps.processing; the agent only moves bytes.
"""
from __future__ import annotations

import faust

from creditstream.settings import get_settings
from creditstream.topics import BLACKLIST, INBOUND, RECORDS, REJECTED
from stream_apps.processing import InboundMessage, process_batch

settings = get_settings()

app = faust.App(
    settings.worker_app_id,
    broker=f"kafka://{settings.bootstrap_servers}",
    store="memory://",
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=settings.topic_replication,
    producer_acks=-1,
    consumer_auto_offset_reset="earliest",
    broker_max_poll_records=5000,
    stream_buffer_maxsize=65536,
    web_enabled=False,
    datadir=str(settings.data_dir.resolve() / "worker"),
)

inbound_topic = app.topic(INBOUND, key_serializer="raw", value_serializer="raw", internal=False)
records_topic = app.topic(RECORDS, key_serializer="raw", value_serializer="raw")
rejected_topic = app.topic(REJECTED, key_serializer="raw", value_serializer="raw")
blacklist_topic = app.topic(BLACKLIST, key_serializer="raw", value_serializer="raw")

_OUT = {RECORDS: records_topic, REJECTED: rejected_topic, BLACKLIST: blacklist_topic}


@app.agent(inbound_topic)
async def validate_reports(stream):
    # take_events acks the batch when the loop body returns, and faust flushes the producer
    # before it commits offsets: outputs are at least once; the sink drops repeats by event id.
    async for events in stream.take_events(settings.worker_batch_size, within=0.05):
        batch = [InboundMessage(e.message.topic, e.message.partition, e.message.offset, e.message.value)
                 for e in events]
        for out in process_batch(batch):
            await _OUT[out.topic].send(key=out.key, value=out.value)


def main() -> None:
    app.main()


if __name__ == "__main__":
    main()
