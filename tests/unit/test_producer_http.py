"""The ingest service as a unit's system and a clerk meet it: tokens, all-or-nothing pushes with
receipts, problem documents that name each problem, size limits, zero reports, the form's endpoints."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from avro_schemas.codec import CREDIT_EVENT, ZERO_REPORT, codec
from creditstream.auth.tokens import TokenStore
from producers.http_app import IngestContext, Limits, create_app

UNIT = "SAMR-420200"


class FakeProducer:
    """Stands in for a CreditProducer: encodes (so the schema is enforced), acknowledges or fails."""

    def __init__(self, record: str, fail: bool = False):
        self.encode = codec(record).encode
        self.fail = fail
        self.sent: list[tuple[dict, str | None]] = []
        self._pending = []

    def send(self, record, key=None, on_delivery=None):
        self.encode(record)
        self.sent.append((record, key))
        self._pending.append(on_delivery)

    def flush(self, timeout=0):
        error = type("Error", (), {"name": staticmethod(lambda: "_MSG_TIMED_OUT")})() if self.fail else None
        for callback in self._pending:
            if callback:
                callback(error)
        self._pending.clear()
        return 0


@pytest.fixture
def service(tmp_path):
    store = TokenStore(tmp_path / "secrets" / "tokens.json")
    ctx = IngestContext(store=store, events=FakeProducer(CREDIT_EVENT), zero_reports=FakeProducer(ZERO_REPORT),
                        limits=Limits(max_body_bytes=64 * 1024, max_records=50), delivery_timeout=1)
    _, reporter = store.create(UNIT, ["report"], "clerk")
    _, checker = store.create(UNIT, ["check"], "window")
    client = TestClient(create_app(ctx))
    return {"client": client, "ctx": ctx, "store": store, "reporter": reporter, "checker": checker}


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


LICENCE = {"XK_WSH": "鄂黄市监许字〔2024〕0101号", "XK_XMMC": "食品经营许可", "XK_XDR": "黄石恒达商贸有限公司",
           "XK_XDR_SHXYM": "91420200EKB845UM02", "XK_JDRQ": "2024-03-01", "XK_JZQ": "2099-12-31",
           "XK_XZJG": "黄石市市场监督管理局", "XK_NR": "预包装食品销售"}
PERSON_LICENCE = {**LICENCE, "XK_WSH": "鄂黄市监许字〔2024〕0103号", "XK_XDR": "张芳", "XK_XDR_SHXYM": "",
                  "XK_XDR_SFZ": "420202198811241149"}


def push(service, records, token=None, **params):
    return service["client"].post("/v1/reports", params=params, content=json.dumps(records, ensure_ascii=False),
                                  headers={**auth(token or service["reporter"]), "Content-Type": "application/json"})


def test_push_answers_202_with_a_receipt_per_record_after_kafka_acknowledged(service):
    response = push(service, [LICENCE, PERSON_LICENCE])
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 2 and body["unit"] == UNIT and body["layout"] == "sgs_licence_2016"
    sent = [event for event, _ in service["ctx"].events.sent]
    assert [r["event_id"] for r in body["receipts"]] == [e["event_id"] for e in sent]
    assert body["receipts"][1]["subject"] == "4202021988****1149"  # a person's id is masked in the receipt
    assert all(e["source_unit"] == UNIT and e["reporting_mode"] == "INTERFACE" and e["source_format"] == "http"
               for e in sent)
    assert sent[0]["reported_by"].startswith("token:")


def test_the_same_records_pushed_twice_get_the_same_event_ids(service):
    first = push(service, [LICENCE]).json()["receipts"][0]["event_id"]
    assert push(service, [LICENCE]).json()["receipts"][0]["event_id"] == first


def test_one_bad_record_refuses_the_whole_request_and_names_it(service):
    bad = {**LICENCE, "XK_WSH": "另一号", "XK_XDR_SHXYM": "91420200AGEWK2AHX9"}
    response = push(service, [LICENCE, bad])
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["accepted"] == 0 and body["status"] == 422
    assert [(p["record"], p["field"], p["code"]) for p in body["problems"]] == [(1, "subject.uscc", "invalid_uscc")]
    assert service["ctx"].events.sent == []  # no partial, silent acceptance


def test_a_unit_reports_only_for_itself(service):
    response = push(service, [{**LICENCE, "source_unit": "TAX-420200"}])
    assert response.status_code == 403 and "TAX-420200" in response.json()["detail"]
    assert service["ctx"].events.sent == []


@pytest.mark.parametrize("headers, status", [({}, 401), ({"Authorization": "Bearer cst_00000000_nope"}, 401),
                                             ({"Authorization": "Basic dXNlcjoxMjM0NTY="}, 401)])
def test_no_or_wrong_token_is_401_with_a_bearer_challenge(service, headers, status):
    response = service["client"].post("/v1/reports", json=[LICENCE], headers=headers)
    assert response.status_code == status
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["type"].endswith("/unauthorized")


def test_a_token_without_the_report_scope_is_403(service):
    response = push(service, [LICENCE], token=service["checker"])
    assert response.status_code == 403 and "report" in response.json()["detail"]


def test_a_revoked_token_is_refused_at_the_next_request(service):
    assert push(service, [LICENCE]).status_code == 202
    info = next(t for t in service["store"].list() if t.label == "clerk")
    service["store"].revoke(info.id)
    assert push(service, [LICENCE]).status_code == 401


@pytest.mark.parametrize("body, content_type, status, kind", [
    ("{\"not\": \"an array\"}", "application/json", 422, "invalid-request"),
    ("[]", "application/json", 422, "invalid-request"),
    ("[{\"XK_WSH\": ", "application/json", 400, "bad-json"),
    ("XK_WSH,XK_XDR\n1,2\n", "text/csv", 415, "unsupported-media-type"),
    ("[" + ",".join(["{}"] * 51) + "]", "application/json", 413, "too-large"),
    ("[\"" + "x" * 70_000 + "\"]", "application/json", 413, "too-large"),
    ("[1, 2]", "application/json", 422, "rejected-records"),
    ("[{\"a\": 1, \"b\": 2}]", "application/json", 422, "layout"),
])
def test_malformed_requests_get_a_problem_document(service, body, content_type, status, kind):
    response = service["client"].post("/v1/reports", content=body.encode(),
                                      headers={**auth(service["reporter"]), "Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.json()["type"].endswith("/" + kind)
    assert service["ctx"].events.sent == []


def test_overlong_values_are_named(service):
    response = push(service, [{**LICENCE, "XK_NR": "长" * 5000}])
    assert response.status_code == 422
    assert response.json()["problems"] == [{"record": 0, "code": "value_too_long", "field": "XK_NR",
                                            "message": "字段过长 longer than 4000 characters"}]


def test_broker_not_acknowledging_is_503_and_says_resending_is_safe(service):
    service["ctx"].events.fail = True
    response = push(service, [LICENCE])
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert "not doubled" in response.json()["detail"]


def test_platform_field_names_nested_or_dotted_and_an_unknown_category(service):
    nested = {"category": "行政处罚", "subject": {"type": "LEGAL_PERSON", "name": "黄石建工集团有限公司",
                                                 "uscc": "91420200KN1PC5NYE0"},
              "decision": {"document_number": "黄环罚〔2024〕12号", "date": "2024-04-02",
                           "authority": "黄石市生态环境局"},
              "matter": {"name": "行政处罚", "cause": "未批先建"}}
    response = push(service, [nested])
    assert response.status_code == 202, response.text
    event = service["ctx"].events.sent[0][0]
    assert event["category"] == "PENALTY" and event["catalog"] == "SGS-CF"
    assert event["subject"]["uscc"] == "91420200KN1PC5NYE0"
    response = push(service, [{**nested, "category": "不知道"}])
    assert response.status_code == 422
    assert {"record": 0, "code": "unknown_category", "field": "category",
            "message": "信息类别取值未知 unknown category value"} in response.json()["problems"]


def test_check_gives_verdicts_and_sends_nothing(service):
    bad = {**LICENCE, "XK_XDR_SHXYM": "91420200AGEWK2AHX9"}
    response = service["client"].post("/v1/reports/check", json=[LICENCE, bad], headers=auth(service["reporter"]))
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["records"]] == ["accepted", "rejected"]
    assert service["ctx"].events.sent == []


def test_zero_report_over_http(service):
    response = service["client"].post("/v1/zero-reports", json={"catalog": "SGS-XK", "period": "2024-11"},
                                      headers=auth(service["reporter"]))
    assert response.status_code == 202, response.text
    assert response.json()["receipt"]["period"] == "2024-11"
    report, key = service["ctx"].zero_reports.sent[0]
    assert report["source_unit"] == UNIT and report["reporting_mode"] == "INTERFACE" and key == f"{UNIT}|SGS-XK|2024-11"


@pytest.mark.parametrize("body, status, field", [
    ({"catalog": "SGS-XK", "period": "2999-01"}, 422, "period"),
    ({"catalog": "SGS-XK", "period": "11/2024"}, 422, "period"),
    ({"period": "2024-11"}, 422, "catalog"),
    ({"catalog": "SGS-XK", "period": "2024-11", "unit": "TAX-420200"}, 403, None),
])
def test_bad_zero_reports_are_refused(service, body, status, field):
    response = service["client"].post("/v1/zero-reports", json=body, headers=auth(service["reporter"]))
    assert response.status_code == status
    if field:
        assert response.json()["problems"][0]["field"] == field
    assert service["ctx"].zero_reports.sent == []


def test_admin_token_manages_unit_tokens_and_unit_tokens_cannot(service):
    admin = service["store"].bootstrap_admin()
    assert admin and service["store"].bootstrap_admin() is None  # shown once, never made twice
    client = service["client"]
    assert client.get("/v1/tokens", headers=auth(service["reporter"])).status_code == 403
    created = client.post("/v1/tokens", json={"unit": "COURT-420200", "scopes": ["report"], "label": "court system"},
                          headers=auth(admin))
    assert created.status_code == 201
    new = created.json()
    assert client.get("/v1/whoami", headers=auth(new["token"])).json()["unit"] == "COURT-420200"
    listed = client.get("/v1/tokens", headers=auth(admin)).json()["tokens"]
    assert all("sha256" not in t and "token" not in t for t in listed)
    assert client.delete(f"/v1/tokens/{new['id']}", headers=auth(admin)).status_code == 200
    assert client.get("/v1/whoami", headers=auth(new["token"])).status_code == 401
    bad = client.post("/v1/tokens", json={"unit": "X", "scopes": ["everything"]}, headers=auth(admin))
    assert bad.status_code == 422


def test_form_page_and_its_endpoints(service):
    client = service["client"]
    page = client.get("/form")
    assert page.status_code == 200 and "公共信用信息在线填报" in page.text
    record = {"category": "PENALTY", "subject.type": "NATURAL_PERSON", "subject.name": "王伟", "subject.sex": "男",
              "subject.id_number": "420202199911173037", "matter.name": "行政处罚", "matter.cause": "无证经营",
              "decision.document_number": "黄市监罚〔2024〕31号", "decision.authority": "黄石市市场监督管理局",
              "decision.date": "2024-06-04"}
    verdict = client.post("/v1/form/check", json=record, headers=auth(service["reporter"])).json()
    assert verdict["status"] == "accepted" and verdict["subject"] == "4202021999****3037"
    wrong = client.post("/v1/form/check", json={**record, "subject.id_number": "420202199911173030"},
                        headers=auth(service["reporter"])).json()
    assert wrong["status"] == "rejected" and wrong["reasons"][0]["field"] == "subject.id_number"
    submitted = client.post("/v1/form/submit", json=record, headers=auth(service["reporter"]))
    assert submitted.status_code == 202 and submitted.json()["event_id"] == verdict["event_id"]
    event = service["ctx"].events.sent[0][0]
    assert event["reporting_mode"] == "ONLINE_FORM" and event["source_format"] == "form"
    assert event["subject"]["type"] == "NATURAL_PERSON"
