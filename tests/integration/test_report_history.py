"""Every report on a small history sent through the real pipeline (Apache Kafka, the stream
worker, the sink, chdb), checked against figures worked out by hand below.

October 2026, Huangshi (Beijing days):
- 市场监管局 SAMR-420200: four penalties in SGS-CF, all decided Mon 10-12, reported 10-13, 10-14,
  10-19 and 10-21: 1, 2, 5 and 7 working days, so two late against its 2-day rule, median 3.5; the
  first carries a prohibited 宗教信仰 column; a fifth penalty has a USCC that fails its checksum
  (rejected). One licence in SGS-XK (decided 10-21, reported 10-22), one 严重违法失信企业 in SAMR-YZWF
  (10-14 -> 10-15). Weekly 双公示 zero reports for SGS-CF: W40 and W41 on their Fridays, W44 on Mon
  11-02 (late).
- 中级法院 COURT-420200: two 失信被执行人 decided Fri 10-16, reported Tue 10-20 (2 working days). The
  provincial platform PLATFORM-420000 sends the first again on 10-22: a duplicate.
- 自来水公司 WATER-420200: three 水费欠缴 (two Huangshi residents, one from Wuhan) and two 公用事业欠费
  (电费, 燃气费) on 10-15/10-16, one more without an ID number (rejected).
- 公积金中心 HF-420200 files zero reports for September (10-10) and October (10-20): it is listed nowhere.
- 社保局 SI-420200 files nothing. 税务局 TAX-420200 files its October zero report on 10-27 (late).
Now (this month): a red-list record for a taxpayer, credit repair of the second court subject,
and four approval-window checks.
"""
from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
import urllib.error
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from avro_schemas.codec import CHECK_RECORD, OBJECTION_EVENT
from creditstream.domain.event_id import event_id
from creditstream.domain.normalise import CHINA_TZ
from creditstream.embedded.stack import EmbeddedStack, SinkClient, child_env
from creditstream.topics import CHECKS, OBJECTIONS
from producers.credit_producer import CreditProducer, message_key
from producers.demo_feed import make_id_number, make_uscc
from producers.zero_report import publish, zero_report, zero_report_producer
from tests.conftest import stack_settings, wait_for

pytestmark = pytest.mark.integration

rng = random.Random(20261)
SAMR, COURT, WATER, HF, SI, TAX, XYB = (f"{u}-420200" for u in ("SAMR", "COURT", "WATER", "HF", "SI", "TAX", "XYB"))
PLATFORM = "PLATFORM-420000"
FIRM = [make_uscc(rng, "420202") for _ in range(8)]
PERSON = [make_id_number(rng, "420202") for _ in range(6)] + [make_id_number(rng, "420102")]
NOW = datetime.now(timezone.utc)
THIS_MONTH = datetime.now(CHINA_TZ).strftime("%Y-%m")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=CHINA_TZ)


def event(unit, catalog, category, subject, reported: datetime, decided: str | None = None, doc: str | None = None,
          matter: str = "行政处罚", cause: str = "违反规定", raw=None, legal_basis=None, valid_until=None, seq=[0]):
    seq[0] += 1
    person = subject.get("id_number") is not None or subject["type"] == "NATURAL_PERSON"
    subject = {"uscc": None, "id_type": "身份证" if person else None, "id_number": None, "plate": None, "sex": None,
               "legal_representative": None, "other_ids": {}, **subject}
    return {
        "event_id": event_id(unit, catalog, category, message_key(subject), doc, extra=str(seq[0])),
        "source_unit": unit, "catalog": catalog, "category": category, "reporting_mode": "INTERFACE",
        "source_format": "json", "reported_at": int(reported.timestamp() * 1000), "reported_by": "test",
        "source_ref": f"row-{seq[0]}", "subject": subject,
        "decision": {"document_number": doc, "document_name": None, "authority": "黄石市某机关", "authority_code": None,
                     "date": decided, "valid_from": None, "valid_until": valid_until, "status": None},
        "matter": {"name": matter, "kind": None, "cause": cause, "legal_basis": legal_basis, "content": None},
        "raw": raw or {},
    }


def firm(i):
    return {"type": "LEGAL_PERSON", "uscc": FIRM[i], "name": f"黄石某某有限公司{i}"}


def person(i, id_number=True):
    return {"type": "NATURAL_PERSON", "id_number": PERSON[i] if id_number else None, "name": f"张{i}"}


