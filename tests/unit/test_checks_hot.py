"""The hot paths (checks.hot) against FastAPI's own: POST /v1/checks and GET /v1/subjects/{id}/status
give the same answers, the same errors (problem documents naming the field) and the same audit
records whichever path answers; the plain case never reaches FastAPI, everything else does; what
the hot path takes as plain, the request model reads to the same values."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.api import CheckRequest, create_app
from checks.hot import HotPaths, PlainCheck
from checks.index import listed_name
from checks.names import MAX_NAME_CHARS, NameIndex
from checks.service import CheckLimits
from tests.unit.test_checks_api import CLEAN_USCC, PERSON, UNIT, USCC, audit_records, auth, make

VOLATILE = {"check_id", "age_ms", "checked_at"}


def _steady(value):
    """An answer without what differs from one call to the next (check ids, ages)."""
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


def _records(service):
    """The audit records sent since the last call."""
    records = [_steady({k: v for k, v in r.items() if k != "requested_at"}) for r in audit_records(service)]
    return records


@pytest.fixture
def both(tmp_path):
    """Two apps over one service: with the hot paths, and every request through FastAPI."""
    hot, service, tokens, _ = make(tmp_path)
    service.index.names = NameIndex.build((k, listed_name(e)) for k, e in service.index.entries.items())
    return hot, TestClient(create_app(service, hot_paths=False)), service, tokens


def _hot_layer(client: TestClient) -> HotPaths:
    assert isinstance(client.app.hot, HotPaths)
    return client.app.hot


class Counting:
    def __init__(self, app):
        self.app, self.calls = app, 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        await self.app(scope, receive, send)


M = {"kind": "行政审批", "name": "食品经营许可", "reference": "SP-1"}
CHECKS = [  # (body or raw bytes, content type, token name, answered by the hot path)
    ({"matter": M, "subject": {"id": USCC}}, "application/json", "check", True),
    ({"matter": {"kind": "x"}, "subject": {"id": USCC.lower()}}, "application/json", "check", True),
    ({"matter": M, "subject": {"id": PERSON, "name": "张三"}}, "application/json", "check", True),
    ({"matter": M, "subject": {"id": "110101900307457"}}, "application/json", "check", True),
    ({"matter": M, "subject": {"id": CLEAN_USCC}, "requesting_unit": UNIT}, "application/json", "check", True),
    ({"matter": {"kind": "x", "name": None}, "subject": {"id": CLEAN_USCC, "name": None}}, "application/json", "check", True),
    ({"matter": M, "subject": {"name": "黄石恒达建工有限责任公司"}}, "application/json", "check", True),
    ({"matter": M, "subject": {"name": "武汉某某商贸有限公司"}}, "application/json", "check", True),
    ({"matter": M, "subject": {"id": "3423011964****3224"}}, "application/json", "check", True),
    ({"matter": M, "subject": {"id": "not-an-id"}}, "application/json", "check", True),
    ({"matter": M, "subject": {"id": USCC}, "requesting_unit": "OTHER-UNIT"}, "application/json", "check", True),
    ({"matter": M, "subject": {"name": "x" * MAX_NAME_CHARS}}, "application/json", "check", True),
    ({"matter": M, "subject": {"id": USCC}}, "application/json", "object", True),
    ({"matter": M, "subject": {"id": USCC}}, "application/json", "revoked", True),
    ({"matter": M, "subject": {"id": USCC}}, "application/json", None, True),
    # the model's cases: FastAPI answers
    ({"matter": {"kind": "  行政审批 "}, "subject": {"id": f" {USCC}\t"}}, "application/json", "check", False),
    ({"matter": M, "subject": {"id": USCC}, "requesting_unit": f" {UNIT} "}, "application/json", "check", False),
    ({"subject": {"id": USCC}}, "application/json", "check", False),
    ({"matter": {"kind": ""}, "subject": {"id": USCC}}, "application/json", "check", False),
    ({"matter": {"kind": "x" * 101}, "subject": {"id": USCC}}, "application/json", "check", False),
    ({"matter": M, "subject": {"id": USCC}, "extra": 1}, "application/json", "check", False),
    ({"matter": {**M, "extra": 1}, "subject": {"id": USCC}}, "application/json", "check", False),
    ({"matter": M, "subject": {}}, "application/json", "check", False),
    ({"matter": M, "subject": {"id": None, "name": None}}, "application/json", "check", False),
    ({"matter": M, "subject": {"id": 91110000}}, "application/json", "check", False),
    ({"matter": M, "subject": {"id": "9" * 65}}, "application/json", "check", False),
    ({"matter": M, "subject": {"id": ""}}, "application/json", "check", False),
    ({"matter": M, "subject": {"name": "x" * (MAX_NAME_CHARS + 1)}}, "application/json", "check", False),
    ({"matter": M, "subject": USCC}, "application/json", "check", False),
    ([{"matter": M, "subject": {"id": USCC}}], "application/json", "check", False),
    ({"matter": {"kind": "x"}, "subject": {"id": USCC}}, "application/json; charset=utf-8", "check", False),
    ({"matter": {"kind": "x"}, "subject": {"id": USCC}}, "text/plain", "check", False),
    ({"matter": {"kind": "x"}, "subject": {"id": USCC}}, None, "check", False),
    ({"subject": {"id": USCC}}, "application/json", None, False),
    (b"{not json", "application/json", "check", False),
    (b"", "application/json", "check", False),
    (b"\xff\xfe{", "application/json", "check", False),
    (b'{"matter": {"kind": "x"}, "subject": {"id": NaN}}', "application/json", "check", False),
]


def _post(client, tokens, body, content_type, token):
    headers = auth(tokens[token]) if token else {}
    if content_type:
        headers["content-type"] = content_type
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/v1/checks", content=content, headers=headers)


def _same(hot_response, plain_response):
    assert hot_response.status_code == plain_response.status_code, (hot_response.text, plain_response.text)
    assert hot_response.headers == plain_response.headers or hot_response.status_code == 200
    if hot_response.status_code == 200:  # the same but for the content-length (check ids, ages)
        assert {k: v for k, v in hot_response.headers.items() if k != "content-length"} == \
            {k: v for k, v in plain_response.headers.items() if k != "content-length"}
    else:
        assert hot_response.headers["content-type"] == "application/problem+json"
    assert _steady(hot_response.json()) == _steady(plain_response.json())


@pytest.mark.parametrize("body, content_type, token, hot", CHECKS)
def test_a_check_answers_and_records_the_same_on_either_path(both, body, content_type, token, hot):
    hot_client, plain_client, service, tokens = both
    layer = _hot_layer(hot_client)
    layer.app = counting = Counting(layer.app)
    hot_response = _post(hot_client, tokens, body, content_type, token)
    hot_records = _records(service)
    plain_response = _post(plain_client, tokens, body, content_type, token)
    _same(hot_response, plain_response)
    assert counting.calls == (0 if hot else 1), "the plain case never reaches FastAPI; the others always do"
    assert hot_records == _records(service)
    assert len(hot_records) == (hot_response.status_code == 200)


def test_validation_errors_name_the_field_on_either_path(both):
    hot_client, _, _, tokens = both
    for body, field in (({"subject": {"id": USCC}}, "body.matter"), ({"matter": {"kind": ""}, "subject": {"id": USCC}},
                                                                     "body.matter.kind"),
                        ({"matter": M, "subject": {"id": "3423011964****3224"}}, "subject.id"),
                        ({"matter": M, "subject": {"id": USCC}, "extra": 1}, "body.extra")):
        response = hot_client.post("/v1/checks", json=body, headers=auth(tokens["check"]))
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
        assert field in [p["field"] for p in response.json()["problems"]]


STATUS = [  # (path, token name, answered by the hot path)
    (f"/v1/subjects/{USCC}/status", "check", True),
    (f"/v1/subjects/{USCC.lower()}/status", "check", True),
    (f"/v1/subjects/{PERSON}/status", "check", True),
    ("/v1/subjects/110101900307457/status", "check", True),
    (f"/v1/subjects/{CLEAN_USCC}/status", "check", True),
    ("/v1/subjects/not-an-id/status", "check", True),
    ("/v1/subjects/3423011964****3224/status", "check", True),
    (f"/v1/subjects/{USCC}/status", "object", True),
    (f"/v1/subjects/{USCC}/status", "revoked", True),
    (f"/v1/subjects/{USCC}/status", None, True),
    (f"/v1/subjects/{'9' * 65}/status", "check", False),
    (f"/v1/subjects/{USCC}/status?personal=false", "check", False),
    (f"/v1/subjects/{PERSON}/status?personal=true&authorization=SQ-1", "check+personal", False),
    (f"/v1/subjects/{PERSON}/status?personal=true", "check+personal", False),
    (f"/v1/subjects/{PERSON}/status?personal=maybe", "check", False),
]


@pytest.mark.parametrize("path, token, hot", STATUS)
def test_status_answers_the_same_on_either_path(both, path, token, hot):
    hot_client, plain_client, service, tokens = both
    layer = _hot_layer(hot_client)
    layer.app = counting = Counting(layer.app)
    hot_response = hot_client.get(path, headers=auth(tokens[token]) if token else {})
    hot_records = _records(service)
    plain_response = plain_client.get(path, headers=auth(tokens[token]) if token else {})
    _same(hot_response, plain_response)
    assert counting.calls == (0 if hot else 1)
    assert hot_records == _records(service)


def test_not_ready_rate_limit_and_body_limit_on_the_hot_path(tmp_path):
    client, service, tokens, _ = make(tmp_path, CheckLimits(max_body_bytes=1000, rate_per_token=1, burst_per_token=2))
    body = {"matter": {"kind": "x"}, "subject": {"id": USCC}}
    service.index.follower.ready.clear()
    unready = client.post("/v1/checks", json=body, headers=auth(tokens["check"]))
    assert unready.status_code == 503 and unready.headers["retry-after"] == "1"
    assert unready.headers["content-type"] == "application/problem+json"
    service.index.follower.ready.set()
    assert client.post("/v1/checks", json=body, headers=auth(tokens["check"])).status_code == 200
    limited = client.get(f"/v1/subjects/{USCC}/status", headers=auth(tokens["check"]))
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert limited.json()["type"].endswith("too-many-requests")
    big = {"matter": {"kind": "x", "name": "x" * 400}, "subject": {"id": USCC}, "requesting_unit": "x" * 90}
    large = client.post("/v1/checks", content=json.dumps([big] * 5).encode(),
                        headers={**auth(tokens["check"]), "content-type": "application/json"})
    assert large.status_code == 413 and large.headers["content-type"] == "application/problem+json"


def test_a_revocation_takes_effect_at_the_next_hot_request(tmp_path):
    client, service, _, _ = make(tmp_path)
    info, token = service.tokens.create(UNIT, ["check"], "soon revoked")
    path = f"/v1/subjects/{USCC}/status"
    assert client.get(path, headers=auth(token)).status_code == 200
    service.tokens.revoke(info.id)
    assert client.get(path, headers=auth(token)).status_code == 401


_text = st.one_of(st.none(), st.integers(), st.just(""), st.just(" "), st.text(max_size=3),
                  st.text(max_size=3).map(lambda s: f" {s}"), st.text(max_size=3).map(lambda s: f"{s}\u3000"),
                  st.sampled_from([USCC, PERSON, "x" * 64, "x" * 65, "x" * 100, "x" * 101, "x" * 200, "x" * 201,
                                   "x" * 500, "x" * 501, "\x1c" + USCC, USCC + "\x85"]))
_matter = st.one_of(st.dictionaries(st.sampled_from(["kind", "name", "reference", "other"]), _text, max_size=4),
                    _text)
_subject = st.one_of(st.dictionaries(st.sampled_from(["id", "name", "other"]), _text, max_size=3), _text)
_body = st.one_of(st.dictionaries(st.sampled_from(["matter", "subject", "requesting_unit", "extra"]),
                                  st.one_of(_matter, _subject, _text), max_size=4),
                  st.fixed_dictionaries({"matter": _matter, "subject": _subject}),
                  st.fixed_dictionaries({"matter": _matter, "subject": _subject}, optional={"requesting_unit": _text}))


@given(body=_body)
@settings(max_examples=3000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_what_the_hot_path_takes_as_plain_the_model_reads_the_same(body):
    fields = PlainCheck(100, 500, 64, MAX_NAME_CHARS)(body)
    if fields is None:
        return  # the model's case: FastAPI reads it
    model = CheckRequest.model_validate(body)
    assert fields == (model.matter.model_dump(), model.subject.id, model.subject.name, model.requesting_unit)


def test_an_unexpected_failure_is_the_same_bare_500_on_either_path(both):
    hot_client, plain_client, service, tokens = both
    hot_client, plain_client = (TestClient(c.app, raise_server_exceptions=False) for c in (hot_client, plain_client))

    def broken(_key):
        raise RuntimeError("index failure with internals")
    service.index.get = broken
    for client in (hot_client, plain_client):
        for response in (client.get(f"/v1/subjects/{USCC}/status", headers=auth(tokens["check"])),
                         client.post("/v1/checks", json={"matter": M, "subject": {"id": USCC}},
                                     headers=auth(tokens["check"]))):
            assert response.status_code == 500 and response.text == "Internal Server Error"


def test_a_failure_inside_fastapi_after_a_hand_over_is_answered_once(both, monkeypatch):
    hot_client, _, service, tokens = both
    client = TestClient(hot_client.app, raise_server_exceptions=False)
    monkeypatch.setattr(service.index.names, "search", lambda name: 1 / 0)  # name checks are FastAPI's when stripped
    response = client.post("/v1/checks", json={"matter": M, "subject": {"name": " 某公司 "}}, headers=auth(tokens["check"]))
    assert response.status_code == 500 and response.text == "Internal Server Error"


def test_a_declared_length_over_the_limit_is_413_on_both_hot_routes(tmp_path):
    client, _, tokens, _ = make(tmp_path, CheckLimits(max_body_bytes=100))
    for method, path in (("POST", "/v1/checks"), ("GET", f"/v1/subjects/{USCC}/status")):
        response = client.request(method, path, content=b"x" * 101, headers=auth(tokens["check"]))
        assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"
