"""The black and red lists: per subject, every basis record and its state, merged; the
BlacklistEntry that credit.blacklist (or credit.redlist) carries follows from that state.

Pure functions over a subject's state (a dict the stream keeps in a table keyed by list and
subject). A basis is identified by its category and document number, so the same decision
reported twice, by two units or over two platforms, is one basis.

Exits: the punishment period ends (valid_until passed: 期满), the authority revokes or the
record is deleted after an objection (当前状态 撤销 / 删除), credit repair (信用修复), and
deregistration or revocation of the subject (注销 / 吊销) for the categories the catalog names.
An objection (异议) suspends a basis; 正常 again restores it. History is never dropped from the
state: an ended basis stays, so a late copy of it cannot put the subject back on the list.
"""
from __future__ import annotations

from typing import NamedTuple

from creditstream.domain.identifiers import normalise_document_number

BLACK = "black"
RED = "red"
LIVE = ("ACTIVE", "SUSPENDED")
_STATUS_FOR_DECISION = {"撤销": ("EXITED", "撤销"), "删除": ("EXITED", "异议核查后删除"), "异议": ("SUSPENDED", "异议"),
                        "正常": ("ACTIVE", None)}
# Where a repair decision names the record it repairs, when it does.
_REPAIRED_DOCUMENT_FIELDS = ("原决定文书号", "修复对象文书号", "repaired_document_number")


class ListChange(NamedTuple):
    effect: str                 # list | red_list | repair | deregistration
    event_id: str
    subject_key: str
    subject_type: str
    subject_key_kind: str
    subject_name: str | None
    basis: dict | None          # list / red_list: the basis record
    target_documents: tuple[str, ...] = ()  # repair: the basis documents repaired; empty = all
    reason: str | None = None   # why: the repair decision's number, 注销 or 吊销
    subject_masked: str | None = None  # a person's ID number masked, for display
    subject_sealed: str | None = None  # a person's ID number sealed (AES-GCM)

    @property
    def lists(self) -> tuple[str, ...]:
        """The lists this change touches."""
        if self.effect == "red_list":
            return (RED,)
        if self.effect == "deregistration":
            return (BLACK, RED)
        return (BLACK,)


def basis_id(category: str, document_number: str | None, event_id: str) -> str:
    return f"{category}|{document_number}" if document_number else f"{category}|#{event_id}"


def list_change_for(effect: str, record: dict, raw: dict) -> ListChange:
    common = dict(effect=effect, event_id=record["event_id"], subject_key=record["subject_key"],
                  subject_type=record["subject_type"], subject_key_kind=record["subject_key_kind"],
                  subject_name=record["subject_name"], subject_masked=record.get("subject_masked"),
                  subject_sealed=record.get("subject_sealed"))
    if effect in ("list", "red_list"):
        status, reason = _STATUS_FOR_DECISION.get(record.get("decision_status") or "正常", ("ACTIVE", None))
        basis = {
            "event_id": record["event_id"], "category": record["category"], "source_unit": record["source_unit"],
            "document_number": record["document_number"], "authority": record["authority"],
            "decision_date": record["decision_date"], "valid_until": record["valid_until"],
            "status": status, "status_reason": reason,
        }
        return ListChange(basis=basis, **common)
    if effect == "repair":
        named = [record.get("legal_basis")] + [raw.get(f) for f in _REPAIRED_DOCUMENT_FIELDS]
        targets = tuple(sorted({normalise_document_number(d) for d in named if d}))
        return ListChange(basis=None, target_documents=targets,
                          reason=f"信用修复 {record['document_number'] or record['event_id']}", **common)
    text = (record.get("matter_name") or "") + (record.get("matter_kind") or "") + (record.get("cause") or "")
    return ListChange(basis=None, reason="吊销" if "吊销" in text else "注销", **common)


def _new_state(change: ListChange) -> dict:
    return {"subject_key": change.subject_key, "subject_type": change.subject_type,
            "subject_key_kind": change.subject_key_kind, "subject_name": change.subject_name,
            "subject_masked": change.subject_masked, "subject_sealed": change.subject_sealed,
            "basis": {}, "listed": False}


def _end(basis: dict, status: str, reason: str | None, now_ms: int) -> dict:
    return {**basis, "status": status, "status_reason": reason, "status_since": now_ms}


