"""The batch step without a broker: nothing lost, replays dropped, duplicates flagged, lists
routed, failures contained, nothing prohibited or unmasked written."""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from avro_schemas.codec import BLACKLIST_ENTRY, CREDIT_EVENT, REJECTION, VALIDATED_RECORD, codec
from creditstream.topics import BLACKLIST, RECORDS, REDLIST, REJECTED
from creditstream.domain.pseudonym import Pseudonymiser
from stream_apps import processing
from stream_apps.processing import BatchProcessor, BatchStats, InboundMessage
from tests.unit.test_domain_assessment import NOW, make_event
from tests.unit.test_domain_identifiers import make_id_number, make_uscc
from tests.unit.test_domain_privacy import PROHIBITED_FIELDS

encode_event = codec(CREDIT_EVENT).encode
decode = {RECORDS: codec(VALIDATED_RECORD).decode, REJECTED: codec(REJECTION).decode,
          BLACKLIST: codec(BLACKLIST_ENTRY).decode, REDLIST: codec(BLACKLIST_ENTRY).decode}


def messages(events, partition=0, first_offset=0):
    return [InboundMessage("credit.inbound", partition, first_offset + i, encode_event(e)) for i, e in enumerate(events)]


def run(processor, msgs, now=NOW):
    stats = BatchStats()
    out = processor.process(msgs, now, stats)
    processor.tables.commit()
    return out, stats


def decoded(out, topic):
    return [decode[topic](o.value) if o.value is not None else None for o in out if o.topic == topic]


CATALOGS = {"PENALTY": "SAMR-CF", "LICENCE": "SAMR-XK", "COURT_DISHONEST": "COURT-SXBZXR",
            "TAX_VIOLATION": "TAX-ZDSS", "ARREARS": "WATER-QF", "RED_LIST": "TAX-ANSR"}


def random_event(rng: random.Random, n: int) -> dict:
    """Valid and broken events of every category, with repeats of a few subjects."""
    category = rng.choice(sorted(CATALOGS))
    person = category in ("COURT_DISHONEST", "ARREARS") and rng.random() < 0.7
    event = make_event(category=category, person=person, catalog=CATALOGS[category], event_id=f"e-{n}",
                       decision__document_number=f"（2024）鄂02第{rng.randrange(50)}号")
    subject_rng = random.Random(rng.randrange(20))  # 20 subjects
    if person:
        event["subject"]["id_number"] = make_id_number(subject_rng)
    else:
        event["subject"]["uscc"] = make_uscc(subject_rng)
    flaw = rng.choice(["none", "none", "none", "checksum", "cause", "future", "garbage"])
    if flaw == "checksum":
        field = "id_number" if person else "uscc"
        value = event["subject"][field]
        event["subject"][field] = value[:-1] + ("1" if value[-1] == "0" else "0")
    elif flaw == "cause":
        event["matter"]["cause"] = "暂无"
    elif flaw == "future":
        event["decision"]["date"] = "2030-01-01"
    elif flaw == "garbage":
        event["raw"] = {"宗教信仰": "x", "血型": "O"}
    return event


@given(st.integers(0, 10_000), st.integers(1, 80))
@settings(max_examples=25, deadline=None)
def test_every_event_ends_in_exactly_one_of_records_or_rejected(seed, size):
    rng = random.Random(seed)
    events = [random_event(rng, n) for n in range(size)]
    out, stats = run(BatchProcessor(), messages(events))
    ids = [decoded_event["event_id"] for topic in (RECORDS, REJECTED) for decoded_event in decoded(out, topic)]
    assert Counter(ids) == Counter(e["event_id"] for e in events)
    assert sum(stats.events_out.values()) == sum(stats.events_in.values()) == size


def test_a_replay_is_dropped_and_counted_but_a_redelivery_is_handled_again():
    processor = BatchProcessor()
    event = make_event()
    first, _ = run(processor, messages([event]))
    assert [o.topic for o in first] == [RECORDS]
    replay, stats = run(processor, messages([event], first_offset=7))
    assert replay == [] and stats.events_out == {("SAMR-420200", "PENALTY", "replay"): 1}
    # The same position again: the worker stopped before its commit; the outputs must come again.
    redelivered, _ = run(processor, messages([event]))
    assert [o.topic for o in redelivered] == [RECORDS]
    counts = processor.tables.unit_day_to_counts
    (key, value), = counts.items(0)
    assert value["records"] == 2 and value["replays"] == 1


def test_the_same_record_from_another_unit_is_kept_once_flagged_duplicate_of():
    processor = BatchProcessor()
    first = make_event(event_id="from-samr")
    copy = make_event(event_id="from-provincial-platform", source_unit="SGS-420000", catalog="SGS-CF",
                      decision__document_number="(2024) 鄂02市监罚1号")
    out, stats = run(processor, messages([first, copy]))
    records = decoded(out, RECORDS)
    assert [r["duplicate_of"] for r in records] == [None, "from-samr"]
    assert stats.events_out[("SGS-420000", "PENALTY", "duplicate")] == 1


