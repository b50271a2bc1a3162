"""The public side of the sink's HTTP server (the sink owns the ClickHouse data):

- GET /public                      the search page (Chinese, for phones too; no token)
- GET /v1/public/search?q=         licences and penalties by name or USCC (no token), per client
                                   address rate-limited: beyond it 429 with a problem document
- GET /v1/public/records/<id>      the non-public detail of one record: a unit token with the
                                   read_detail scope, and every such query recorded
                                   (publication_queries) with its purpose (?purpose=)

Answers are (status, content type, body, headers), so the sink's handler just writes them.
"""
from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from creditstream.auth.http import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE
from creditstream.auth.ratelimit import RateLimiter, retry_after
from creditstream.domain.normalise import CHINA_TZ
from creditstream.publication.rules import load_rules, public_id
from creditstream.publication.search import SearchInputError, find, parse_query
from dashboards.live_page import _hashes as inline_hashes

log = logging.getLogger("creditstream.publication")
PAGE = Path(__file__).resolve().parent / "page.html"
DETAIL_SCOPE = "read_detail"
DETAIL_PREFIX = "/v1/public/records/"
# The detail of a record: what the public search leaves out, still without any clear ID number.
DETAIL_COLUMNS = ("event_id", "source_unit", "catalog", "category", "reporting_mode", "reported_at", "subject_type",
                  "subject_key", "subject_key_kind", "subject_name", "subject_masked", "legal_representative",
                  "legal_representative_id_masked", "document_number", "document_name", "authority", "authority_code",
                  "decision_date", "valid_from", "valid_until", "decision_status", "matter_name", "matter_kind",
                  "cause", "legal_basis", "content", "other_ids", "raw", "flags", "duplicate_of")

Answer = tuple[int, str, bytes, dict]


def _json(status: int, body: dict, headers: dict | None = None, media: str = "application/json; charset=utf-8") -> Answer:
    return status, media, json.dumps(body, ensure_ascii=False, default=str).encode("utf-8"), \
        {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **(headers or {})}


def problem(status: int, title: str, detail: str, kind: str, headers: dict | None = None) -> Answer:
    return _json(status, {"type": PROBLEM_TYPE + kind, "title": title, "status": status, "detail": detail},
                 headers, media=PROBLEM_MEDIA_TYPE)


@lru_cache(maxsize=1)
def page() -> Answer:
    html = PAGE.read_text(encoding="utf-8")
    policy = (f"default-src 'none'; script-src {inline_hashes(html, 'script')}; "
              f"style-src {inline_hashes(html, 'style')}; connect-src 'self'; base-uri 'none'; form-action 'self'; "
              "frame-ancestors 'none'")
    return 200, "text/html; charset=utf-8", html.encode("utf-8"), {
        "Content-Security-Policy": policy, "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


class Publication:
    def __init__(self, client, database: str, token_store, rules, repair_catalogs: list[str],
                 rate_per_second: float, burst: int, clock_offset_days: int = 0):
        self.client, self.database, self.tokens, self.rules = client, database, token_store, rules
        self.repair_catalogs = repair_catalogs
        self.limiter = RateLimiter(rate_per_second, burst)
        self.clock_offset_days = clock_offset_days

    @classmethod
    def for_settings(cls, client, settings) -> "Publication":
        from creditstream.auth.tokens import TokenStore
        from creditstream.domain.catalog import load_catalog

        catalog = load_catalog(settings.worker_unit_catalog or None)
        repair = sorted(code for code, spec in catalog.indicator_sets.items() if spec.effect == "repair")
        return cls(client, settings.clickhouse_database, TokenStore.for_settings(settings),
                   load_rules(settings.publication_rules or None), repair, settings.publication_rate_per_second,
                   settings.publication_rate_burst, settings.worker_clock_offset_days)

    @staticmethod
    def handles(path: str) -> bool:
        return path == "/public" or path.startswith("/v1/public/")

    def today(self):
        from datetime import timedelta
        return (datetime.now(CHINA_TZ) + timedelta(days=self.clock_offset_days)).date()

    def answer(self, path: str, query: dict[str, list[str]], authorization: str | None, client_address: str) -> Answer:
        if path == "/public":
            return page()
        if path == "/v1/public/search":
            wait = self.limiter.take(client_address)
            if wait:
                return problem(429, "请求过于频繁 too many requests",
                               f"at most {self.limiter.rate:g} searches a second from one address "
                               f"(bursts of {self.limiter.burst:g}); retry after the delay", "too-many-requests",
                               {"Retry-After": retry_after(wait)})
            try:
                parsed = parse_query((query.get("q") or [""])[-1])
            except SearchInputError as exc:
                return problem(400, "查询条件有误 invalid search", str(exc), "invalid-request")
            return _json(200, find(self.client, self.database, parsed, self.rules, self.repair_catalogs, self.today()))
        if path.startswith(DETAIL_PREFIX):
            return self.detail(path[len(DETAIL_PREFIX):], query, authorization, client_address)
        return problem(404, "未找到 not found", f"no route {path}", "not-found")

    def detail(self, record_id: str, query: dict, authorization: str | None, client_address: str) -> Answer:
        scheme, _, presented = (authorization or "").partition(" ")
        token = self.tokens.authenticate(presented.strip() if scheme.lower() == "bearer" else None)
        if token is None:
            return problem(401, "令牌无效 unauthorized", "the detail of a record is not public: send "
                           "'Authorization: Bearer <unit token>'", "unauthorized",
                           {"WWW-Authenticate": 'Bearer realm="creditstream"'})
        if not token.allows(DETAIL_SCOPE):
            return problem(403, "权限不足 forbidden", f"token {token.id} lacks the scope {DETAIL_SCOPE!r}", "forbidden")
        if not record_id or len(record_id) > 64 or not record_id.replace("-", "").isalnum():
            return problem(400, "记录编号有误 invalid record id", "a record id is up to 64 letters and digits",
                           "invalid-request")
        purpose = (query.get("purpose") or [None])[-1]
        if purpose is not None and len(purpose) > 200:
            return problem(400, "用途过长 purpose too long", "purpose is at most 200 characters", "invalid-request")
        result = self.client.query(f"SELECT {', '.join(DETAIL_COLUMNS)} FROM {self.database}.records "
                                   "WHERE event_id = {id:String} LIMIT 1", parameters={"id": record_id})
        row = dict(zip(DETAIL_COLUMNS, result.result_rows[0])) if result.result_rows else None
        # Recorded before answering: a query that cannot be recorded is not answered.
        self.client.insert(f"{self.database}.publication_queries",
                           [[secrets.token_hex(8), datetime.now(timezone.utc), token.id, token.unit, client_address,
                             record_id, row["subject_key"] if row else "", row["category"] if row else "", purpose,
                             row is not None]],
                           column_names=["query_id", "at", "token_id", "unit", "client_address", "record_id",
                                         "subject_key", "category", "purpose", "found"])
        log.info("detail of record %s asked by token %s (%s)", record_id, token.id, token.unit)
        if row is None:
            return problem(404, "未找到 not found", f"no record {record_id}", "not-found")
        row["subject_id"] = public_id(row)
        del row["subject_key"]  # a person's pseudonym, or the USCC already in subject_id
        return _json(200, {"record": row, "recorded": True})
