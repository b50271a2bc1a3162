"""Declarative field mappings: one YAML file per source layout in ``producers/mappings/``, and the
code that recognises a layout from a header row and turns one row into a CreditEvent.

Values travel as reported (strings); normalisation and validation happen in the stream. The only
judgement made here is which of several candidate columns fills a field (the first that holds a
real value), because the exchange formats list fallbacks such as USCC, then tax number, then
organisation code. Every column that does not fill a field is kept in ``raw`` for audit.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from creditstream.domain.event_id import event_id
from producers.credit_producer import message_key

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"

# Fields a mapping can fill, with the Chinese label used in messages to a unit's clerk.
TARGETS = {
    "subject.name": "名称/姓名",
    "subject.uscc": "统一社会信用代码",
    "subject.id_type": "证件类型",
    "subject.id_number": "身份证件号码",
    "subject.any_id": "证件号码/组织机构代码",
    "subject.plate": "车牌号",
    "subject.sex": "性别",
    "subject.legal_representative": "法定代表人",
    "decision.document_number": "决定文书号",
    "decision.document_name": "决定文书名称",
    "decision.authority": "决定机关",
    "decision.authority_code": "决定机关代码",
    "decision.date": "决定时间",
    "decision.valid_from": "有效期自",
    "decision.valid_until": "决定有效期",
    "decision.status": "当前状态",
    "matter.name": "事项名称",
    "matter.kind": "类别",
    "matter.cause": "事由",
    "matter.legal_basis": "依据",
    "matter.content": "内容",
}
# Kinds of pre-USCC identifiers kept in subject.other_ids (the CreditEvent schema names them).
OTHER_ID_KINDS = ("org_code", "business_registration", "tax_registration", "institution", "social_organisation")

CATEGORY_VALUES = {
    "行政许可": "LICENCE", "许可": "LICENCE",
    "行政处罚": "PENALTY", "处罚": "PENALTY",
    "失信被执行人": "COURT_DISHONEST",
    "重大税收违法失信主体": "TAX_VIOLATION", "重大税收违法": "TAX_VIOLATION",
    "严重违法失信企业": "SERIOUS_DISHONEST", "严重违法失信": "SERIOUS_DISHONEST",
    "欠费欠缴": "ARREARS", "欠费": "ARREARS", "欠缴": "ARREARS",
    "红名单": "RED_LIST", "其他": "OTHER",
}
CATEGORIES = ("LICENCE", "PENALTY", "COURT_DISHONEST", "TAX_VIOLATION", "SERIOUS_DISHONEST", "ARREARS",
              "RED_LIST", "OTHER")
CATEGORY_VALUES.update({c.lower(): c for c in CATEGORIES})

# 行政相对人类别: the text values of the standard and the local codings seen (01 自然人, 02 法人,
# 03 非法人组织, 04 个体工商户). Another local coding (1/2/4) conflicts; a deployment that uses it
# overrides this table with ``subject_type_values`` in its mapping file.
SUBJECT_TYPE_VALUES = {
    "法人及非法人组织": "LEGAL_PERSON", "法人": "LEGAL_PERSON", "非法人组织": "LEGAL_PERSON",
    "自然人": "NATURAL_PERSON", "个人": "NATURAL_PERSON", "个体工商户": "INDIVIDUAL_BUSINESS",
    "车辆": "VEHICLE", "01": "NATURAL_PERSON", "02": "LEGAL_PERSON", "03": "LEGAL_PERSON",
    "04": "INDIVIDUAL_BUSINESS",
    "legal_person": "LEGAL_PERSON", "natural_person": "NATURAL_PERSON",
    "individual_business": "INDIVIDUAL_BUSINESS", "vehicle": "VEHICLE", "unknown": "UNKNOWN",
}

# The indicator set a record lands in when neither the layout nor the caller names one.
DEFAULT_CATALOG = {
    "LICENCE": "SGS-XK", "PENALTY": "SGS-CF", "COURT_DISHONEST": "COURT-SXBZXR",
    "TAX_VIOLATION": "TAX-ZDSS", "SERIOUS_DISHONEST": "SERIOUS-DISHONEST", "ARREARS": "ARREARS",
    "RED_LIST": "RED-LIST", "OTHER": "OTHER",
}

# Placeholders units type for "nothing": skipped when choosing among candidate columns.
PLACEHOLDERS = frozenset({"暂无", "无", "-", "--", "—", "/", "null", "none", "空", "n/a", "na"})

# 当前状态 of a decision as first reported (XK_ZT / CF_ZT 0 or the text): no part of the event id.
_NORMAL_STATUS = frozenset({"", "0", "正常"})

# A person's ID number, whole or masked (3423011964****3224), or the old 15-digit form.
_PERSON_ID = re.compile(r"^\d{6}[\d*＊]{8,11}[\dXx*＊]$")


class LayoutProblem(ValueError):
    """A file-level problem with the header: the layout is unknown, ambiguous or incomplete."""

    def __init__(self, message: str, column: str | None = None):
        super().__init__(message)
        self.column = column


def normalise_header(text: str) -> str:
    """Full-width to half-width, no spaces, no '*' required-markers, no '_' or '-', lower case:
    caseCode, casecode and case_code compare equal, as do ＊案号 and 案号."""
    text = unicodedata.normalize("NFKC", str(text)).strip().lstrip("*").strip()
    return re.sub(r"[\s_\-]", "", text).lower()


def header_keys(text: str) -> list[str]:
    """What a header may mean: itself, itself without a parenthesised note, and the note alone
    (行政相对人代码_1(统一社会信用代码) means 统一社会信用代码)."""
    key = normalise_header(text)
    keys = [key]
    match = re.match(r"^(.*?)\((.+)\)$", key)
    if match:
        keys += [k for k in match.groups() if k]
    return keys


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    catalog: str
    category: str | None
    fields: dict[str, tuple[str, ...]]
    constants: dict[str, str] = field(default_factory=dict)
    known: tuple[str, ...] = ()
    required: tuple[tuple[str, ...], ...] = ()
    natural_key: tuple[str, ...] = ()
    person_hints: tuple[str, ...] = ()
    category_column: tuple[str, ...] = ()
    subject_type_column: tuple[str, ...] = ()
    catalog_column: tuple[str, ...] = ()
    subject_type_values: dict[str, str] = field(default_factory=dict)
    other_ids: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path) -> "Layout":
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        fields = {target: tuple(str(a) for a in aliases) for target, aliases in spec["fields"].items()}
        other_ids = {kind: tuple(str(a) for a in aliases) for kind, aliases in (spec.get("other_ids") or {}).items()}
        unknown = (set(fields) - set(TARGETS)) | (set(other_ids) - set(OTHER_ID_KINDS))
        if unknown:
            raise ValueError(f"{path.name}: unknown target field(s) {sorted(unknown)}")
        tuple_of = lambda key: tuple(str(v) for v in spec.get(key) or ())  # noqa: E731
        return cls(
            name=spec["name"], title=spec.get("title", spec["name"]), catalog=spec.get("catalog") or "",
            category=spec.get("category"), fields=fields, constants=dict(spec.get("constants") or {}),
            known=tuple_of("known"), natural_key=tuple_of("natural_key"), person_hints=tuple_of("person_hints"),
            required=tuple(tuple(group) for group in spec.get("required") or ()),
            category_column=tuple_of("category_column"), subject_type_column=tuple_of("subject_type_column"),
            catalog_column=tuple_of("catalog_column"),
            subject_type_values={str(k): v for k, v in (spec.get("subject_type_values") or {}).items()},
            other_ids=other_ids,
        )

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every normalised header this layout knows, mapped or kept in raw."""
        names = [a for aliases in [*self.fields.values(), *self.other_ids.values()] for a in aliases]
        names += [*self.known, *self.natural_key, *self.person_hints, *self.category_column,
                  *self.subject_type_column, *self.catalog_column]
        return frozenset(normalise_header(n) for n in names)

    def score(self, header: list[str]) -> int:
        """How many columns of ``header`` this layout knows."""
        vocabulary = self.vocabulary
        return sum(1 for h in header if h and any(k in vocabulary for k in header_keys(h)))


