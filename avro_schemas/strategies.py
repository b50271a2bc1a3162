"""Hypothesis strategies that draw records valid for any of our schemas, for property tests in
any package (hypothesis is a test dependency: import this module from tests only).

Values come back the way the codec decodes them (timestamps as UTC datetimes with millisecond
precision, dates as dates), so ``decode(encode(record)) == record`` holds exactly.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from hypothesis import strategies as st

from avro_schemas.catalog import SchemaVersion

_INT = 2**31
_LONG = 2**63
# Text from every plane fastavro can write: CJK names, full-width brackets, emoji in free text.
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
_MILLIS = st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(timezone.utc)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))

_PRIMITIVES = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-_INT, _INT - 1),
    "long": st.integers(-_LONG, _LONG - 1),
    "float": st.floats(width=32, allow_nan=False),
    "double": st.floats(allow_nan=False),
    "string": _TEXT,
    "bytes": st.binary(max_size=20),
}
_LOGICAL = {
    ("long", "timestamp-millis"): _MILLIS,
    ("int", "date"): st.dates(date(1900, 1, 1), date(2200, 1, 1)),
}


def records(sv: SchemaVersion) -> st.SearchStrategy[dict]:
    """Records valid for one schema version."""
    return _strategy(json.loads(sv.text), {}, "")


def _strategy(node, named: dict, namespace: str) -> st.SearchStrategy:
    if isinstance(node, str):
        if node in _PRIMITIVES:
            return _PRIMITIVES[node]
        return named[node if "." in node else f"{namespace}.{node}"]  # defined earlier in the walk
    if isinstance(node, list):
        return st.one_of([_strategy(branch, named, namespace) for branch in node])
    kind = node["type"]
    logical = _LOGICAL.get((kind, node.get("logicalType")))
    if logical is not None:
        return logical
    if kind == "array":
        return st.lists(_strategy(node["items"], named, namespace), max_size=4)
    if kind == "map":
        return st.dictionaries(_TEXT, _strategy(node["values"], named, namespace), max_size=4)
    if kind in ("record", "enum", "fixed"):
        name = node["name"]
        full = name if "." in name else f"{node.get('namespace', namespace)}.{name}"
        inner_ns = full.rsplit(".", 1)[0]
        if kind == "enum":
            strategy = st.sampled_from(node["symbols"])
        elif kind == "fixed":
            strategy = st.binary(min_size=node["size"], max_size=node["size"])
        else:
            strategy = st.fixed_dictionaries({f["name"]: _strategy(f["type"], named, inner_ns) for f in node["fields"]})
        named[full] = strategy
        return strategy
    return _strategy(kind, named, namespace)
