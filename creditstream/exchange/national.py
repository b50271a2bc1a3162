"""Stored records rendered back into an inbound layout: the national 双公示 codes (XK_* for
licences, CF_* for penalties) for what they cover, the platform's own canonical layout for the
rest. The codes are not written here a second time: each column is the first alias of a field in
the same mapping file (producers/mappings/*.yaml) that reads them in, so a batch we send is a file
our own `creditstream load` reads back to the same records.

Pure functions over record dicts shaped like the records table (and the ValidatedRecord).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from creditstream.domain import flags as F
from creditstream.domain.assessment import LEGAL_REPRESENTATIVE_ID_FIELDS
from producers.layouts import SUBJECT_TYPE_VALUES, Layout, load_layouts, normalise_header

# The layout a category goes out in; categories the national standard does not cover go out in
# the canonical layout, which names category and indicator set in columns of its own.
NATIONAL_LAYOUTS = {"LICENCE": "sgs_licence_2019", "PENALTY": "sgs_penalty_2019"}
FALLBACK_LAYOUT = "canonical"

# 行政相对人类别 as text: the first text value of the inbound table for each subject type.
SUBJECT_TYPE_TEXT = {"LEGAL_PERSON": "法人及非法人组织", "NATURAL_PERSON": "自然人",
                     "INDIVIDUAL_BUSINESS": "个体工商户", "VEHICLE": "车辆"}
assert all(SUBJECT_TYPE_VALUES[text] == kind for kind, text in SUBJECT_TYPE_TEXT.items())

# Where a subject key of each kind goes: the field the inbound adapter identifies the subject by.
_KEY_FIELD = {"USCC": "subject.uscc", "ORG_CODE": "subject.other_ids.org_code",
              "TAX_NUMBER": "subject.other_ids.tax_registration", "PLATE": "subject.plate"}
_PERSON_KINDS = ("ID_NUMBER", "ID_NUMBER_MASKED")
# Columns of the national layouts that name where a record came from (kept in raw when read back).
_SOURCE_UNIT_CODE_COLUMNS = ("XK_LYDWDM", "CF_SJLYDM")
# Raw fields that carry a legal representative's ID number, in the layouts that have one.
_LEGAL_REPRESENTATIVE_ID_COLUMNS = ("XK_FR_ZJHM", "CF_FR_ZJHM")

_EPOCH = date(1970, 1, 1)
NO_EXPIRY, NO_EXPIRY_FLAG = "2099-12-31", F.NO_EXPIRY
# Fields a layout implies rather than carries (the XK_* file is all licences, all of one set).
_CONTEXT_FIELDS = frozenset({"category", "catalog", "subject.type", "source_unit"})


def layout_for(category: str) -> Layout:
    return load_layouts()[NATIONAL_LAYOUTS.get(category, FALLBACK_LAYOUT)]


def iso_day(value) -> str | None:
    """A stored date (date, ISO text, days since epoch as Avro carries it) as YYYY-MM-DD."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return (_EPOCH + timedelta(days=value)).isoformat()
    return str(value)[:10]


def record_fields(record: dict, person_number: str | None = None,
                  legal_representative_number: str | None = None) -> dict[str, str]:
    """The record as inbound field names (subject.name, decision.date, ...) and their values.

    A person's number goes out as `person_number` when the caller opened the sealed copy for a
    peer entitled to it, else masked: the pseudonym never leaves, it means nothing elsewhere."""
    kind = record.get("subject_key_kind") or "OTHER"
    stype = record.get("subject_type") or "UNKNOWN"
    fields: dict[str, str | None] = {
        "subject.type": SUBJECT_TYPE_TEXT.get(stype),
        "subject.name": record.get("subject_name"),
        "subject.legal_representative": record.get("legal_representative"),
        "decision.document_number": record.get("document_number"),
        "decision.document_name": record.get("document_name"),
        "decision.authority": record.get("authority"),
        "decision.authority_code": record.get("authority_code"),
        "decision.date": iso_day(record.get("decision_date")),
        "decision.valid_from": iso_day(record.get("valid_from")),
        # No end of validity, as reported: the standard's sentinel, which reads back as "none" again.
        "decision.valid_until": iso_day(record.get("valid_until")) or (
            NO_EXPIRY if NO_EXPIRY_FLAG in (record.get("flags") or ()) else None),
        "decision.status": record.get("decision_status"),
        "matter.name": record.get("matter_name"),
        "matter.kind": record.get("matter_kind"),
        "matter.cause": record.get("cause"),
        "matter.legal_basis": record.get("legal_basis"),
        "matter.content": record.get("content"),
        "category": record.get("category"),
        "catalog": record.get("catalog"),
    }
    for other_kind, value in (record.get("other_ids") or {}).items():
        fields[f"subject.other_ids.{other_kind}"] = value
    if kind in _KEY_FIELD:
        fields[_KEY_FIELD[kind]] = record.get("subject_key")
    elif kind in _PERSON_KINDS or stype == "NATURAL_PERSON":
        fields["subject.id_number"] = person_number or record.get("subject_masked") or (
            record.get("subject_key") if kind == "ID_NUMBER_MASKED" else None)
        fields["subject.id_type"] = "身份证" if kind in _PERSON_KINDS else "其他"
    fields["legal_representative.id_number"] = legal_representative_number or record.get("legal_representative_id_masked")
    return {name: str(value) for name, value in fields.items() if value not in (None, "")}


