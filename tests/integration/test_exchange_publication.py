"""Exchange and publication on the real embedded stack (Apache Kafka, the stream worker, the sink,
chdb), one stack for the module:

- our records go to the provincial platform as national-layout batches (`creditstream exchange
  send`, a directory peer), come back down as that platform's reports (`exchange receive`), are
  recognised as duplicates by natural key, and the 去重 totals count each once;
- the public search and page (served by the sink) show what the rules allow: an objected penalty
  as a note, expired and repaired ones not at all, a person's number masked; the detail needs a
  read_detail token; the page finds a company by name and by USCC in headless Chromium; a client
  beyond its rate gets 429.
"""
from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from creditstream.auth.tokens import TokenStore
from creditstream.domain.event_id import event_id
from creditstream.domain.normalise import CHINA_TZ
from creditstream.embedded.stack import EmbeddedStack, SinkClient, child_env
from producers.credit_producer import CreditProducer, message_key
from producers.demo_feed import make_id_number, make_uscc
from tests.conftest import stack_settings, wait_for

pytestmark = pytest.mark.integration

rng = random.Random(1313)
SAMR, XYB, PROVINCE = "SAMR-420200", "XYB-420200", "PLATFORM-420000"
FIRM_A, FIRM_B = make_uscc(rng, "420202"), make_uscc(rng, "420203")
PERSON = make_id_number(rng, "420202")
NAME_A, NAME_B, NAME_P = "黄石青山食品有限公司", "黄石铁山建材有限公司", "王五"
TODAY = datetime.now(CHINA_TZ).date()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def event(n, catalog, category, subject, doc, decided, matter="行政处罚", status=None, legal_basis=None, unit=SAMR,
          reported_ms=None):
    person = subject.get("id_number") is not None
    subject = {"type": "NATURAL_PERSON" if person else "LEGAL_PERSON", "uscc": None,
               "id_type": "身份证" if person else None, "id_number": None, "plate": None, "sex": None,
               "legal_representative": None if person else "赵六", "other_ids": {}, **subject}
    return {"event_id": event_id(unit, catalog, category, message_key(subject), doc, extra=str(n)),
            "source_unit": unit, "catalog": catalog, "category": category, "reporting_mode": "INTERFACE",
            "source_format": "json", "reported_at": reported_ms or int(datetime.now(timezone.utc).timestamp() * 1000),
            "reported_by": "test", "source_ref": f"row-{n}", "subject": subject,
            "decision": {"document_number": doc, "document_name": None, "authority": "黄石市市场监督管理局",
                         "authority_code": None, "date": decided, "valid_from": None, "valid_until": None,
                         "status": status},
            "matter": {"name": matter, "kind": "罚款" if category == "PENALTY" else "普通", "cause": "违反规定",
                       "legal_basis": legal_basis, "content": "罚款一万元" if category == "PENALTY" else matter},
            "raw": {}}


A = {"uscc": FIRM_A, "name": NAME_A}
B = {"uscc": FIRM_B, "name": NAME_B}
EVENTS = [
    event(1, "SGS-XK", "LICENCE", A, "黄市监许〔2026〕101号", day(20), matter="食品经营许可"),
    event(2, "SGS-CF", "PENALTY", A, "黄市监罚〔2026〕201号", day(30), matter="销售不合格食品"),
    event(3, "SGS-CF", "PENALTY", A, "黄市监罚〔2021〕202号", day(4 * 366), matter="超范围经营"),    # past 3 years
    event(4, "SGS-CF", "PENALTY", A, "黄市监罚〔2026〕203号", day(40), matter="虚假宣传"),            # objected below
    event(5, "SGS-CF", "PENALTY", B, "黄市监罚〔2026〕204号", day(200), matter="未按规定公示年报"),    # repaired below
    event(6, "SGS-CF", "PENALTY", {"id_number": PERSON, "name": NAME_P}, "黄市监罚〔2026〕205号", day(10),
          matter="无照经营"),
]
LATER = [
    # The objection, as the check service sends it: the same decision again with 当前状态 异议.
    event(7, f"{SAMR}-异议", "PENALTY", A, "黄市监罚〔2026〕203号", day(1), matter="异议处理", status="异议"),
    # 信用修复 of firm B's penalty (past its 3-month minimum).
    event(8, "XYB-XF", "OTHER", B, "黄信修〔2026〕1号", day(2), matter="信用修复", legal_basis="黄市监罚〔2026〕204号",
          unit=XYB),
]
ORIGINALS = len(EVENTS) + len(LATER)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("exchange")
    inbox = data / "province-inbox"
    peers = data / "peers.toml"
    peers.write_text(f'[platform]\ncode = "PLATFORM-420200"\nsettle_seconds = 0\n\n[[peers]]\ncode = "{PROVINCE}"\n'
                     f'name = "湖北省公共信用信息平台"\ncategories = ["LICENCE", "PENALTY"]\nformat = "csv"\n'
                     f'delivery = "directory"\ndirectory = "{inbox}"\nperson_ids = "clear"\n', encoding="utf-8")
    settings = stack_settings(data / "stack", exchange_peers=str(peers), publication_rate_per_second=0.5,
                              publication_rate_burst=40)
    stack = EmbeddedStack(settings).start()
    try:
        sink = SinkClient(settings)
        with CreditProducer(settings.bootstrap_servers) as producer:
            for e in EVENTS:
                producer.send(e)
        stored = lambda: sum(u["records"] for u in sink.get("/v1/counts")["units"])  # noqa: E731
        wait_for(lambda: stored() >= len(EVENTS), 180, what="the reports stored")
        with CreditProducer(settings.bootstrap_servers) as producer:  # after the originals, as in life
            for e in LATER:
                producer.send(e)
        wait_for(lambda: stored() >= ORIGINALS, 120, what="the objection and the repair stored")
        yield stack, settings, inbox
    finally:
        stack.stop()


