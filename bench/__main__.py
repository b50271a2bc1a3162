"""`python -m bench [NAME ...]`: run the benchmarks, print a table, append it to bench/RESULTS.md.

A benchmark is a function named ``bench_*`` in a module ``bench/bench_*.py``, taking no argument
and returning a list of rows, each a dict:

    {"benchmark": "CreditEvent encode, codec", "figure": 91234.0, "unit": "records/s",
     "requirement": ">= 80 % of plain fastavro", "ok": True}

``requirement`` and ``ok`` may be left out for a figure that is only reported. NAME filters by
module or function name (substring). The run exits 1 when any row's ``ok`` is False.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
COLUMNS = ("module", "benchmark", "figure", "unit", "requirement", "ok")


def discover(filters: list[str]):
    for module_info in sorted(pkgutil.iter_modules([str(BENCH_DIR)]), key=lambda m: m.name):
        if not module_info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"bench.{module_info.name}")
        for name in sorted(vars(module)):
            function = getattr(module, name)
            if name.startswith("bench_") and callable(function) and getattr(function, "__module__", "") == module.__name__:
                if not filters or any(f in module_info.name or f in name for f in filters):
                    yield module_info.name.removeprefix("bench_"), function


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"nproc {cpus}, {model}, Python {platform.python_version()}"


def cells(module: str, row: dict) -> list[str]:
    ok = row.get("ok")
    return [module, row["benchmark"], f"{row['figure']:,.2f}".rstrip("0").rstrip("."), row.get("unit", ""),
            row.get("requirement") or "", "" if ok is None else ("yes" if ok else "NO")]


def markdown(title: str, command: str, rows: list[list[str]]) -> str:
    lines = [f"## {title}", "", f"`{command}`", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only benchmarks whose module or function name contains one of these")
    parser.add_argument("--no-record", action="store_true", help=f"do not append to {RESULTS.name}")
    args = parser.parse_args(argv)

    console = Console()
    rows: list[list[str]] = []
    failed = False
    for module, function in discover(args.names):
        with console.status(f"{module}: {function.__name__} …"):
            for row in function():
                rows.append(cells(module, row))
                failed |= row.get("ok") is False
    if not rows:
        console.print("no benchmark matched")
        return 1
    title = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — {machine()}"
    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="right" if column == "figure" else "left")
    for r in rows:
        table.add_row(*r)
    console.print(table)
    if not args.no_record:
        command = " ".join(["python -m bench", *args.names])
        with RESULTS.open("a") as out:
            if out.tell() == 0:
                out.write("# Benchmark results\n\nAppended by `python -m bench` (`make bench`); newest last.\n\n")
            out.write(markdown(title, command, rows))
        console.print(f"appended to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
