import logging

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from sinks.availability import Availability
from sinks.metrics import SinkMetrics

ID_NUMBER = "11010519491231002X"


def _value(metrics: SinkMetrics, name: str) -> float:
    return metrics.registry.get_sample_value(name) or 0.0


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:  # with its traceback, as the sink sees it
        return caught


RAISE_LINE = _raised.__code__.co_firstlineno + 2


@pytest.fixture
def availability():
    return Availability(SinkMetrics(), first_delay=0.5, max_delay=4.0)


@pytest.mark.parametrize("exc", [ConnectionRefusedError("connection refused"),
                                 DatabaseError("Code: 241. DB::Exception: Memory limit exceeded")])
def test_a_clickhouse_outage_is_one_episode_with_backoff(availability, exc, caplog):
    caplog.set_level(logging.WARNING, "creditstream.sink")
    delays = [availability.failed(_raised(exc)) for _ in range(5)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]
    m = availability.metrics
    assert _value(m, "creditstream_sink_clickhouse_unavailable") == 1.0
    assert _value(m, "creditstream_sink_clickhouse_unavailable_episodes_total") == 1.0
    assert _value(m, "creditstream_sink_retries_total") == 5.0
    assert _value(m, "creditstream_sink_store_faults_total") == 0.0
    assert caplog.text.count("does not take writes") == 1
    availability.succeeded()
    assert _value(m, "creditstream_sink_clickhouse_unavailable") == 0.0
    assert "takes writes again" in caplog.text
    assert availability.failed(_raised(exc)) == 0.5, "a new episode starts its backoff again"


def test_the_sinks_own_error_is_not_called_an_outage_and_its_message_stays_out_of_the_log(availability, caplog):
    caplog.set_level(logging.WARNING, "creditstream.sink")
    fault = _raised(TypeError(f"cannot store {ID_NUMBER}"))
    assert [availability.failed(fault) for _ in range(3)] == [0.5, 1.0, 2.0]
    m = availability.metrics
    assert _value(m, "creditstream_sink_clickhouse_unavailable") == 0.0
    assert _value(m, "creditstream_sink_clickhouse_unavailable_episodes_total") == 0.0
    assert _value(m, "creditstream_sink_store_faults_total") == 3.0
    assert _value(m, "creditstream_sink_retries_total") == 3.0
    assert "does not take writes" not in caplog.text
    assert caplog.text.count("failed in the sink itself (TypeError at test_sink_availability.py:") == 1
    assert ID_NUMBER not in caplog.text
    availability.succeeded()
    assert "storing works again after TypeError" in caplog.text
    assert availability.fault is None


def test_an_outage_and_a_fault_together_share_one_backoff(availability):
    assert availability.failed(_raised(KeyError("x"))) == 0.5
    assert availability.failed(_raised(ConnectionResetError())) == 1.0
    assert availability.down and availability.fault == f"KeyError at test_sink_availability.py:{RAISE_LINE}"
