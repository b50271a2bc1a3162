"""Synthetic reports from a few units, for `creditstream up` and the tests: valid USCCs and ID
numbers (checksums from python-stdnum), the wild date formats, and a share of bad records."""
from __future__ import annotations

import random
import string
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from stdnum.cn import ric, uscc

from creditstream.domain.event_id import event_id

# Division codes (GB/T 2260) that python-stdnum's table knows, so generated ID numbers validate.
DIVISIONS = ["210102", "210202", "210803", "420202", "420281", "110105", "330106", "350102"]
_ORG_ALPHABET = string.digits + "ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True)
class DemoUnit:
    code: str
    name: str
    catalog: str
    category: str
    subject_type: str
    mode: str
    weight: float


DEMO_UNITS = [
    DemoUnit("TAX-420200", "黄石市税务局", "TAX-ZDSS", "TAX_VIOLATION", "LEGAL_PERSON", "INTERFACE", 1),
    DemoUnit("COURT-420200", "黄石市中级人民法院", "COURT-SXBZXR", "COURT_DISHONEST", "NATURAL_PERSON", "INTERFACE", 2),
    DemoUnit("SAMR-420200", "黄石市市场监督管理局", "SAMR-XK", "LICENCE", "LEGAL_PERSON", "BATCH", 5),
    DemoUnit("SAMR-420200", "黄石市市场监督管理局", "SAMR-CF", "PENALTY", "LEGAL_PERSON", "BATCH", 3),
    DemoUnit("WATER-420200", "黄石市自来水公司", "WATER-QF", "ARREARS", "NATURAL_PERSON", "BATCH", 2),
]


def make_uscc(rng: random.Random, division: str | None = None) -> str:
    body = "91" + (division or rng.choice(DIVISIONS)) + "".join(rng.choice(_ORG_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def make_id_number(rng: random.Random, division: str | None = None) -> str:
    while True:  # a division code must have existed in the birth year, or GB 11643 rejects it
        birth = datetime(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 50))
        body = (division or rng.choice(DIVISIONS)) + birth.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
        number = body + ric.calc_check_digit(body)
        if ric.is_valid(number):
            return number


def _wild_date(rng: random.Random, day: datetime) -> str:
    return rng.choice([
        day.strftime("%Y-%m-%d"),
        day.strftime("%Y年%m月%d日"),
        day.strftime("%Y%m%d"),
        day.strftime("%Y-%m-%d 00:00:00"),
    ])


class DemoFeed:
    """An endless, reproducible stream of CreditEvents. ``bad_share`` of them are invalid."""

    def __init__(self, seed: int = 7, bad_share: float = 0.05, units: list[DemoUnit] | None = None):
        self.rng = random.Random(seed)
        self.bad_share = bad_share
        self.units = units or DEMO_UNITS
        self._weights = [u.weight for u in self.units]
        self.sequence = 0

    def next_event(self, now: datetime | None = None) -> tuple[dict, bool]:
        """One event and whether it was generated to be valid."""
        rng = self.rng
        now = now or datetime.now(timezone.utc)
        unit = rng.choices(self.units, self._weights)[0]
        self.sequence += 1
        valid = rng.random() >= self.bad_share
        person = unit.subject_type == "NATURAL_PERSON"
        subject = {"type": unit.subject_type, "uscc": None, "id_number": None, "plate": None,
                   "name": None, "sex": None, "legal_representative": None}
        if person:
            subject["id_number"] = make_id_number(rng)
            subject["name"] = rng.choice("王李张刘陈杨黄赵") + rng.choice(["伟", "芳", "娜", "敏", "静", "强", "磊"])
            subject["sex"] = rng.choice(["男", "女", "男性", "女性"])
        else:
            subject["uscc"] = make_uscc(rng)
            subject["name"] = rng.choice(["黄石", "大冶", "阳新"]) + rng.choice(["恒达", "鑫源", "华康", "建工"]) + \
                rng.choice(["有限公司", "有限责任公司", "商贸有限公司"])
        if not valid:
            field = "id_number" if person else "uscc"
            broken = subject[field]
            subject[field] = broken[:-1] + ("0" if broken[-1] != "0" else "1")  # checksum now fails
        decided = now - timedelta(days=rng.randrange(0, 20))
        document_number = f"（{decided.year}）鄂02{rng.choice(['执', '税', '市监'])}{self.sequence}号"
        subject_id = subject["id_number"] or subject["uscc"]
        event = {
            "event_id": event_id(unit.code, unit.catalog, unit.category, subject_id, document_number),
            "source_unit": unit.code,
            "catalog": unit.catalog,
            "category": unit.category,
            "reporting_mode": unit.mode,
            "source_format": "demo",
            "reported_at": int(now.timestamp() * 1000),
            "subject": subject,
            "decision": {"document_number": document_number, "authority": unit.name,
                         "date": _wild_date(rng, decided),
                         "valid_until": rng.choice(["2099-12-31", _wild_date(rng, decided + timedelta(days=1095))])},
            "matter": {"name": {"LICENCE": "食品经营许可", "PENALTY": "行政处罚", "ARREARS": "水费欠缴",
                                "COURT_DISHONEST": "失信被执行人", "TAX_VIOLATION": "重大税收违法"}[unit.category],
                       "cause": "演示数据 demo record", "content": None},
            "raw": {},
        }
        return event, valid

    def events(self, count: int):
        for _ in range(count):
            yield self.next_event()


def run(bootstrap_servers: str, rate: float, limit: int | None = None, seed: int | None = None) -> int:
    """Publish demo events at ``rate`` per second until stopped (or ``limit`` events)."""
    from producers.credit_producer import CreditProducer

    feed = DemoFeed(seed=seed if seed is not None else int(time.time()))
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
