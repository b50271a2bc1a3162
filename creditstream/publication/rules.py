"""The rules of publication, as plain functions: whether a record is shown to the public, and
what of it. Everything the decision needs is passed in (the record, its latest status, open
objections, the list state, repairs, today), so this is tested without ClickHouse.

- under objection (异议: the record's latest 当前状态, an open objection, or a SUSPENDED list
  basis): not shown; a note says a record is withheld while it is checked;
- revoked or deleted (撤销 / 删除): not shown;
- past its publication period (per category, configuration): not shown;
- credit repair (信用修复): ends publication on the repair day, but not before the minimum period;
- shown: only public fields; a person's ID number masked; nothing from raw, nothing sealed.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from creditstream.domain.identifiers import mask_id_number

BUNDLED = Path(__file__).resolve().parent / "data" / "publication.toml"

SHOWN, OBJECTION, REVOKED, EXPIRED, REPAIRED = "shown", "objection", "revoked", "expired", "repaired"
OBJECTION_NOTE = "该信息存在异议，正在核查处理，暂停公示 (under objection: withheld while it is checked)"
_ENDED_STATUSES = {"撤销", "删除"}


class PublicationConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    min_months: int = 0
    max_months: int | None = None


@dataclass(frozen=True)
class PublicationRules:
    categories: tuple[str, ...]
    periods: dict[str, Period]
    longer_minimum: tuple[tuple[tuple[str, ...], int], ...] = ()

    def period_for(self, record: dict) -> Period:
        period = self.periods.get(record.get("category"), Period())
        text = "".join(record.get(f) or "" for f in ("matter_name", "matter_kind", "cause", "content", "legal_basis"))
        longer = [months for words, months in self.longer_minimum if any(w in text for w in words)]
        if longer and max(longer) > period.min_months:
            period = Period(max(longer), period.max_months)
        return period


def load_rules(path: Path | str | None = None) -> PublicationRules:
    path = Path(path) if path else BUNDLED
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        periods = {c: Period(int(p.get("min_months", 0)), int(p["max_months"]) if "max_months" in p else None)
                   for c, p in (doc.get("periods") or {}).items()}
        longer = tuple((tuple(x["words"]), int(x["min_months"])) for x in doc.get("longer_minimum") or ())
        categories = tuple(doc["categories"])
    except FileNotFoundError:
        raise PublicationConfigError(f"{path}: no such publication rules file") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise PublicationConfigError(f"{path}: {type(exc).__name__}: {exc}") from None
    for category, p in periods.items():
        if p.min_months < 0 or (p.max_months is not None and p.max_months < p.min_months):
            raise PublicationConfigError(f"{path}: periods.{category}: need 0 <= min_months <= max_months")
    return PublicationRules(categories, periods, longer)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):  # the 31st of a shorter month is its last day
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Standing:
    """What is known about a record beyond its own row."""
    latest_status: str | None = None        # 当前状态 of the latest report of the same decision
    objection_open: bool = False            # an objection against it is not resolved
    list_status: str | None = None          # its basis on the blacklist: ACTIVE, SUSPENDED, REPAIRED, EXITED
    repaired_on: date | None = None         # the day a credit repair of it (or of all the subject's records) was decided


@dataclass(frozen=True)
class Verdict:
    outcome: str
    note: str | None = None
    ends_on: date | None = None             # the last day it is published, when it has one

    @property
    def shown(self) -> bool:
        return self.outcome == SHOWN


def publication_start(record: dict) -> date | None:
    return record.get("decision_date") or record.get("reported_on")


def judge(record: dict, standing: Standing, today: date, rules: PublicationRules) -> Verdict:
    if record.get("category") not in rules.categories:
        return Verdict(EXPIRED)  # never public
    if standing.objection_open or standing.latest_status == "异议" or standing.list_status == "SUSPENDED":
        return Verdict(OBJECTION, OBJECTION_NOTE)
    if standing.latest_status in _ENDED_STATUSES or standing.list_status == "EXITED":
        return Verdict(REVOKED)
    start = publication_start(record)
    period = rules.period_for(record)
    ends_on = add_months(start, period.max_months) if start and period.max_months is not None else None
    if ends_on is not None and today >= ends_on:
        return Verdict(EXPIRED, ends_on=ends_on)
    repaired_on = standing.repaired_on
    if repaired_on is None and standing.list_status == "REPAIRED":
        repaired_on = today
    if repaired_on is not None:
        earliest = add_months(start, period.min_months) if start else repaired_on
        end = max(repaired_on, earliest)
        if today >= end:
            return Verdict(REPAIRED, ends_on=end)
        ends_on = min(ends_on, end) if ends_on else end
    return Verdict(SHOWN, ends_on=ends_on)


# What the public sees of a shown record: nothing else leaves (no raw, no sealed values, no keys
# of persons, no source unit's internals).
PUBLIC_FIELDS = ("category", "subject_type", "subject_name", "legal_representative", "document_number",
                 "authority", "decision_date", "valid_from", "valid_until", "matter_name", "matter_kind", "cause",
                 "legal_basis", "content")


def person(record: dict) -> bool:
    return record.get("subject_type") == "NATURAL_PERSON" or (record.get("subject_key_kind") or "").startswith("ID_NUMBER")


def public_id(record: dict) -> str | None:
    """The subject's public identifier: the USCC (or earlier code) of an organisation, a person's
    ID number masked, never the pseudonym."""
    if person(record):
        masked = record.get("subject_masked")
        if masked:
            return masked
        key = record.get("subject_key") or ""
        return mask_id_number(key) if key and not key.startswith("pid:") else None
    return record.get("subject_key") or None


def public_view(record: dict, verdict: Verdict) -> dict:
    view = {name: _text(record.get(name)) for name in PUBLIC_FIELDS}
    view["subject_id"] = public_id(record)
    view["record_id"] = record["event_id"]
    view["publication_ends_on"] = verdict.ends_on.isoformat() if verdict.ends_on else None
    return view


def _text(value):
    return value.isoformat() if isinstance(value, date) else value