def cli(settings, *args, check=True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "creditstream", *args], env=child_env(settings),
                          capture_output=True, text=True, timeout=180)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def totals(settings) -> dict:
    period = datetime.now(CHINA_TZ).strftime("%Y-%m")
    return SinkClient(settings).get(f"/v1/reports/totals?period={period}", timeout=60)


def public(settings, q: str):
    url = f"{settings.sink_url}/v1/public/search?{urllib.parse.urlencode({'q': q})}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_a_record_sent_up_and_coming_back_down_is_counted_once(stack):
    _, settings, inbox = stack
    sent = cli(settings, "exchange", "send")
    assert "PLATFORM-420000" in sent.stdout
    manifests = sorted(inbox.glob("*.manifest.json"))
    assert len(manifests) == 2, "one batch of licences (XK_*), one of penalties (CF_*)"
    counts = {json.loads(m.read_text())["layout"]: json.loads(m.read_text())["count"] for m in manifests}
    assert counts == {"sgs_licence_2019": 1, "sgs_penalty_2019": 6}, "the penalties and the objection; no repair"
    penalties = next(inbox.glob("*sgs_penalty_2019*.csv")).read_text(encoding="utf-8-sig")
    assert penalties.startswith("CF_XDR_LB,CF_XDR_MC,CF_XDR_SHXYM") and NAME_A in penalties
    out = cli(settings, "exchange", "status", "--json").stdout
    status = json.loads(out)["peers"].get(PROVINCE) or pytest.fail(out)
    assert (status["sent"]["batches"], status["sent"]["records"], status["failed"]["batches"]) == (2, 7, 0)

    before = totals(settings)["tables"][0]["total"]["cumulative_distinct"]
    # The province sends the same records back down: loaded as its reports, through the same adapter.
    received = cli(settings, "exchange", "receive", str(inbox), "--unit", PROVINCE)
    assert received.stdout.count("acknowledged") == 2
    sink = SinkClient(settings)
    units = lambda: {u["source_unit"]: (u["records"], u["rejected"]) for u in sink.get("/v1/counts")["units"]}  # noqa: E731
    wait_for(lambda: sum(units().get(PROVINCE, ())) >= 7, 120, what="the province's copies stored")
    assert units()[PROVINCE] == (7, 0), (units(), received.stdout)
    report = totals(settings)
    rows = {r["unit"]: r for r in report["tables"][0]["rows"]}
    assert (rows[PROVINCE]["period_records"], rows[PROVINCE]["period_duplicates"]) == (7, 7)
    total = report["tables"][0]["total"]
    assert total["cumulative_records"] == ORIGINALS + 7
    assert total["cumulative_distinct"] == before == ORIGINALS, "a record from two levels counts once"

    status = json.loads(cli(settings, "exchange", "status", "--json").stdout)["peers"][PROVINCE]
    assert (status["acknowledged"]["batches"], status["acknowledged"]["records"]) == (2, 7)
    # Nothing new since: the next run builds nothing and never sends the province's copies back.
    again = cli(settings, "exchange", "send")
    assert len(list(inbox.glob("*.manifest.json"))) == 2, again.stdout


