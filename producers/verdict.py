"""The stream's own verdict on one event, without sending it: the same ``assess`` the worker runs,
so a clerk checking a file (``creditstream validate``), the HTTP push and the online form all see
exactly what validation will say. Subject ids leave here masked when they are a person's."""
from __future__ import annotations

from datetime import datetime

from creditstream.domain import reasons as R
from creditstream.domain.assessment import assess
from creditstream.domain.identifiers import compact, mask_id_number, routing_key


def masked_subject(event: dict) -> str | None:
    """The subject's key as a person may see it: a USCC in full, an ID number masked."""
    subject = event.get("subject") or {}
    key = routing_key(subject)
    if key and key == compact(subject.get("id_number")):
        return mask_id_number(key)
    return key or None


def verdict(event: dict, now: datetime | None = None) -> dict:
    """{"status": "accepted" | "rejected", "reasons": [{code, field, message}], "subject": masked id}."""
    try:
        outcome = assess(event, now)
    except Exception as exc:  # a rule that raises is the rule's bug; the clerk still gets an answer
        return {"status": "rejected", "subject": masked_subject(event),
                "reasons": [{"code": R.INTERNAL_ERROR, "field": "", "message": f"{type(exc).__name__}"}]}
    if outcome.record is not None:
        return {"status": "accepted", "reasons": [], "subject": masked_subject(event)}
    return {"status": "rejected", "reasons": list(outcome.rejection["reasons"]), "subject": masked_subject(event)}
