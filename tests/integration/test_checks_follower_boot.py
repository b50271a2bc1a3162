"""A check service started before its broker: the blacklist index waits for the broker and the
topic, says why it is not ready, and builds itself once they are there — no restart needed."""
from __future__ import annotations

import random
import time

import pytest
from confluent_kafka import Producer

from avro_schemas.codec import BLACKLIST_ENTRY, codec
from bench.bench_checks import _entry as entry
from checks.index import BlacklistIndex
from creditstream.embedded.kafka import EmbeddedKafka
from creditstream.topics import BLACKLIST, ensure_topics, topic_specs
from producers.demo_feed import make_uscc
from tests.conftest import stack_settings, wait_for

pytestmark = pytest.mark.integration


def test_an_index_started_before_the_broker_waits_and_builds_once_it_is_there(tmp_path):
    settings = stack_settings(tmp_path, topic_partitions=2)
    index = BlacklistIndex(settings.bootstrap_servers).start()
    broker = EmbeddedKafka(settings)
    try:
        wait_for(lambda: index.follower.waiting, 30, what="the index saying what it waits for")
        assert "broker not reachable" in index.follower.waiting
        assert not index.ready and index.follower.failure is None
        broker.start(log=lambda *_: None)
        wait_for(lambda: "topic" in (index.follower.waiting or ""), 60, what="the index waiting for the topic")
        ensure_topics(settings.bootstrap_servers, topic_specs(2))
        key = make_uscc(random.Random(3))
        producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
        producer.produce(BLACKLIST, key=key.encode(), value=codec(BLACKLIST_ENTRY).encode(entry(key, int(time.time() * 1000))))
        assert producer.flush(30) == 0
        wait_for(lambda: index.ready and index.get(key), 60, what="the index built with the entry")
        assert index.follower.waiting is None and index.follower.failure is None
    finally:
        index.stop()
        broker.stop()
