"""Panel SQL expanded as Grafana's ClickHouse plugin expands it (pkg/macros of
grafana/clickhouse-datasource) and with our variables; unit values that are not unit codes never
reach the SQL."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dashboards.live_queries import BadRequest, _units
from dashboards.panels import TimeRange, expand_promql, expand_sql, unit_regex

RANGE = TimeRange(datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 2, tzinfo=timezone.utc), 300)
START, END = 1793491200, 1793577600


def test_time_macros_become_what_the_plugin_sends():
    sql = ("SELECT $__timeInterval(minute) AS time, $__interval_s AS s FROM t "
           "WHERE $__timeFilter(minute) AND x >= $__fromTime AND x <= $__toTime")
    assert expand_sql(sql, RANGE, "db") == (
        f"SELECT toStartOfInterval(toDateTime(minute), INTERVAL 300 second) AS time, 300 AS s FROM t "
        f"WHERE minute >= toDateTime({START}) AND minute <= toDateTime({END}) "
        f"AND x >= toDateTime({START}) AND x <= toDateTime({END})")


def test_database_and_unit_variables():
    sql = "SELECT 1 FROM ${database}.unit_counts_minute WHERE match(source_unit, '^(${unit:regex})$')"
    assert expand_sql(sql, RANGE, "creditstream") == \
        "SELECT 1 FROM creditstream.unit_counts_minute WHERE match(source_unit, '^(.*)$')"
    assert expand_sql(sql, RANGE, "creditstream", ["SAMR-420200", "TAX-420200"]).endswith(
        "'^((SAMR-420200|TAX-420200))$')")
    assert unit_regex(["a.b"]) == r"a\.b", "Grafana's regex format escapes each value"
    with pytest.raises(ValueError):
        expand_sql(sql, RANGE, "creditstream; DROP TABLE x")


@pytest.mark.parametrize("value", ["x' OR 1=1 --", "a b", "", "单位", "a" * 65, "a)|(.*"])
def test_unit_values_that_are_not_unit_codes_are_refused(value):
    with pytest.raises(ValueError):
        unit_regex([value])
    with pytest.raises(BadRequest):
        _units({"unit": [value]})


def test_promql_rate_interval():
    assert expand_promql("rate(x[$__rate_interval])", "30s") == "rate(x[30s])"


def test_a_time_range_of_the_last_hour():
    now = datetime(2026, 11, 2, 12, tzinfo=timezone.utc)
    last = TimeRange.last(3600, 60, now)
    assert (last.start, last.end, last.interval_s) == (datetime(2026, 11, 2, 11, tzinfo=timezone.utc), now, 60)
