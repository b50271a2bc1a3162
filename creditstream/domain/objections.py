"""异议 (objections) against a published record: the statutory steps and their deadlines, which
transition may follow which, and the objection's state as the fold of its transitions.

Deadlines (the credit regulations, DOMAIN.md): the platform verifies within 3 working days of
the filing, or forwards the objection to the provider (信源单位), who answers within 10 working
days; once verified, the record is corrected (or deleted) and the subject notified within 2.
A deadline is the end of its last working day, Beijing time. Pure functions over plain dicts;
no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from creditstream.domain.normalise import CHINA_TZ
from creditstream.domain.timeliness import is_working_day

VERIFY, PROVIDER_ANSWER, CORRECT_NOTIFY = "verify", "provider_answer", "correct_notify"
STEP_WORKING_DAYS = {VERIFY: 3, PROVIDER_ANSWER: 10, CORRECT_NOTIFY: 2}
STEP_LABELS = {VERIFY: "核查", PROVIDER_ANSWER: "信源单位答复", CORRECT_NOTIFY: "更正并告知"}

FILED, FORWARDED, ANSWERED, VERIFIED, RESOLVED = "FILED", "FORWARDED", "ANSWERED", "VERIFIED", "RESOLVED"
OPEN, WITH_PROVIDER = "OPEN", "WITH_PROVIDER"  # states; VERIFIED and RESOLVED are states too
OUTCOMES = ("RESTORED", "CORRECTED", "DELETED")

# transition: (states it may follow, state after, steps it finishes, step it opens)
_RULES = {
    FORWARDED: ({OPEN}, WITH_PROVIDER, (VERIFY,), PROVIDER_ANSWER),
    ANSWERED: ({WITH_PROVIDER}, VERIFIED, (PROVIDER_ANSWER,), CORRECT_NOTIFY),
    VERIFIED: ({OPEN}, VERIFIED, (VERIFY,), CORRECT_NOTIFY),
    RESOLVED: ({OPEN, WITH_PROVIDER, VERIFIED}, RESOLVED, (VERIFY, PROVIDER_ANSWER, CORRECT_NOTIFY), None),
}
# What the record's publication becomes (当前状态, as the stream's list rules read it).
SUSPEND, RESTORE, DELETE = "异议", "正常", "删除"


class ObjectionConflict(ValueError):
    """A transition that may not follow the objection's current state."""


def add_working_days(day: date, n: int) -> date:
    """The n-th working day after `day`."""
    while n > 0:
        day += timedelta(days=1)
        n -= is_working_day(day)
    return day


def due_at(filed_ms: int, working_days: int) -> int:
    """End (Beijing midnight after) of the `working_days`-th working day after the day of `filed_ms`."""
    day = datetime.fromtimestamp(filed_ms / 1000, CHINA_TZ).date()
    last = add_working_days(day, working_days)
    return int(datetime.combine(last + timedelta(days=1), time.min, tzinfo=CHINA_TZ).timestamp() * 1000)


@dataclass(frozen=True)
class Objection:
    objection_id: str
    subject_key: str
    subject_masked: str | None
    basis_event_id: str
    category: str
    document_number: str | None
    source_unit: str
    state: str
    filed_at: int
    filed_by: str
    sequence: int
    steps: dict = field(default_factory=dict)   # step -> {"due_at": ms, "done_at": ms | None}
    outcome: str | None = None
    reason: str | None = None
    updated_at: int = 0
    history: tuple = ()                          # (transition, at, actor_unit, reason)

    @property
    def open(self) -> bool:
        return self.state != RESOLVED

    def overdue_steps(self, now_ms: int) -> list[tuple[str, int]]:
        """Steps whose deadline passed unfinished (or finished late), with their deadline."""
        return [(step, s["due_at"]) for step, s in self.steps.items()
                if (s.get("done_at") is None and s["due_at"] < now_ms and self.open)
                or (s.get("done_at") is not None and s["done_at"] > s["due_at"])]


