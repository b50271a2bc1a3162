"""The compiled encoder writes exactly fastavro's bytes, and leaves odd values to fastavro."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from avro_schemas.codec import CREDIT_EVENT, ZERO_REPORT, codec
from producers.batch_file import FileReport, LoadOptions, read_events
from producers.demo_feed import BAD_KINDS, DemoFeed
from producers.record_encoder import compile_encoder
from producers.zero_report import zero_report

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"


def test_compiled_and_fastavro_bytes_are_identical_for_demo_events():
    fast, slow = compile_encoder(CREDIT_EVENT), codec(CREDIT_EVENT).encode
    assert fast is not slow, "the CreditEvent schema should compile"
    for event, _ in DemoFeed(seed=21, bad_share=0.3, bad_kinds=BAD_KINDS).events(1500):
        assert fast(event) == slow(event)


def test_compiled_and_fastavro_bytes_are_identical_for_every_fixture_row():
    fast, slow = compile_encoder(CREDIT_EVENT), codec(CREDIT_EVENT).encode
    count = 0
    for path in sorted(FIXTURES.iterdir()):
        for _, event in read_events(path, LoadOptions(unit="U"), FileReport(str(path))):
            assert fast(event) == slow(event), (path.name, event["source_ref"])
            count += 1
    assert count > 25


def test_long_strings_unicode_and_big_maps_are_identical():
    fast, slow = compile_encoder(CREDIT_EVENT), codec(CREDIT_EVENT).encode
    event, _ = DemoFeed(seed=1).next_event()
    event = {**event, "matter": {**event["matter"], "cause": "违法事实" * 500},
             "raw": {f"列{i}": "值" * i for i in range(200)}, "reported_at": 2 ** 45}
    assert fast(event) == slow(event)


def test_a_datetime_timestamp_and_a_missing_defaulted_field_go_the_same_way():
    fast, slow = compile_encoder(CREDIT_EVENT), codec(CREDIT_EVENT).encode
    event, _ = DemoFeed(seed=2).next_event()
    event = {**event, "reported_at": datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)}
    assert fast(event) == slow(event)
    del event["source_ref"]  # has a default: fastavro writes it
    assert fast(event) == slow(event)


def test_a_wrong_value_type_fails_as_fastavro_fails():
    fast, slow = compile_encoder(CREDIT_EVENT), codec(CREDIT_EVENT).encode
    event, _ = DemoFeed(seed=2).next_event()
    event = {**event, "subject": {**event["subject"], "name": 12345}}
    with pytest.raises(Exception) as from_slow:
        slow(event)
    with pytest.raises(type(from_slow.value)):
        fast(event)


def test_zero_reports_encode_identically():
    report = zero_report("TAX-420200", "TAX-ZDSS", "2024-11", reporter="cli:clerk", note="本月无")
    assert compile_encoder(ZERO_REPORT)(report) == codec(ZERO_REPORT).encode(report)