def test_blacklist_entry_appears_keyed_by_subject_and_leaves_with_a_tombstone_on_repair():
    processor = BatchProcessor()
    listing = make_event(category="TAX_VIOLATION", catalog="TAX-ZDSS", source_unit="TAX-420200", event_id="tax-1")
    subject = listing["subject"]["uscc"]
    out, _ = run(processor, messages([listing]))
    (entry,) = decoded(out, BLACKLIST)
    assert [o.key for o in out if o.topic == BLACKLIST] == [subject.encode()]
    assert entry["status"] == "ACTIVE" and entry["lists"] == ["TAX_VIOLATION"]
    repair = make_event(category="OTHER", catalog="XYB-XF", source_unit="XYB-420200", event_id="repair-1",
                        decision__document_number="黄信修〔2024〕1号", matter__name="信用修复",
                        matter__legal_basis="（2024）鄂02市监罚1号")
    out, _ = run(processor, messages([repair], first_offset=1))
    final, tombstone = decoded(out, BLACKLIST)
    assert final["status"] == "REPAIRED" and tombstone is None
    assert [o.key for o in out if o.topic == BLACKLIST] == [subject.encode()] * 2


def test_expiry_sweep_tombstones_subjects_whose_period_ended():
    processor = BatchProcessor()
    listing = make_event(category="COURT_DISHONEST", catalog="COURT-SXBZXR", decision__valid_until="2024-10-20")
    run(processor, messages([listing]))
    assert processor.sweep([0], NOW + timedelta(days=5)) == []
    later = processor.sweep([0], NOW + timedelta(days=11))
    processor.tables.commit()
    assert [o.value is None for o in later] == [False, True]
    assert decode[BLACKLIST](later[0].value)["status_reason"] == "期满"


def test_red_list_goes_to_its_own_topic():
    out, _ = run(BatchProcessor(), messages([make_event(category="RED_LIST", catalog="TAX-ANSR",
                                                        matter__cause=None)]))
    assert [o.topic for o in out] == [RECORDS, REDLIST]


def test_a_rule_that_raises_rejects_its_record_as_internal_error_and_the_rest_go_on(monkeypatch, caplog):
    real = processing.assess

    def flaky(event, now=None, catalog=None, pseudonyms=None):
        if event["event_id"] == "bad":
            raise ZeroDivisionError(event["subject"]["uscc"])  # a message quoting a value
        return real(event, now, catalog, pseudonyms)

    monkeypatch.setattr(processing, "assess", flaky)
    bad = make_event(event_id="bad")
    out, stats = run(BatchProcessor(), messages([make_event(event_id="a"), bad, make_event(event_id="c",
                                                 decision__document_number="X-2")]))
    assert [o.topic for o in out] == [RECORDS, REJECTED, RECORDS]
    (rejection,) = decoded(out, REJECTED)
    assert rejection["event_id"] == "bad" and [r["code"] for r in rejection["reasons"]] == ["internal_error"]
    assert rejection["origin"]["offset"] == 1
    assert stats.rejects == {"internal_error": 1}
    assert bad["subject"]["uscc"] not in caplog.text  # the log names the place, not the value


def test_undecodable_messages_are_rejected_with_their_coordinates():
    msgs = [InboundMessage("credit.inbound", 3, 42, b"garbage"), InboundMessage("credit.inbound", 3, 43, None)]
    out, stats = run(BatchProcessor(), msgs)
    assert [r["event_id"] for r in decoded(out, REJECTED)] == ["credit.inbound-3-42", "credit.inbound-3-43"]
    assert stats.rejects == {"undecodable": 2}


@pytest.mark.parametrize("category,person", [("PENALTY", False), ("COURT_DISHONEST", True)])
@pytest.mark.parametrize("valid", [True, False])
def test_no_prohibited_attribute_and_no_unmasked_id_number_in_any_output(category, person, valid):
    raw = {name: f"秘密值{i}" for i, name in enumerate(n for names in PROHIBITED_FIELDS.values() for n in names)}
    raw["备注"] = "正常字段"
    event = make_event(category=category, person=person, catalog="COURT-SXBZXR" if person else "SAMR-CF", raw=raw)
    number = event["subject"]["id_number"] or "no-number"
    if not valid:
        event["matter"]["cause"] = None
    out, _ = run(BatchProcessor(), messages([event]))
    assert {o.topic for o in out} >= {RECORDS if valid else REJECTED}
    for o in out:
        text = repr(decode[o.topic](o.value))
        assert "秘密值" not in text
        for name in raw:
            if name != "备注":
                assert f"'{name}':" not in text  # the name may be listed as dropped, never as a field
        if o.topic == REJECTED:
            assert number not in text