def history() -> list[dict]:
    broken_uscc = FIRM[5][:-1] + ("0" if FIRM[5][-1] != "0" else "1")
    court_first = event(COURT, "COURT-SXBZXR", "COURT_DISHONEST", person(0), at("2026-10-20"), "2026-10-16",
                        "(2026)鄂02执100号", "失信被执行人", "有履行能力而拒不履行")
    platform_copy = {**court_first, "event_id": event_id(PLATFORM, "COURT-SXBZXR", "COURT_DISHONEST", PERSON[0],
                                                         "(2026)鄂02执100号"),
                     "source_unit": PLATFORM, "reported_at": int(at("2026-10-22").timestamp() * 1000)}
    return [
        event(SAMR, "SGS-CF", "PENALTY", firm(0), at("2026-10-13"), "2026-10-12", "黄市监罚〔2026〕1号",
              raw={"宗教信仰": "无"}),
        event(SAMR, "SGS-CF", "PENALTY", firm(1), at("2026-10-14"), "2026-10-12", "黄市监罚〔2026〕2号"),
        event(SAMR, "SGS-CF", "PENALTY", firm(2), at("2026-10-19"), "2026-10-12", "黄市监罚〔2026〕3号"),
        event(SAMR, "SGS-CF", "PENALTY", firm(3), at("2026-10-21"), "2026-10-12", "黄市监罚〔2026〕4号"),
        event(SAMR, "SGS-CF", "PENALTY", {**firm(5), "uscc": broken_uscc}, at("2026-10-15"), "2026-10-12",
              "黄市监罚〔2026〕5号"),
        event(SAMR, "SGS-XK", "LICENCE", firm(4), at("2026-10-22"), "2026-10-21", "黄市监许〔2026〕1号", "食品经营许可"),
        event(SAMR, "SAMR-YZWF", "SERIOUS_DISHONEST", firm(6), at("2026-10-15"), "2026-10-14", "黄市监严〔2026〕1号",
              "列入严重违法失信名单"),
        court_first,
        event(COURT, "COURT-SXBZXR", "COURT_DISHONEST", person(1), at("2026-10-20"), "2026-10-16",
              "(2026)鄂02执101号", "失信被执行人", "有履行能力而拒不履行"),
        platform_copy,
        event(WATER, "WATER-QF", "ARREARS", person(2), at("2026-10-15"), matter="水费欠缴", cause="欠缴水费三个月"),
        event(WATER, "WATER-QF", "ARREARS", person(3), at("2026-10-15"), matter="水费欠缴", cause="欠缴水费四个月"),
        event(WATER, "WATER-QF", "ARREARS", person(6), at("2026-10-15"), matter="水费欠缴", cause="欠缴水费五个月"),
        event(WATER, "WATER-QF", "ARREARS", person(5, id_number=False), at("2026-10-15"), matter="水费欠缴",
              cause="欠缴水费"),
        event(WATER, "UTILITY-QF", "ARREARS", person(4), at("2026-10-16"), matter="电费欠缴", cause="欠缴电费"),
        event(WATER, "UTILITY-QF", "ARREARS", person(5), at("2026-10-16"), matter="燃气费欠缴", cause="欠缴燃气费"),
        # this month
        event(TAX, "TAX-ANSR", "RED_LIST", firm(7), NOW, "2026-10-15", "黄税信〔2026〕1号", "纳税信用A级",
              valid_until="2027-12-31"),
        event(XYB, "XYB-XF", "OTHER", person(1), NOW + timedelta(seconds=1), "2026-11-02", "黄信修〔2026〕1号",
              "信用修复", "已履行义务", legal_basis="(2026)鄂02执101号"),
    ]


ZERO_REPORTS = [(SAMR, "SGS-CF", "2026-W40", at("2026-10-02")), (SAMR, "SGS-CF", "2026-W41", at("2026-10-09")),
                (SAMR, "SGS-CF", "2026-W44", at("2026-11-02")), (HF, "HF-QJ", "2026-09", at("2026-10-10")),
                (HF, "HF-QJ", "2026-10", at("2026-10-20")), (TAX, "TAX-ZDSS", "2026-10", at("2026-10-27"))]


