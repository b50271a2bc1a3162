"""Name fallback: candidates for a subject known only by its name (no USCC, no ID number).

A name is never proof: two firms may share one, a masked name fits many. So the answer lists
ranked candidates with the reason for each, says the match is by name only, and is never a plain
"not listed".

Matching, strongest first:
- EXACT: the name as listed;
- NORMALISED: equal once both are reduced to a match key (full/half width, brackets （）() dropped,
  spaces dropped, 有限责任公司 read as 有限公司, Latin letters lower-cased); the reason names what
  differed;
- MASKED: the query holds ``*`` (or ＊), each run standing for one or more characters, as published
  lists print names (上虞市巨**设备有限公司); the fewer characters the stars must stand for beyond
  their own count, the better the rank.

The index is built for a million names answering in milliseconds: a dict per match key for exact
and normalised, and two sorted lists (match keys, and match keys reversed) so that a masked
pattern's literal head or tail selects a narrow range by bisection before the pattern is tried.
Only a pattern with neither a literal head nor a literal tail (``*巨*``) scans every name.
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field

EXACT, NORMALISED, MASKED = "EXACT", "NORMALISED", "MASKED"
_RANK = {EXACT: 0, NORMALISED: 1, MASKED: 2}
MAX_CANDIDATES = 20
MAX_NAME_CHARS = 200
_MASKS = re.compile(r"[*＊]+")
_DROP = re.compile(r"[\s\u3000()（）\[\]【】〔〕·・.,，、\"'“”‘’]+")
# Longer forms first: each is read as its short form.
_SUFFIXES = (("有限责任公司", "有限公司"), ("股份有限公司", "股份公司"))


class InvalidName(ValueError):
    """A name a search cannot use."""


def match_key(name: str) -> str:
    """The form two spellings of one name share: NFKC (full width to half), lower case, no
    brackets, spaces or punctuation, 有限责任公司 read as 有限公司. Stars are kept (patterns)."""
    text = unicodedata.normalize("NFKC", name).lower()
    text = _DROP.sub("", text)
    for long, short in _SUFFIXES:
        text = text.replace(long, short)
    return text


def differences(query: str, listed: str) -> list[str]:
    """What a normalised match had to look past, said for the answer's reason."""
    said = []
    if _brackets(query) != _brackets(listed):
        said.append("括号 brackets")
    bare = [_BRACKETS.sub("", t) for t in (query, listed)]
    if any(unicodedata.normalize("NFKC", t) != t for t in bare):
        said.append("全角/半角 full/half width")
    if any(re.search(r"\s", t) for t in (query, listed)):
        said.append("空格 spaces")
    if any((long in query) != (long in listed) for long, _ in _SUFFIXES):
        said.append("有限责任公司/有限公司")
    if any(unicodedata.normalize("NFKC", t).lower() != unicodedata.normalize("NFKC", t) for t in bare):
        said.append("大小写 letter case")
    return said or ["标点 punctuation"]


_BRACKETS = re.compile(r"[()（）\[\]【】〔〕]")


def _brackets(text: str) -> str:
    return "".join(_BRACKETS.findall(text))


@dataclass(frozen=True)
class Candidate:
    key: str            # the subject key of the listed subject
    name: str           # its name as listed
    match: str          # EXACT, NORMALISED or MASKED
    reason: str
    score: float

    def as_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "match": self.match, "reason": self.reason,
                "score": round(self.score, 3)}


@dataclass(frozen=True)
class Pattern:
    """A masked name: literal parts between star runs, and whether it starts or ends with stars."""
    parts: tuple[str, ...]
    head: str            # literal prefix ("" when it starts with a star)
    tail: str            # literal suffix ("" when it ends with a star)
    literal: int         # characters that are not stars
    stars: int           # stars typed: a published mask prints one per hidden character
    regex: re.Pattern

    @classmethod
    def of(cls, masked_key: str) -> "Pattern":
        pieces = _MASKS.split(masked_key)
        regex = re.compile("".join(re.escape(p) + (".+" if i < len(pieces) - 1 else "")
                                   for i, p in enumerate(pieces)), re.DOTALL)
        literal = sum(len(p) for p in pieces)
        return cls(tuple(p for p in pieces if p), pieces[0], pieces[-1], literal, len(masked_key) - literal, regex)


