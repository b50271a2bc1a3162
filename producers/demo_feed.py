"""Synthetic reports for `creditstream up`, the tests and the benchmarks: many units in several
cities, each reporting its indicator sets at its own frequency and in its own mode, every category,
the formats found in the wild (dates as 2014年11月28日 / 20150716 / unix seconds, 男性 and M,
暂无, full-width brackets, masked and old 15-digit ID numbers, 15-digit tax numbers), a share of
bad records and some duplicates — a unit re-sending a record, and a record reported by two units.

Identifiers are real: USCCs and ID numbers carry valid checksums (python-stdnum), and division
codes come from the GB/T 2260 table bundled with python-stdnum.
"""
from __future__ import annotations

import random
import re
import string
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import stdnum
from stdnum.cn import ric, uscc

from creditstream.domain.event_id import event_id
from producers.credit_producer import message_key

_ORG_ALPHABET = string.digits + "ABCDEFGHJKLMNPQRTUWXY"
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ENDED = re.compile(r'"\[\d*-\d{4}\]')
_SINCE = re.compile(r'"\[(\d{4})-\]')


@lru_cache(maxsize=1)
def division_codes() -> list[str]:
    return list(_divisions_in_use())


@lru_cache(maxsize=1)
def _divisions_in_use() -> dict[str, int]:
    """County-level GB/T 2260 codes in use: those the table marks as ended ([-1982], [1983-2018])
    are left out; [1983-] means in use since 1983."""
    codes: dict[str, int] = {}
    province = ""
    for line in (Path(stdnum.__file__).parent / "cn" / "loc.dat").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line.split()[0]
            continue
        number, _, rest = line.strip().partition(" ")
        if not _ENDED.search(rest) and not number.endswith("00"):
            since = _SINCE.search(rest)
            codes[province + number] = int(since.group(1)) if since else 1950
    return codes


# Kept for callers of the first demo feed: a few divisions in the cities the demo units sit in.
DIVISIONS = ["210102", "210202", "210803", "420202", "420281", "110105", "330106", "350102"]