def apply_change(state: dict | None, change: ListChange, list_kind: str, today_days: int, now_ms: int,
                 exit_on_deregistration: frozenset[str] = frozenset()) -> dict | None:
    """The subject's new state on `list_kind` after the change; None when the change does not
    concern a subject that has no state there (a repair for someone never listed)."""
    if state is None:
        if change.basis is None:
            return None
        state = _new_state(change)
    state = {**state, "basis": dict(state["basis"])}
    if change.subject_name:
        state["subject_name"] = change.subject_name
    if change.subject_sealed and not state.get("subject_sealed"):
        # Kept once set: a fresh seal (new nonce) of the same number must not republish the entry.
        state["subject_masked"], state["subject_sealed"] = change.subject_masked, change.subject_sealed
    basis_map = state["basis"]
    if change.basis is not None:
        new = change.basis
        bid = basis_id(new["category"], new["document_number"], new["event_id"])
        old = basis_map.get(bid)
        if old is None:
            basis_map[bid] = {**new, "status_since": now_ms}
        elif new["status"] != old["status"] and (old["status"] in LIVE or new["status"] == "EXITED"):
            # An objection suspends, its resolution restores or deletes; a basis that already
            # ended by repair, deregistration or expiry is not brought back by a late copy.
            basis_map[bid] = {**old, "status": new["status"], "status_reason": new["status_reason"],
                              "status_since": now_ms}
    elif change.effect == "repair":
        for bid, basis in basis_map.items():
            if basis["status"] in LIVE and (not change.target_documents
                                            or basis["document_number"] in change.target_documents):
                basis_map[bid] = _end(basis, "REPAIRED", change.reason, now_ms)
    elif change.effect == "deregistration":
        for bid, basis in basis_map.items():
            if basis["status"] in LIVE and (list_kind == RED or basis["category"] in exit_on_deregistration):
                basis_map[bid] = _end(basis, "EXITED", change.reason, now_ms)
    return expire(state, today_days, now_ms) or state


def expire(state: dict, today_days: int, now_ms: int) -> dict | None:
    """The state with every live basis whose period ended before today marked EXITED (期满);
    None when nothing expired."""
    ended = {bid: b for bid, b in state["basis"].items()
             if b["status"] in LIVE and b["valid_until"] is not None and b["valid_until"] < today_days}
    if not ended:
        return None
    basis_map = dict(state["basis"])
    for bid, basis in ended.items():
        basis_map[bid] = _end(basis, "EXITED", "期满", now_ms)
    return {**state, "basis": basis_map}


def _entry_basis(basis: dict) -> dict:
    return {k: basis.get(k) for k in ("event_id", "category", "source_unit", "document_number", "authority",
                                      "decision_date", "valid_until", "status")}


def entry_for(state: dict, now_ms: int) -> dict:
    """The BlacklistEntry of a subject: its lists (categories with a live basis), every basis
    record, and the subject's status: ACTIVE while any basis is active, SUSPENDED while every
    live basis is under objection, else how the last one ended (EXITED or REPAIRED)."""
    basis = sorted(state["basis"].values(), key=lambda b: (b["decision_date"] or 0, b["event_id"]))
    live = [b for b in basis if b["status"] in LIVE]
    active = [b for b in live if b["status"] == "ACTIVE"]
    if active:
        status, since_status, reason = "ACTIVE", None, None
    elif live:
        latest = max(live, key=lambda b: b.get("status_since") or 0)
        status, since_status, reason = "SUSPENDED", latest.get("status_since"), latest.get("status_reason")
    else:
        latest = max(basis, key=lambda b: b.get("status_since") or 0)
        status, since_status, reason = latest["status"], latest.get("status_since"), latest.get("status_reason")
    counted = active or live
    untils = [b["valid_until"] for b in counted]
    return {
        "subject_key": state["subject_key"],
        "subject_type": state["subject_type"],
        "subject_name": state["subject_name"],
        "subject_key_kind": state["subject_key_kind"],
        "lists": sorted({b["category"] for b in counted}),
        "basis": [_entry_basis(b) for b in basis],
        "since": min((b["decision_date"] for b in counted if b["decision_date"] is not None), default=None),
        "until": None if (not counted or None in untils) else max(untils),
        "status": status,
        "status_since": since_status,
        "status_reason": reason,
        "updated_at": now_ms,
        "subject_masked": state.get("subject_masked"),
        "subject_sealed": state.get("subject_sealed"),
    }


def is_live(state: dict) -> bool:
    return any(b["status"] in LIVE for b in state["basis"].values())


def settle(before: dict | None, after: dict, now_ms: int) -> tuple[dict, list[dict | None]]:
    """What to publish for a subject whose state went from `before` to `after`: its entry while
    it has a live basis; when the last one ends, the final entry (why it ended) and a tombstone
    (None). Nothing when nothing a reader sees changed. Returns the state to keep (with
    `listed` saying whether the topic holds an entry) and the values to publish in order."""
    if is_live(after):
        entry = entry_for(after, now_ms)
        if before is not None and before.get("listed") and _same(entry_for(before, now_ms), entry):
            return after, []
        return {**after, "listed": True}, [entry]
    if before is not None and before.get("listed"):
        return {**after, "listed": False}, [entry_for(after, now_ms), None]
    return {**after, "listed": False}, []


def _same(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k != "updated_at"} == {k: v for k, v in b.items() if k != "updated_at"}
