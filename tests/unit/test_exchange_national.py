"""Outbound batches in the national 双公示 codes read back by our own inbound adapter (the same
`creditstream load` path a peer's batch takes) to the same records: same natural key, same
fields. No Kafka: assess() is the stream's validation as a function."""
from __future__ import annotations

import csv
import io
import json
import os
import random
from datetime import datetime, timezone

import pytest

from creditstream.domain.assessment import assess
from creditstream.domain.pseudonym import Pseudonymiser
from creditstream.exchange import batch
from creditstream.exchange.national import columns_for, layout_for, render
from producers.batch_file import FileReport, LoadOptions, read_events
from producers.demo_feed import make_id_number, make_uscc

rng = random.Random(13)
KEYS = Pseudonymiser({"h1": os.urandom(32)}, "h1", {"k1": os.urandom(32)}, "k1")
NOW = datetime(2026, 10, 20, 4, tzinfo=timezone.utc)
PEER = "PLATFORM-420000"
# What is compared: every field the national layouts carry. matter_name of a licence without a
# certificate name is the decision document's name on the way back, as for any XK_* file.
COMPARED = ("category", "subject_type", "subject_key", "subject_key_kind", "subject_name", "document_number",
            "document_name", "authority", "authority_code", "decision_date", "valid_from", "valid_until",
            "decision_status", "matter_kind", "cause", "content", "legal_basis", "legal_representative",
            "other_ids", "subject_masked", "legal_representative_id_key", "sex", "region_code")


def event(n, category, subject, decision, matter, raw=None, unit="SAMR-420200", catalog=None):
    subject = {"type": "UNKNOWN", "uscc": None, "id_type": None, "id_number": None, "plate": None, "name": None,
               "sex": None, "legal_representative": None, "other_ids": {}, **subject}
    decision = {"document_number": None, "document_name": None, "authority": "黄石市市场监督管理局",
                "authority_code": None, "date": "2026-10-15", "valid_from": None, "valid_until": None,
                "status": None, **decision}
    matter = {"name": None, "kind": None, "cause": None, "legal_basis": None, "content": None, **matter}
    return {"event_id": f"e{n}", "source_unit": unit, "catalog": catalog or ("SGS-XK" if category == "LICENCE" else "SGS-CF"),
            "category": category, "reporting_mode": "BATCH", "source_format": "csv",
            "reported_at": int(NOW.timestamp() * 1000), "reported_by": None, "source_ref": f"r{n}",
            "subject": subject, "decision": decision, "matter": matter, "raw": raw or {}}


def sample_events():
    firm, shop = make_uscc(rng, "420202"), make_uscc(rng, "420203")
    person, boss = make_id_number(rng, "420202"), make_id_number(rng, "420281")
    return [
        event(1, "LICENCE", {"type": "LEGAL_PERSON", "uscc": firm, "name": "黄石某某食品有限公司",
                             "legal_representative": "李四", "other_ids": {"org_code": firm[8:17]}},
              {"document_number": "（2026）黄市监许字第001号", "document_name": "食品经营许可决定书", "valid_from": "2026-10-15",
               "valid_until": "2031-10-14", "status": "0", "authority_code": "11420200MB1234567X"},
              {"name": "食品经营许可证", "kind": "普通", "cause": "预包装食品销售", "content": "预包装食品销售"},
              raw={"XK_FR_ZJHM": boss, "XK_XKBH": "JY14202020001234"}),
        event(2, "LICENCE", {"type": "INDIVIDUAL_BUSINESS", "uscc": shop, "name": "黄石港区某某小吃店"},
              {"document_number": "黄市监许〔2026〕2号", "document_name": "个体工商户登记决定书", "valid_until": "2099-12-31"},
              {"name": "个体工商户设立登记", "kind": "登记", "cause": "个体工商户设立登记", "content": "个体工商户设立登记"}),
        event(3, "PENALTY", {"type": "NATURAL_PERSON", "id_type": "身份证", "id_number": person, "name": "张三"},
              {"document_number": "黄市监罚〔2026〕12号", "status": "正常"},
              {"name": "无照经营", "kind": "罚款", "cause": "未取得营业执照从事经营", "legal_basis": "《无证无照经营查处办法》第十三条",
               "content": "罚款5000元"}, raw={"CF_NR_FK": "0.5"}),
        event(4, "PENALTY", {"type": "LEGAL_PERSON", "uscc": firm, "name": "黄石某某食品有限公司", "legal_representative": "李四"},
              {"document_number": "黄市监罚〔2026〕13号", "valid_until": "2027-10-14", "status": "异议"},
              {"name": "销售过期食品", "kind": "警告", "cause": "销售超过保质期的食品", "legal_basis": "《食品安全法》第一百二十四条",
               "content": "警告"}),
    ]


