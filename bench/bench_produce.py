"""Batch files into Kafka: a CSV and an XLSX of 1.56 million rows (the largest batch in the seeds,
Liaoning's 个体工商户 USCC conversion) loaded through the file adapter, against raw confluent-kafka
produce of the same file's bytes (one message per line, nothing parsed) on the same broker.

Each load runs in a child process, so its rows/s is one process (one core for Python; librdkafka's
threads and the broker take the other) and its peak memory is its own. The broker is an embedded
Apache Kafka in a temporary directory, or CREDITSTREAM_KAFKA_BOOTSTRAP when set.

    python -m bench produce                 # with the others, appended to bench/RESULTS.md
    python -m bench.bench_produce           # alone, appended too (--no-record to skip)
    BENCH_PRODUCE_ROWS=200000 python -m bench.bench_produce --no-record   # a quick look
"""
from __future__ import annotations

import csv
import itertools
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROWS = int(os.environ.get("BENCH_PRODUCE_ROWS", "1560000"))
TARGET_CSV_ROWS_PER_S = 50_000
EXCEL_MAX_ROWS = 1_048_576  # per sheet, header included: 1.56 M rows need two sheets
HEADER = ["XK_WSH", "XK_XMMC", "XK_SPLB", "XK_NR", "XK_XDR", "XK_XDR_SHXYM", "XK_FR", "XK_JDRQ", "XK_JZQ",
          "XK_XZJG", "XK_ZT", "DFBM", "SJC", "BZ"]


def rows(count: int, seed: int = 2022):
    """个体工商户 registrations as a unit exports them: one new subject per row (no repeats, the
    costly case for every per-subject cache), dates in the wild formats."""
    from stdnum.cn import uscc

    from producers.demo_feed import division_codes

    rng = random.Random(seed)
    divisions = division_codes()[:400]
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    formats = ["%Y-%m-%d", "%Y年%m月%d日", "%Y%m%d", "%Y-%m-%d 00:00:00"]
    surnames, names = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静强磊军洋勇艳杰娟涛明超秀霞平刚"
    for i in range(count):
        division = divisions[i % len(divisions)]
        body = "92" + division + "".join(rng.choice(alphabet) for _ in range(9))
        day = time.gmtime(1_609_459_200 + rng.randrange(0, 3 * 365) * 86400)
        owner = rng.choice(surnames) + rng.choice(names)
        yield [f"{division[:2]}个体登字〔{day.tm_year}〕{i:07d}号", "个体工商户统一社会信用代码转换", "登记",
               rng.choice(["食品销售", "餐饮服务", "日用百货零售", "理发服务", "汽车维修"]), f"{owner}{rng.choice(['商店', '饭店', '理发店', '修理部'])}",
               body + uscc.calc_check_digit(body), owner, time.strftime(rng.choice(formats), day), "2099-12-31",
               f"{division}市场监督管理局", "0", division, time.strftime("%Y-%m-%d %H:%M:%S", day), ""]


def write_csv(path: Path, count: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows(count))


def _column(n: int) -> str:
    name = ""
    while n >= 0:
        name = chr(65 + n % 26) + name
        n = n // 26 - 1
    return name


def write_xlsx(path: Path, count: int) -> None:
    """A minimal workbook written as its XML parts (inline strings): openpyxl would need minutes
    for 1.56 M rows, and the reader is what is measured here, not the writer."""
    columns = [_column(i) for i in range(len(HEADER))]
    sheets = []
    source = rows(count)
    remaining = count
    while remaining > 0 or not sheets:
        take = min(remaining, EXCEL_MAX_ROWS - 1)
        sheets.append(take)
        remaining -= take
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i in range(len(sheets))) + "</Types>"))
        book.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        book.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            + "".join(f'<sheet name="Sheet{i + 1}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i in range(len(sheets)))
            + "</sheets></workbook>"))
        book.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                      for i in range(len(sheets))) + "</Relationships>"))
        for number, size in enumerate(sheets, 1):
            with book.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=True) as sheet:
                sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet '
                            b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
                for r, values in enumerate(itertools.chain([HEADER], itertools.islice(source, size)), 1):
                    cells = "".join(f'<c r="{c}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                                    for c, v in zip(columns, values) if v)
                    sheet.write(f'<row r="{r}">{cells}</row>'.encode())
                sheet.write(b"</sheetData></worksheet>")


# --------------------------------------------------------------------------------- measured runs

def _load(path: str, bootstrap: str) -> dict:
    from producers.batch_file import LoadOptions, load_file
    from producers.credit_producer import CreditProducer

    producer = CreditProducer(bootstrap)
    started = time.perf_counter()
    summary = load_file(path, LoadOptions(unit="BENCH-SAMR"), producer)
    seconds = time.perf_counter() - started
    assert summary.complete, f"load incomplete: {summary}"
    return {"rows": summary.report.rows, "seconds": seconds}


def _raw(path: str, bootstrap: str) -> dict:
    """The same bytes, one message per line, through confluent-kafka with the wrapper's settings."""
    from confluent_kafka import Producer

    from creditstream.topics import INBOUND

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                         "compression.type": "lz4", "linger.ms": 20, "batch.num.messages": 10000,
                         "queue.buffering.max.messages": 200000, "log_level": 3})
    started = time.perf_counter()
    count = 0
    with open(path, "rb") as f:
        next(f)
        for line in f:
            while True:
                try:
                    producer.produce(INBOUND, value=line)
                    break
                except BufferError:
                    producer.poll(0.05)
            count += 1
    assert producer.flush(60) == 0
    return {"rows": count, "seconds": time.perf_counter() - started}


