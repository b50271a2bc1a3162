"""Privacy audit through every adapter: every prohibited attribute and a person's ID number put in
through a batch file, an HTTP push and the online form of a running stack; afterwards no topic past
credit.inbound, no ClickHouse table, no log line and no API answer (reports, public search, the
check API without the read_personal scope) holds a prohibited value or the clear number."""
from __future__ import annotations

import csv
import random
import subprocess
import sys

import httpx
import pytest

from creditstream.auth.tokens import TokenStore
from creditstream.domain.privacy import PROHIBITED_ATTRIBUTES
from creditstream.embedded.stack import EmbeddedStack, SinkClient, child_env
from creditstream.faults.kafka_read import read_topic
from creditstream.topics import INBOUND, topic_specs
from sinks.clickhouse import connect
from tests.conftest import free_ports, stack_settings, wait_for
from tests.unit.test_domain_identifiers import make_id_number

pytestmark = pytest.mark.integration
UNIT = "COURT-420200"
MARKER = "SECRET-9c1e"
# One field name per prohibited attribute, Chinese as units write them.
FIELDS = {"religion": "宗教信仰", "genes": "基因信息", "fingerprints": "指纹", "blood_type": "血型",
          "medical_history": "既往病史", "marital_status": "婚姻状况", "income": "月收入", "deposits": "银行存款",
          "securities": "持有股票", "commercial_insurance": "商业保险", "real_estate": "房产情况",
          "tax_amount": "纳税金额"}
assert set(FIELDS) == set(PROHIBITED_ATTRIBUTES)  # a new attribute must be audited too


def prohibited(adapter: str) -> dict[str, str]:
    return {name: f"{MARKER}-{adapter}-{attr}" for attr, name in FIELDS.items()}


def person(number: str, doc: str, name: str) -> dict[str, str]:
    """A 失信被执行人 record in the Chinese key-field layout (key_fields_zh)."""
    return {"姓名": name, "性别": "男", "身份证件号码": number, "事项名称": "失信被执行人", "事由": "拒不履行生效法律文书确定义务",
            "决定文书号": doc, "决定机关": "黄石市中级人民法院", "决定时间": "2026-10-09", "决定有效期": "2099-12-31"}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    data = tmp_path_factory.mktemp("privacy")
    ingest, checks = free_ports(2)
    settings = stack_settings(data, ingest_port=ingest, check_port=checks)
    rng = random.Random(31)
    numbers = {a: make_id_number(rng, "420202") for a in ("file", "push", "form")}
    stack = EmbeddedStack(settings, ingest=True, checks=True, log=lambda *_: None).start()
    try:
        store = TokenStore.for_settings(settings)
        _, reporter = store.create(UNIT, ["report"], "clerk")
        _, checker = store.create("FGW-420200", ["check"], "window")
        # 1. a batch file, as `creditstream load` reads it
        path = data / "court.csv"
        row = {**person(numbers["file"], "(2026)鄂02执901号", "张三"), **prohibited("file")}
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            writer.writeheader()
            writer.writerow(row)
        loaded = subprocess.run([sys.executable, "-m", "creditstream", "load", str(path), "--unit", UNIT,
                                 "--catalog", "COURT-SXBZXR", "--layout", "key_fields_zh"], env=child_env(settings), capture_output=True,
                                text=True, timeout=120)
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        base, auth = f"http://127.0.0.1:{ingest}", {"Authorization": f"Bearer {reporter}"}
        # 2. an HTTP push
        pushed = httpx.post(base + "/v1/reports?catalog=COURT-SXBZXR&layout=key_fields_zh", headers=auth, timeout=30,
                            json=[{**person(numbers["push"], "(2026)鄂02执902号", "李四"), **prohibited("push")}])
        assert pushed.status_code == 202, pushed.text
        # 3. the online form (its JSON endpoint, as the page submits)
        form = httpx.post(base + "/v1/form/submit", headers=auth, timeout=30, json={
            "catalog": "COURT-SXBZXR", "category": "COURT_DISHONEST", "subject.type": "NATURAL_PERSON",
            "subject.name": "王五", "subject.sex": "男", "subject.id_number": numbers["form"],
            "decision.document_number": "(2026)鄂02执903号", "decision.authority": "黄石市中级人民法院",
            "decision.date": "2026-10-09", "matter.name": "失信被执行人", "matter.cause": "拒不履行生效法律文书确定义务",
            **prohibited("form")})
        sink = SinkClient(settings)

        def stored() -> int:
            return sum(u["records"] + u["rejected"] for u in sink.get("/v1/counts")["units"])

        expected = 2 + (form.status_code == 202)
        wait_for(lambda: stored() >= expected, 180, what="the adapters' records stored")
        answers = {
            "report": sink.get(f"/v1/reports/unit?period={_this_month()}", timeout=120),
            "public": [httpx.get(f"{settings.sink_url}/v1/public/search", params={"q": n}, timeout=30).text
                       for n in ("张三", "李四", "王五")],
        }
        check_base = f"http://127.0.0.1:{checks}"
        wait_for(lambda: httpx.get(check_base + "/readyz", timeout=5).status_code == 200, 120, what="check index")
        status = [httpx.get(f"{check_base}/v1/subjects/{n}/status", headers={"Authorization": f"Bearer {checker}"},
                            timeout=30) for n in numbers.values()]
        wait_for(lambda: all(httpx.get(f"{check_base}/v1/subjects/{n}/status", timeout=30,
                                       headers={"Authorization": f"Bearer {checker}"}).json().get("listed")
                             for n in numbers.values()), 120, what="the persons listed in the check API")
        answers["checks"] = [httpx.get(f"{check_base}/v1/subjects/{n}/status", timeout=30,
                                       headers={"Authorization": f"Bearer {checker}"}).text for n in numbers.values()]
        topics = {spec.name: read_topic(settings.bootstrap_servers, spec.name)
                  for spec in topic_specs(settings.topic_partitions)}
    finally:
        stack.stop()
    client = connect(settings)
    db = settings.clickhouse_database
    tables = [r[0] for r in client.query("SELECT name FROM system.tables WHERE database = %(db)s AND engine NOT LIKE "
                                         "'%%View%%'", parameters={"db": db}).result_rows]

    def table_hits(secret: str) -> list[str]:
        return [t for t in tables if client.query(
            f"SELECT count() FROM {db}.`{t}` WHERE position(toString(tuple(*)), %(m)s) > 0",
            parameters={"m": secret}).result_rows[0][0]]

    return {"settings": settings, "numbers": numbers, "topics": topics, "answers": answers, "status": status,
            "form": form, "table_hits": table_hits}


