"""The check API over an index filled in place and producers that only encode (no broker): answers,
masking, audit records, bulk, feedback, objections, repair, and what it refuses."""
from __future__ import annotations

import time
from datetime import date

import pytest
from fastapi.testclient import TestClient

from avro_schemas.codec import CHECK_FEEDBACK, CHECK_RECORD, CREDIT_EVENT, OBJECTION_EVENT
from checks.api import create_app
from checks.book import ObjectionBook
from checks.index import STALE_AFTER_MS, BlacklistIndex, FollowState, listed_name
from checks.names import NameIndex
from checks.watches import WATCH_EVENT, Watches, WatchStore
from checks.audit_spool import SpoolReader
from checks.service import CheckAudit, CheckLimits, CheckService
from creditstream.auth.tokens import SCOPES, TokenStore
from creditstream.domain.catalog import load_catalog
from creditstream.domain.identifiers import mask_id_number, normalise_document_number
from creditstream.domain.normalise import epoch_days
from creditstream.keys import KeyRing, create_key_file
from tests.unit.test_producer_http import FakeProducer

UNIT = "FGW-420200"
USCC = "91110000600037341L"
CLEAN_USCC = "91420200MA49XQFT3B"
PERSON = "110101199003074573"


class Producer(FakeProducer):
    pending = 0

    def poll(self, timeout=0):
        return self.flush()

    def flush_all(self, timeout=0):
        return self.flush()


def basis(event_id, category="TAX_VIOLATION", doc="黄税罚〔2026〕1号", **extra):
    return {"event_id": event_id, "category": category, "source_unit": "TAX-420200",
            "document_number": normalise_document_number(doc), "authority": "国家税务总局黄石市税务局",
            "decision_date": epoch_days(date(2026, 3, 2)), "valid_until": None, "status": "ACTIVE", **extra}


def make(tmp_path, limits: CheckLimits | None = None):
    keys = KeyRing(create_key_file(tmp_path / "keys.json"))
    pseudonymiser = keys.current()
    index, book = BlacklistIndex("127.0.0.1:1"), ObjectionBook("127.0.0.1:1")
    person_key = pseudonymiser.pseudonym(PERSON)
    index.entries = {
        USCC: {"subject_key": USCC, "subject_key_kind": "USCC", "subject_type": "LEGAL_PERSON",
               "subject_name": "黄石恒达建工有限公司", "lists": ["TAX_VIOLATION"], "basis": [basis("e1")],
               "status": "ACTIVE", "updated_at": 0},
        person_key: {"subject_key": person_key, "subject_key_kind": "ID_NUMBER", "subject_type": "NATURAL_PERSON",
                     "subject_name": "张三", "lists": ["COURT_DISHONEST"],
                     "basis": [basis("e2", "COURT_DISHONEST", "（2026）鄂0202执12号")], "status": "ACTIVE",
                     "updated_at": 0, "subject_masked": mask_id_number(PERSON),
                     "subject_sealed": pseudonymiser.seal(PERSON)},
    }
    index.follower.ready.set()
    book.follower.ready.set()
    store = TokenStore(tmp_path / "tokens.json")
    producers = {name: Producer(record) for name, record in
                 (("checks", CHECK_RECORD), ("feedback", CHECK_FEEDBACK), ("objections", OBJECTION_EVENT),
                  ("inbound", CREDIT_EVENT))}
    service = CheckService(index=index, book=book, tokens=store, keys=keys, audit=CheckAudit(tmp_path / "audit-spool", "127.0.0.1:1", sender=False),
                           feedback=producers["feedback"], objections=producers["objections"],
                           inbound=producers["inbound"], catalog=load_catalog(),
                           limits=limits or CheckLimits(max_body_bytes=2 * 1024 * 1024))
    service.watches = Watches(WatchStore(tmp_path / "watches.sqlite"), lambda: service.index, Producer(WATCH_EVENT))
    tokens = {scope: store.create(UNIT, [scope], scope)[1] for scope in SCOPES}
    tokens["check+personal"] = store.create(UNIT, ["check", "read_personal"], "personal")[1]
    info, revoked = store.create(UNIT, list(SCOPES), "revoked")
    store.revoke(info.id)
    tokens["revoked"] = revoked
    return TestClient(create_app(service)), service, tokens, producers