def check(n: int, unit: str, subject_key: str, hits: list[tuple[str, str]], match: str = "KEY") -> dict:
    return {"check_id": f"chk-{n}", "requested_at": int(NOW.timestamp() * 1000), "requesting_unit": unit,
            "caller": "test", "matter": {"kind": "行政审批", "name": "食品经营许可", "reference": f"case-{n}"},
            "subject": {"key": subject_key, "key_kind": "USCC", "subject_type": "LEGAL_PERSON", "name": None},
            "match": match, "listed": any(status == "ACTIVE" for _, status in hits),
            "hits": [{"list": lst, "status": status, "subject_key": subject_key, "since": None, "until": None,
                      "basis_event_ids": []} for lst, status in hits],
            "index": {"version": "test", "as_of": None, "stale": False}}


CHECKS_SENT = [check(1, SAMR, PERSON[0], [("COURT_DISHONEST", "ACTIVE")]), check(2, SAMR, FIRM[7], [("RED_LIST", "ACTIVE")]),
               check(3, SAMR, FIRM[4], [], match="NAME"), check(4, "FGW-420200", FIRM[1], [])]


def objection(n: int, objection_id: str, sequence: int, transition: str, state: str, steps: list[tuple]) -> dict:
    return {"event_id": f"obj-{n}", "objection_id": objection_id, "sequence": sequence, "transition": transition,
            "state": state, "at": at("2026-10-09"), "actor": "test", "actor_unit": SAMR, "subject_key": FIRM[2],
            "subject_masked": None, "basis_event_id": "e-basis", "category": "PENALTY", "document_number": None,
            "source_unit": SAMR, "outcome": None, "reason": "核查", "control_event_id": None,
            "steps": [{"step": step, "due_at": due, "done_at": done} for step, due, done in steps]}


# October: one objection verified a day late, one verified in time, one whose provider never answered.
OBJECTIONS_SENT = [
    objection(1, "OBJ-LATE", 1, "FILED", "OPEN", [("verify", at("2026-10-12", 16), None)]),
    objection(2, "OBJ-LATE", 2, "VERIFIED", "VERIFIED", [("verify", at("2026-10-12", 16), at("2026-10-13"))]),
    objection(3, "OBJ-ONTIME", 1, "FILED", "OPEN", [("verify", at("2026-10-14", 16), None)]),
    objection(4, "OBJ-ONTIME", 2, "VERIFIED", "VERIFIED", [("verify", at("2026-10-14", 16), at("2026-10-13"))]),
    objection(5, "OBJ-OPEN", 1, "FORWARDED", "WITH_PROVIDER", [("provider_answer", at("2026-10-20", 16), None)]),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    settings = stack_settings(tmp_path_factory.mktemp("reports"))
    stack = EmbeddedStack(settings).start()
    try:
        with CreditProducer(settings.bootstrap_servers) as producer:
            for e in history():
                producer.send(e)
        zero = zero_report_producer(settings.bootstrap_servers)
        for unit, catalog, period, filed in ZERO_REPORTS:
            publish(zero, zero_report(unit, catalog, period, "test", now=filed))
        zero.close()
        with CreditProducer(settings.bootstrap_servers, topic=CHECKS, record=CHECK_RECORD) as producer:
            for c in CHECKS_SENT:
                producer.send(c, key=c["check_id"])
        with CreditProducer(settings.bootstrap_servers, topic=OBJECTIONS, record=OBJECTION_EVENT) as producer:
            for o in OBJECTIONS_SENT:
                producer.send(o, key=o["objection_id"])
        sink = SinkClient(settings)

        def report(kind, period="2026-10"):
            return sink.get(f"/v1/reports/{kind}?period={period}", timeout=120)

        wait_for(lambda: sum(u["records"] + u["rejected"] for u in sink.get("/v1/counts")["units"]) >= 18, 180,
                 what="every record stored")
        wait_for(lambda: _row(report("lists", THIS_MONTH), "核查与反馈", None, total=True).get("checks") == 4
                 and _row(report("lists", THIS_MONTH), "名单规模与流动", "黑名单合计(去重主体)")["left"] == 1, 120,
                 what="checks and the blacklist changes stored")
        wait_for(lambda: len(_rows(report("compliance"), "异议逾期")) == 2, 120, what="the objections stored")
        wait_for(lambda: {(r["unit"], r["period"]) for r in _rows(report("compliance"), "零报送")
                          if r["set"] == "SGS-CF" or r["unit"] in (HF, TAX)}
                 == {(SAMR, "2026-W44"), (TAX, "2026-10")}, 120, what="every zero report stored")
        reports = {kind: report(kind) for kind in ("unit", "city", "compliance", "evaluation", "totals")}
        reports["lists"] = report("lists", THIS_MONTH)
        reports["water"] = sink.get(f"/v1/reports/unit?period=2026-10&unit={WATER}")
        try:
            sink.get("/v1/reports/unit?period=2099-01")
            refused = None
        except urllib.error.HTTPError as exc:
            refused = (exc.code, json.loads(exc.read())["detail"])
        cli_xlsx = tmp_path_factory.mktemp("out") / "unit.xlsx"
        cli_via_sink = _cli(settings, "unit", "--period", "2026-10", "--format", "xlsx", "--out", str(cli_xlsx))
    finally:
        stack.stop()
    return {"settings": settings, "reports": reports, "sink": sink, "cli_xlsx": cli_xlsx, "cli_via_sink": cli_via_sink,
            "refused": refused, "tmp": tmp_path_factory.mktemp("cli")}


def _cli(settings, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "creditstream", "report", *args], env=child_env(settings),
                          capture_output=True, text=True, timeout=300)