def assessed(events):
    outcomes = [assess(e, now=NOW, pseudonyms=KEYS) for e in events]
    assert all(o.record is not None for o in outcomes), [o.rejection for o in outcomes if o.record is None]
    return outcomes


def read_back(tmp_path, records, fmt, opened=None):
    """Each category's batch written as a peer receives it, then loaded under the peer's code."""
    back = []
    for category in sorted({r["category"] for r in records}):
        rendered = render([r for r in records if r["category"] == category], layout_for(category), opened)
        manifest, data = batch.build(rendered, fmt, sender="PLATFORM-420200", peer=PEER, period_start=NOW,
                                     period_end=NOW, now=NOW)
        assert manifest.count == len(rendered.rows) and batch.verify(manifest, data) == []
        path = tmp_path / manifest.file
        path.write_bytes(data)
        report = FileReport(str(path))
        events = [e for _, e in read_events(path, LoadOptions(unit=PEER), report)]
        assert report.layout == layout_for(category).name, "the header is recognised as the national layout"
        back += assessed(events)
    return back


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_national_batch_reads_back_to_the_same_records(tmp_path, fmt):
    outcomes = assessed(sample_events())
    records = [o.record for o in outcomes]
    # The peer is entitled to persons' numbers: opened from the sealed copies for its batch only.
    opened = {r["event_id"]: (KEYS.open(r["subject_sealed"]) if r["subject_sealed"] else None,
                              KEYS.open(r["legal_representative_id_sealed"]) if r["legal_representative_id_sealed"] else None)
              for r in records}
    back = read_back(tmp_path, records, fmt, opened)
    by_key = {o.natural_key: o.record for o in back}
    assert set(by_key) == {o.natural_key for o in outcomes}, "every record comes back under its own natural key"
    for original in outcomes:
        again = by_key[original.natural_key]
        assert again["source_unit"] == PEER and again["event_id"] != original.record["event_id"]
        assert {f: again[f] for f in COMPARED} == {f: original.record[f] for f in COMPARED}
        assert ("NO_EXPIRY" in original.record["flags"]) == ("NO_EXPIRY" in again["flags"])


def test_the_columns_are_the_mappings_own_codes():
    licence, penalty = (columns_for(layout_for(c)) for c in ("LICENCE", "PENALTY"))
    assert [c.header for c in licence][:4] == ["XK_XDR_LB", "XK_XDR_MC", "XK_XDR_SHXYM", "XK_XDR_ZJLX"]
    assert {"XK_WSH", "XK_JDRQ", "XK_XKJG", "XK_ZT", "XK_FR_ZJHM", "XK_LYDWDM"} <= {c.header for c in licence}
    assert {"CF_WSH", "CF_CFJG", "CF_JDRQ", "CF_CFLB", "CF_YJ", "CF_FR_ZJHM", "CF_SJLYDM"} <= {c.header for c in penalty}
    assert all(h.isascii() for h in (c.header for c in licence + penalty)), "codes only, no Chinese labels"


def test_without_the_clear_number_a_person_goes_out_masked(tmp_path):
    records = [o.record for o in assessed(sample_events())]
    rendered = render(records, layout_for("PENALTY"))
    text = batch.encode(rendered, "csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    person = next(r for r in rows if r["CF_XDR_LB"] == "自然人")
    assert person["CF_XDR_ZJHM"].count("*") == 4 and person["CF_XDR_ZJLX"] == "身份证"
    assert not any(r["subject_key"].startswith("pid:") and r["subject_key"] in text for r in records), \
        "a pseudonym means nothing to a peer and never leaves"


def test_a_value_the_layout_has_no_place_for_is_counted_in_the_manifest():
    record = assessed(sample_events()[:1])[0].record
    record = {**record, "content": "另一段内容", "legal_basis": "某条例"}  # licences have one 许可内容 and no 依据
    rendered = render([record], layout_for("LICENCE"))
    manifest, _ = batch.build(rendered, "json", sender="A", peer="B", period_start=NOW, period_end=NOW)
    assert manifest.not_representable == {"matter.content": 1, "matter.legal_basis": 1}


def test_manifest_checksum_catches_a_changed_file():
    rendered = render([assessed(sample_events()[1:2])[0].record], layout_for("LICENCE"))
    manifest, data = batch.build(rendered, "csv", sender="A", peer="B", period_start=NOW, period_end=NOW)
    assert json.loads(manifest.to_json())["count"] == 1
    assert batch.verify(manifest, data.replace("黄石".encode(), "武汉".encode())) != []