def parse_name(text: str) -> tuple[str, str, Pattern | None]:
    """(name as typed, trimmed; its match key; the pattern when it is masked)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidName("名称为空 the name is empty")
    name = text.strip()
    if len(name) > MAX_NAME_CHARS:
        raise InvalidName(f"名称过长 the name has more than {MAX_NAME_CHARS} characters")
    key = match_key(name)
    pattern = None
    if _MASKS.search(key):
        if not _MASKS.sub("", key):
            raise InvalidName("名称只有星号 the name is nothing but stars")
        pattern = Pattern.of(key)
    return name, key, pattern


@dataclass
class NameIndex:
    """Listed subjects' names, searchable by exact name, match key and masked pattern."""
    by_name: dict[str, set[str]] = field(default_factory=dict)       # name as listed -> subject keys
    by_key: dict[str, set[str]] = field(default_factory=dict)        # match key -> names as listed
    keys: list[str] = field(default_factory=list)                    # sorted match keys
    reversed_keys: list[str] = field(default_factory=list)           # sorted reversed match keys
    names_of: dict[str, str] = field(default_factory=dict)           # subject key -> name as listed

    @classmethod
    def build(cls, pairs) -> "NameIndex":
        """From (subject key, name) pairs, sorting once (a million names in a few seconds)."""
        index = cls()
        for subject, name in pairs:
            if name:
                index.names_of[subject] = name
                index.by_name.setdefault(name, set()).add(subject)
        for name in index.by_name:
            index.by_key.setdefault(match_key(name), set()).add(name)
        index.keys = sorted(index.by_key)
        index.reversed_keys = sorted(k[::-1] for k in index.by_key)
        return index

    def __len__(self) -> int:
        return len(self.names_of)

    def put(self, subject: str, name: str | None) -> None:
        """The subject's name now (None: it left the lists)."""
        old = self.names_of.get(subject)
        if old == name:
            return
        if old is not None:
            del self.names_of[subject]
            holders = self.by_name[old]
            holders.discard(subject)
            if not holders:
                del self.by_name[old]
                self._drop_key(old)
        if name:
            self.names_of[subject] = name
            holders = self.by_name.setdefault(name, set())
            if not holders:
                key = match_key(name)
                names = self.by_key.setdefault(key, set())
                if not names:
                    bisect.insort(self.keys, key)
                    bisect.insort(self.reversed_keys, key[::-1])
                names.add(name)
            holders.add(subject)

    def _drop_key(self, name: str) -> None:
        key = match_key(name)
        names = self.by_key.get(key)
        if names is None:
            return
        names.discard(name)
        if not names:
            del self.by_key[key]
            for ordered, value in ((self.keys, key), (self.reversed_keys, key[::-1])):
                at = bisect.bisect_left(ordered, value)
                if at < len(ordered) and ordered[at] == value:
                    del ordered[at]

    def search(self, text: str, limit: int = MAX_CANDIDATES) -> tuple[list[Candidate], int]:
        """Ranked candidates (at most ``limit``) and how many matched in all."""
        typed, key, pattern = parse_name(text)
        found: dict[str, Candidate] = {}

        def add(candidate: Candidate) -> None:
            held = found.get(candidate.key)
            if held is None or candidate.score > held.score:
                found[candidate.key] = candidate

        if pattern is None:
            for subject in self.by_name.get(typed, ()):
                add(Candidate(subject, typed, EXACT, "名称完全一致 the name as listed", 1.0))
            for name in self.by_key.get(key, ()):
                if name == typed:
                    continue
                reason = "规范化后一致 equal once normalised: " + ", ".join(differences(typed, name))
                for subject in self.by_name[name]:
                    add(Candidate(subject, name, NORMALISED, reason, 0.9))
        else:
            for matched in self._masked(pattern):
                hidden = len(matched) - pattern.literal
                # Ranked by how far the hidden characters are from the stars' count.
                reason = f"脱敏名称匹配 fits the masked name: the stars stand for {hidden} character(s)"
                for name in self.by_key[matched]:
                    for subject in self.by_name[name]:
                        add(Candidate(subject, name, MASKED, reason, 0.6 / (1 + abs(hidden - pattern.stars))))
        ranked = sorted(found.values(), key=lambda c: (_RANK[c.match], -c.score, c.name, c.key))
        return ranked[:limit], len(ranked)

    def _masked(self, pattern: Pattern):
        """Match keys that fit the pattern: among those sharing its literal head (or tail, when
        that range is narrower), found by bisection; every key only when it has neither."""
        ranges = []
        if pattern.head:
            ranges.append((self.keys, pattern.head, False))
        if pattern.tail:
            ranges.append((self.reversed_keys, pattern.tail[::-1], True))
        if not ranges:
            yield from (k for k in self.keys if pattern.regex.fullmatch(k))
            return
        spans = []
        for ordered, prefix, reverse in ranges:
            lo = bisect.bisect_left(ordered, prefix)
            hi = bisect.bisect_left(ordered, prefix + "\U0010ffff")
            spans.append((hi - lo, ordered, lo, hi, reverse))
        _, ordered, lo, hi, reverse = min(spans, key=lambda s: s[0])
        fits = pattern.regex.fullmatch
        for i in range(lo, hi):
            key = ordered[i][::-1] if reverse else ordered[i]
            if fits(key):
                yield key


def linear_search(pairs: list[tuple[str, str]], text: str, limit: int = MAX_CANDIDATES) -> tuple[list[Candidate], int]:
    """The same matches by reading every name (reasons in short): the benchmark's baseline."""
    typed, key, pattern = parse_name(text)
    found = []
    for subject, name in pairs:
        if name == typed:
            found.append(Candidate(subject, name, EXACT, "名称完全一致 the name as listed", 1.0))
            continue
        listed_key = match_key(name)
        if pattern is None and listed_key == key:
            found.append(Candidate(subject, name, NORMALISED, "规范化后一致 equal once normalised", 0.9))
        elif pattern is not None and pattern.regex.fullmatch(listed_key):
            found.append(Candidate(subject, name, MASKED, "脱敏名称匹配 fits the masked name", 0.6))
    found.sort(key=lambda c: (_RANK[c.match], -c.score, c.name, c.key))
    return found[:limit], len(found)