@dataclass(frozen=True)
class Column:
    header: str
    field: str   # inbound field name, or "raw:<header>" for a column kept in raw


def columns_for(layout: Layout) -> list[Column]:
    """The layout's columns, each the first alias of its field; a field whose first alias another
    field already wrote (许可内容 is both 事由 and 内容) shares that column."""
    columns: list[Column] = []
    taken: set[str] = set()

    def add(header: str, field_name: str) -> None:
        if normalise_header(header) not in taken:
            taken.add(normalise_header(header))
            columns.append(Column(header, field_name))

    if layout.subject_type_column:
        add(layout.subject_type_column[0], "subject.type")
    if layout.category_column:
        add(layout.category_column[0], "category")
    if layout.catalog_column:
        add(layout.catalog_column[0], "catalog")
    for target, aliases in layout.fields.items():
        add(aliases[0], target)
    for kind, aliases in layout.other_ids.items():
        add(aliases[0], f"subject.other_ids.{kind}")
    for header in layout.known:
        if header in _LEGAL_REPRESENTATIVE_ID_COLUMNS:
            add(header, "legal_representative.id_number")
        elif header in _SOURCE_UNIT_CODE_COLUMNS:
            add(header, "source_unit")
        elif header.isascii() and header.isupper():  # the other codes (BZ, CF_NR_FK ...), from raw
            add(header, f"raw:{header}")
    if "legal_representative.id_number" not in {c.field for c in columns}:
        # A layout without the code: the Chinese label the validation reads from raw.
        add(LEGAL_REPRESENTATIVE_ID_FIELDS[4], "legal_representative.id_number")
    return columns


@dataclass
class Rendered:
    """Rows of one layout, and what could not be written into it (field -> records)."""
    layout: str
    header: list[str]
    rows: list[list[str]]
    not_representable: Counter


def render(records: list[dict], layout: Layout, opened: dict[str, tuple[str | None, str | None]] | None = None) -> Rendered:
    """Rows for `records` in `layout`. `opened`: event id -> (person's number, legal
    representative's number) opened for a peer entitled to them."""
    columns = columns_for(layout)
    index = {c.field: i for i, c in enumerate(columns)}
    # Fields that share a column with an earlier one: written there when equal, counted when not.
    shared = {target: index[_first_field(columns, aliases[0])] for target, aliases in layout.fields.items()
              if target not in index}
    shared.update({f"subject.other_ids.{kind}": index[_first_field(columns, aliases[0])]
                   for kind, aliases in layout.other_ids.items() if f"subject.other_ids.{kind}" not in index})
    lost: Counter = Counter()
    rows = []
    for record in records:
        person, representative = (opened or {}).get(record.get("event_id"), (None, None))
        fields = record_fields(record, person, representative)
        fields["source_unit"] = record.get("source_unit") or ""
        fields.update({f"raw:{k}": v for k, v in (record.get("raw") or {}).items() if v})
        row = [""] * len(columns)
        for name, value in fields.items():
            i = index.get(name, shared.get(name))
            if i is None:
                if name not in _CONTEXT_FIELDS and not name.startswith("raw:"):
                    lost[name] += 1
                continue
            if row[i] and row[i] != value:
                lost[name] += 1
            elif not row[i]:
                row[i] = value
        rows.append(row)
    return Rendered(layout.name, [c.header for c in columns], rows, lost)


def _first_field(columns: list[Column], header: str) -> str:
    key = normalise_header(header)
    return next(c.field for c in columns if normalise_header(c.header) == key)
