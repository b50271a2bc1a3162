"""Every ClickHouse panel of the provisioned dashboards, run against the history of a real
pipeline run (Apache Kafka, the worker, the sink, chdb), returns the columns the panel expects,
of the kinds its visualisation needs, and rows.

The panels are read from the dashboard files here; the sink runs each panel's SQL from those same
files (it owns the chdb directory, so it is the only process that can), expanded as Grafana's
ClickHouse plugin expands it."""
from __future__ import annotations

import re
import time
import urllib.error
from urllib.parse import urlencode

import pytest

from dashboards.panels import expected_columns, is_clickhouse, load_dashboards, panels
from tests.conftest import wait_for
from tests.integration.observed.conftest import ZERO_REPORT_UNIT

pytestmark = pytest.mark.integration

CLICKHOUSE_PANELS = [(uid, p["id"], p) for uid, board in sorted(load_dashboards().items()) for p in panels(board)
                     if any(is_clickhouse(t) for t in p["targets"])]
NUMERIC = re.compile(r"^(Nullable\()?(U?Int\d+|Float\d+|Decimal.*)\)?$")
TEXT = re.compile(r"^(LowCardinality\()?(Nullable\()?(String|Enum8.*)\)*$")
DATETIME = re.compile(r"^(Nullable\()?DateTime")


def panel(sink, uid: str, panel_id: int, **params) -> dict:
    now_ms = int(time.time() * 1000)
    query = {"dashboard": uid, "panel": panel_id, "from": now_ms - 3600_000, "to": now_ms, **params}
    return sink.get("/v1/panel?" + urlencode(query, doseq=True), timeout=30)


@pytest.fixture(scope="module")
def history(observed_stack):
    """Wait until the run has stored what every panel reads: records, rejections, list entries,
    checks and a zero report."""
    sink = observed_stack.sink

    def stored():
        counts = {t: len(panel(sink, *key)["targets"][0]["rows"]) for t, key in {
            "rejections": ("creditstream-collection", 4), "listed": ("creditstream-lists", 3),
            "checks": ("creditstream-lists", 8), "units": ("creditstream-compliance", 1)}.items()}
        zero = [r for r in panel(sink, "creditstream-compliance", 1)["targets"][0]["rows"]
                if r[0] == ZERO_REPORT_UNIT[0]]
        return all(counts.values()) and zero and counts

    wait_for(stored, 180, what="records, rejections, list entries, checks and a zero report in ClickHouse")
    return observed_stack


@pytest.mark.parametrize("uid,panel_id,spec", CLICKHOUSE_PANELS, ids=[f"{u}-{i}" for u, i, _ in CLICKHOUSE_PANELS])
def test_panel_query_returns_the_columns_its_panel_expects(history, uid, panel_id, spec):
    (result,) = panel(history.sink, uid, panel_id)["targets"]
    expected = expected_columns(spec)
    assert expected, f"panel {uid}/{panel_id} declares no columns (organize transformation)"
    assert result["columns"] == expected
    kinds = dict(zip(result["columns"], result["types"]))
    if spec["type"] == "timeseries":
        # The plugin's long form: a time, then string label columns, then numbers.
        assert DATETIME.match(kinds["time"]), kinds
        labels = [c for c in expected[1:] if TEXT.match(kinds[c])]
        values = expected[1 + len(labels):]
        assert values and all(NUMERIC.match(kinds[c]) for c in values), kinds
    else:
        assert any(NUMERIC.match(t) for t in result["types"]), f"nothing to show in {kinds}"
    assert result["rows"], f"panel {uid}/{panel_id} returned no rows from the pipeline run"


def test_pass_rate_and_timeliness_panels_agree_with_the_counts(history):
    """入库合格率 per unit is records / (records + rejected) of the counts table, unit by unit."""
    sink = history.sink
    now_ms = int(time.time() * 1000)
    window = {"from": now_ms - 3600_000, "to": now_ms}
    counts = panel(sink, "creditstream-collection", 1, **window)["targets"][0]
    totals: dict[str, list[int]] = {}
    for unit, _catalog, records, rejected, *_ in counts["rows"]:
        totals.setdefault(unit, [0, 0])
        totals[unit][0] += records
        totals[unit][1] += rejected
    rates = {u: r for u, r in panel(sink, "creditstream-collection", 3, **window)["targets"][0]["rows"]}
    # The two queries run a moment apart while the feed runs: compare units present in both,
    # within what a few more records can move.
    for unit, rate in rates.items():
        records, rejected = totals.get(unit, (0, 0))
        if records + rejected >= 50:
            assert rate == pytest.approx(records / (records + rejected), abs=0.05)
    assert any(0 < r < 1 for r in rates.values()), "the feed's bad records should lower some pass rates"


def test_unit_variable_lists_the_units_and_narrows_every_unit_panel(history):
    sink = history.sink
    (result,) = panel(sink, "creditstream-collection", 0, variable="unit")["targets"]
    units = [row[0] for row in result["rows"]]
    assert len(units) > 3 and units == sorted(units)
    chosen = units[0]
    for uid, panel_id, spec in CLICKHOUSE_PANELS:
        (narrowed,) = panel(sink, uid, panel_id, unit=chosen)["targets"]
        if "source_unit" in narrowed["columns"]:
            column = narrowed["columns"].index("source_unit")
            assert {row[column] for row in narrowed["rows"]} <= {chosen}, f"{uid}/{panel_id}"


def test_panel_requests_are_checked(history):
    sink = history.sink
    for params, status in [({"unit": "x' OR 1=1 --"}, 400), ({"from": "yesterday"}, 400)]:
        with pytest.raises(urllib.error.HTTPError) as caught:
            panel(sink, "creditstream-collection", 1, **params)
        assert caught.value.code == status
    for uid, panel_id in [("creditstream-pipeline", 1), ("no-such-board", 1)]:
        with pytest.raises(urllib.error.HTTPError) as caught:
            panel(sink, uid, panel_id)
        assert caught.value.code == 400
