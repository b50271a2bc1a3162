"""The short fault-injection run (the long one is `creditstream chaos`): a few thousand events
through the real embedded stack while the worker, the sink and the broker are SIGKILLed and
restarted and the sink dies between insert and commit; then ClickHouse refuses writes under a
burst. Every event id is reconciled; the blacklist agrees with the pure rules everywhere."""
from __future__ import annotations

import time

import pytest

from creditstream.faults.chaos import Chaos, ChaosConfig

from tests.conftest import free_ports, stack_settings

TARGETS = ("sink-after-insert", "worker", "broker", "sink")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    data = tmp_path_factory.mktemp("chaos")
    (check_port,) = free_ports(1)
    # worker_stall_seconds: a broker call stuck after the broker's restart ends the worker sooner
    # than in production, so that its restart fits the test's time.
    settings = stack_settings(data, check_port=check_port, sink_fault_dir=str(data / "faults"),
                              sink_batch_size=500, worker_stall_seconds=30)
    config = ChaosConfig(records=3000, kills=4, burst=8_000, outage_seconds=10, seed=7, feed_rate=200,
                         targets=TARGETS, settle_timeout=240)
    began = time.monotonic()
    return Chaos(settings, config, log=lambda line: print(f"{time.monotonic() - began:6.1f} s  {line}")).run()


def test_every_fault_struck_and_the_stack_recovered(report):
    assert [f.target for f in report.faults] == list(TARGETS)
    assert all(f.restart_seconds is not None for f in report.faults)


def test_clickhouse_holds_each_expected_record_and_rejection_once_and_nothing_else(report):
    assert report.expected_records > 0 and report.expected_rejections > 0, "the feed holds both kinds"
    assert report.missing == {}, "lost"
    assert report.doubled == {}, "doubled"
    assert report.unexpected == {}, "stored without being expected"
    assert (report.stored_records, report.stored_rejections) == (report.expected_records, report.expected_rejections)


def test_the_blacklist_equals_the_one_the_rules_compute_in_the_topic_clickhouse_and_the_check_api(report):
    assert report.blacklist_expected > 0, "the feed lists subjects"
    assert report.blacklist_mismatch == {}
    assert report.check_api["asked"] > 0 and report.check_api["listed_asked"] > 0
    assert report.check_api["disagree"] == []


def test_under_a_clickhouse_outage_the_sink_holds_back_shows_lag_and_recovers_by_itself(report):
    bp = report.backpressure
    assert bp["unavailable_gauge_seen"] and bp["peak_lag_messages"] > 0, "the outage is visible in metrics"
    assert bp["stored_during_outage"] == 0
    # it stops reading rather than holding the burst in memory
    assert bp["peak_buffered_messages"] < bp["burst"] / 2
    assert bp["recovery_seconds"] is not None and bp["unavailable_after_recovery"] == 0