@pytest.fixture
def api(tmp_path):
    return make(tmp_path)


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def audit_records(service):
    """The check records spooled since the last call, read as the sender reads them."""
    reader = service.audit.__dict__.setdefault("test_reader", SpoolReader(service.audit.directory))
    records = []
    while True:
        batch, position = reader.read()
        if position is None:
            return records
        reader.commit(position)
        records += batch


def test_status_of_a_listed_organisation_names_lists_and_basis(api):
    client, _, tokens, _ = api
    answer = client.get(f"/v1/subjects/{USCC.lower()}/status", headers=auth(tokens["check"])).json()
    assert answer["listed"] and answer["status"] == "LISTED"
    item = answer["lists"][0]
    assert item["list"] == "TAX_VIOLATION" and item["since"] == "2026-03-02" and item["until"] is None
    assert item["basis"][0]["document_number"] == "黄税罚[2026]1号"
    assert answer["index"]["version"].startswith("credit.blacklist:")
    unlisted = client.get(f"/v1/subjects/{CLEAN_USCC}/status", headers=auth(tokens["check"])).json()
    assert unlisted["listed"] is False and unlisted["status"] == "NOT_LISTED"


def test_person_found_by_15_digit_number_answer_masked(api):
    client, _, tokens, _ = api
    response = client.get("/v1/subjects/110101900307457/status", headers=auth(tokens["check"]))
    answer = response.json()
    assert answer["listed"] and answer["subject"]["id"] == mask_id_number(PERSON)
    assert PERSON not in response.text


def test_clear_number_needs_read_personal_and_an_authorization_and_is_audited(api):
    client, service, tokens, _ = api
    path = f"/v1/subjects/{PERSON}/status?personal=true"
    assert client.get(path + "&authorization=SQ-1", headers=auth(tokens["check"])).status_code == 403
    missing = client.get(path, headers=auth(tokens["check+personal"]))
    assert missing.status_code == 422 and missing.json()["problems"][0]["field"] == "authorization"
    ok = client.get(path + "&authorization=SQ-2026-17", headers=auth(tokens["check+personal"])).json()
    assert ok["subject"]["id_number"] == PERSON
    (record,) = audit_records(service)
    assert record["matter"]["reference"] == "SQ-2026-17" and PERSON not in repr(record)


def test_a_check_answers_with_an_id_and_is_recorded(api):
    client, service, tokens, _ = api
    body = {"matter": {"kind": "行政审批", "name": "食品经营许可", "reference": "SP-1"}, "subject": {"id": PERSON}}
    answer = client.post("/v1/checks", json=body, headers=auth(tokens["check"])).json()
    assert answer["listed"] and len(answer["check_id"]) == 32
    (record,) = audit_records(service)
    assert record["check_id"] == answer["check_id"] and record["requesting_unit"] == UNIT
    assert record["subject"]["key"].startswith("pid:") and record["hits"][0]["list"] == "COURT_DISHONEST"
    assert PERSON not in repr(record)


def test_bulk_checks_every_subject_and_reports_bad_ids_in_place(api):
    client, service, tokens, _ = api
    subjects = [USCC, CLEAN_USCC, "not-an-id", {"id": PERSON, "name": "张三"}] + [CLEAN_USCC] * 100
    answer = client.post("/v1/checks/bulk", json={"matter": {"kind": "政府采购"}, "subjects": subjects},
                         headers=auth(tokens["check"])).json()
    assert (answer["checked"], answer["listed"], answer["invalid"]) == (103, 2, 1)
    assert answer["results"][2] == {"position": 2, "error": answer["results"][2]["error"]}
    assert len(audit_records(service)) == 103


