"""The ingest service as a new user meets it: `creditstream serve` on a real Apache Kafka, its
first-start admin token, a unit token from `creditstream tokens create`, a system pushing records
over HTTP, a zero report, and a clerk using the online form in headless Chromium."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from avro_schemas.codec import CREDIT_EVENT, ZERO_REPORT, codec
from creditstream.embedded.kafka import EmbeddedKafka
from creditstream.topics import INBOUND, ZERO_REPORTS, ensure_topics, topic_specs
from tests.integration.test_end_to_end import read_topic
from tests.conftest import free_ports, stack_settings, wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
UNIT = "SAMR-420200"


def environment(settings) -> dict:
    return {**os.environ, "CREDITSTREAM_KAFKA_BOOTSTRAP": settings.bootstrap_servers,
            "CREDITSTREAM_DATA_DIR": str(settings.data_dir), "CREDITSTREAM_INGEST_PORT": str(settings.ingest_port),
            "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    (port,) = free_ports(1)
    settings = stack_settings(tmp_path_factory.mktemp("adapter-http"), ingest_port=port)
    broker = EmbeddedKafka(settings)
    broker.start(log=lambda *_: None)
    log_path = settings.data_dir / "serve.log"
    process = None
    try:
        ensure_topics(settings.bootstrap_servers, topic_specs(2))
        with open(log_path, "w") as log:
            process = subprocess.Popen([sys.executable, "-m", "creditstream", "serve", "--port", str(port)],
                                       stdout=log, stderr=subprocess.STDOUT, env=environment(settings), cwd=ROOT)
        base = f"http://127.0.0.1:{port}"

        def up():
            assert process.poll() is None, log_path.read_text()
            try:
                return httpx.get(base + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, what="the ingest service")
        admin = re.search(r"^\s+(cst_\w+_\S+)\s*$", log_path.read_text(), re.M)
        assert admin, f"no admin token printed at first start:\n{log_path.read_text()}"
        created = subprocess.run([sys.executable, "-m", "creditstream", "tokens", "create", "--unit", UNIT,
                                  "--scope", "report", "--label", "clerk"], capture_output=True, text=True,
                                 env=environment(settings), cwd=ROOT, timeout=60)
        assert created.returncode == 0, created.stderr
        yield {"settings": settings, "base": base, "admin": admin.group(1), "token": created.stdout.strip(),
               "log": log_path}
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.stop()


def inbound(settings) -> dict[str, dict]:
    decode = codec(CREDIT_EVENT).decode
    return {e["event_id"]: e for e in (decode(v) for _, v in read_topic(settings.bootstrap_servers, INBOUND))}


PENALTY = {"CF_XDR_MC": "黄石建工集团有限公司", "CF_XDR_LB": "法人及非法人组织", "CF_XDR_SHXYM": "91420200KN1PC5NYE0",
           "CF_WSH": "黄环罚〔2024〕12号", "CF_WFXW": "未批先建", "CF_SY": "擅自开工建设", "CF_YJ": "《环境影响评价法》",
           "CF_CFLB": "罚款", "CF_NR": "罚款五万元", "CF_JDRQ": "2024-04-02", "CF_CFJG": "黄石市生态环境局",
           "CF_SJLY": "黄石市生态环境局"}


def test_admin_token_is_printed_once_and_stored_only_as_a_hash(service):
    tokens = (service["settings"].data_dir / "secrets" / "tokens.json").read_text()
    assert service["admin"] not in tokens and service["token"] not in tokens
    listed = httpx.get(service["base"] + "/v1/tokens", headers={"Authorization": f"Bearer {service['admin']}"})
    assert listed.status_code == 200
    assert {t["unit"] for t in listed.json()["tokens"]} == {"PLATFORM", UNIT}


def test_push_is_acknowledged_with_receipts_that_are_the_events_in_kafka(service):
    headers = {"Authorization": f"Bearer {service['token']}"}
    second = {**PENALTY, "CF_WSH": "黄环罚〔2024〕13号", "CF_JDRQ": "2024年4月9日"}
    response = httpx.post(service["base"] + "/v1/reports", json=[PENALTY, second], headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    receipts = response.json()["receipts"]
    assert len(receipts) == 2
    events = inbound(service["settings"])
    for receipt in receipts:
        event = events[receipt["event_id"]]
        assert event["source_unit"] == UNIT and event["reporting_mode"] == "INTERFACE"
    bad = httpx.post(service["base"] + "/v1/reports", json=[{**PENALTY, "CF_XDR_SHXYM": "91420200KN1PC5NYE1"}],
                     headers=headers, timeout=30)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "subject.uscc"
    assert len(inbound(service["settings"])) == len(events)
    assert httpx.post(service["base"] + "/v1/reports", json=[PENALTY], timeout=30).status_code == 401


def test_zero_report_over_http_lands_on_its_topic(service):
    response = httpx.post(service["base"] + "/v1/zero-reports", json={"catalog": "SGS-CF", "period": "2024-W47"},
                          headers={"Authorization": f"Bearer {service['token']}"}, timeout=30)
    assert response.status_code == 202, response.text
    decode = codec(ZERO_REPORT).decode
    reports = [decode(v) for _, v in read_topic(service["settings"].bootstrap_servers, ZERO_REPORTS)]
    assert any(r["source_unit"] == UNIT and r["period"] == "2024-W47" for r in reports)


@pytest.fixture
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.skip("chromium and chromium-driver are not installed (scripts/install-system-deps installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1000,1400",
                 "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_a_clerk_fills_in_the_form_sees_the_error_inline_fixes_it_and_submits(service, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    browser.get(service["base"] + "/form")
    assert browser.title == "公共信用信息在线填报"
    browser.find_element(By.ID, "token").send_keys("cst_00000000_guess")
    browser.find_element(By.ID, "login-button").click()
    wait.until(lambda d: "令牌无效" in d.find_element(By.ID, "token-error").text)
    token_box = browser.find_element(By.ID, "token")
    token_box.clear()
    token_box.send_keys(service["token"])
    browser.find_element(By.ID, "login-button").click()
    wait.until(lambda d: UNIT in d.find_element(By.ID, "who").text)

    def field(name):
        return browser.find_element(By.ID, name)

    browser.find_element(By.CSS_SELECTOR, "#category option[value='PENALTY']").click()
    field("subject.name").send_keys("阳新华康药房有限公司")
    field("subject.uscc").send_keys("91420200AGEWK2AHX9")  # one character off
    field("matter.name").send_keys("行政处罚")
    field("decision.document_number").send_keys("黄市监罚〔2024〕32号")
    field("matter.cause").send_keys("销售劣药")
    field("decision.authority").send_keys("黄石市市场监督管理局")
    browser.execute_script("const el = document.getElementById('decision.date'); el.value = '2024-06-05';"
                           "el.dispatchEvent(new Event('change', {bubbles: true}));")
    error = browser.find_element(By.CSS_SELECTOR, ".error[data-for='subject.uscc']")
    wait.until(lambda d: error.text != "")
    assert "统一社会信用代码" in error.text
    assert "invalid" in field("subject.uscc").get_attribute("class")
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "online_form_inline_error.png"))

    field("subject.uscc").clear()
    field("subject.uscc").send_keys("91420200AGEWK2AHX8")
    wait.until(lambda d: "校验通过" in d.find_element(By.ID, "check-status").text)
    assert error.text == ""
    browser.find_element(By.ID, "submit-button").click()
    result = browser.find_element(By.ID, "record-result")
    wait.until(lambda d: "提交成功" in result.text)
    browser.save_screenshot(str(ARTIFACTS / "online_form_submitted.png"))
    event_id = re.search(r"事件编号：([0-9a-f]{32})", result.text).group(1)
    event = wait_for(lambda: inbound(service["settings"]).get(event_id), 30, what="the form's event in Kafka")
    assert event["reporting_mode"] == "ONLINE_FORM" and event["source_format"] == "form"
    assert event["subject"]["uscc"] == "91420200AGEWK2AHX8" and event["category"] == "PENALTY"

    # A person: the form asks for sex and ID number instead of USCC.
    browser.find_element(By.CSS_SELECTOR, "input[value='NATURAL_PERSON']").click()
    assert not field("subject.uscc").is_displayed() and field("subject.id_number").is_displayed()
    assert browser.find_element(By.ID, "name-label").text.startswith("姓名")

    # And a zero report from the same page.
    field("zero.catalog").send_keys("SGS-CF")
    field("zero.period").send_keys("2999-01")
    browser.find_element(By.ID, "zero-button").click()
    wait.until(lambda d: "未提交" in d.find_element(By.ID, "zero-result").text)
    assert "尚未开始" in browser.find_element(By.CSS_SELECTOR, "#zero .error[data-for='period']").text
    field("zero.period").clear()
    field("zero.period").send_keys("2024-10")
    browser.find_element(By.ID, "zero-button").click()
    wait.until(lambda d: "零报送已提交" in d.find_element(By.ID, "zero-result").text)