@lru_cache(maxsize=None)
def load_layouts(directory: Path = MAPPINGS_DIR) -> dict[str, Layout]:
    layouts = {}
    for path in sorted(directory.glob("*.yaml")):
        layout = Layout.from_file(path)
        layouts[layout.name] = layout
    return layouts


def layout_for_catalog(catalog: str, layouts: dict[str, Layout] | None = None) -> list[Layout]:
    """The layouts whose default indicator set is ``catalog``."""
    return [lay for lay in (layouts or load_layouts()).values() if lay.catalog and lay.catalog == catalog]


def recognise(header: list[str], layouts: dict[str, Layout] | None = None,
              candidates: list[Layout] | None = None) -> Layout:
    """The layout that knows most of these columns. Two layouts knowing the same number is an
    ambiguity the caller must settle (--layout), never a guess."""
    pool = candidates or list((layouts or load_layouts()).values())
    scored = sorted(((lay.score(header), lay.name, lay) for lay in pool), key=lambda t: (-t[0], t[1]))
    best_score = scored[0][0] if scored else 0
    if best_score < 2:
        shown = ", ".join(h for h in header if h)[:300]
        raise LayoutProblem(f"layout not recognised from the header row ({shown}); "
                            f"name it with --layout (one of: {', '.join(sorted(lay.name for lay in pool))})")
    tied = [lay for s, _, lay in scored if s == best_score]
    if len(tied) > 1:
        raise LayoutProblem(f"the header row fits several layouts equally ({', '.join(lay.name for lay in tied)}); "
                            "name one with --layout")
    return tied[0]


