"""The live page, served by the sink, opened in headless Chromium while the feed runs: its counts
appear and change, the token leaves the address bar, and the browser reports no blocked or failed
request (the page loads nothing from outside, its policy allows only its own script and style).
A screenshot is saved under test-artifacts/."""
from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from creditstream.service_token import service_token
from dashboards.live_page import live_page_url
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("chromedriver") is None,
                                 reason="Debian packages chromium and chromium-driver, installed by "
                                        "scripts/install-system-deps")]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1600,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def number(driver, element_id: str) -> int | None:
    text = driver.find_element("id", element_id).text.replace(",", "").strip()
    return int(text) if text.isdigit() else None


def test_page_is_public_and_its_data_needs_the_token(observed_stack):
    base = observed_stack.settings.sink_url
    with urllib.request.urlopen(base + "/live", timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
        html = response.read().decode()
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "公共信用信息" in html
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(base + "/v1/live", timeout=10)
    assert caught.value.code == 401
    live = observed_stack.sink.get("/v1/live", timeout=30)
    assert {"units", "throughput", "rejects", "timeliness", "blacklist_size", "blacklist_flow"} <= set(live)


def test_counts_change_while_the_feed_runs(observed_stack, browser):
    settings = observed_stack.settings
    browser.get(live_page_url(settings.sink_url, service_token(settings)))
    first = wait_for(lambda: number(browser, "kpi-records"), 180, what="the page to show today's stored records")
    wait_for(lambda: (number(browser, "kpi-records") or 0) > first, 120,
             what="the stored-records count to grow while the feed runs")
    wait_for(lambda: browser.find_elements("css selector", "#units tr"), 30, what="rows per unit")
    wait_for(lambda: browser.find_elements("css selector", "#rejects .row"), 60, what="rejections by reason")
    assert "token" not in browser.current_url, "the token must not stay in the address bar"
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "live-page.png"))
    # A request the policy blocked, or that failed, shows in the browser's console as SEVERE.
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == [], json.dumps(severe, ensure_ascii=False)


def test_page_without_a_token_says_so(observed_stack, browser):
    browser.get(observed_stack.settings.sink_url + "/live")
    browser.execute_script("sessionStorage.clear()")  # forget a token an earlier visit kept
    browser.refresh()
    wait_for(lambda: "token required" in browser.find_element("id", "status").text, 30,
             what="the page to ask for the token")
    assert number(browser, "kpi-records") is None
