"""The ingest service fed hostile bodies on every POST route (HTTP push, its check, the online
form, zero reports): arbitrary JSON, raw bytes, wrong media types, lone surrogates, deep nesting.
Never a 500; every refusal a problem document; every 202 a receipt per record; every record of a
422 named by its index."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings, strategies as st

from producers.http_app import Limits
from tests.fuzz.strategies import json_values, nasty_text
from tests.security.test_ingest_access import make_service
from tests.unit.test_producer_http import LICENCE

ROUTES = ["/v1/reports", "/v1/reports/check", "/v1/form/check", "/v1/form/submit", "/v1/zero-reports",
          "/v1/form/zero-report"]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
ANSWERS = {200, 202, 400, 403, 413, 415, 422}


def service(tmp_path):
    return make_service(tmp_path, Limits(max_body_bytes=64 * 1024, max_records=50, requests_per_second=1e6,
                                         burst=10**6))


def licence_like(values: dict) -> list[dict]:
    return [{**LICENCE, **values}]


bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.dictionaries(st.sampled_from(sorted(LICENCE)), nasty_text, max_size=6)
      .map(lambda d: json.dumps(licence_like(d), ensure_ascii=False).encode("utf-8", "surrogatepass")),
    # valid records with hostile extra columns and free-text fields: these are accepted, so the
    # accepted path (mapping, encoding, receipts) meets the hostile values too
    st.dictionaries(st.one_of(nasty_text, st.sampled_from(["XK_NR", "XK_XMMC", "宗教信仰", "备注"])), nasty_text,
                    max_size=5).map(lambda d: json.dumps(licence_like(d), ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.binary(max_size=500),
)


def check_answer(route: str, response, body: bytes, ctx, sent_before: int) -> None:
    assert response.status_code in ANSWERS, f"{route}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), response.text[:200]
        problem = response.json()
        assert problem["status"] == response.status_code and problem["title"]
        assert len(ctx.events.sent) == sent_before, "a refused request sent records"
        if problem["type"].endswith("/rejected-records") and "problems" in problem:
            records = json.loads(body) if route.startswith("/v1/reports") else [None]
            for p in problem["problems"]:
                assert p["record"] is None or 0 <= p["record"] < len(records)
                assert p["code"] and "message" in p
    elif route in ("/v1/reports", "/v1/form/submit"):
        answer = response.json()
        receipts = answer["receipts"] if route == "/v1/reports" else [answer]
        assert len(ctx.events.sent) - sent_before == len(receipts), "one receipt per record sent"


@FUZZ
@given(route=st.sampled_from(ROUTES), body=bodies,
       media=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", None]))
@example(route="/v1/reports", body=b"[" * 100_000 + b"]" * 100_000, media="application/json")
@example(route="/v1/reports", body=b'[{"XK_WSH": 1' + b"0" * 5000 + b"}]", media="application/json")
@example(route="/v1/reports", body=b'[{"XK_WSH": "\\ud800", "XK_XDR_SHXYM": "91420200EKB845UM02"}]',
         media="application/json")
@example(route="/v1/form/submit", body=json.dumps({**LICENCE, "XK_XDR": "\ud800"}).encode(), media="application/json")
@example(route="/v1/reports", body=json.dumps([{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": {
    "l": {"m": {"n": {"o": {"p": {"q": {"r": 1}}}}}}}}}}}}}}}}}}]).encode(), media="application/json")
@example(route="/v1/zero-reports", body=b'{"catalog": "SGS-XK", "period": "99999-99"}', media="application/json")
@example(route="/v1/zero-reports", body=b'{"catalog": "SGS-XK", "period": "2026-W99"}', media="application/json")
@example(route="/v1/zero-reports", body=b'{"catalog": ["x"], "period": {"a": 1}, "note": [1]}', media="application/json")
@example(route="/v1/reports", body=b"\xff\xfe[]", media="application/json")
def test_hostile_bodies_are_answered_never_crashed_on(tmp_path_factory, route, body, media):
    client, ctx, _store, tokens, _ = service(tmp_path_factory.mktemp("fuzz-http"))
    headers = {"Authorization": f"Bearer {tokens['report']}"}
    if media:
        headers["Content-Type"] = media
    before = len(ctx.events.sent)
    response = client.post(route, content=body, headers=headers)
    check_answer(route, response, body, ctx, before)