def header_score(header: list[str], layouts: dict[str, Layout] | None = None) -> int:
    return max((lay.score(header) for lay in (layouts or load_layouts()).values()), default=0)


def _blank(value) -> bool:
    return value is None or value == ""


class RowMapper:
    """A layout bound to one header row: maps each row of values to a CreditEvent."""

    def __init__(self, layout: Layout, header: list[str], *, unit: str, catalog: str | None = None,
                 category: str | None = None, mode: str = "BATCH", source_format: str = "csv",
                 source_name: str = "", header_row: str = "1", reported_by: str | None = None):
        self.layout = layout
        self.header = [str(h).strip() if h is not None else "" for h in header]
        self.unit = unit
        self.mode = mode
        self.source_format = source_format
        self.source_name = source_name
        self.reported_by = reported_by
        self.problems: Counter[str] = Counter()
        positions: dict[str, list[int]] = {}
        for i, h in enumerate(self.header):
            for key in header_keys(h) if h else ():
                positions.setdefault(key, []).append(i)

        def columns(aliases) -> tuple[int, ...]:
            found: list[int] = []
            for alias in aliases:
                for i in positions.get(normalise_header(alias), ()):
                    if i not in found:
                        found.append(i)
            return tuple(found)

        self.columns = {target: columns(aliases) for target, aliases in layout.fields.items()}
        self.columns = {target: cols for target, cols in self.columns.items() if cols}
        for group in layout.required:
            if not any(self.columns.get(target) for target in group):
                expected = " / ".join(a for target in group for a in layout.fields.get(target, ()))
                labels = " 或 ".join(TARGETS[t] for t in group)
                raise LayoutProblem(f"row {header_row}: missing required column {labels} "
                                    f"(layout {layout.name} expects one of: {expected})", column=expected)
        self.natural_key_columns = columns(layout.natural_key)
        self.person_hint_columns = columns(layout.person_hints)
        self.category_columns = columns(layout.category_column)
        self.subject_type_columns = columns(layout.subject_type_column)
        self.catalog_columns = columns(layout.catalog_column)
        self.category = category or layout.category or None
        if category and category not in CATEGORIES:
            raise LayoutProblem(f"unknown category {category!r}; one of {', '.join(CATEGORIES)}")
        if not self.category and not self.category_columns:
            raise LayoutProblem(f"row {header_row}: the category (信息类别) is not known: the layout {layout.name} "
                                f"does not imply one; add a column {' / '.join(layout.category_column)} "
                                "or pass --category", column=" / ".join(layout.category_column))
        self.catalog = catalog or layout.catalog or ""
        self.subject_type_values = {**SUBJECT_TYPE_VALUES, **layout.subject_type_values}
        # Raw keys: the header as written, made unique when a header repeats.
        seen: Counter[str] = Counter()
        self.raw_keys = []
        for i, h in enumerate(self.header):
            name = h or f"column {i + 1}"
            seen[name] += 1
            self.raw_keys.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
        # The per-row plan, worked out once per header: single-column fields are a plain lookup;
        # fields with fallback columns choose; every other column goes to raw.
        group_index = {"subject": 0, "decision": 1, "matter": 2}
        plan = [(group_index[t.split(".", 1)[0]], t.split(".", 1)[1], cols) for t, cols in self.columns.items()]
        plan += [(3, kind, cols) for kind, cols in
                 ((k, columns(aliases)) for k, aliases in layout.other_ids.items()) if cols]
        self._single = [(g, name, cols[0]) for g, name, cols in plan if len(cols) == 1]
        self._multi = [(g, name, cols) for g, name, cols in plan if len(cols) > 1]
        mapped = {i for _, _, cols in plan for i in cols}
        mapped |= set(self.category_columns + self.subject_type_columns + self.catalog_columns)
        self._raw_columns = [(i, self.raw_keys[i]) for i in range(len(self.header)) if i not in mapped]
        self._constants = [(group_index[t.split(".", 1)[0]], t.split(".", 1)[1], v)
                           for t, v in layout.constants.items()]
        self._width = len(self.header)
        self._source_prefix = f"{source_name}:" if source_name else ""

    @staticmethod
    def _pick(values: list, cols: tuple[int, ...]) -> tuple[str | None, int]:
        """The first real value among the candidate columns; a placeholder only if nothing better."""
        fallback: tuple[str | None, int] = (None, -1)
        for i in cols:
            value = values[i] if i < len(values) else None
            if _blank(value):
                continue
            if value.lower() not in PLACEHOLDERS:
                return value, i
            if fallback[1] < 0:
                fallback = (value, i)
        return fallback

    def _coded(self, values: list, cols: tuple[int, ...], table: dict[str, str], problem: str) -> str | None:
        value, _ = self._pick(values, cols)
        if value is None:
            return None
        coded = table.get(value) or table.get(value.lower()) or table.get(normalise_header(value))
        if coded is None:
            self.problems[problem] += 1
        return coded

    def event(self, values: list, row_ref: str, reported_at_ms: int) -> dict:
        subject = {"type": "UNKNOWN", "uscc": None, "id_type": None, "id_number": None, "plate": None, "name": None,
                   "sex": None, "legal_representative": None, "other_ids": {}}
        decision = {"document_number": None, "document_name": None, "authority": None, "authority_code": None,
                    "date": None, "valid_from": None, "valid_until": None, "status": None}
        matter = {"name": None, "kind": None, "cause": None, "legal_basis": None, "content": None}
        groups = (subject, decision, matter, subject["other_ids"])
        n = len(values)
        for g, name, i in self._single:
            if i < n and values[i]:
                groups[g][name] = values[i]
        raw = {key: values[i] for i, key in self._raw_columns if i < n and values[i]}
        if self._multi:
            chosen, passed_over = set(), []
            for g, name, cols in self._multi:
                value, i = self._pick(values, cols)
                if i >= 0:
                    groups[g][name] = value
                    chosen.add(i)
                passed_over += cols
            for i in passed_over:
                if i not in chosen and i < n and values[i]:
                    raw[self.raw_keys[i]] = values[i]
        for g, name, value in self._constants:
            if groups[g][name] is None:
                groups[g][name] = value
        any_id = subject.pop("any_id", None)
        if any_id is not None:
            self._place_any_id(subject, any_id, values)
        category = self.category
        if self.category_columns:
            category = self._coded(values, self.category_columns, CATEGORY_VALUES, "unknown_category") \
                or self.category or "OTHER"
        catalog = self.catalog
        if not catalog and self.catalog_columns:
            catalog, _ = self._pick(values, self.catalog_columns)
        catalog = catalog or DEFAULT_CATALOG[category]
        stype = None
        if self.subject_type_columns:
            stype = self._coded(values, self.subject_type_columns, self.subject_type_values, "unknown_subject_type")
        subject["type"] = stype or self._infer_subject_type(subject)
        if not (subject["uscc"] or subject["id_number"] or subject["plate"]):
            self.problems["no_subject_id"] += 1
        if n > self._width:
            self.problems["extra_cells"] += 1
            for j, v in enumerate(values[self._width:], 1):
                if v:
                    raw[f"_extra_{j}"] = v
        subject_id = message_key(subject)
        extra = "" if decision["document_number"] else self._natural_key(values)
        if decision["document_number"] and (decision["status"] or "").strip() not in _NORMAL_STATUS:
            # A later report of the same decision that changes its status (异议, 撤销 ...), as a
            # platform passes it on beside the original: its own event, not a replay of the original.
            extra = f"status\x1f{decision['status'].strip()}\x1f{decision['date'] or ''}"
        return {
            "event_id": event_id(self.unit, catalog, category, subject_id, decision["document_number"], extra),
            "source_unit": self.unit,
            "catalog": catalog,
            "category": category,
            "reporting_mode": self.mode,
            "source_format": self.source_format,
            "reported_at": reported_at_ms,
            "reported_by": self.reported_by,
            "source_ref": self._source_prefix + row_ref,
            "subject": subject,
            "decision": decision,
            "matter": matter,
            "raw": raw,
        }

    def _place_any_id(self, subject: dict, value: str, values: list) -> None:
        """A court's cardNum is a (masked) ID number for persons and an organisation code or USCC
        for organisations: the shape, or the person-only columns (sex, age), tell which."""
        compact_value = value.replace(" ", "")
        person = bool(_PERSON_ID.match(compact_value)) and (
            len(compact_value) == 18 or any(not _blank(values[i]) for i in self.person_hint_columns if i < len(values))
            or "*" in compact_value)
        if person and not subject["id_number"]:
            subject["id_number"] = value
        elif not subject["uscc"]:
            subject["uscc"] = value

    @staticmethod
    def _infer_subject_type(subject: dict) -> str:
        if subject["id_number"] and not subject["uscc"]:
            return "NATURAL_PERSON"
        if subject["uscc"]:
            return "LEGAL_PERSON"
        if subject["plate"]:
            return "VEHICLE"
        return "UNKNOWN"

    def _natural_key(self, values: list) -> str:
        """What tells apart records without a document number: the layout's key columns, or else
        the whole row, so the same row always gets the same id."""
        parts = [(values[i] or "") if i < len(values) else "" for i in self.natural_key_columns]
        if any(parts):
            return "\x1f".join(parts)
        whole = "\x1f".join(v or "" for v in values)
        return hashlib.blake2b(whole.encode("utf-8"), digest_size=12).hexdigest()
