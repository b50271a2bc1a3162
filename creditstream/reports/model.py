"""What every report is: titled tables of typed columns with Chinese headers, plus notes. The
same shape goes to the terminal, to Excel, to CSV and, as JSON, to the dashboard page."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Column kinds: how a value is written. Values are plain JSON types: numbers, ratios as
# fractions (0.985), dates as ISO text, None for "not applicable".
KINDS = ("text", "int", "ratio", "number", "date", "datetime")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key}: unknown kind {self.kind!r}")


@dataclass
class Table:
    name: str                      # sheet name in Excel: short, Chinese
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    total: dict | None = None      # the 合计 row, written last

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


@dataclass
class Report:
    kind: str
    title: str
    period: str
    generated_at: str
    tables: list[Table]
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        tables = [Table(t["name"], [Column(**c) for c in t["columns"]], t["rows"], t.get("total"))
                  for t in data["tables"]]
        return cls(data["kind"], data["title"], data["period"], data["generated_at"], tables, data.get("notes", []))


def share(part: int | float, whole: int | float) -> float | None:
    """part / whole, or None (not 0) when there is nothing to divide: a unit that sent nothing has
    no 入库合格率, it does not have a rate of zero."""
    return None if not whole else part / whole
