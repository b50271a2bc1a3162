"""Every route of the ingest service, table-driven: missing, malformed, wrong, revoked and
under-scoped tokens are refused with a problem document; a unit reports only for itself; bodies
and request rates are limited per token (429 with Retry-After)."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from avro_schemas.codec import CREDIT_EVENT, ZERO_REPORT
from creditstream.auth.ratelimit import RateLimiter
from creditstream.auth.tokens import SCOPES, TokenStore
from producers.http_app import IngestContext, Limits, create_app
from tests.unit.test_producer_http import LICENCE, FakeProducer

UNIT = "SAMR-420200"
# Routes anyone may reach: they serve no data (the form page reads nothing until a token is given).
PUBLIC = {("GET", "/healthz"), ("GET", "/"), ("GET", "/form"), ("GET", "/docs"), ("GET", "/openapi.json"),
          ("GET", "/docs/oauth2-redirect")}
# Every guarded route and the scope it needs. A new route missing here fails the coverage test.
GUARDED = {
    ("GET", "/v1/whoami"): "report",
    ("GET", "/v1/tokens"): "admin",
    ("POST", "/v1/tokens"): "admin",
    ("DELETE", "/v1/tokens/{token_id}"): "admin",
    ("POST", "/v1/reports"): "report",
    ("POST", "/v1/reports/check"): "report",
    ("POST", "/v1/zero-reports"): "report",
    ("POST", "/v1/form/check"): "report",
    ("POST", "/v1/form/submit"): "report",
    ("POST", "/v1/form/zero-report"): "report",
}


def make_service(tmp_path, limits: Limits | None = None):
    store = TokenStore(tmp_path / "secrets" / "tokens.json")
    ctx = IngestContext(store=store, events=FakeProducer(CREDIT_EVENT), zero_reports=FakeProducer(ZERO_REPORT),
                        limits=limits or Limits(max_body_bytes=64 * 1024, max_records=50), delivery_timeout=1)
    tokens = {scope: store.create(UNIT, [scope], f"only {scope}")[1] for scope in SCOPES}
    revoked_info, revoked = store.create(UNIT, list(SCOPES), "revoked, every scope")
    store.revoke(revoked_info.id)
    return TestClient(create_app(ctx)), ctx, store, tokens, revoked


@pytest.fixture
def service(tmp_path):
    return make_service(tmp_path)


def routes(app) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, included routers' too (they nest their routes)."""
    found = set()
    for route in app.routes:
        nested = getattr(route, "original_router", None)
        for r in (nested.routes if nested is not None else [route]):
            found |= {(method, r.path) for method in getattr(r, "methods", ()) or () if method != "HEAD"}
    return found


def call(client, method: str, path: str, headers: dict):
    path = path.replace("{token_id}", "deadbeef")
    body = json.dumps([LICENCE] if "reports" in path else {"catalog": "SGS-XK", "period": "2026-01"})
    return client.request(method, path, content=body if method == "POST" else None,
                          headers={**headers, "Content-Type": "application/json"})


def test_the_table_covers_every_route(service):
    client, *_ = service
    assert routes(client.app) == PUBLIC | set(GUARDED), "a route was added: say in GUARDED which scope guards it"


def wrong_tokens(tokens: dict, revoked: str, needed: str) -> dict[str, dict]:
    valid = tokens[needed]
    other_scope = next(s for s in SCOPES if s != needed)
    prefix, token_id, secret = valid.split("_", 2)
    return {
        "missing": ({}, 401),
        "not bearer": ({"Authorization": f"Basic {valid}"}, 401),
        "empty bearer": ({"Authorization": "Bearer "}, 401),
        "garbage": ({"Authorization": "Bearer 123456"}, 401),  # seed 004's default password
        "right id, wrong secret": ({"Authorization": f"Bearer {prefix}_{token_id}_{secret[::-1]}"}, 401),
        "unknown id": ({"Authorization": f"Bearer {prefix}_00000000_{secret}"}, 401),
        "revoked": ({"Authorization": f"Bearer {revoked}"}, 401),
        "under-scoped": ({"Authorization": f"Bearer {tokens[other_scope]}"}, 403),
    }


