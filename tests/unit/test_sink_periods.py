from datetime import date

import pytest

from sinks.periods import period_start


@pytest.mark.parametrize("text, expected", [
    ("2026-11", ("MONTH", date(2026, 11, 1))),
    ("2026-W47", ("WEEK", date(2026, 11, 16))),
    ("2026-W01", ("WEEK", date(2025, 12, 29))),
    ("2026-Q4", ("QUARTER", date(2026, 10, 1))),
    ("2026-Q1", ("QUARTER", date(2026, 1, 1))),
    ("2026-13", ("OTHER", None)),
    ("2026-W54", ("OTHER", None)),
    ("十一月", ("OTHER", None)),
    ("", ("OTHER", None)),
])
def test_period_start(text, expected):
    assert period_start(text) == expected