def test_check_records_are_encoded_compiled_with_fastavro_bytes(api):
    from avro_schemas.codec import codec
    from producers.record_encoder import compile_encoder

    client, service, tokens, _ = api
    subjects = [USCC, CLEAN_USCC, {"id": PERSON, "name": "张三"}, "not-an-id"]
    client.post("/v1/checks/bulk", json={"matter": {"kind": "政府采购", "reference": "CG-1"}, "subjects": subjects},
                headers=auth(tokens["check"]))
    records = audit_records(service)
    fast, slow = compile_encoder(CHECK_RECORD), codec(CHECK_RECORD).encode
    assert fast is not slow, "check records (with arrays) should encode compiled"
    assert len(records) == 3 and any(r["hits"] for r in records) and any(not r["hits"] for r in records)
    for record in records:
        assert fast(record) == slow(record)


def test_bulk_over_the_limit_is_refused(tmp_path):
    client, _, tokens, _ = make(tmp_path, CheckLimits(max_bulk_subjects=10))
    response = client.post("/v1/checks/bulk", json={"matter": {"kind": "x"}, "subjects": [USCC] * 11},
                           headers=auth(tokens["check"]))
    assert response.status_code == 422 and "at most 10" in response.text


def test_feedback_is_recorded_and_approving_a_listed_subject_needs_a_reason(api):
    client, _, tokens, producers = api
    check = client.post("/v1/checks", json={"matter": {"kind": "评优评先"}, "subject": {"id": USCC}},
                        headers=auth(tokens["check"])).json()
    path = f"/v1/checks/{check['check_id']}/feedback"
    refused = client.post(path, json={"outcome": "approved"}, headers=auth(tokens["check"]))
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "reason"
    ok = client.post(path, json={"outcome": "refused", "measures": ["取消评优资格"]}, headers=auth(tokens["check"]))
    assert ok.status_code == 202 and producers["feedback"].sent[0][0]["outcome"] == "REFUSED"
    assert client.post("/v1/checks/xyz/feedback", json={"outcome": "refused"},
                       headers=auth(tokens["check"])).status_code == 422


def test_objection_suspends_then_resolution_restores_and_list_follows(api):
    client, _, tokens, producers = api
    filed = client.post("/v1/objections", json={"subject": USCC, "basis_event_id": "e1", "reason": "已缴清罚款"},
                        headers=auth(tokens["object"]))
    assert filed.status_code == 201, filed.text
    objection = filed.json()
    assert objection["state"] == "OPEN" and objection["steps"][0]["step"] == "verify"
    status = client.get(f"/v1/subjects/{USCC}/status", headers=auth(tokens["check"])).json()
    assert not status["listed"] and status["status"] == "UNDER_OBJECTION"
    assert status["lists"][0]["basis"][0]["objection_id"] == objection["objection_id"]
    again = client.post("/v1/objections", json={"subject": USCC, "basis_event_id": "e1", "reason": "x"},
                        headers=auth(tokens["object"]))
    assert again.status_code == 409
    oid = objection["objection_id"]
    assert client.post(f"/v1/objections/{oid}/answer", json={}, headers=auth(tokens["object"])).status_code == 409
    resolved = client.post(f"/v1/objections/{oid}/resolve", json={"outcome": "restored", "reason": "异议不成立"},
                           headers=auth(tokens["object"])).json()
    assert resolved["state"] == "RESOLVED" and resolved["outcome"] == "RESTORED"
    assert client.get(f"/v1/subjects/{USCC}/status", headers=auth(tokens["check"])).json()["listed"]
    statuses = [event["decision"]["status"] for event, _ in producers["inbound"].sent]
    assert statuses == ["异议", "正常"]
    transitions = [event["transition"] for event, _ in producers["objections"].sent]
    assert transitions == ["FILED", "RESOLVED"]
    listed = client.get("/v1/objections?state=all", headers=auth(tokens["object"])).json()["objections"]
    assert [o["objection_id"] for o in listed] == [oid]


