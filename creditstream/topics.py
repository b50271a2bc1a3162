"""Topic names and how each is created: the only place that knows them."""
from __future__ import annotations

from dataclasses import dataclass, field

INBOUND = "credit.inbound"
RECORDS = "credit.records"
REJECTED = "credit.rejected"
BLACKLIST = "credit.blacklist"
CHECKS = "credit.checks"
# What the approval window did with a check (黑名单反馈), and every transition of an objection (异议).
CHECK_FEEDBACK = "credit.check_feedback"
OBJECTIONS = "credit.objections"
ZERO_REPORTS = "credit.zero_reports"
# Red list (红名单): like credit.blacklist, latest state per subject, tombstone when it leaves.
REDLIST = "credit.redlist"
# Changelogs of the stream worker's tables, partitioned like credit.inbound (partition p of a
# changelog holds the state of inbound partition p) and written in the worker's transactions.
STATE_SIGHTINGS = "credit.state.sightings"
STATE_LISTS = "credit.state.lists"
STATE_UNIT_COUNTS = "credit.state.unit_counts"
# How long the worker remembers a record to recognise replays and cross-platform duplicates.
SIGHTINGS_RETENTION_DAYS = 35
UNIT_COUNTS_RETENTION_DAYS = 400
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int = 1
    config: dict[str, str] = field(default_factory=dict)


def topic_specs(partitions: int, replication: int = 1, inbound_retention_days: int = 7) -> list[TopicSpec]:
    """Every topic of the pipeline. Same partition count everywhere so that one subject's key
    lands on the same partition number in every topic (and faust tables line up with them)."""
    return [
        # Reports as sent, ID numbers in clear: kept only as long as a stopped worker may need to
        # catch up (PIPL: no longer than needed). Everything past it holds pseudonyms.
        TopicSpec(INBOUND, partitions, replication, {"retention.ms": str(inbound_retention_days * _DAY_MS)}),
        TopicSpec(RECORDS, partitions, replication),
        TopicSpec(REJECTED, partitions, replication),
        # Latest state per subject; a tombstone removes a subject that left every list.
        TopicSpec(BLACKLIST, partitions, replication,
                  {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"}),
        TopicSpec(REDLIST, partitions, replication,
                  {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"}),
        TopicSpec(STATE_SIGHTINGS, partitions, replication,
                  {"cleanup.policy": "compact,delete", "retention.ms": str((SIGHTINGS_RETENTION_DAYS + 1) * _DAY_MS)}),
        TopicSpec(STATE_LISTS, partitions, replication, {"cleanup.policy": "compact"}),
        TopicSpec(STATE_UNIT_COUNTS, partitions, replication,
                  {"cleanup.policy": "compact,delete", "retention.ms": str((UNIT_COUNTS_RETENTION_DAYS + 1) * _DAY_MS)}),
        TopicSpec(CHECKS, partitions, replication),
        TopicSpec(CHECK_FEEDBACK, partitions, replication),
        # The check service rebuilds open objections from it at start: never deleted (audit, 5 years+).
        TopicSpec(OBJECTIONS, partitions, replication, {"retention.ms": "-1"}),
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
