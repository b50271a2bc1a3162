"""The MirrorMaker 2 route to an upper platform's cluster: a compose service (off by default)
running Kafka's own connect-mirror-maker.sh on a config that mirrors credit.records one way."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "mirror-maker" / "connect-mirror-maker.properties"


def properties(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def test_mirror_maker_mirrors_credit_records_one_way():
    conf = properties(CONFIG)
    assert conf["clusters"] == "city, province"
    assert conf["city->province.enabled"] == "true" and conf["city->province.topics"] == r"credit\.records"
    assert conf["province->city.enabled"] == "false", "what comes down arrives as batches, through validation"
    assert conf["city.bootstrap.servers"].startswith("kafka-1:9092")
    assert conf["exactly.once.source.support"] == "enabled"


def test_compose_runs_it_with_kafkas_own_tool_only_when_asked():
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["mirror-maker"]
    assert service["profiles"] == ["exchange"]
    assert service["image"].startswith("apache/kafka:")
    assert service["command"][0] == "/opt/kafka/bin/connect-mirror-maker.sh"
    mounted = service["volumes"][0].split(":")
    assert (ROOT / mounted[0]).resolve() == CONFIG and mounted[1] == service["command"][1]