def _this_month() -> str:
    from datetime import datetime

    from creditstream.domain.normalise import CHINA_TZ
    return datetime.now(CHINA_TZ).strftime("%Y-%m")


def secrets_of(numbers: dict[str, str]) -> list[str]:
    """The marker and each clear number, and the runs of a number that would still identify."""
    return [MARKER] + [form for n in numbers.values() for form in (n, n[6:], n[:14])]


def test_every_adapter_really_carried_the_values_in(audited):
    inbound = b"".join(v or b"" for _, v in audited["topics"][INBOUND])
    for adapter in ("file", "push"):
        assert f"{MARKER}-{adapter}".encode() in inbound, f"{adapter}: nothing went in; the audit would prove nothing"
        assert audited["numbers"][adapter].encode() in inbound
    if audited["form"].status_code == 202:
        assert audited["numbers"]["form"].encode() in inbound
    else:  # the form refuses unknown fields: nothing prohibited entered at all, and it said why
        assert audited["form"].status_code in (400, 422) and audited["form"].json().get("detail")


def test_no_topic_past_inbound_holds_a_prohibited_value_or_a_clear_number(audited):
    for topic, messages in audited["topics"].items():
        if topic == INBOUND:
            continue
        for key, value in messages:
            for secret in secrets_of(audited["numbers"]):
                assert secret.encode() not in (key or b"") + (value or b""), f"{secret[:6]}… reached {topic}"


def test_no_table_holds_them(audited):
    for secret in secrets_of(audited["numbers"]):
        assert audited["table_hits"](secret) == [], f"{secret[:6]}… stored"


def test_no_log_line_holds_them(audited):
    for log_file in audited["settings"].log_dir.glob("*.log*"):
        text = log_file.read_text(errors="replace")
        for secret in secrets_of(audited["numbers"]):
            assert secret not in text, f"{secret[:6]}… in {log_file.name}"


def test_no_api_answer_holds_them_and_persons_show_masked(audited):
    answers = audited["answers"]
    text = repr(answers["report"]) + "".join(answers["public"]) + "".join(answers["checks"])
    for secret in secrets_of(audited["numbers"]):
        assert secret not in text, f"{secret[:6]}… in an API answer"
    for response, number in zip(audited["status"], audited["numbers"].values()):
        assert response.status_code == 200
    for answer, number in zip(answers["checks"], audited["numbers"].values()):
        assert number[:10] + "****" + number[-4:] in answer  # masked, as a clerk sees it