def test_public_search_shows_what_the_rules_allow(stack):
    _, settings, _ = stack
    found = public(settings, "青山食品")
    shown = {r.get("document_number"): r for r in found["records"] if not r.get("withheld")}
    assert set(shown) == {"黄市监许[2026]101号", "黄市监罚[2026]201号"}
    notes = [r for r in found["records"] if r.get("withheld") == "objection"]
    assert len(notes) == 1 and "异议" in notes[0]["note"] and "document_number" not in notes[0]
    assert found["withheld"] == {"objection": 1, "expired": 1}
    assert shown["黄市监罚[2026]201号"]["subject_id"] == FIRM_A
    assert public(settings, FIRM_A.lower())["records"] == found["records"], "by USCC as by name"

    repaired = public(settings, NAME_B)
    assert repaired["records"] == [] and repaired["withheld"] == {"repaired": 1}

    person = public(settings, NAME_P)["records"]
    assert len(person) == 1 and person[0]["subject_id"] == PERSON[:10] + "****" + PERSON[14:]
    text = json.dumps(found, ensure_ascii=False) + json.dumps(person, ensure_ascii=False)
    assert PERSON not in text and "pid:" not in text and "raw" not in text


def test_detail_needs_a_read_detail_token_and_is_recorded(stack):
    _, settings, _ = stack
    record_id = public(settings, NAME_P)["records"][0]["record_id"]
    url = f"{settings.sink_url}/v1/public/records/{record_id}?purpose=行政审批核查"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.parse.quote(url, safe=":/?=&"), timeout=10)
    assert refused.value.code == 401 and refused.value.headers["Content-Type"] == "application/problem+json"
    store = TokenStore.for_settings(settings)
    reader = store.create("FGW-420200", ["read_detail"], "approval window")[1]
    checker = store.create("FGW-420200", ["check"], "no detail")[1]
    request = lambda token: urllib.request.Request(urllib.parse.quote(url, safe=":/?=&"),  # noqa: E731
                                                   headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as forbidden:
        urllib.request.urlopen(request(checker), timeout=10)
    assert forbidden.value.code == 403
    with urllib.request.urlopen(request(reader), timeout=30) as response:
        detail = json.loads(response.read())
    assert detail["recorded"] is True and detail["record"]["source_unit"] == SAMR
    assert detail["record"]["subject_id"] == PERSON[:10] + "****" + PERSON[14:]
    assert PERSON not in json.dumps(detail, ensure_ascii=False)


@pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("chromedriver") is None,
                    reason="Debian packages chromium and chromium-driver (scripts/install-system-deps)")
def test_the_page_finds_a_company_by_name_and_by_uscc_on_a_phone(stack):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    _, settings, _ = stack
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"):
        options.add_argument(flag)
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844,
                                                                          "pixelRatio": 3.0, "touch": True}})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        browser.get(f"{settings.sink_url}/public")
        assert "双公示" in browser.title
        for query in (NAME_A[:6], FIRM_A):
            box = browser.find_element("id", "q")
            box.clear()
            box.send_keys(query)
            browser.find_element("id", "search").click()
            cards = wait_for(lambda: [c.text for c in browser.find_elements("css selector", "#results .record")]
                             if "共找到" in browser.find_element("id", "message").text else None, 30,
                             what=f"results for {query}")
            assert len(cards) == 3 and all(NAME_A in c for c in cards)
            assert any("存在异议" in c for c in cards) and any("黄市监罚[2026]201号" in c for c in cards)
            assert "已过公示期限 1 条" in browser.find_element("id", "message").text
        ARTIFACTS.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(ARTIFACTS / "public-page.png"))
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, "no sideways scrolling on a phone"
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        browser.quit()


def test_a_client_beyond_its_rate_gets_a_429_problem(stack):
    _, settings, _ = stack
    codes = []
    for _ in range(45):
        try:
            public(settings, "黄石")
            codes.append(200)
        except urllib.error.HTTPError as exc:
            codes.append(exc.code)
            body = json.loads(exc.read())
            assert exc.headers["Retry-After"] and body["status"] == 429 and body["type"].endswith("too-many-requests")
    assert 429 in codes and codes[0] == 200