def _rows(report: dict, table: str) -> list[dict]:
    return next(t for t in report["tables"] if t["name"] == table)["rows"]


def _row(report: dict, table: str, first_cell, total: bool = False, **match) -> dict:
    found = next(t for t in report["tables"] if t["name"] == table)
    if total:
        return found["total"] or {}
    key = found["columns"][0]["key"] if not match else None
    rows = [r for r in found["rows"] if (r.get(key) == first_cell if key else all(r.get(k) == v for k, v in match.items()))]
    assert len(rows) == 1, f"{table}: {len(rows)} rows for {first_cell or match}"
    return rows[0]


def test_unit_table_per_unit_and_indicator_set(run):
    unit = run["reports"]["unit"]
    penalties = _row(unit, "信源单位", None, unit=SAMR, set="SGS-CF")
    assert {k: penalties[k] for k in ("records", "cumulative", "rejected", "late", "duplicates", "prohibited")} == \
        {"records": 4, "cumulative": 4, "rejected": 1, "late": 2, "duplicates": 0, "prohibited": 1}
    assert penalties["pass_rate"] == pytest.approx(4 / 5)
    assert penalties["late_share"] == pytest.approx(2 / 4)
    assert penalties["median_delay"] == 3.5          # median of 1, 2, 5, 7 working days
    assert penalties["prohibited_names"] == "宗教信仰"
    assert (penalties["data_type"], penalties["frequency"], penalties["set_name"]) == ("企业", "实时", "行政处罚 (双公示)")
    court = _row(unit, "信源单位", None, unit=COURT, set="COURT-SXBZXR")
    assert (court["records"], court["late"], court["median_delay"], court["data_type"]) == (2, 0, 2.0, "个人")
    water = _row(unit, "信源单位", None, unit=WATER, set="WATER-QF")
    assert (water["records"], water["rejected"], water["pass_rate"]) == (3, 1, pytest.approx(0.75))
    assert water["late_share"] is None and water["median_delay"] is None   # arrears carry no decision date
    platform = _row(unit, "信源单位", None, unit=PLATFORM, set="COURT-SXBZXR")   # not in the catalog, still shown
    assert (platform["unit_name"], platform["records"], platform["duplicates"]) == (PLATFORM, 1, 1)
    silent = _row(unit, "信源单位", None, unit=SI, set="SI-QJ")
    assert (silent["records"], silent["cumulative"], silent["pass_rate"]) == (0, 0, None)
    assert unit["tables"][0]["total"]["records"] == 14 and unit["tables"][0]["total"]["rejected"] == 2
    assert {r["unit"] for r in _rows(run["reports"]["water"], "信源单位")} == {WATER}


def test_city_tables_split_utilities_and_publicity(run):
    city = run["reports"]["city"]
    utilities = {r["city_code"]: r for r in _rows(city, "公用事业与社保")}
    assert set(utilities) == {"420100", "420200"}
    assert {k: utilities["420200"][k] for k in ("water", "power", "gas", "total")} == \
        {"water": 2, "power": 1, "gas": 1, "total": 4}
    assert (utilities["420100"]["city"], utilities["420100"]["water"], utilities["420100"]["total"]) == ("湖北省武汉市", 1, 1)
    assert utilities["420200"]["month"] == "2026-10"
    publicity = _rows(city, "双公示")
    assert [(r["city_code"], r["penalty"], r["licence"], r["other"], r["total"]) for r in publicity] == \
        [("420200", 4, 1, 0, 5)]


