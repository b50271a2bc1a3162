"""The live page's file: self-contained (no address outside the sink), its policy allows exactly
its inline script and style, it is bilingual, and it shows the panels the sink computes for it."""
from __future__ import annotations

import base64
import hashlib
import re

from dashboards.live_page import PAGE, live_page, live_page_url
from dashboards.live_queries import LIVE_PANELS
from dashboards.panels import find_panel

HTML = PAGE.read_text(encoding="utf-8")


def test_nothing_is_loaded_from_elsewhere():
    for attribute, value in re.findall(r"\b(src|href|action)\s*=\s*[\"']([^\"']*)", HTML):
        assert value.startswith("data:"), f"{attribute}={value}"
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", HTML), "no absolute address but the SVG namespace"
    assert "@import" not in HTML and "url(" not in HTML


def test_policy_allows_exactly_the_inline_script_and_style():
    content_type, body, headers = live_page()
    assert content_type.startswith("text/html") and body.decode() == HTML
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    for tag in ("script", "style"):
        (inline,) = re.findall(rf"<{tag}>(.*?)</{tag}>", HTML, flags=re.S)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert policy[f"{tag}-src"] == f"'sha256-{digest}'"
    assert "style=" not in HTML, "inline style attributes would need 'unsafe-inline'"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_the_token_travels_in_the_fragment_only():
    assert live_page_url("http://127.0.0.1:18124", "abc") == "http://127.0.0.1:18124/live#token=abc"
    assert "Authorization" in HTML and "replaceState" in HTML


def test_labels_are_chinese_with_english():
    for zh, en in [("今日入库", "stored today"), ("入库合格率", "pass rate"), ("退回原因", "Rejections by reason"),
                   ("黑名单流向", "Blacklist flow"), ("时效", "Timeliness")]:
        assert zh in HTML and en in HTML


def test_every_live_panel_is_a_provisioned_clickhouse_panel():
    for key, (uid, panel_id, _window) in LIVE_PANELS.items():
        panel = find_panel(uid, panel_id)
        assert panel is not None, key
        assert f"data.{key}" in HTML, f"the page does not show {key}"
