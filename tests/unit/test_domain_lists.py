"""The black and red lists: basis records merged per subject, exits, suspension, tombstones."""
from __future__ import annotations

from hypothesis import given, strategies as st

from creditstream.domain.lists import BLACK, RED, ListChange, apply_change, entry_for, expire, settle

TODAY = 20000
NOW_MS = TODAY * 86_400_000


def listing(doc="(2024)鄂02执1号", category="COURT_DISHONEST", status="ACTIVE", until=None, event_id=None, reason=None):
    basis = {"event_id": event_id or f"e-{doc}", "category": category, "source_unit": "COURT-420200",
             "document_number": doc, "authority": "黄石中院", "decision_date": TODAY - 10, "valid_until": until,
             "status": status, "status_reason": reason}
    return ListChange("list", basis["event_id"], "S1", "LEGAL_PERSON", "USCC", "黄石恒达有限公司", basis)


def repair(*docs):
    return ListChange("repair", "r-1", "S1", "LEGAL_PERSON", "USCC", None, None, tuple(docs), "信用修复 (2024)修1号")


def deregistration(reason="注销"):
    return ListChange("deregistration", "d-1", "S1", "LEGAL_PERSON", "USCC", None, None, (), reason)


def run(changes, kind=BLACK, exits=frozenset({"SERIOUS_DISHONEST", "TAX_VIOLATION"})):
    """Apply changes in order; return the final state and every value published."""
    state, published = None, []
    for change in changes:
        after = apply_change(state, change, kind, TODAY, NOW_MS, exits)
        if after is None:
            continue
        state, values = settle(state, after, NOW_MS)
        published += values
    return state, published


def test_a_listing_publishes_an_active_entry():
    state, published = run([listing()])
    assert len(published) == 1 and published[0]["status"] == "ACTIVE"
    assert published[0]["lists"] == ["COURT_DISHONEST"] and published[0]["since"] == TODAY - 10
    assert state["listed"]


def test_every_basis_is_merged_and_the_same_decision_counts_once():
    state, published = run([listing("A"), listing("B", category="TAX_VIOLATION", until=TODAY + 100),
                            listing("A", event_id="other-unit")])
    entry = published[-1]
    assert len(published) == 2  # the copy of A changed nothing a reader sees
    assert [b["document_number"] for b in entry["basis"]] == ["A", "B"]
    assert entry["lists"] == ["COURT_DISHONEST", "TAX_VIOLATION"]
    assert entry["until"] is None  # A is open-ended


def test_repair_of_the_only_basis_publishes_the_final_entry_then_a_tombstone():
    _, published = run([listing("A"), repair("A")])
    assert published[1]["status"] == "REPAIRED" and published[1]["status_reason"].startswith("信用修复")
    assert published[2] is None


def test_repair_of_one_basis_keeps_the_subject_listed_on_the_others():
    _, published = run([listing("A"), listing("B"), repair("A")])
    entry = published[-1]
    assert entry["status"] == "ACTIVE"
    assert {b["document_number"]: b["status"] for b in entry["basis"]} == {"A": "REPAIRED", "B": "ACTIVE"}


def test_a_repair_naming_no_document_repairs_every_basis():
    _, published = run([listing("A"), listing("B"), repair()])
    assert published[-1] is None


def test_a_late_copy_of_a_repaired_basis_does_not_relist():
    _, published = run([listing("A"), repair("A"), listing("A", event_id="copy")])
    assert published[-1] is None and len(published) == 3


def test_a_repair_for_a_subject_never_listed_does_nothing():
    state, published = run([repair("A")])
    assert state is None and published == []


def test_objection_suspends_and_its_resolution_restores_or_deletes():
    _, published = run([listing("A"), listing("A", status="SUSPENDED", reason="异议"), listing("A")])
    assert [p["status"] for p in published] == ["ACTIVE", "SUSPENDED", "ACTIVE"]
    _, published = run([listing("A"), listing("A", status="SUSPENDED", reason="异议"),
                        listing("A", status="EXITED", reason="异议核查后删除")])
    assert published[-2]["status"] == "EXITED" and published[-1] is None


def test_deregistration_ends_the_categories_the_rules_name():
    _, published = run([listing("A", category="COURT_DISHONEST"), listing("B", category="SERIOUS_DISHONEST"),
                        deregistration("吊销")])
    entry = published[-1]
    assert entry["status"] == "ACTIVE" and entry["lists"] == ["COURT_DISHONEST"]  # the court debt remains
    assert [b["status"] for b in entry["basis"]] == ["ACTIVE", "EXITED"]


def test_deregistration_takes_a_subject_off_the_red_list():
    red = listing("R", category="RED_LIST")._replace(effect="red_list")
    _, published = run([red, deregistration()], kind=RED)
    assert published[-1] is None


def test_a_basis_past_its_period_exits():
    _, published = run([listing("A", until=TODAY - 1)])
    assert published == []  # expired on arrival: never listed
    state, published = run([listing("A", until=TODAY + 5)])
    later = TODAY + 6
    after = expire(state, later, later * 86_400_000)
    state, values = settle(state, after, later * 86_400_000)
    assert values[0]["status"] == "EXITED" and values[0]["status_reason"] == "期满" and values[1] is None


def test_expire_reports_no_change_when_nothing_ended():
    state, _ = run([listing("A", until=TODAY + 5)])
    assert expire(state, TODAY + 5, NOW_MS) is None


def test_entry_dates_cover_the_active_basis():
    state, _ = run([listing("A", until=TODAY + 30), listing("B", until=TODAY + 90)])
    entry = entry_for(state, NOW_MS)
    assert entry["until"] == TODAY + 90 and entry["since"] == TODAY - 10


changes = st.lists(st.one_of(
    st.builds(listing, st.sampled_from("ABC"), st.sampled_from(["COURT_DISHONEST", "TAX_VIOLATION"]),
              st.sampled_from(["ACTIVE", "SUSPENDED", "EXITED"]),
              st.one_of(st.none(), st.integers(TODAY - 3, TODAY + 3))),
    st.builds(repair, st.sampled_from("ABC")), st.builds(repair), st.builds(deregistration)), max_size=12)


@given(changes)
def test_published_values_always_describe_the_state(sequence):
    state, published = run(sequence)
    if state is None:
        assert published == []
        return
    live = [b for b in state["basis"].values() if b["status"] in ("ACTIVE", "SUSPENDED")]
    assert state["listed"] == bool(live)
    if published:
        last = published[-1]
        assert (last is None) == (not live)  # a tombstone exactly when no live basis is left
        if last is not None:
            assert last["lists"] and last["status"] in ("ACTIVE", "SUSPENDED")
    for i, value in enumerate(published):
        if value is None:
            assert i > 0 and published[i - 1]["status"] in ("EXITED", "REPAIRED")  # the why comes first