def test_compliance_lists_who_missed_and_not_who_filed(run):
    compliance = run["reports"]["compliance"]
    zero = _rows(compliance, "零报送")
    by_key = {(r["unit"], r["set"], r["period"]): r for r in zero}
    assert by_key[(SI, "SI-QJ", "2026-10")]["status"] == "未报送"
    assert by_key[(TAX, "TAX-ZDSS", "2026-10")]["status"] == "逾期"
    assert by_key[(TAX, "TAX-ZDSS", "2026-10")]["detail"].startswith("2026-10-27")
    assert by_key[(SAMR, "SGS-CF", "2026-W44")]["detail"] == "2026-11-02 零报送(逾期)"
    assert by_key[(XYB, "XYB-XF", "2026-10")]["status"] == "未报送"    # its November record is not October's
    assert not [r for r in zero if r["unit"] in (HF, WATER, COURT)], "a unit that filed (or reported) is listed"
    assert sorted(p for u, s, p in by_key if s == "SGS-CF") == ["2026-W44"]   # W40/W41 filed, W42/W43 reported
    assert sorted(p for u, s, p in by_key if s == "SGS-XK") == ["2026-W40", "2026-W41", "2026-W42", "2026-W44"]
    monthly = _rows(compliance, "月报")
    assert [(r["unit"], r["set"], r["period"], r["due"], r["status"]) for r in monthly] == \
        [(SI, "SI-QJ", "2026-09", "2026-10-23", "未报送")]
    overdue = {(r["unit"], r["set"]): r for r in _rows(compliance, "指标集逾期")}
    assert set(overdue) == {(TAX, "TAX-ANSR"), (SI, "SI-QJ"), (SAMR, "SAMR-XK"), (SAMR, "SAMR-CF"),
                            (SAMR, "SAMR-ZXDX"), (SAMR, "SAMR-YZWF"), (XYB, "XYB-XF")}
    assert (overdue[(TAX, "TAX-ANSR")]["window"], overdue[(TAX, "TAX-ANSR")]["days_overdue"]) == ("2026-Q3", 31)
    assert (overdue[(SAMR, "SAMR-YZWF")]["window"], overdue[(SAMR, "SAMR-YZWF")]["last_update"]) == \
        ("2026-W43", "2026-10-15")
    late = {r["objection"]: r for r in _rows(compliance, "异议逾期")}
    assert set(late) == {"OBJ-LATE", "OBJ-OPEN"}   # verified a day late; the provider never answered
    assert late["OBJ-LATE"]["step"] == "verify" and late["OBJ-LATE"]["unit"] == SAMR
    assert late["OBJ-OPEN"]["step"] == "provider_answer" and late["OBJ-OPEN"]["done"] in (None, "")


def test_lists_sizes_flows_and_checks(run):
    lists = run["reports"]["lists"]
    figures = ("at_start", "entered", "left", "repaired", "at_end")
    assert tuple(_row(lists, "名单规模与流动", "失信被执行人")[k] for k in figures) == (0, 2, 1, 1, 1)
    assert tuple(_row(lists, "名单规模与流动", "严重违法失信企业")[k] for k in figures) == (0, 1, 0, 0, 1)
    assert tuple(_row(lists, "名单规模与流动", "重大税收违法失信主体")[k] for k in figures) == (0, 0, 0, 0, 0)
    assert tuple(_row(lists, "名单规模与流动", "黑名单合计(去重主体)")[k] for k in figures) == (0, 3, 1, 1, 2)
    assert tuple(_row(lists, "名单规模与流动", "红名单")[k] for k in ("at_start", "entered", "at_end")) == (0, 1, 1)
    samr = _row(lists, "核查与反馈", None, unit=SAMR)
    assert {k: samr[k] for k in ("checks", "subjects", "punishment", "incentive", "suspended", "name_only")} == \
        {"checks": 3, "subjects": 3, "punishment": 1, "incentive": 1, "suspended": 0, "name_only": 1}
    assert _row(lists, "核查与反馈", None, unit="FGW-420200")["checks"] == 1


