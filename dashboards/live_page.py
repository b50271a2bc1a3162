"""The live page (dashboards/live/index.html) as the sink serves it at /live.

The page itself holds no data, so it is served without the token; it reads /v1/live with the token
it takes from the address fragment (#token=...), which browsers never send to a server. Its only
script and style are inline, and the Content-Security-Policy allows exactly those (by hash) and
requests to this origin: no CDN, nothing external, nothing injected.
"""
from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path

PAGE = Path(__file__).resolve().parent / "live" / "index.html"
PATH = "/live"


def _hashes(html: str, tag: str) -> str:
    bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.S)
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in bodies)


@lru_cache(maxsize=1)
def live_page() -> tuple[str, bytes, dict[str, str]]:
    """(content type, body, headers) of the page."""
    html = PAGE.read_text(encoding="utf-8")
    policy = (f"default-src 'none'; script-src {_hashes(html, 'script')}; style-src {_hashes(html, 'style')}; "
              "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    headers = {"Content-Security-Policy": policy, "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
               "X-Content-Type-Options": "nosniff"}
    return "text/html; charset=utf-8", html.encode("utf-8"), headers


def live_pages() -> dict[str, tuple[str, bytes, dict[str, str]]]:
    return {PATH: live_page()}


def live_page_url(base_url: str, token: str) -> str:
    """The address `creditstream up` prints: the token in the fragment stays in the browser."""
    return f"{base_url}{PATH}#token={token}"
