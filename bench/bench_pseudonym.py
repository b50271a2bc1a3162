"""What pseudonymising natural persons' ID numbers costs the stream: the rules (`assess`) over the
same person records with the deployment's keys (HMAC pseudonym + AES-GCM seal) against without
them, in the same run. The worker's budget at its target of 20 000 events/s is 50 µs per event.

    python -m bench pseudonym
"""
from __future__ import annotations

import random
import time
from datetime import datetime, timezone

RECORDS = 20_000
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


def bench_pseudonymisation() -> list[dict]:
    from creditstream.domain.assessment import default_catalog
    from creditstream.domain.pseudonym import ephemeral_pseudonymiser

    events, now, catalog = _person_events(RECORDS), datetime.now(timezone.utc), default_catalog()
    _rate(events[:2000], None, now, catalog)  # warm the caches of both sides alike
    keys = ephemeral_pseudonymiser()
    plain = max(_rate(events, None, now, catalog) for _ in range(3))
    keyed = max(_rate(events, keys, now, catalog) for _ in range(3))
    extra_us = 1e6 / keyed - 1e6 / plain
    return [
        {"benchmark": f"rules on {RECORDS:,} person records, ID numbers kept (baseline)", "figure": plain,
         "unit": "records/s"},
        {"benchmark": "same, pseudonymised and sealed (HMAC-SHA256 + AES-GCM)", "figure": keyed, "unit": "records/s"},
        {"benchmark": "cost of pseudonymisation per person record", "figure": extra_us, "unit": "µs",
         "requirement": f"<= 10 % of the {BUDGET_US:.0f} µs/event budget", "ok": extra_us <= BUDGET_US / 10},
    ]


if __name__ == "__main__":
    for row in bench_pseudonymisation():
        print(row)
