"""A real Prometheus (Debian's package, started by the embedded stack as `creditstream up` starts
it) scrapes the running worker and sink while the feed runs: every target is up, every PromQL
expression of the dashboards returns series, and the processes' metrics pass promtool's lint
of Prometheus naming conventions."""
from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from urllib.parse import urlencode

import pytest

from dashboards.panels import expand_promql, is_prometheus, load_dashboards, panels
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("prometheus") is None,
                                 reason="Debian package prometheus, installed by scripts/install-system-deps")]

EXPRESSIONS = sorted({(uid, p["id"], t["refId"], t["expr"]) for uid, board in load_dashboards().items()
                      for p in panels(board) for t in p["targets"] if is_prometheus(t)})
# Several scrapes (one a second in the test stack) fall in a window of this size.
RATE_INTERVAL = "20s"


def prometheus_get(stack, path: str, **params) -> dict:
    url = stack.stack.prometheus.url + path + ("?" + urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def scraped(observed_stack):
    assert observed_stack.stack.prometheus is not None, "Prometheus is installed but did not start"

    def all_up():
        targets = prometheus_get(observed_stack, "/api/v1/targets")["data"]["activeTargets"]
        return {t["labels"]["job"]: t["health"] for t in targets} == {"worker": "up", "sink": "up", "prometheus": "up"}

    wait_for(all_up, 120, what="Prometheus to scrape the worker, the sink and itself")
    return observed_stack


@pytest.mark.parametrize("uid,panel_id,ref,expr", EXPRESSIONS, ids=[f"{u}-{p}{r}" for u, p, r, _ in EXPRESSIONS])
def test_dashboard_expression_returns_series(scraped, uid, panel_id, ref, expr):
    query = expand_promql(expr, RATE_INTERVAL)

    def series():
        answer = prometheus_get(scraped, "/api/v1/query", query=query)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    result = wait_for(series, 120, what=f"series for {query}")
    assert all("value" in s for s in result)


def test_every_process_exposes_conventionally_named_metrics(scraped):
    """promtool check metrics: counters end in _total, units in base units and suffixes, help text."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package"
    s = scraped.settings
    for job, port in (("worker", s.worker_web_port), ("sink", s.sink_port)):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            exposition = response.read()
        assert b"creditstream_" in exposition and b"process_resident_memory_bytes" in exposition, job
        lint = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True)
        problems = [line for line in (lint.stdout + lint.stderr).decode().splitlines() if "creditstream_" in line]
        assert problems == [], f"{job}: {problems}"
