"""python -m dashboards [--check]: write the Grafana dashboard files from dashboards/definitions.py,
or (--check) fail when a file differs from what the definitions build."""
from __future__ import annotations

import json
import sys

from dashboards.definitions import ALL
from dashboards.panels import DASHBOARD_DIR


def rendered() -> dict[str, str]:
    return {f"{name}.json": json.dumps(build(), ensure_ascii=False, indent=2) + "\n" for name, build in ALL.items()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    DASHBOARD_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in rendered().items():
        path = DASHBOARD_DIR / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.write_text(text, encoding="utf-8")
    if check and stale:
        print(f"out of date: {', '.join(stale)}; run python -m dashboards", file=sys.stderr)
        return 1
    print(("checked" if check else "written") + f": {len(ALL)} dashboards in {DASHBOARD_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