def test_person_objection_and_deletion_send_the_clear_number_only_to_inbound(api):
    client, _, tokens, producers = api
    objection = client.post("/v1/objections", json={"subject": PERSON, "basis_event_id": "e2", "reason": "不是本人"},
                            headers=auth(tokens["object"]))
    assert PERSON not in objection.text
    oid = objection.json()["objection_id"]
    client.post(f"/v1/objections/{oid}/verify", json={"reason": "核实有误"}, headers=auth(tokens["object"]))
    client.post(f"/v1/objections/{oid}/resolve", json={"outcome": "deleted", "reason": "身份信息错误"},
                headers=auth(tokens["object"]))
    assert [e["decision"]["status"] for e, _ in producers["inbound"].sent] == ["异议", "删除"]
    assert all(e["subject"]["id_number"] == PERSON for e, _ in producers["inbound"].sent)
    assert PERSON not in repr(producers["objections"].sent)


def test_repair_and_exit_by_admin_send_records_with_the_catalog_effects(api):
    client, _, tokens, producers = api
    body = {"decision_number": "黄信修〔2026〕9号", "repaired_document": "黄税罚〔2026〕1号", "reason": "已履行"}
    assert client.post(f"/v1/subjects/{USCC}/repair", json=body, headers=auth(tokens["object"])).status_code == 403
    assert client.post(f"/v1/subjects/{USCC}/repair", json=body, headers=auth(tokens["admin"])).status_code == 202
    wrong = dict(body, repaired_document="黄税罚〔2026〕99号")
    assert client.post(f"/v1/subjects/{USCC}/repair", json=wrong, headers=auth(tokens["admin"])).status_code == 422
    exit_ = {"kind": "吊销", "decision_number": "黄市监吊〔2026〕3号", "reason": "吊销营业执照"}
    assert client.post(f"/v1/subjects/{USCC}/exit", json=exit_, headers=auth(tokens["admin"])).status_code == 202
    assert [e["catalog"] for e, _ in producers["inbound"].sent] == ["XYB-XF", "SAMR-ZXDX"]
    assert client.post(f"/v1/subjects/{CLEAN_USCC}/exit", json=exit_, headers=auth(tokens["admin"])).status_code == 404


def test_not_ready_index_is_503(api):
    client, service, tokens, _ = api
    service.index.follower.ready.clear()
    response = client.get(f"/v1/subjects/{USCC}/status", headers=auth(tokens["check"]))
    assert response.status_code == 503 and response.headers["content-type"] == "application/problem+json"
    assert client.get("/readyz").status_code == 503 and client.get("/healthz").status_code == 200


ROUTES = [("GET", f"/v1/subjects/{USCC}/status", None, "check"),
          ("POST", "/v1/checks", {"matter": {"kind": "x"}, "subject": {"id": USCC}}, "check"),
          ("POST", "/v1/checks/bulk", {"matter": {"kind": "x"}, "subjects": [USCC]}, "check"),
          ("POST", "/v1/checks/" + "a" * 32 + "/feedback", {"outcome": "refused"}, "check"),
          ("POST", "/v1/objections", {"subject": USCC, "basis_event_id": "e1", "reason": "r"}, "object"),
          ("GET", "/v1/objections", None, "object"), ("GET", "/v1/objections/overdue", None, "object"),
          ("GET", "/v1/objections/YY1", None, "object"),
          ("POST", "/v1/objections/YY1/forward", {}, "object"), ("POST", "/v1/objections/YY1/answer", {}, "object"),
          ("POST", "/v1/objections/YY1/verify", {}, "object"),
          ("POST", "/v1/objections/YY1/resolve", {"outcome": "restored", "reason": "r"}, "object"),
          ("POST", f"/v1/subjects/{USCC}/repair", {"decision_number": "d", "reason": "r"}, "admin"),
          ("POST", f"/v1/subjects/{USCC}/exit", {"kind": "注销", "decision_number": "d", "reason": "r"}, "admin"),
          ("GET", "/v1/blacklist/status", None, "check"), ("POST", "/v1/blacklist/rebuild", None, "admin"),
          ("POST", "/v1/watches", {"subjects": [USCC]}, "check"), ("GET", "/v1/watches", None, "check"),
          ("DELETE", f"/v1/watches/{USCC}", None, "check"), ("GET", "/v1/watches/status", None, "check"),
          ("PUT", "/v1/watches/webhook", {"url": "http://127.0.0.1:9/h", "secret": "x" * 16}, "check")]


