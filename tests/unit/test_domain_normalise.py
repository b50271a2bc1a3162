"""Normalisation of what the wild sends: dates, no-expiry sentinel, sex, placeholders, names."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given, strategies as st

from creditstream.domain.normalise import (InvalidDate, InvalidSex, is_no_expiry, normalise_name, normalise_sex,
                                           normalise_text, parse_date, present)

days = st.dates(min_value=date(1950, 1, 1), max_value=date(2098, 12, 31))


@given(days)
def test_every_wild_format_reads_the_same_day(day):
    for text in (day.strftime("%Y年%m月%d日"), f"{day.year}年{day.month}月{day.day}日", day.strftime("%Y%m%d"),
                 day.strftime("%Y-%m-%d 00:00:00"), day.isoformat(), day.strftime("%Y/%m/%d"),
                 f"{day.year}/{day.month}/{day.day}", day.strftime("%Y.%m.%d"), day.strftime("%Y-%m-%dT08:30:00"),
                 f" {day.isoformat()} "):
        assert parse_date(text) == day, text


@given(st.datetimes(min_value=datetime(2001, 9, 10), max_value=datetime(2090, 1, 1), timezones=st.just(timezone.utc)))
def test_unix_seconds_and_millis_are_read_as_the_date_in_china(instant):
    china_day = datetime.fromtimestamp(instant.timestamp(), timezone.utc).astimezone(
        __import__("creditstream.domain.normalise", fromlist=["CHINA_TZ"]).CHINA_TZ).date()
    assert parse_date(str(int(instant.timestamp()))) == china_day
    assert parse_date(str(int(instant.timestamp() * 1000))) == china_day


def test_unix_seconds_late_in_the_utc_day_are_the_next_china_day():
    assert parse_date("1437000000") == date(2015, 7, 16)  # 2015-07-15 22:40 UTC = 07-16 06:40 in China


def test_zoned_iso_instants_become_china_dates():
    assert parse_date("2015-03-28T20:00:00Z") == date(2015, 3, 29)
    assert parse_date("2015-03-28T20:00:00+08:00") == date(2015, 3, 28)
    assert parse_date("2015-03-28T01:00:00-05:00") == date(2015, 3, 28)


def test_full_width_digits_are_digits():
    assert parse_date("２０１４年１１月２８日") == date(2014, 11, 28)


@pytest.mark.parametrize("text", ["2014-02-30", "20151332", "yesterday", "2014年13月1日", "12345", "2014-1", "3年"])
def test_impossible_or_unknown_dates_are_invalid(text):
    with pytest.raises(InvalidDate):
        parse_date(text)


@pytest.mark.parametrize("text", ["2099-12-31", "2099年12月31日", "20991231", "9999-12-31", "长期", "长期有效", "永久"])
def test_no_expiry_sentinels(text):
    parsed = None if text.startswith(("长", "永")) else parse_date(text)
    assert is_no_expiry(text, parsed)


def test_an_ordinary_date_is_an_expiry():
    assert not is_no_expiry("2027-12-31", date(2027, 12, 31))


@pytest.mark.parametrize("raw,sex", [("男", "M"), ("男性", "M"), ("M", "M"), ("m", "M"), ("male", "M"), ("1", "M"),
                                     ("女", "F"), ("女性", "F"), ("F", "F"), ("Female", "F"), ("2", "F"),
                                     (" 女 ", "F"), ("", None), ("暂无", None), (None, None), ("未说明", None),
                                     ("9", None)])
def test_sex_variants(raw, sex):
    assert normalise_sex(raw) == sex


def test_unknown_sex_is_an_error_not_a_guess():
    with pytest.raises(InvalidSex):
        normalise_sex("X")


@pytest.mark.parametrize("raw", ["", "  ", "暂无", "无", "-", "—", "/", "NULL", "null", "N/A", "\u3000暂无\u3000"])
def test_placeholders_are_missing(raw):
    assert present(raw) is None


def test_names_are_trimmed_with_full_width_brackets():
    assert normalise_name("  黄石恒达(大冶)有限公司 ") == "黄石恒达（大冶）有限公司"
    assert normalise_name("王 伟") == "王伟"
    assert normalise_name("\u3000李 娜\u3000") == "李娜"
    assert normalise_name("Acme  Trading Ltd") == "Acme Trading Ltd"
    assert normalise_name("暂无") is None


@given(st.text())
def test_normalised_text_has_no_surrounding_space(text):
    out = normalise_text(text)
    assert out is None or (out == out.strip() and out)