def make_uscc(rng: random.Random, division: str | None = None, kind: str = "91") -> str:
    body = kind + (division or rng.choice(DIVISIONS)) + "".join(rng.choice(_ORG_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def make_org_code(rng: random.Random) -> str:
    """A GB 11714 organisation code (8 characters and a check character)."""
    body = "".join(rng.choice(string.digits + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    check = 11 - sum(int(c, 36) * w for c, w in zip(body, _ORG_CODE_WEIGHTS)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def make_id_number(rng: random.Random, division: str | None = None) -> str:
    # A division code must have existed in the birth year, or GB 11643 rejects the number.
    first_year = max(1950, _divisions_in_use().get(division, 1950)) if division else 1950
    if first_year > 2000:
        raise ValueError(f"division {division} is too young for adults' ID numbers")
    for _ in range(1000):
        birth = datetime(first_year, 1, 1) + timedelta(days=rng.randrange(0, 365 * (2006 - first_year)))
        body = (division or rng.choice(DIVISIONS)) + birth.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
        number = body + ric.calc_check_digit(body)
        if ric.is_valid(number):
            return number
    raise ValueError(f"no valid ID number for division {division}")


@dataclass(frozen=True)
class DemoUnit:
    code: str
    name: str
    catalog: str
    category: str
    subject_type: str
    mode: str
    weight: float             # records per unit of time: real-time units report most
    frequency: str = "实时"    # 实时, 周, 月, 季度
    source_format: str = "http"


# (code prefix, name, catalog, category, subject type, mode, frequency, format, volume)
_UNIT_KINDS = [
    ("SAMR", "市场监督管理局", "SGS-XK", "LICENCE", "LEGAL_PERSON", "INTERFACE", "实时", "http", 6.0),
    ("SAMR", "市场监督管理局", "SGS-CF", "PENALTY", "LEGAL_PERSON", "BATCH", "实时", "xlsx", 3.0),
    ("SAMR", "市场监督管理局", "SAMR-YZWF", "SERIOUS_DISHONEST", "LEGAL_PERSON", "BATCH", "月", "xlsx", 0.3),
    ("COURT", "中级人民法院", "COURT-SXBZXR", "COURT_DISHONEST", "NATURAL_PERSON", "INTERFACE", "实时", "json", 3.0),
    ("TAX", "税务局", "TAX-ZDSS", "TAX_VIOLATION", "LEGAL_PERSON", "BATCH", "月", "csv", 0.8),
    ("TAX", "税务局", "TAX-ANSR", "RED_LIST", "LEGAL_PERSON", "BATCH", "季度", "csv", 0.3),
    ("WATER", "自来水公司", "WATER-QF", "ARREARS", "NATURAL_PERSON", "BATCH", "月", "xlsx", 2.0),
    ("POWER", "供电公司", "UTILITY-QF", "ARREARS", "NATURAL_PERSON", "BATCH", "月", "csv", 2.0),
    ("SI", "社会保险事业局", "SI-QJ", "ARREARS", "LEGAL_PERSON", "BATCH", "月", "xlsx", 0.8),
    ("HF", "住房公积金中心", "HF-QJ", "ARREARS", "LEGAL_PERSON", "BATCH", "月", "csv", 0.6),
    ("EPB", "生态环境局", "SGS-CF", "PENALTY", "LEGAL_PERSON", "ONLINE_FORM", "周", "form", 0.4),
    ("TRANS", "交通运输局", "SGS-XK", "LICENCE", "LEGAL_PERSON", "ONLINE_FORM", "周", "form", 0.8),
]
CITIES = {"420200": "黄石市", "210800": "营口市", "210100": "沈阳市", "210200": "大连市"}
_CITY_WEIGHT = {"420200": 1.0, "210800": 0.8, "210100": 1.5, "210200": 1.2}


def demo_units(cities: dict[str, str] = CITIES) -> list[DemoUnit]:
    return [DemoUnit(f"{prefix}-{region}", city + name, catalog, category, stype, mode, volume * _CITY_WEIGHT[region],
                     frequency, fmt)
            for region, city in cities.items()
            for prefix, name, catalog, category, stype, mode, frequency, fmt, volume in _UNIT_KINDS]


DEMO_UNITS = demo_units()

MATTERS = {
    "LICENCE": [("食品经营许可", "申请食品经营许可，经审查符合条件", "预包装食品销售"),
                ("道路运输经营许可", "申请道路普通货物运输经营", "普通货运"),
                ("个体工商户登记", "申请个体工商户设立登记", "日用百货零售")],
    "PENALTY": [("行政处罚", "销售超过保质期的食品", "罚款人民币五千元"),
                ("行政处罚", "未批先建，建设项目环评文件未经批准擅自开工建设", "罚款人民币五万元"),
                ("行政处罚", "未按规定进行年度报告", "警告")],
    "SERIOUS_DISHONEST": [("严重违法失信企业名单", "被列入经营异常名录届满3年仍未履行相关义务", "列入严重违法失信企业名单")],
    "COURT_DISHONEST": [("失信被执行人", "有履行能力而拒不履行生效法律文书确定义务", "全部未履行"),
                        ("失信被执行人", "违反限制消费令", "部分未履行"),
                        ("失信被执行人", "其他规避执行", "全部未履行")],
    "TAX_VIOLATION": [("偷税", "采取虚假纳税申报手段少缴税款", "依法追缴税款并处罚款"),
                      ("虚开增值税专用发票", "虚开增值税专用发票", "移送公安机关"),
                      ("走逃（失联）", "经税务机关查证处理后走逃（失联）", "依法追缴")],
    "RED_LIST": [("纳税信用A级纳税人", "年度纳税信用评价为A级", "A级")],
    "ARREARS": [("欠缴费用", "连续6个月欠缴", "欠费金额3260.50元"),
                ("欠缴费用", "连续12个月欠缴", "欠费金额12890.00元")],
}
_DOC_MARKS = {"LICENCE": "许", "PENALTY": "罚", "SERIOUS_DISHONEST": "严失", "COURT_DISHONEST": "执",
              "TAX_VIOLATION": "税稽", "RED_LIST": "税信", "ARREARS": "催"}
_SURNAMES, _GIVEN = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静强磊军洋勇艳杰娟涛明超秀霞平刚"
_FIRMS = ["恒达", "鑫源", "华康", "建工", "港盛", "金盛", "东方", "兴业", "宏远", "永安"]
_FIRM_SUFFIX = ["有限公司", "有限责任公司", "商贸有限公司", "物流有限公司", "建材有限公司"]

BAD_KINDS = ("checksum", "missing_id", "future_date", "missing_cause", "validity_before_decision")


def _wild_date(rng: random.Random, day: datetime) -> str:
    return rng.choice([day.strftime("%Y-%m-%d"), day.strftime("%Y年%m月%d日"), day.strftime("%Y%m%d"),
                       day.strftime("%Y-%m-%d 00:00:00"), str(int(day.replace(tzinfo=timezone.utc).timestamp()))])


def _mask(number: str) -> str:
    return number[:10] + "****" + number[14:]


class DemoFeed:
    """An endless, reproducible stream of CreditEvents. ``bad_share`` of them are invalid, in the
    ways listed in ``bad_kinds``. ``cross_unit_share`` of them are an earlier valid record reported
    again by another unit (its own event id; the stream flags it duplicate_of), ``replay_share`` the
    same unit re-sending one (the same event id; the stream drops it). The defaults — checksum
    failures only, no replays, so one event per id — are what the end-to-end reconciliation counts
    on; `run` adds the rest."""

    def __init__(self, seed: int = 7, bad_share: float = 0.05, units: list[DemoUnit] | None = None,
                 cross_unit_share: float = 0.01, replay_share: float = 0.0,
                 bad_kinds: tuple[str, ...] = ("checksum",)):
        unknown = set(bad_kinds) - set(BAD_KINDS)
        if unknown:
            raise ValueError(f"unknown bad kinds {sorted(unknown)}; known: {BAD_KINDS}")
        self.rng = random.Random(seed)
        self.bad_share = bad_share
        self.cross_unit_share = cross_unit_share
        self.replay_share = replay_share
        self.bad_kinds = bad_kinds
        self.units = units or DEMO_UNITS
        self._weights = [u.weight for u in self.units]
        # Divisions old enough that adults can have been born there.
        in_use = _divisions_in_use()
        self._divisions = {region: [c for c, since in in_use.items() if c[:4] == region[:4] and since <= 1985]
                           or [region] for region in {u.code.rsplit("-", 1)[-1] for u in self.units}}
        self._recent: list[dict] = []
        self.sequence = 0

    # ------------------------------------------------------------------------------------ subjects
    def _subject(self, unit: DemoUnit, region: str) -> dict:
        rng = self.rng
        division = rng.choice(self._divisions.get(region, [region]))
        subject = {"type": unit.subject_type, "uscc": None, "id_type": None, "id_number": None, "plate": None,
                   "name": None, "sex": None, "legal_representative": None, "other_ids": {}}
        person_name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(["", rng.choice(_GIVEN)])
        court_firm = unit.category == "COURT_DISHONEST" and rng.random() < 0.25
        if unit.subject_type == "NATURAL_PERSON" and not court_firm:
            number = make_id_number(rng, division)
            male = int(number[16]) % 2 == 1  # GB 11643: the sequence number is odd for men
            if unit.category == "COURT_DISHONEST":
                number = _mask(number)  # the court publishes masked numbers
            elif unit.category == "ARREARS" and number[6:8] == "19" and rng.random() < 0.1:
                number = number[:6] + number[8:17]  # an old 15-digit number from a legacy billing system
            subject.update(id_number=number, name=person_name,
                           sex=rng.choice(["男", "男性", "M"] if male else ["女", "女性", "F"]),
                           id_type=rng.choice([None, "身份证", "居民身份证", "01"]))
            return subject
        kind = "92" if unit.category == "LICENCE" and rng.random() < 0.3 else "91"
        subject["type"] = "INDIVIDUAL_BUSINESS" if kind == "92" else "LEGAL_PERSON"
        city = CITIES.get(region, "")
        subject["name"] = (city[:2] + rng.choice(_FIRMS) + rng.choice(_FIRM_SUFFIX)) if kind == "91" \
            else person_name + rng.choice(["商店", "饭店", "修理部"])
        subject["legal_representative"] = person_name
        if unit.category == "TAX_VIOLATION" and rng.random() < 0.15:
            org = make_org_code(rng)
            subject["uscc"] = division + org  # a 15-digit pre-USCC tax registration number
            subject["other_ids"] = {"org_code": org}
        else:
            subject["uscc"] = make_uscc(rng, division, kind)
        return subject

    # ------------------------------------------------------------------------------------- events
    def next_event(self, now: datetime | None = None) -> tuple[dict, bool]:
        """One event and whether it was generated to be valid."""
        rng = self.rng
        now = now or datetime.now(timezone.utc)
        self.sequence += 1
        draw = rng.random()
        if self._recent and draw < self.cross_unit_share + self.replay_share:
            return self._duplicate(now, replay=draw < self.replay_share), True
        unit = rng.choices(self.units, self._weights)[0]
        region = unit.code.rsplit("-", 1)[-1]
        subject = self._subject(unit, region)
        decided = now - timedelta(days=rng.randrange(0, 20), hours=rng.randrange(0, 12))
        matter_name, cause, content = rng.choice(MATTERS[unit.category])
        bracket = rng.choice([("（", "）"), ("(", ")"), ("〔", "〕")])
        document_number = (f"{CITIES.get(region, '')[:1]}{_DOC_MARKS[unit.category]}{bracket[0]}{decided.year}{bracket[1]}"
                           f"{self.sequence}号")
        if unit.category == "COURT_DISHONEST":
            document_number = f"{bracket[0]}{decided.year}{bracket[1]}{'鄂' if region.startswith('42') else '辽'}" \
                              f"{region[2:4]}执{self.sequence}号"
        valid_until = rng.choice(["2099-12-31", _wild_date(rng, decided + timedelta(days=1095)), "暂无", None]) \
            if unit.category in ("LICENCE", "PENALTY", "SERIOUS_DISHONEST") else None
        decision = {"document_number": document_number, "document_name": None, "authority": unit.name,
                    "authority_code": None, "date": _wild_date(rng, decided), "valid_from": None,
                    "valid_until": valid_until, "status": rng.choice([None, "0"])}
        matter = {"name": matter_name, "kind": None, "cause": cause, "legal_basis": None, "content": content}
        raw = self._raw(unit, rng, decided)
        valid = rng.random() >= self.bad_share
        if not valid:
            kind = rng.choice(self.bad_kinds)
            if kind == "missing_cause" and unit.category == "RED_LIST":  # the red list needs no cause
                kind = "checksum"
            self._spoil(kind, subject, decision, matter, now)
        event = {
            "event_id": event_id(unit.code, unit.catalog, unit.category, message_key(subject), document_number),
            "source_unit": unit.code, "catalog": unit.catalog, "category": unit.category,
            "reporting_mode": unit.mode, "source_format": unit.source_format,
            "reported_at": int(now.timestamp() * 1000), "reported_by": f"demo:{unit.code}",
            "source_ref": f"demo-{self.sequence}",
            "subject": subject, "decision": decision, "matter": matter, "raw": raw,
        }
        if valid:
            self._recent.append(event)
            del self._recent[:-500]
        return event, valid

    @staticmethod
    def _raw(unit: DemoUnit, rng: random.Random, decided: datetime) -> dict:
        if unit.category == "COURT_DISHONEST":
            return {"areaName": rng.choice(["湖北", "辽宁"]), "regDate": (decided - timedelta(days=90)).strftime("%Y-%m-%d")}
        if unit.category == "TAX_VIOLATION":
            return {"所属年度": str(decided.year), "所属月份": str(decided.month)}
        if unit.category == "ARREARS":
            return {"户号": f"{rng.randrange(10**9, 10**10)}", "欠费月数": str(rng.randrange(3, 25))}
        return {}

    def _spoil(self, kind: str, subject: dict, decision: dict, matter: dict, now: datetime) -> None:
        if kind == "checksum":
            field = "id_number" if subject["id_number"] else "uscc"
            value = subject[field]
            if "*" in value or len(value) != 18:  # a masked or old number has no checksum to break
                subject.update(type="LEGAL_PERSON", id_number=None, uscc=make_uscc(self.rng))
                field, value = "uscc", subject["uscc"]
            subject[field] = value[:-1] + ("0" if value[-1] != "0" else "1")
        elif kind == "missing_id":  # a utility record not tied to the owner's id (seed 003)
            subject.update(uscc=None, id_number=None, other_ids={})
        elif kind == "future_date":
            decision["date"] = (now + timedelta(days=30)).strftime("%Y-%m-%d")
        elif kind == "missing_cause":
            matter["cause"] = "暂无"
        elif kind == "validity_before_decision":
            decision["valid_until"] = "2001-01-01"

    def _duplicate(self, now: datetime, replay: bool) -> dict:
        original = self.rng.choice(self._recent)
        if replay:  # the same unit sends it again: same event id
            return {**original, "reported_at": int(now.timestamp() * 1000)}
        # Another platform's unit reports the same record: its own event, flagged duplicate_of downstream.
        region = original["source_unit"].rsplit("-", 1)[-1]
        unit_code = f"XYB-{region}"
        return {**original, "source_unit": unit_code, "reporting_mode": "BATCH", "source_format": "xlsx",
                "reported_at": int(now.timestamp() * 1000), "reported_by": f"demo:{unit_code}",
                "event_id": event_id(unit_code, original["catalog"], original["category"],
                                     message_key(original["subject"]), original["decision"]["document_number"])}

    def events(self, count: int):
        for _ in range(count):
            yield self.next_event()


def run(bootstrap_servers: str, rate: float, limit: int | None = None, seed: int | None = None) -> int:
    """Publish demo events at ``rate`` per second until stopped (or ``limit`` events), with every
    kind of bad record, as `creditstream up` shows them."""
    from producers.credit_producer import CreditProducer

    feed = DemoFeed(seed=seed if seed is not None else int(time.time()), bad_kinds=BAD_KINDS, replay_share=0.01)
    sent = 0
    started = time.monotonic()
    with CreditProducer(bootstrap_servers) as producer:
        try:
            while limit is None or sent < limit:
                event, _ = feed.next_event()
                producer.send(event)
                sent += 1
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        except KeyboardInterrupt:
            pass
    return sent