def test_every_guarded_route_is_in_the_table(api):
    client, *_ = api
    spec = client.get("/openapi.json").json()
    guarded = {(m.upper(), p) for p, item in spec["paths"].items() for m in item} - {
        ("GET", "/healthz"), ("GET", "/readyz")}  # /metrics: counts only, left out of the schema
    assert len(guarded) == len(ROUTES)


@pytest.mark.parametrize("method, path, body, scope", ROUTES)
def test_every_endpoint_refuses_missing_wrong_revoked_and_underscoped_tokens(api, method, path, body, scope):
    client, _, tokens, _ = api
    other = next(s for s in ("report", "check", "object") if s != scope)
    for headers, status in (({}, 401), (auth("cst_nope_nope"), 401), ({"Authorization": "Basic abc"}, 401),
                            (auth(tokens["revoked"]), 401), (auth(tokens[other]), 403)):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (headers, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] and response.json()["detail"]


@pytest.mark.parametrize("body, field", [
    ({"subject": {"id": USCC}}, "body.matter"), ({"matter": {"kind": "x"}, "subject": {"id": "3423011964****3224"}}, "subject.id"),
    ({"matter": {"kind": "x"}, "subject": {"id": USCC}, "extra": 1}, "body.extra"),
    ({"matter": {"kind": ""}, "subject": {"id": USCC}}, "body.matter.kind"),
])
def test_malformed_bodies_and_ids_get_422_with_the_field(api, body, field):
    client, _, tokens, _ = api
    response = client.post("/v1/checks", json=body, headers=auth(tokens["check"]))
    assert response.status_code == 422
    assert field in [p["field"] for p in response.json()["problems"]]


def test_bodies_over_the_limit_and_bad_json_are_refused(api):
    client, _, tokens, _ = api
    big = client.post("/v1/checks/bulk", content=b"[" + b'"x",' * 700_000 + b'"x"]',
                      headers={**auth(tokens["check"]), "content-type": "application/json"})
    assert big.status_code == 413
    bad = client.post("/v1/checks", content=b"{not json", headers={**auth(tokens["check"]), "content-type": "application/json"})
    assert bad.status_code == 422


def test_a_token_over_its_rate_gets_429(tmp_path):
    client, _, tokens, _ = make(tmp_path, CheckLimits(rate_per_token=1, burst_per_token=2))
    codes = [client.get(f"/v1/subjects/{USCC}/status", headers=auth(tokens["check"])).status_code for _ in range(4)]
    assert codes[:2] == [200, 200] and codes[-1] == 429