def test_evaluation_grades_from_inputs_shown_beside(run):
    rows = {r["unit"]: r for r in _rows(run["reports"]["evaluation"], "考核评价")}
    water = rows[WATER]
    # 数量 2/2 sets, 及时 4/4 deadlines (no dated records), 质量 5/6, no checks:
    # (30·100 + 25·100 + 30·83.33) / 85 = 94.1
    assert {k: water[k] for k in ("sets_due", "sets_reported", "deadlines_due", "deadlines_met", "accepted",
                                  "rejected", "checks")} == \
        {"sets_due": 2, "sets_reported": 2, "deadlines_due": 4, "deadlines_met": 4, "accepted": 5, "rejected": 1,
         "checks": 0}
    assert (water["volume"], water["timeliness"], water["quality"], water["use"]) == (100.0, 100.0, 83.3, None)
    assert (water["score"], water["grade"]) == (94.1, "优")
    assert (rows[HF]["score"], rows[HF]["grade"]) == (100.0, "优")     # zero reports on time count as reported
    assert (rows[SI]["volume"], rows[SI]["timeliness"], rows[SI]["grade"]) == (0.0, 0.0, "差")
    # 税务局: the monthly set covered by a (late) zero report, its one deadline missed: (30·100 + 25·0) / 55
    assert (rows[TAX]["volume"], rows[TAX]["timeliness"], rows[TAX]["score"], rows[TAX]["grade"]) == \
        (100.0, 0.0, 54.5, "差")
    assert (rows[COURT]["dated_records"], rows[COURT]["late_records"], rows[COURT]["grade"]) == (2, 0, "优")


def test_totals_count_a_record_reported_twice_once(run):
    totals = run["reports"]["totals"]
    by_unit = {r["unit"]: r for r in _rows(totals, "去重总量")}
    assert (by_unit[PLATFORM]["period_records"], by_unit[PLATFORM]["period_duplicates"]) == (1, 1)
    assert (by_unit[SAMR]["period_records"], by_unit[WATER]["period_records"], by_unit[COURT]["period_records"]) == \
        (6, 5, 2)
    total = totals["tables"][0]["total"]
    assert {k: total[k] for k in ("period_records", "period_duplicates", "period_distinct", "cumulative_records",
                                  "cumulative_distinct", "persons", "organisations")} == \
        {"period_records": 14, "period_duplicates": 1, "period_distinct": 13, "cumulative_records": 14,
         "cumulative_distinct": 13, "persons": 7, "organisations": 6}


def test_xlsx_from_the_running_sink_opens_with_headers_formats_and_figures(run):
    assert run["cli_via_sink"].returncode == 0, run["cli_via_sink"].stderr
    wb = load_workbook(run["cli_xlsx"])
    ws = wb["信源单位"]
    headers = [c.value for c in ws[1]]
    assert headers[:4] == ["序号", "信源单位", "单位代码", "指标集名称"] and "入库合格率" in headers
    assert ws.freeze_panes == "A2"
    col = {h: i for i, h in enumerate(headers)}
    row = next(r for r in ws.iter_rows(min_row=2) if r[col["单位代码"]].value == SAMR and r[col["指标集代码"]].value == "SGS-CF")
    assert (row[col["更新条数"]].value, row[col["拒收条数"]].value) == (4, 1)
    assert row[col["入库合格率"]].value == pytest.approx(0.8) and row[col["入库合格率"]].number_format == "0.00%"
    assert row[col["更新条数"]].number_format == "#,##0"
    assert row[col["报送时效中位数(工作日)"]].value == 3.5
    assert ws.column_dimensions["B"].width >= 2 * len("国家税务总局黄石市税务局")   # Chinese text fits
    last = [c.value for c in ws[ws.max_row]]
    assert last[col["信源单位"]] == "合计" and last[col["更新条数"]] == 14
    assert "说明" in wb.sheetnames


def test_cli_reads_the_stopped_history_directly_as_csv_with_bom(run):
    out = run["tmp"] / "compliance.csv"
    done = _cli(run["settings"], "compliance", "--period", "2026-10", "--format", "csv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == ["零报送"] and "截止日期" in lines[1]
    assert any(SI in line and "2026-10" in line and "未报送" in line for line in lines)
    assert not any(HF in line for line in lines)


def test_bad_input_is_refused_with_exit_code_2_and_http_400(run):
    status, detail = run["refused"]
    assert status == 400 and "future" in detail
    unknown = _cli(run["settings"], "unit", "--period", "2026-10", "--unit", "NOBODY-1")
    assert unknown.returncode == 2 and "unknown unit" in unknown.stderr
    future = _cli(run["settings"], "unit", "--period", (date.today() + timedelta(days=62)).strftime("%Y-%m"))
    assert future.returncode == 2 and "future" in future.stderr
    empty = _cli(run["settings"], "lists", "--period", " ")
    assert empty.returncode == 2 and "empty" in empty.stderr
    platform = _cli(run["settings"], "unit", "--period", "2026-10", "--unit", PLATFORM)   # known from the history
    assert platform.returncode == 0, platform.stderr
