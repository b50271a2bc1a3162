"""Two stream workers share credit.inbound's partitions on the embedded broker: both get work,
every event is stored exactly once, and when one dies its partitions move to the other with
nothing lost or doubled."""
from __future__ import annotations

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from creditstream.embedded.stack import EmbeddedStack, SinkClient
from producers.credit_producer import CreditProducer
from producers.demo_feed import DemoFeed
from sinks.clickhouse import connect
from tests.conftest import free_ports, stack_settings, wait_for

pytestmark = pytest.mark.integration
PER_ROUND = 3_000


def stored_total(settings) -> int:
    return sum(u["records"] + u["rejected"] for u in SinkClient(settings).get("/v1/counts")["units"])


def assignments(settings) -> dict[str, set[int]]:
    """Partitions of credit.inbound per member of the workers' group, as the broker sees it."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    group = f"{settings.worker_app_id}.pipeline"
    try:
        [described] = [f.result(timeout=10) for f in admin.describe_consumer_groups([group]).values()]
    except KafkaException:  # the group's coordinator is still loading: ask again
        return {}
    return {m.group_instance_id or m.member_id: {tp.partition for tp in m.assignment.topic_partitions
                                                 if tp.topic == "credit.inbound"}
            for m in described.members}


def send_round(settings, seed: int) -> list[str]:
    feed = DemoFeed(seed=seed, bad_share=0.05)
    ids = []
    with CreditProducer(settings.bootstrap_servers) as producer:
        for n in range(PER_ROUND):
            event, _ = feed.next_event()
            event["event_id"] = f"{seed}-{n:06d}-{event['event_id'][:16]}"  # distinct: no replays
            ids.append(event["event_id"])
            producer.send(event)
    return ids


def test_two_workers_share_the_partitions_and_survive_the_loss_of_one(tmp_path):
    settings = stack_settings(tmp_path, topic_partitions=4)
    stack = EmbeddedStack(settings).start()
    try:
        [second_port] = free_ports(1)
        second = stack.start_worker("worker-2", worker_web_port=second_port)
        shared = wait_for(lambda: (lambda a: a if len(a) == 2 and all(a.values()) else None)(assignments(settings)),
                          90, what="both workers to hold partitions")
        assert set().union(*shared.values()) == {0, 1, 2, 3}
        assert not set.intersection(*shared.values())

        sent = send_round(settings, 1)
        wait_for(lambda: stored_total(settings) >= PER_ROUND, 180, what="the first round stored")

        sent += send_round(settings, 2)
        wait_for(lambda: stored_total(settings) > PER_ROUND + PER_ROUND // 10, 120, what="the second round under way")
        second.kill()  # SIGKILL mid-stream: its open transaction aborts, its partitions move
        wait_for(lambda: (lambda a: a if len(a) == 1 and next(iter(a.values())) == {0, 1, 2, 3} else None)(
            assignments(settings)), 90, what="the survivor to take every partition")
        wait_for(lambda: stored_total(settings) >= 2 * PER_ROUND, 180, what="every event stored")
        assert stored_total(settings) == 2 * PER_ROUND
    finally:
        stack.stop()
    client = connect(settings)
    db = settings.clickhouse_database
    stored = client.query(f"SELECT event_id, count() FROM (SELECT event_id FROM {db}.records UNION ALL "
                          f"SELECT event_id FROM {db}.rejections) GROUP BY event_id").result_rows
    counts = dict(stored)
    assert set(counts) == set(sent) and max(counts.values()) == 1
    client.close()