def test_name_only_check_answers_ranked_candidates_never_not_listed(api):
    client, service, tokens, _ = api
    service.index.names = NameIndex.build((k, listed_name(e)) for k, e in service.index.entries.items())
    body = {"matter": {"kind": "行政审批"}, "subject": {"name": "黄石恒达建工有限责任公司"}}
    answer = client.post("/v1/checks", json=body, headers=auth(tokens["check"])).json()
    assert answer["match"] == "NAME" and answer["listed"] is None and answer["status"] == "CANDIDATES"
    (candidate,) = answer["candidates"]
    assert candidate["key"] == USCC and candidate["match"] == "NORMALISED" and candidate["listed"]
    assert "有限责任公司/有限公司" in candidate["reason"]
    assert not any(c["name"] == "张三" for c in answer["candidates"])  # persons are checked by ID number only
    masked = client.post("/v1/checks", json={**body, "subject": {"name": "黄石恒**工有限公司"}},
                         headers=auth(tokens["check"])).json()
    assert [c["match"] for c in masked["candidates"]] == ["MASKED"]
    none = client.post("/v1/checks", json={**body, "subject": {"name": "武汉某某商贸有限公司"}},
                       headers=auth(tokens["check"])).json()
    assert none["status"] == "NO_CANDIDATE" and none["listed"] is None and "not a 'not listed'" in none["note"]
    records = audit_records(service)
    assert [r["match"] for r in records] == ["NAME"] * 3
    assert records[0]["listed"] and records[0]["hits"][0]["subject_key"] == USCC
    assert records[2]["hits"] == [] and records[2]["subject"]["name"] == "武汉某某商贸有限公司"
    neither = client.post("/v1/checks", json={**body, "subject": {}}, headers=auth(tokens["check"]))
    assert neither.status_code == 422 and neither.headers["content-type"] == "application/problem+json"


def test_answers_carry_the_snapshot_and_go_stale_without_confirmation(api):
    client, service, tokens, _ = api
    now = int(time.time() * 1000)
    service.index.follower.state = FollowState(((0, 7), (1, 3)), now - 60_000, True, now)
    fresh = client.get(f"/v1/subjects/{USCC}/status", headers=auth(tokens["check"])).json()["index"]
    assert fresh["version"] == "credit.blacklist:0=7,1=3" and fresh["stale"] is False and fresh["age_ms"] >= 0
    service.index.follower.state = FollowState(((0, 7), (1, 3)), now - 60_000, True, now - STALE_AFTER_MS - 1000)
    stale = client.post("/v1/checks", json={"matter": {"kind": "x"}, "subject": {"id": USCC}},
                        headers=auth(tokens["check"])).json()
    assert stale["index"]["stale"] is True and stale["listed"]
    assert audit_records(service)[0]["index"]["stale"] is True
    status = client.get("/v1/blacklist/status", headers=auth(tokens["check"])).json()
    assert status["index"]["stale"] and status["subjects"] == 2
    metrics = client.get("/metrics").text
    assert "creditstream_checks_index_stale 1.0" in metrics
    assert 'creditstream_checks_answers_total{match="KEY",stale="true"} 1.0' in metrics


def test_watches_are_kept_per_unit_persons_by_pseudonym(api):
    client, service, tokens, _ = api
    added = client.post("/v1/watches", json={"subjects": [USCC, PERSON, "nonsense"], "label": "合同 HT-7"},
                        headers=auth(tokens["check"]))
    assert added.status_code == 201
    body = added.json()
    assert [w["subject"] for w in body["watching"]] == [USCC, mask_id_number(PERSON)]
    assert body["watching"][0]["lists"] == ["TAX_VIOLATION"] and body["invalid"][0]["position"] == 2
    assert PERSON not in added.text
    stored = {key for (key,) in service.watches.store.rows("SELECT subject_key FROM watches")}
    assert stored == {USCC, service.keys.current().pseudonym(PERSON)}
    listed = client.get("/v1/watches", headers=auth(tokens["check"])).json()["watches"]
    assert len(listed) == 2 and PERSON not in repr(listed)
    assert client.delete(f"/v1/watches/{PERSON}", headers=auth(tokens["check"])).status_code == 204
    assert client.delete(f"/v1/watches/{PERSON}", headers=auth(tokens["check"])).status_code == 404
    hook = client.put("/v1/watches/webhook", json={"url": "ftp://x", "secret": "x" * 16}, headers=auth(tokens["check"]))
    assert hook.status_code == 422
