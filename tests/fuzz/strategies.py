"""Hostile input for the fuzz tests: the odd values found in units' exports, injection and
formula strings, control and bidi characters, lone surrogates, huge and deeply nested values."""
from __future__ import annotations

from hypothesis import strategies as st

NASTY = [
    "", " ", "暂无", "无", "-", "null", "None", "NaN", "Infinity", "-1", "0", "1e309", "9" * 40,
    "'; DROP TABLE creditstream.records; --", "{db}", "${database}", "{unit:String}", "%(m)s", "\\",
    "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\")", "@SUM(1)", "+1", "<script>alert(1)</script>",
    "\u202egnp.exe", "\x00", "\x1b[31m", "\r\n", "\ufeff", "\u3000", "𠀀𪚥", "A\u0301",
    "420202198001011234", "42020219800101123X", "420202800101123", "3423011964****3224", "91420200EKB845UM02",
    "91420200EKB845UM0", "000000000000000000", "2014年11月28日", "20150716", "2015-03-28 00:00:00", "1700000000",
    "0000-00-00", "2099-12-31", "9999-99-99", "２０２４－０１－０１", "（2014）鄂02执77号", "男", "男性", "M", "未知",
    "a" * 5000, "字" * 4001,
]
nasty_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=40),
                       st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12))
# Any JSON value, nested a little (the deep cases are explicit examples, not random draws).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | nasty_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(nasty_text, children, max_size=4),
    max_leaves=12)
