"""The validation rules fed hostile events: arbitrary bytes where an Avro CreditEvent should be, and
schema-valid events whose every text field may be hostile. The batch step never raises, never
falls back on `internal_error` (a rule that crashed), and accounts for every message: one output on
credit.records or credit.rejected each, rejections with reasons."""
from __future__ import annotations

import copy
from datetime import datetime, timezone

from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from avro_schemas.codec import CREDIT_EVENT, REJECTION, VALIDATED_RECORD, codec
from creditstream.domain import reasons as R
from creditstream.domain.assessment import assess
from creditstream.topics import INBOUND, RECORDS, REJECTED
from producers.demo_feed import DemoFeed
from stream_apps.processing import BatchProcessor, InboundMessage
from tests.fuzz.strategies import nasty_text

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=timezone.utc)
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
event_codec = codec(CREDIT_EVENT)
_feed = DemoFeed(seed=3, bad_share=0.2)
SEEDS = [_feed.next_event(now=NOW)[0] for _ in range(40)]


def string_paths(value, path=()):
    """Every place in an event that holds a string or may hold one (a None)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from string_paths(child, path + (key,))
    elif isinstance(value, str) or value is None:
        yield path


PATHS = sorted({p for event in SEEDS for p in string_paths(event) if p and p[0] != "event_id"})


@st.composite
def hostile_events(draw) -> dict:
    event = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=8, unique=True)):
        target = event
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                break
            target = target[key]
        else:
            target[path[-1]] = draw(st.one_of(nasty_text, st.none()))
    if draw(st.booleans()):  # extra source columns, prohibited ones among them
        event["raw"] = draw(st.dictionaries(st.one_of(nasty_text, st.sampled_from(["宗教信仰", "血型", "CF_FR_ZJHM"])),
                                            nasty_text, max_size=5))
    event["event_id"] = f"fuzz-{draw(st.integers(0, 10**12))}"
    return event


def encodable(event: dict) -> bytes | None:
    try:
        return event_codec.encode(event)
    except Exception:  # a None where the schema wants a string: no producer can send it
        return None


def assert_accounted(inputs: list[InboundMessage], outputs, ids: list[str] | None = None) -> None:
    routed = [m for m in outputs if m.topic in (RECORDS, REJECTED)]
    assert len(routed) == len(inputs), "one output on records or rejected per message"
    decode = {RECORDS: codec(VALIDATED_RECORD).decode, REJECTED: codec(REJECTION).decode}
    seen = []
    for message in routed:
        body = decode[message.topic](message.value)
        seen.append(body["event_id"])
        if message.topic == REJECTED:
            assert body["reasons"] and all(r["code"] for r in body["reasons"])
            assert R.INTERNAL_ERROR not in {r["code"] for r in body["reasons"]}, \
                f"a rule crashed on {body['event_id']}: see the log line naming file:line"
    if ids is not None:
        assert sorted(seen) == sorted(ids)


@FUZZ
@given(values=st.lists(st.one_of(st.binary(max_size=400), st.none()), min_size=1, max_size=10))
@example(values=[b"\x00\x00\x00\x00\x01" + b"\xff" * 50, b"\x00", b""])
@example(values=[b"\x00\x00\x00\x00\x01" + b"\x80" * 10 + b"\x01"])  # a varint length larger than the message
def test_arbitrary_bytes_are_rejected_as_undecodable_one_for_one(values):
    inputs = [InboundMessage(INBOUND, 0, offset, value) for offset, value in enumerate(values)]
    outputs = BatchProcessor().process(inputs, NOW)
    assert_accounted(inputs, outputs)


@FUZZ
@given(events=st.lists(hostile_events(), min_size=1, max_size=6))
def test_hostile_events_are_routed_or_rejected_with_reasons_never_crashed_on(events):
    ids = [e["event_id"] for e in events]
    assume(len(set(ids)) == len(ids))
    encoded = [encodable(e) for e in events]
    assume(all(encoded))
    inputs = [InboundMessage(INBOUND, 0, offset, value) for offset, value in enumerate(encoded)]
    outputs = BatchProcessor().process(inputs, NOW)
    assert_accounted(inputs, outputs, ids)


@FUZZ
@given(event=hostile_events())
def test_assess_gives_a_record_or_a_rejection_with_reasons(event):
    assume(encodable(event))
    outcome = assess(event_codec.decode(event_codec.encode(event)), NOW)
    assert (outcome.record is None) != (outcome.rejection is None)
    if outcome.rejection is not None:
        assert outcome.rejection["reasons"]
    else:
        codec(VALIDATED_RECORD).encode(outcome.record)
