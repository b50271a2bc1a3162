"""Shared fixtures. Integration tests run the real embedded stack (Apache Kafka from its Maven
jars, chdb) on free loopback ports in a temporary data directory."""
from __future__ import annotations

import time

import pytest

from creditstream.embedded.process import free_ports  # noqa: F401 (the tests' import of it)
from creditstream.settings import Settings


def stack_settings(data_dir, **overrides) -> Settings:
    kafka, controller, sink, web, ingest = free_ports(5)
    values = dict(data_dir=data_dir, kafka_port=kafka, kafka_controller_port=controller, sink_port=sink,
                  worker_web_port=web, ingest_port=ingest, topic_partitions=2, sink_batch_seconds=0.3,
                  demo_rate=500.0)
    values.update(overrides)
    return Settings(**values)


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll until predicate() is truthy; fail the test with `what` after `timeout` seconds.
    A deadline for waiting, not a performance assertion."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last value: {last!r})")
