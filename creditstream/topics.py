"""Topic names and how each is created: the only place that knows them."""
from __future__ import annotations

from dataclasses import dataclass, field

INBOUND = "credit.inbound"
RECORDS = "credit.records"
REJECTED = "credit.rejected"
BLACKLIST = "credit.blacklist"
CHECKS = "credit.checks"
ZERO_REPORTS = "credit.zero_reports"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int = 1
    config: dict[str, str] = field(default_factory=dict)


def topic_specs(partitions: int, replication: int = 1) -> list[TopicSpec]:
    """Every topic of the pipeline. Same partition count everywhere so that one subject's key
    lands on the same partition number in every topic (and faust tables line up with them)."""
    return [
        TopicSpec(INBOUND, partitions, replication),
        TopicSpec(RECORDS, partitions, replication),
        TopicSpec(REJECTED, partitions, replication),
        # Latest state per subject; a tombstone removes a subject that left every list.
        TopicSpec(BLACKLIST, partitions, replication,
                  {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"}),
        TopicSpec(CHECKS, partitions, replication),
        TopicSpec(ZERO_REPORTS, partitions, replication),
    ]


def ensure_topics(bootstrap_servers: str, specs: list[TopicSpec], timeout: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    from confluent_kafka.admin import AdminClient, NewTopic  # I/O edge: imported where used

    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [s for s in specs if s.name not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(s.name, num_partitions=s.partitions, replication_factor=s.replication, config=s.config) for s in missing],
        operation_timeout=timeout,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except Exception as exc:  # an existing topic is fine (a race with another starter)
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    return created