def _event(objection_id: str, sequence: int, transition: str, state: str, now_ms: int, actor: str, actor_unit: str,
           target: dict, steps: list[dict], outcome: str | None, reason: str | None,
           control_event_id: str | None) -> dict:
    return {"event_id": f"{objection_id}.{sequence}", "objection_id": objection_id, "sequence": sequence,
            "transition": transition, "state": state, "at": now_ms, "actor": actor, "actor_unit": actor_unit,
            "subject_key": target["subject_key"], "subject_masked": target.get("subject_masked"),
            "basis_event_id": target["basis_event_id"], "category": target["category"],
            "document_number": target.get("document_number"), "source_unit": target["source_unit"],
            "outcome": outcome, "reason": reason, "steps": steps, "control_event_id": control_event_id}


def filing(objection_id: str, target: dict, actor: str, actor_unit: str, reason: str | None, now_ms: int,
           control_event_id: str | None = None) -> dict:
    """The FILED transition: `target` names the record (subject_key, subject_masked,
    basis_event_id, category, document_number, source_unit). Opens the verify step."""
    steps = [{"step": VERIFY, "due_at": due_at(now_ms, STEP_WORKING_DAYS[VERIFY]), "done_at": None}]
    return _event(objection_id, 1, FILED, OPEN, now_ms, actor, actor_unit, target, steps, None, reason,
                  control_event_id)


def transition(objection: Objection, kind: str, actor: str, actor_unit: str, now_ms: int, *,
               outcome: str | None = None, reason: str | None = None, control_event_id: str | None = None) -> dict:
    """The next transition of `objection`; ObjectionConflict when it may not follow its state."""
    if kind not in _RULES:
        raise ObjectionConflict(f"unknown transition {kind!r}")
    after, state, finishes, opens = _RULES[kind]
    if objection.state not in after:
        raise ObjectionConflict(f"objection {objection.objection_id} is {objection.state}: {kind} may follow only "
                                f"{', '.join(sorted(after))}")
    if kind == RESOLVED and outcome not in OUTCOMES:
        raise ObjectionConflict(f"a resolution needs an outcome among {', '.join(OUTCOMES)}")
    steps = [{"step": s, "due_at": None, "done_at": now_ms} for s in finishes
             if s in objection.steps and objection.steps[s].get("done_at") is None]
    if opens:
        steps.append({"step": opens, "due_at": due_at(now_ms, STEP_WORKING_DAYS[opens]), "done_at": None})
    target = {"subject_key": objection.subject_key, "subject_masked": objection.subject_masked,
              "basis_event_id": objection.basis_event_id, "category": objection.category,
              "document_number": objection.document_number, "source_unit": objection.source_unit}
    return _event(objection.objection_id, objection.sequence + 1, kind, state, now_ms, actor, actor_unit, target,
                  steps, outcome if kind == RESOLVED else None, reason, control_event_id)


def apply(objection: Objection | None, event: dict) -> Objection | None:
    """The objection after `event` (events of one objection, in sequence order). A repeated or
    out-of-order event changes nothing."""
    if objection is None:
        if event["transition"] != FILED:
            return None
        objection = Objection(event["objection_id"], event["subject_key"], event.get("subject_masked"),
                              event["basis_event_id"], event["category"], event.get("document_number"),
                              event["source_unit"], OPEN, event["at"], event["actor_unit"], 0)
    elif event["sequence"] != objection.sequence + 1:
        return objection
    steps = {k: dict(v) for k, v in objection.steps.items()}
    for s in event.get("steps") or []:
        current = steps.setdefault(s["step"], {"due_at": s.get("due_at"), "done_at": None})
        if s.get("due_at") is not None:
            current["due_at"] = s["due_at"]
        if s.get("done_at") is not None:
            current["done_at"] = s["done_at"]
    history = objection.history + ((event["transition"], event["at"], event["actor_unit"], event.get("reason")),)
    return replace(objection, state=event["state"], sequence=event["sequence"], steps=steps,
                   outcome=event.get("outcome") or objection.outcome,
                   reason=event.get("reason") if event["transition"] == RESOLVED else objection.reason or event.get("reason"),
                   updated_at=event["at"], history=history)


def publication_change(event: dict) -> str | None:
    """What a transition does to the record's publication: suspend on filing, restore or delete
    on resolution, nothing otherwise."""
    if event["transition"] == FILED:
        return SUSPEND
    if event["transition"] == RESOLVED:
        return DELETE if event["outcome"] == "DELETED" else RESTORE
    return None
