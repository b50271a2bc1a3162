"""Working days (Chinese holidays and make-up workdays) and deadline rules; the unit catalog."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

from creditstream.domain.catalog import catalog_from_dict
from creditstream.domain.timeliness import is_working_day, parse_deadline, working_days_between

days = st.dates(min_value=date(2004, 1, 1), max_value=date(2030, 12, 31))


def test_holidays_and_make_up_workdays():
    assert not is_working_day(date(2024, 10, 1))      # National Day
    assert not is_working_day(date(2024, 2, 12))      # Spring Festival, a Monday
    assert is_working_day(date(2024, 2, 4))           # a Sunday worked to make up
    assert is_working_day(date(2024, 9, 29))          # likewise
    assert not is_working_day(date(2024, 9, 28))      # an ordinary Saturday


def test_friday_to_monday_is_one_working_day():
    assert working_days_between(date(2024, 11, 1), date(2024, 11, 4)) == 1
    assert working_days_between(date(2024, 11, 4), date(2024, 11, 4)) == 0
    assert working_days_between(date(2024, 11, 4), date(2024, 11, 1)) == 0


def test_years_beyond_the_calendar_count_weekdays():
    assert working_days_between(date(2099, 1, 2), date(2099, 1, 9)) == 5


@given(days, st.integers(0, 60), st.integers(0, 60))
def test_working_days_add_up(start, a, b):
    middle, end = start + timedelta(days=a), start + timedelta(days=a + b)
    assert working_days_between(start, end) == working_days_between(start, middle) + working_days_between(middle, end)


@given(days, st.integers(0, 400))
def test_working_days_match_a_day_by_day_count(start, span):
    end = start + timedelta(days=span)
    expected = sum(is_working_day(start + timedelta(days=i)) for i in range(1, span + 1))
    assert working_days_between(start, end) == expected


def test_deadline_rules():
    two = parse_deadline("2wd")
    assert not two.is_late(date(2024, 11, 1), date(2024, 11, 5))
    assert two.is_late(date(2024, 11, 1), date(2024, 11, 6))
    monthly = parse_deadline("month:23")
    assert not monthly.is_late(date(2024, 12, 5), date(2025, 1, 23))
    assert monthly.is_late(date(2024, 12, 5), date(2025, 1, 24))
    assert not parse_deadline("none").is_late(date(2000, 1, 1), date(2024, 1, 1))


@pytest.mark.parametrize("rule", ["2 days", "month:31", "wd", "weekly"])
def test_unknown_deadline_rules_are_refused(rule):
    with pytest.raises(ValueError):
        parse_deadline(rule)


def test_catalog_refuses_inconsistent_files():
    with pytest.raises(ValueError):
        catalog_from_dict({"units": [{"code": "U", "indicator_sets": ["NOPE"]}]})
    with pytest.raises(ValueError):
        catalog_from_dict({"indicator_sets": [{"code": "S", "frequency": "hourly"}]})
    with pytest.raises(ValueError):
        catalog_from_dict({"indicator_sets": [{"code": "S", "effect": "ban"}]})


def test_catalog_pilot_allow_list_and_effects():
    catalog = catalog_from_dict({
        "uscc_pilot_allow_list": {"codes": [" 91350100m000100y4x "]},
        "indicator_sets": [{"code": "S", "category": "PENALTY", "effect": "list", "data_type": "自然人"}],
        "units": [{"code": "U", "region": "420200", "deadline": "2wd", "indicator_sets": ["S"]}],
    })
    assert catalog.pilot_usccs == {"91350100M000100Y4X"}
    assert catalog.list_effect("S", "PENALTY") == "list"
    assert catalog.list_effect("OTHER-SET", "COURT_DISHONEST") == "list"
    assert catalog.list_effect("OTHER-SET", "RED_LIST") == "red_list"
    assert catalog.list_effect("OTHER-SET", "PENALTY") == ""
    assert catalog.indicator_sets["S"].data_type == "NATURAL_PERSON"
    assert catalog.deadline_for("U").working_days == 2 and catalog.deadline_for("X").working_days == 7