def test_aborted_batch_leaves_the_tables_as_they_were():
    processor = BatchProcessor()
    event = make_event()
    processor.process(messages([event]), NOW)
    processor.tables.abort()
    out, _ = run(processor, messages([event], first_offset=9))
    assert [o.topic for o in out] == [RECORDS]  # not taken for a replay of the aborted batch


def test_process_batch_keeps_its_old_signature():
    out = processing.process_batch(messages([make_event()]), NOW)
    assert [o.topic for o in out] == [RECORDS]


def test_a_persons_id_number_leaves_validation_only_as_pseudonym_masked_and_sealed():
    keys = Pseudonymiser({"h1": b"h" * 32}, "h1", {"k1": b"k" * 32}, "k1")
    processor = BatchProcessor(pseudonyms=lambda: keys)
    person = make_event(category="COURT_DISHONEST", person=True, catalog="COURT-SXBZXR", event_id="p-1")
    number = person["subject"]["id_number"]
    again = make_event(category="COURT_DISHONEST", person=True, catalog="COURT-SXBZXR", event_id="p-2",
                       source_unit="COURT-420200")  # the same decision from another unit
    org = make_event(event_id="o-1", raw={"CF_FR_ZJHM": number, "备注": f"法定代表人 {number}"})
    out, _ = run(processor, messages([person, again, org]))
    for o in out:  # the number itself in no key, no value, in no form but the masked one
        assert number.encode() not in o.key and (o.value is None or number.encode() not in o.value)
        assert number[6:14].encode() not in (o.value or b"")  # nor its birth date run unmasked
    first, second, company = decoded(out, RECORDS)
    assert first["subject_key"] == keys.pseudonym(number) and first["subject_key_kind"] == "ID_NUMBER"
    assert first["subject_masked"] == number[:10] + "****" + number[-4:]
    assert keys.open(first["subject_sealed"]) == number
    assert second["duplicate_of"] == "p-1"  # de-duplication works on the pseudonym
    entry = decoded(out, BLACKLIST)[0]
    assert entry["subject_key"] == keys.pseudonym(number) and keys.open(entry["subject_sealed"]) == number
    assert entry["subject_masked"] == first["subject_masked"]
    assert [o.key for o in out if o.topic == BLACKLIST] == [keys.pseudonym(number).encode()]
    # organisations keep their public USCC; the legal representative's number is pseudonymised
    assert company["subject_key"] == org["subject"]["uscc"] and company["subject_sealed"] is None
    assert company["legal_representative_id_key"] == keys.pseudonym(number)
    assert keys.open(company["legal_representative_id_sealed"]) == number
    assert company["raw"]["CF_FR_ZJHM"] == company["legal_representative_id_masked"]


def test_a_key_rotation_between_batches_keeps_old_seals_readable_and_subjects_findable():
    old = Pseudonymiser({"h1": b"h" * 32}, "h1", {"k1": b"k" * 32}, "k1")
    new = Pseudonymiser({"h1": b"h" * 32}, "h1", {"k1": b"k" * 32, "k2": b"n" * 32}, "k2")
    current = [old]
    processor = BatchProcessor(pseudonyms=lambda: current[0])
    event = make_event(category="COURT_DISHONEST", person=True, catalog="COURT-SXBZXR", event_id="p-1")
    before, _ = run(processor, messages([event]))
    current[0] = new
    after, _ = run(processor, messages([make_event(category="COURT_DISHONEST", person=True, catalog="COURT-SXBZXR",
                                                   event_id="p-9", decision__document_number="X-9")],
                                       first_offset=1))
    sealed_old, sealed_new = decoded(before, RECORDS)[0]["subject_sealed"], decoded(after, RECORDS)[0]["subject_sealed"]
    assert sealed_old.startswith("k1:") and sealed_new.startswith("k2:")
    assert new.open(sealed_old) == new.open(sealed_new) == event["subject"]["id_number"]
    assert decoded(before, RECORDS)[0]["subject_key"] == decoded(after, RECORDS)[0]["subject_key"]


def test_objection_restore_and_objection_again_on_one_day_all_apply():
    from creditstream.domain.assessment import CONTROL_SOURCE_FORMAT

    processor = BatchProcessor()
    listed = make_event(category="COURT_DISHONEST", person=False, catalog="COURT-SXBZXR", event_id="basis")
    steps = []
    for n, status in enumerate(["异议", "正常", "异议"]):
        control = make_event(category="COURT_DISHONEST", person=False, catalog="COURT-SXBZXR", event_id=f"ctl-{n}",
                             source_format=CONTROL_SOURCE_FORMAT, decision__status=status,
                             decision__date="2024-10-08")
        steps.append(control)
    out, _ = run(processor, messages([listed] + steps))
    assert [r["duplicate_of"] for r in decoded(out, RECORDS)] == [None, None, None, None]
    assert [e["status"] for e in decoded(out, BLACKLIST)] == ["ACTIVE", "SUSPENDED", "ACTIVE", "SUSPENDED"]
    again, _ = run(processor, messages([steps[2]], first_offset=9))  # the last one sent again: a replay
    assert again == []
