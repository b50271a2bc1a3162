"""The Grafana provisioning files and the Prometheus configs, checked as Grafana and Prometheus
read them: datasources and dashboards that find each other, panels that fit the grid, targets of
the right shape, files equal to what dashboards/definitions.py builds, and configs promtool accepts."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from creditstream.embedded.prometheus import scrape_config
from dashboards.__main__ import rendered
from dashboards.panels import (DASHBOARD_DIR, GRAFANA_DIR, expand_promql, expected_columns, is_clickhouse,
                               is_prometheus, load_dashboards, panels)

ROOT = Path(__file__).resolve().parents[2]
PANEL_TYPES = {"timeseries", "table", "bargauge", "stat", "barchart"}
CJK = re.compile(r"[\u4e00-\u9fff]")
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                                    reason="promtool comes with Debian's prometheus, installed by scripts/install-system-deps")


def datasources() -> dict[str, dict]:
    config = yaml.safe_load((GRAFANA_DIR / "provisioning" / "datasources" / "creditstream.yaml").read_text())
    assert config["apiVersion"] == 1
    return {d["uid"]: d for d in config["datasources"]}


def all_panels():
    return [(uid, p) for uid, board in load_dashboards().items() for p in panels(board)]


def test_dashboard_files_are_what_the_definitions_build():
    files = {p.name: p.read_text(encoding="utf-8") for p in DASHBOARD_DIR.glob("*.json")}
    assert files == rendered(), "run python -m dashboards"


def test_datasources_are_the_clickhouse_plugin_and_prometheus_without_a_stored_password():
    sources = datasources()
    by_type = {d["type"]: d for d in sources.values()}
    assert set(by_type) == {"grafana-clickhouse-datasource", "prometheus"}
    clickhouse = by_type["grafana-clickhouse-datasource"]
    assert {"host", "port", "protocol", "username", "defaultDatabase"} <= set(clickhouse["jsonData"])
    assert clickhouse["secureJsonData"]["password"] == "$CLICKHOUSE_PASSWORD"
    assert by_type["prometheus"]["url"].startswith("http://prometheus:")


def test_compose_mounts_the_provisioning_and_installs_the_plugin():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    grafana, prometheus = compose["services"]["grafana"], compose["services"]["prometheus"]
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_INSTALL_PLUGINS"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"] + prometheus["volumes"]}
    provider = yaml.safe_load((GRAFANA_DIR / "provisioning" / "dashboards" / "creditstream.yaml").read_text())
    (dashboards_path,) = [p["options"]["path"] for p in provider["providers"]]
    assert mounts["./dashboards/grafana/dashboards"] == dashboards_path
    assert mounts["./dashboards/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert (ROOT / "dashboards" / "prometheus" / "prometheus.yml").exists()
    assert mounts["./dashboards/prometheus"] == "/etc/prometheus"


def test_dashboards_have_what_grafana_provisioning_needs():
    uids = set()
    for path in DASHBOARD_DIR.glob("*.json"):
        board = json.loads(path.read_text(encoding="utf-8"))
        assert re.fullmatch(r"[a-z0-9-]{1,40}", board["uid"]) and board["uid"] not in uids
        uids.add(board["uid"])
        assert isinstance(board["schemaVersion"], int) and board["title"] and board["panels"]
        assert "id" not in board, "a provisioned dashboard has no database id"
        names = [v["name"] for v in board["templating"]["list"]]
        assert len(names) == len(set(names))
        ids = [p["id"] for p in panels(board)]
        assert len(ids) == len(set(ids)), f"{board['uid']}: panel ids repeat"
    assert len(uids) == len(list(DASHBOARD_DIR.glob("*.json"))) == 4


@pytest.mark.parametrize("uid,panel", all_panels(), ids=[f"{u}-{p['id']}" for u, p in all_panels()])
def test_panel_is_well_formed(uid, panel):
    sources = datasources()
    assert panel["type"] in PANEL_TYPES
    assert CJK.search(panel["title"]) and re.search(r"[A-Za-z]", panel["title"]), "titles are Chinese and English"
    grid = panel["gridPos"]
    assert grid["w"] > 0 and grid["h"] > 0 and 0 <= grid["x"] and grid["x"] + grid["w"] <= 24
    refs = [t["refId"] for t in panel["targets"]]
    assert refs and len(refs) == len(set(refs))
    for target in panel["targets"]:
        assert target["datasource"]["uid"] in sources
        assert sources[target["datasource"]["uid"]]["type"] == target["datasource"]["type"]
        if is_clickhouse(target):
            assert target["editorType"] == "sql" and target["rawSql"].lstrip().upper().startswith("SELECT")
            assert target["queryType"] == ("timeSeries" if panel["type"] == "timeseries" else "table")
            assert target["format"] == (0 if panel["type"] == "timeseries" else 1)
            # Every table is qualified with the database variable, as the datasource may default elsewhere.
            tables = re.findall(r"\bFROM\s+([^\s(]+)", target["rawSql"])  # subqueries start with (
            assert tables and all(t.startswith("${database}.") for t in tables), tables
            assert expected_columns(panel), "a ClickHouse panel names its columns"
        else:
            assert is_prometheus(target) and target["expr"]


def test_panels_do_not_overlap():
    for uid, board in load_dashboards().items():
        cells = {}
        for p in panels(board):
            g = p["gridPos"]
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, f"{uid}: panels {cells[(x, y)]} and {p['id']} overlap"
                    cells[(x, y)] = p["id"]


@needs_promtool
def test_prometheus_configs_are_valid(tmp_path):
    embedded = tmp_path / "embedded.yml"
    token = tmp_path / "token"
    token.write_text("t")
    embedded.write_text(scrape_config({"sink": "127.0.0.1:1", "worker": "127.0.0.1:2"}, str(token), "5s"))
    for config in (ROOT / "dashboards" / "prometheus" / "prometheus.yml", embedded):
        result = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    jobs = {job["job_name"] for job in yaml.safe_load((ROOT / "dashboards/prometheus/prometheus.yml").read_text())
            ["scrape_configs"]}
    assert {"worker", "sink"} <= jobs, "the pipeline dashboard selects these job names"


@needs_promtool
def test_every_promql_expression_parses(tmp_path):
    """As recording rules, promtool parses each expression (what Grafana would send)."""
    rules = [{"record": f"check:{uid.replace('-', '_')}:{p['id']}{t['refId']}", "expr": expand_promql(t["expr"])}
             for uid, p in all_panels() for t in p["targets"] if is_prometheus(t)]
    assert rules
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