def _child(kind: str, path: str, bootstrap: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "bench.bench_produce", "--child", kind, path, bootstrap],
                            capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if result.returncode != 0:
        raise RuntimeError(f"{kind} run failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _broker(directory: Path):
    """(bootstrap, stop) — the configured broker, or an embedded one for this run."""
    from creditstream.embedded.kafka import EmbeddedKafka
    from creditstream.settings import Settings, get_settings
    from creditstream.topics import ensure_topics, topic_specs

    configured = get_settings()
    if not configured.embedded_kafka:
        ensure_topics(configured.bootstrap_servers, topic_specs(configured.topic_partitions))
        return configured.bootstrap_servers, lambda: None
    kafka_port, controller_port = _free_ports(2)
    settings = Settings(data_dir=directory / "stack", kafka_port=kafka_port, kafka_controller_port=controller_port)
    kafka = EmbeddedKafka(settings)
    kafka.start(log=lambda *_: None)
    ensure_topics(settings.bootstrap_servers, topic_specs(4))
    return settings.bootstrap_servers, kafka.stop


def bench_produce() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-produce-") as tmp:
        directory = Path(tmp)
        csv_path, xlsx_path = directory / "rows.csv", directory / "rows.xlsx"
        write_csv(csv_path, ROWS)
        write_xlsx(xlsx_path, ROWS)
        csv_mb = csv_path.stat().st_size / 1e6
        bootstrap, stop = _broker(directory)
        try:
            # The loads first: the raw run leaves the broker busy writing, which backs up the next
            # producer's queue (its memory, not its rate, would then be what is measured).
            loaded_csv = _child("load", str(csv_path), bootstrap)
            loaded_xlsx = _child("load", str(xlsx_path), bootstrap)
            raw = _child("raw", str(csv_path), bootstrap)
        finally:
            stop()
    rate = lambda r: r["rows"] / r["seconds"]  # noqa: E731
    assert loaded_csv["rows"] == loaded_xlsx["rows"] == raw["rows"] == ROWS
    label = f"{ROWS / 1e6:.2f} M rows"
    return [
        {"benchmark": f"CSV load into Kafka, {label}", "figure": rate(loaded_csv), "unit": "rows/s",
         "requirement": f">= {TARGET_CSV_ROWS_PER_S:,} rows/s", "ok": rate(loaded_csv) >= TARGET_CSV_ROWS_PER_S},
        {"benchmark": "CSV load, peak memory (RSS)", "figure": loaded_csv["peak_mb"], "unit": "MB"},
        {"benchmark": f"XLSX load into Kafka, {label}, {-(-ROWS // (EXCEL_MAX_ROWS - 1))} sheet(s)",
         "figure": rate(loaded_xlsx), "unit": "rows/s"},
        {"benchmark": "XLSX load, peak memory (RSS)", "figure": loaded_xlsx["peak_mb"], "unit": "MB"},
        {"benchmark": "raw confluent-kafka produce of the CSV's lines", "figure": rate(raw), "unit": "rows/s"},
        {"benchmark": "CSV load / raw produce", "figure": 100 * rate(loaded_csv) / rate(raw), "unit": "%"},
        {"benchmark": "CSV file size", "figure": csv_mb, "unit": "MB"},
    ]


def _peak_rss_mb() -> float:
    """This process's own peak: VmHWM starts afresh at exec, while ru_maxrss keeps the high-water
    mark of the parent it was forked from (the parent that wrote the files)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        kind, path, bootstrap = argv[1:4]
        result = (_raw if kind == "raw" else _load)(path, bootstrap)
        result["peak_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return 0
    from bench.__main__ import main

    return main(["produce", *argv])


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
