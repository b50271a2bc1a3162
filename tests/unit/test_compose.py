"""docker-compose.yml checked statically with Debian's docker-compose (no engine needed)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"CLICKHOUSE_PASSWORD": "x1", "CREDITSTREAM_API_TOKEN": "x2", "GRAFANA_ADMIN_PASSWORD": "x3",
           "KEYS_FILE": "./secrets/keys.json"}

pytestmark = pytest.mark.skipif(shutil.which("docker-compose") is None,
                                reason="docker-compose is installed by scripts/install-system-deps")


def compose_config(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env.update(env_extra)
    return subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
                          capture_output=True, text=True, env=env, cwd=ROOT)


def test_compose_file_is_valid_and_has_the_stack():
    result = compose_config(SECRETS)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    for name in ("kafka-1", "kafka-2", "kafka-3", "schema-registry", "clickhouse", "prometheus", "grafana",
                 "worker", "sink", "ingest"):
        assert name in services, f"service {name} missing"
    assert services["ingest"]["environment"]["CREDITSTREAM_BOOTSTRAP_ADMIN"] == "false"  # no token in a log
    for name in ("worker", "sink", "ingest"):
        env = services[name]["environment"]
        assert env["CREDITSTREAM_KAFKA_BOOTSTRAP"].startswith("kafka-1:9092")
        assert env["CREDITSTREAM_CLICKHOUSE_DSN"].startswith("http://")
        assert "build" in services[name]
        assert env["CREDITSTREAM_KEYS_FILE"] == "/run/secrets/creditstream_keys"
        assert [s["source"] for s in services[name]["secrets"]] == ["creditstream_keys"]


def test_compose_refuses_to_start_without_secrets():
    # No default passwords: each secret missing makes the file invalid, naming the variable.
    for missing in SECRETS:
        env = {k: v for k, v in SECRETS.items() if k != missing}
        result = compose_config(env)
        assert result.returncode != 0
        assert missing in result.stderr
