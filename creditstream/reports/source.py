"""Where a report reads from: a clickhouse-connect client (chdb or a server) and the database.
SQL text holds only identifiers; every value goes in as a query parameter."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from creditstream.domain.catalog import UnitCatalog
from creditstream.reports.period import ReportPeriod

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ReportSource:
    def __init__(self, client, database: str):
        if not _IDENTIFIER.match(database):  # the one name spliced into SQL: checked, never a value
            raise ValueError(f"not a database name: {database!r}")
        self.client = client
        self.database = database

    def rows(self, sql: str, **parameters) -> list[tuple]:
        return self.client.query(sql.replace("{db}", self.database), parameters=parameters).result_rows

    def columns(self, table: str) -> set[str]:
        """The columns of a table, empty when it does not exist (tables other issues add later)."""
        rows = self.rows("SELECT name FROM system.columns WHERE database = {database:String} AND table = {table:String}",
                         database=self.database, table=table)
        return {name for (name,) in rows}


@dataclass
class ReportContext:
    source: ReportSource
    catalog: UnitCatalog
    period: ReportPeriod
    today: date
    unit: str | None = None                  # only this unit, when given
    generated_at: datetime | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def reference_day(self) -> date:
        return self.period.reference_day(self.today)

    def wants(self, unit_code: str) -> bool:
        return self.unit is None or unit_code == self.unit

    def unit_name(self, code: str) -> str:
        unit = self.catalog.unit(code)
        return unit.name if unit else code

    def period_params(self) -> dict:
        return {"start": self.period.start_instant, "end": self.period.end_instant}

    def unit_filter(self, column: str = "source_unit") -> tuple[str, dict]:
        """An extra WHERE term and its parameter for --unit."""
        if self.unit is None:
            return "", {}
        return f" AND {column} = {{unit:String}}", {"unit": self.unit}
