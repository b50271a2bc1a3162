"""What pseudonymising natural persons' ID numbers costs the stream: the rules (`assess`) over the
same person records with the deployment's keys (HMAC pseudonym + AES-GCM seal) against without
them, in the same run. The worker's budget at its target of 20 000 events/s is 50 µs per event.

    python -m bench pseudonym
"""
from __future__ import annotations

import os
import random
import time
from datetime import datetime, timezone

RECORDS = int(os.environ.get("BENCH_PSEUDONYM_RECORDS", "20000"))
BUDGET_US = 1e6 / 20_000


def _person_events(count: int) -> list[dict]:
    from producers.demo_feed import make_id_number

    rng = random.Random(5)
    events = []
    for i in range(count):
        events.append({
            "event_id": f"p-{i}", "source_unit": "COURT-420200", "catalog": "COURT-SXBZXR",
            "category": "COURT_DISHONEST", "reporting_mode": "INTERFACE", "source_format": "json",
            "reported_at": int(time.time() * 1000),
            "subject": {"type": "NATURAL_PERSON", "uscc": None, "id_type": "身份证",
                        "id_number": make_id_number(rng, "420202"), "plate": None, "name": "王伟", "sex": "男",
                        "legal_representative": None, "other_ids": {}},
            "decision": {"document_number": f"(2026)鄂02执{i}号", "authority": "黄石市中级人民法院",
                         "date": "2026-10-09", "valid_until": None, "status": None},
            "matter": {"name": "失信被执行人", "cause": "拒不履行生效法律文书确定义务", "content": None},
            "raw": {},
        })
    return events


def _rate(events, keys, now, catalog) -> float:
    from creditstream.domain.assessment import assess

    start = time.perf_counter()
    for event in events:
        assess(event, now, catalog, keys)
    return len(events) / (time.perf_counter() - start)


def _direct_cost_us(numbers: list[str]) -> float:
    """Pseudonym (uncached: a fresh key set) and seal of every number, µs each."""
    from creditstream.domain.pseudonym import ephemeral_pseudonymiser

    keys = ephemeral_pseudonymiser()
    start = time.perf_counter()
    for number in numbers:
        keys.pseudonym(number)
        keys.seal(number)
    return (time.perf_counter() - start) / len(numbers) * 1e6


def bench_pseudonymisation() -> list[dict]:
    from creditstream.domain.assessment import default_catalog
    from creditstream.domain.pseudonym import ephemeral_pseudonymiser

    events, now, catalog = _person_events(RECORDS), datetime.now(timezone.utc), default_catalog()
    _rate(events, None, now, catalog)  # warm the rules' caches for both sides alike
    plain, keyed = [], []
    for _ in range(5):  # interleaved, so a busy moment of the machine hits both sides
        plain.append(_rate(events, None, now, catalog))
        keyed.append(_rate(events, ephemeral_pseudonymiser(), now, catalog))  # fresh keys: no cached pseudonym
    plain_rate, keyed_rate = sorted(plain)[2], sorted(keyed)[2]
    direct = sorted(_direct_cost_us([e["subject"]["id_number"] for e in events]) for _ in range(5))[2]
    return [
        {"benchmark": f"rules on {RECORDS:,} person records, ID numbers kept (baseline, median of 5)",
         "figure": plain_rate, "unit": "records/s"},
        {"benchmark": "same rules, pseudonymised and sealed (HMAC-SHA256 + AES-GCM)", "figure": keyed_rate,
         "unit": "records/s"},
        {"benchmark": "difference per person record (noisy: two rates subtracted)",
         "figure": 1e6 / keyed_rate - 1e6 / plain_rate, "unit": "µs"},
        {"benchmark": "pseudonym + seal of one ID number, measured alone", "figure": direct, "unit": "µs",
         "requirement": f"<= 10 % of the {BUDGET_US:.0f} µs/event budget", "ok": direct <= BUDGET_US / 10},
    ]


if __name__ == "__main__":
    for row in bench_pseudonymisation():
        print(row)