@pytest.mark.parametrize("method,path", sorted(GUARDED))
def test_every_guarded_route_refuses_missing_wrong_revoked_and_under_scoped_tokens(service, method, path):
    client, ctx, _store, tokens, revoked = service
    for case, (headers, status) in wrong_tokens(tokens, revoked, GUARDED[(method, path)]).items():
        response = call(client, method, path, headers)
        assert response.status_code == status, f"{case}: {response.status_code} {response.text}"
        assert response.headers["content-type"].startswith("application/problem+json"), case
        assert response.json()["status"] == status
        secret = headers.get("Authorization", "").partition(" ")[2]
        if len(secret) > 8:
            assert secret not in response.text, f"{case}: the presented token is echoed back"
    assert not ctx.events.sent and not ctx.zero_reports.sent, "a refused request sent something"
    # and the right token passes the guard (whatever the handler then says of the body)
    response = call(client, method, path, {"Authorization": f"Bearer {tokens[GUARDED[(method, path)]]}"})
    assert response.status_code not in (401, 403), response.text


def test_a_unit_reports_only_for_itself(service):
    client, ctx, _store, tokens, _ = service
    auth = {"Authorization": f"Bearer {tokens['report']}", "Content-Type": "application/json"}
    for path, body in [("/v1/reports", [LICENCE, {**LICENCE, "source_unit": "TAX-420200"}]),
                       ("/v1/reports/check", [{**LICENCE, "unit": "TAX-420200"}]),
                       ("/v1/form/submit", {**LICENCE, "source_unit": "TAX-420200"}),
                       ("/v1/zero-reports", {"catalog": "SGS-XK", "period": "2026-01", "unit": "TAX-420200"}),
                       ("/v1/form/zero-report", {"catalog": "SGS-XK", "period": "2026-01", "source_unit": "X"})]:
        response = client.post(path, content=json.dumps(body, ensure_ascii=False), headers=auth)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["type"].endswith("/forbidden")
    assert not ctx.events.sent and not ctx.zero_reports.sent
    accepted = client.post("/v1/reports", content=json.dumps([LICENCE], ensure_ascii=False), headers=auth)
    assert accepted.status_code == 202 and ctx.events.sent[0][0]["source_unit"] == UNIT


def test_requests_beyond_a_tokens_rate_are_refused_429_and_other_tokens_are_unaffected(tmp_path):
    client, _ctx, store, tokens, _ = make_service(tmp_path, Limits(requests_per_second=0.01, burst=3))
    _, other = store.create(UNIT, ["report"], "another system of the unit")
    answers = [client.get("/v1/whoami", headers={"Authorization": f"Bearer {tokens['report']}"}) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/too-many-requests")
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.get("/v1/whoami", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    # a refused token is refused before the limiter: guessing does not spend anyone's budget
    for _ in range(5):
        assert client.get("/v1/whoami", headers={"Authorization": "Bearer cst_x_y"}).status_code == 401
    assert client.get("/v1/whoami", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_the_bucket_refills_at_the_rate():
    now = [0.0]
    limiter = RateLimiter(rate=2, burst=2, clock=lambda: now[0])
    assert [limiter.take("t") for _ in range(3)][:2] == [0.0, 0.0]
    assert limiter.take("t") == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.take("t") == 0.0 and limiter.take("t") > 0


def test_oversized_bodies_are_refused_413_before_they_are_read_whole(service):
    client, ctx, _store, tokens, _ = service
    auth = {"Authorization": f"Bearer {tokens['report']}", "Content-Type": "application/json"}
    big = json.dumps([LICENCE] * 300, ensure_ascii=False).encode()  # > 64 KiB
    assert len(big) > 64 * 1024
    for path in ("/v1/reports", "/v1/reports/check", "/v1/form/check", "/v1/zero-reports"):
        response = client.post(path, content=big, headers=auth)
        assert response.status_code == 413, (path, response.text)
        assert response.json()["type"].endswith("/too-large")

    def chunks():  # no Content-Length: the limit holds on the stream as read
        for _ in range(100):
            yield b" " * 1024

    response = client.post("/v1/reports", content=chunks(), headers=auth)
    assert response.status_code == 413
    many = json.dumps([LICENCE] * 51, ensure_ascii=False)  # within bytes, beyond max_records=50
    assert len(many) < 64 * 1024
    response = client.post("/v1/reports", content=many, headers=auth)
    assert response.status_code == 413 and "50" in response.json()["detail"]
    assert not ctx.events.sent
