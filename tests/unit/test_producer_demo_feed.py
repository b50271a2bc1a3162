"""The demo feed: realistic, reproducible, every category, valid where it says so, bad where it
says so — as the stream's own rules judge it — and some duplicates."""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timezone
from functools import lru_cache

from avro_schemas.codec import CREDIT_EVENT, codec
from creditstream.domain.categories import LABELS_ZH
from producers.demo_feed import BAD_KINDS, DemoFeed, division_codes
from producers.verdict import verdict

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


@lru_cache(maxsize=None)
def sample(count=3000, bad_kinds=("checksum",)):
    feed = DemoFeed(seed=5, bad_share=0.08, bad_kinds=bad_kinds, replay_share=0.01)
    return [feed.next_event(NOW) for _ in range(count)]


def test_valid_and_bad_records_are_what_validation_says_they_are():
    verdicts = [(e, valid, verdict(e, NOW)) for e, valid in sample(bad_kinds=BAD_KINDS)]
    wrong = [(e["category"], valid, v["reasons"]) for e, valid, v in verdicts if (v["status"] == "accepted") != valid]
    assert wrong == []


def test_bad_share_is_about_what_was_asked_and_every_bad_kind_occurs():
    events = sample(bad_kinds=BAD_KINDS)
    bad = sum(1 for _, valid in events if not valid)
    assert 0.05 < bad / len(events) < 0.11
    codes = Counter(r["code"] for e, valid in events if not valid for r in verdict(e, NOW)["reasons"])
    assert {"invalid_uscc", "missing_subject_id", "missing_field"} <= set(codes)
    assert len(codes) >= 5


def test_by_default_bad_records_fail_only_their_checksums():
    codes = {r["code"] for e, valid in sample(1500) if not valid for r in verdict(e, NOW)["reasons"]}
    assert codes <= {"invalid_uscc", "invalid_id_number"} and codes


def test_many_units_all_categories_modes_and_formats():
    events = [e for e, _ in sample()]
    assert set(LABELS_ZH) - {e["category"] for e in events} <= {"OTHER"}
    assert len({e["source_unit"] for e in events}) >= 30
    assert {e["reporting_mode"] for e in events} == {"INTERFACE", "BATCH", "ONLINE_FORM"}
    assert {"http", "csv", "xlsx", "json", "form"} <= {e["source_format"] for e in events}
    encode = codec(CREDIT_EVENT).encode
    for event in events:
        encode(event)


def test_real_time_units_report_more_than_monthly_ones():
    events = Counter(e["catalog"] for e, _ in sample())
    assert events["SGS-XK"] > events["TAX-ZDSS"] > events["TAX-ANSR"]


def test_the_formats_of_the_wild_appear():
    events = [e for e, _ in sample()]
    dates = [e["decision"]["date"] for e in events]
    assert any(re.fullmatch(r"\d{4}年\d{2}月\d{2}日", d) for d in dates)
    assert any(re.fullmatch(r"\d{8}", d) for d in dates) and any(re.fullmatch(r"\d{10}", d) for d in dates)
    assert {"男性", "M"} & {e["subject"]["sex"] for e in events}
    assert any("****" in (e["subject"]["id_number"] or "") for e in events)  # court's masked numbers
    assert any(len(e["subject"]["id_number"] or "") == 15 for e in events)  # old ID numbers
    assert any(len(e["subject"]["uscc"] or "") == 15 for e in events)  # pre-USCC tax numbers
    assert any("（" in e["decision"]["document_number"] for e in events)
    assert any("(" in e["decision"]["document_number"] for e in events)
    assert "暂无" in {e["decision"]["valid_until"] for e in events}


def test_duplicates_are_replays_and_cross_unit_reports():
    events = [e for e, _ in sample()]
    ids = Counter(e["event_id"] for e in events)
    assert any(n > 1 for n in ids.values()), "no replay of an event id"
    natural = Counter((e["subject"]["uscc"] or e["subject"]["id_number"], e["decision"]["document_number"])
                      for e in events)
    reported_twice = {k for k, n in natural.items() if n > 1}
    assert any(len({e["source_unit"] for e in events
                    if (e["subject"]["uscc"] or e["subject"]["id_number"], e["decision"]["document_number"]) == k}) > 1
               for k in reported_twice), "no record reported by two units"


def test_by_default_no_event_id_repeats_but_other_units_report_the_same_records():
    events = [e for e, _ in DemoFeed(seed=11, bad_share=0.1).events(1500)]
    ids = [e["event_id"] for e in events]
    assert len(set(ids)) == len(ids)
    assert any(e["source_unit"].startswith("XYB-") for e in events)


def test_reproducible_from_its_seed():
    feeds = DemoFeed(seed=9), DemoFeed(seed=9)
    first, again = ([f.next_event(NOW) for _ in range(200)] for f in feeds)
    assert first == again


def test_division_codes_come_from_the_bundled_table():
    codes = division_codes()
    assert "420202" in codes and "210802" in codes
    assert all(len(c) == 6 and not c.endswith("00") for c in codes)
