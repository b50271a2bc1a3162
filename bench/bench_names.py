"""Name fallback over a 1-million-name list: p50/p99 of candidate searches (exact, variant
spellings, masked names with a literal head or tail) through checks.names.NameIndex, against the
baseline in the same run, a linear scan of every name (fewer queries: it takes about a second each).

    python -m bench names                    # with the others, appended to bench/RESULTS.md
    BENCH_NAMES_SIZE=100000 python -m bench.bench_names     # a quick look (not recorded)
"""
from __future__ import annotations

import os
import random
import time

from checks.names import NameIndex, linear_search

SIZE = int(os.environ.get("BENCH_NAMES_SIZE", "1000000"))
QUERIES = 2000
BASELINE_QUERIES = 5
TARGET_P99_MS = 50.0

_PLACES = ["上虞市", "黄石市", "大冶市", "阳新县", "武汉市", "营口市", "沈阳市", "杭州市", "绍兴市", "宁波市",
           "鄂州市", "荆州市", "宜昌市", "襄阳市", "十堰市", "孝感市", "咸宁市", "随州市", "恩施州", "仙桃市"]
_TRADE = "华恒达新兴盛鑫源丰泰宏远金龙巨力通大中天元昌隆瑞祥安顺德福嘉禾创美博卓越辉煌晨光明阳春秋"
_LINES = ["设备", "建工", "水泥", "机电", "贸易", "科技", "物流", "食品", "化工", "建材", "置业", "商贸", "电子", "纺织"]
_FORMS = ["有限公司", "有限责任公司", "股份有限公司", "（集团）有限公司"]


def make_names(size: int, seed: int = 14) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    names, seen = [], set()
    while len(names) < size:
        name = (rng.choice(_PLACES) + "".join(rng.choice(_TRADE) for _ in range(rng.randint(2, 4)))
                + rng.choice(_LINES) + rng.choice(_FORMS))
        if name not in seen:
            seen.add(name)
            names.append((f"K{len(names):08d}", name))
    return names


def queries(names: list[tuple[str, str]], count: int, seed: int = 15) -> list[str]:
    """A mix as windows would type them: exact, variant spellings, masked (head kept, or tail kept)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        name = rng.choice(names)[1]
        kind = i % 4
        if kind == 0:
            out.append(name)
        elif kind == 1:
            out.append(name.replace("（", "(").replace("）", ")").replace("有限责任公司", "有限公司") + " ")
        elif kind == 2:  # 上虞市巨**设备有限公司: place and first trade character kept
            out.append(name[:4] + "**" + name[-6:])
        else:  # head masked: the tail anchors
            out.append("**" + name[3:])
    return out


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def bench_names() -> list[dict]:
    names = make_names(SIZE)
    started = time.perf_counter()
    index = NameIndex.build(names)
    build_s = time.perf_counter() - started
    asked = queries(names, QUERIES)
    latencies, found = [], 0
    for text in asked:
        t0 = time.perf_counter()
        candidates, _total = index.search(text)
        latencies.append((time.perf_counter() - t0) * 1000)
        found += bool(candidates)
    baseline = []
    for text in asked[:BASELINE_QUERIES]:
        t0 = time.perf_counter()
        linear_search(names, text)
        baseline.append((time.perf_counter() - t0) * 1000)
    p99 = _percentile(latencies, 0.99)
    size = f"{SIZE:,} names"
    return [
        {"benchmark": f"name index build, {size}", "figure": build_s, "unit": "s"},
        {"benchmark": f"name fallback p50, {size} (exact, variant, masked head/tail)",
         "figure": _percentile(latencies, 0.5), "unit": "ms"},
        {"benchmark": f"name fallback p99, {size}", "figure": p99, "unit": "ms",
         "requirement": f"<= {TARGET_P99_MS:.0f} ms", "ok": p99 <= TARGET_P99_MS},
        {"benchmark": f"name fallback queries with a candidate (of {QUERIES:,})", "figure": found, "unit": "queries",
         "requirement": "every query (each is made from a listed name)", "ok": found == QUERIES},
        {"benchmark": f"baseline: linear scan p50, {size} ({BASELINE_QUERIES} queries)",
         "figure": _percentile(baseline, 0.5), "unit": "ms"},
    ]


if __name__ == "__main__":
    for row in bench_names():
        print(row)
