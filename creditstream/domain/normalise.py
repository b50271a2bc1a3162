"""What the wild sends, made uniform: missing markers, dates, sex, names.

Every function is pure and memoised where the input repeats (a unit's file carries the same date
strings and placeholders thousands of times), so the stream pays for each distinct value once.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

# China keeps one time zone; a unix timestamp or a report time becomes a date in it.
CHINA_TZ = timezone(timedelta(hours=8))
EPOCH = date(1970, 1, 1)
# 2099-12-31 (and its siblings) stand for "no expiry" in the 双公示 exchange (XK_JZQ).
NO_EXPIRY_FROM = date(2099, 12, 31)
_NO_EXPIRY_WORDS = frozenset({"长期", "长期有效", "永久", "永久有效", "无期限", "不限期"})

# Placeholders units type into empty cells; compared after trimming and case folding.
_MISSING = frozenset({"", "暂无", "无", "空", "不详", "未知", "-", "--", "---", "—", "——", "/", "\\", "null", "none",
                      "n/a", "na", "nan", "#n/a"})
_SPACES = re.compile(r"[\s\u3000\u00a0]+")


@lru_cache(maxsize=65536)  # the same cells (暂无, unit names, causes) come again and again
def present(value) -> str | None:
    """The trimmed text, or None for empty cells and placeholders such as 暂无."""
    if value is None:
        return None
    text = str(value).strip()  # every Unicode space, the full-width \u3000 included
    if text.lower() in _MISSING:
        return None
    return text


class InvalidDate(ValueError):
    """A date that no known format reads, or that names no day of the calendar."""


_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[\sT].*)?$")
_ZONED = re.compile(r"T.*(?:Z|[+-]\d{2}:?\d{2})$")
_DIGITS = re.compile(r"^\d+$")


@lru_cache(maxsize=65536)
def parse_date(raw: str) -> date:
    """A calendar date from 2014年11月28日, 20150716, 2015-03-28 00:00:00, ISO 8601 (with a
    time and zone), 2015/3/28, 2015.03.28, unix seconds or milliseconds. Full-width digits are
    read as digits. Raises InvalidDate."""
    text = unicodedata.normalize("NFKC", raw).strip()
    match = _YMD.match(text)
    try:
        if match:
            if _ZONED.search(text):
                # An instant with a zone: its date is the date in China, where the decision was made.
                return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(CHINA_TZ).date()
            return date(int(match[1]), int(match[2]), int(match[3]))
        if _DIGITS.match(text):
            if len(text) == 8:
                return date(int(text[:4]), int(text[4:6]), int(text[6:]))
            if 9 <= len(text) <= 10:  # unix seconds
                return datetime.fromtimestamp(int(text), CHINA_TZ).date()
            if len(text) == 13:  # unix milliseconds
                return datetime.fromtimestamp(int(text) / 1000, CHINA_TZ).date()
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidDate(raw) from exc
    raise InvalidDate(raw)


def is_no_expiry(raw: str, parsed: date | None = None) -> bool:
    """长期 / 2099-12-31 / 9999-12-31: the decision has no end of validity."""
    if raw.strip() in _NO_EXPIRY_WORDS:
        return True
    return parsed is not None and parsed >= NO_EXPIRY_FROM


def epoch_days(day: date) -> int:
    """Avro's `date` logical type: days since 1970-01-01."""
    return (day - EPOCH).days


def china_date_of_millis(millis: int) -> date:
    return _day(china_day_of_millis(millis))


def china_day_of_millis(millis: int) -> int:
    """The China date of an instant as days since epoch: `epoch_days(china_date_of_millis(ms))`
    without making the date."""
    return int((millis + 8 * 3_600_000) // 86_400_000)


@lru_cache(maxsize=4096)
def _day(days_since_epoch: int) -> date:
    return EPOCH + timedelta(days=days_since_epoch)


_SEX = {"男": "M", "男性": "M", "m": "M", "male": "M", "1": "M",
        "女": "F", "女性": "F", "f": "F", "female": "F", "2": "F"}
# GB/T 2261.1: 0 未知的性别, 9 未说明的性别 — known placeholders, not errors.
_SEX_UNKNOWN = frozenset({"0", "9", "未知", "未说明", "未知的性别", "未说明的性别", "u", "unknown"})


class InvalidSex(ValueError):
    pass


def normalise_sex(raw: str | None) -> str | None:
    """男 / 男性 / M / 1 -> M; 女 / 女性 / F / 2 -> F; missing or 未说明 -> None. Raises InvalidSex."""
    text = present(raw)
    if text is None:
        return None
    key = text.lower()
    if key in _SEX:
        return _SEX[key]
    if key in _SEX_UNKNOWN:
        return None
    raise InvalidSex(text)


_HALF_TO_FULL_BRACKETS = str.maketrans({"(": "（", ")": "）"})


@lru_cache(maxsize=65536)
def normalise_name(raw: str | None) -> str | None:
    """Trimmed, runs of spaces made one, and the full-width brackets of Chinese names
    (中国（北京）有限公司) whatever the unit typed. Spaces between Chinese characters are dropped
    (王 伟 is 王伟); a space between Latin words stays."""
    text = present(raw)
    if text is None:
        return None
    text = _SPACES.sub(" ", text.translate(_HALF_TO_FULL_BRACKETS))
    return re.sub(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])", "", text)


@lru_cache(maxsize=65536)
def normalise_text(raw: str | None) -> str | None:
    """Free text (cause, content, authority): trimmed, placeholders as missing."""
    text = present(raw)
    return _SPACES.sub(" ", text) if text else None
