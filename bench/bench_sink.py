"""The ClickHouse sink: rows/s from Kafka into ClickHouse (chdb) against a raw ``client.insert`` of the
same rows in the same run (required: >= 75 %), peak memory against the batch size, and what
de-duplication costs with 1.56 M rows stored.

Each measured part runs in its own child process: chdb allows one data directory per process, and a
child's peak RSS is its own. The broker is an embedded Apache Kafka in a temporary directory.

    python -m bench sink                   # with the others, appended to bench/RESULTS.md
    python -m bench.bench_sink             # alone, appended too (--no-record to skip)
    BENCH_SINK_ROWS=100000 python -m bench.bench_sink --no-record     # a quick look
"""
from __future__ import annotations

import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

ROWS = int(os.environ.get("BENCH_SINK_ROWS", "480000"))  # a multiple of BATCH x PARTITIONS
BATCH = int(os.environ.get("BENCH_SINK_BATCH", "20000"))  # the sink's default batch size (rows per topic-partition)
SMALL_BATCH = BATCH // 4
PARTITIONS = 4
REQUIRED_SHARE = 0.75
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # best of each, alternating: the machine is shared
SCALE_ROWS = int(os.environ.get("BENCH_SINK_SCALE_ROWS", "1560000"))  # the largest batch in the seeds (Liaoning)
DB = "bench"


# -- data -------------------------------------------------------------------------------------
def _records(count: int):
    """ValidatedRecords as the worker publishes them: demo reports through the real rules, each
    copy with its own event id (a repeated id would be dropped as a replay)."""
    from creditstream.domain.assessment import assess
    from producers.demo_feed import DemoFeed

    feed, base = DemoFeed(seed=5, bad_share=0.0), []
    while len(base) < min(count, 20_000):
        outcome = assess(feed.next_event()[0])
        if outcome.record is not None:
            base.append(outcome.record)
    for i in range(count):
        r = dict(base[i % len(base)])
        r["event_id"] = f"{r['event_id']}-{i}"
        yield r


def _produce(bootstrap: str, count: int) -> None:
    from confluent_kafka import Producer

    from avro_schemas.codec import VALIDATED_RECORD, codec
    from creditstream.topics import RECORDS

    encode = codec(VALIDATED_RECORD).encode
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.num.messages": 10000,
                         "queue.buffering.max.messages": 500000, "compression.type": "lz4"})
    for i, r in enumerate(_records(count)):
        while True:
            try:  # spread evenly, so every batch is cut by size as in a busy stream
                producer.produce(RECORDS, key=r["subject_key"].encode(), value=encode(r), partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(60) == 0


def _rows_file(bootstrap: str, path: Path, count: int) -> None:
    """The rows the raw baseline inserts: the same messages, decoded once, kept in a file."""
    from confluent_kafka import Consumer, TopicPartition

    from avro_schemas.codec import VALIDATED_RECORD, catalog, codec
    from creditstream.topics import RECORDS

    fields = [f["name"] for f in json.loads(catalog().latest(VALIDATED_RECORD).text)["fields"]]
    decode = codec(VALIDATED_RECORD).decode
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "log_level": 3})
    consumer.assign([TopicPartition(RECORDS, p, 0) for p in range(PARTITIONS)])
    rows = []
    while len(rows) < count:
        for msg in consumer.consume(10000, timeout=1.0):
            if msg.error() is None:
                r = decode(msg.value())
                rows.append([r[f] for f in fields] + [msg.topic(), msg.partition(), msg.offset()])
    consumer.close()
    with path.open("wb") as out:
        pickle.dump((fields + ["kafka_topic", "kafka_partition", "kafka_offset"], rows), out,
                    protocol=pickle.HIGHEST_PROTOCOL)


# -- child processes --------------------------------------------------------------------------
def _peak_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it does not carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_sink(bootstrap: str, directory: str, batch: int, count: int, traced: bool) -> dict:
    """Consume credit.records into a fresh chdb directory with the real sink (a fresh consumer
    group), timed from the first message read to the last row committed. ``traced`` traces Python
    allocations instead (slower, not timed): what the sink itself holds, apart from chdb's memory."""
    from creditstream.topics import RECORDS
    from creditstream.gc_policy import relax_gc
    from sinks.batch_sink import ClickHouseSink
    from sinks.clickhouse import connect_url, migrate
    from sinks.tables import table_specs

    client = connect_url(f"chdb://{directory}")
    migrate(client, DB)
    idle_mb = _peak_mb()
    relax_gc()  # as sinks/__main__.py does
    if traced:
        tracemalloc.start()
    sink = ClickHouseSink(client, DB, bootstrap, f"bench-sink-{uuid.uuid4().hex[:8]}", batch, 1.0, 50_000,
                          specs={RECORDS: table_specs()[RECORDS]})
    sink.consumer.subscribe([RECORDS], on_assign=sink._on_assign, on_revoke=sink._on_revoke)
    stored = sink.metrics.rows_stored.labels("records")
    started, most_buffered = None, 0
    while stored._value.get() < count:
        sink.poll_once(timeout=0.05)
        buffered = sink.metrics.buffered._value.get()
        most_buffered = max(most_buffered, buffered)
        if started is None and (buffered > 0 or stored._value.get() > 0):
            started = time.perf_counter()
    seconds = time.perf_counter() - started
    traced_mb = tracemalloc.get_traced_memory()[1] / 2 ** 20 if traced else None
    sink._writer.shutdown()
    sink.consumer.close()
    rows = sink.client.query(f"SELECT count(), uniqExact(event_id) FROM {DB}.records").result_rows[0]
    inserting = sum(s.value for m in sink.metrics.insert_seconds.collect() for s in m.samples
                    if s.name.endswith("_sum"))
    sink.client.close()
    return {"rows": rows[0], "distinct": rows[1], "seconds": seconds, "insert_seconds": inserting,
            "most_buffered": most_buffered, "traced_mb": traced_mb, "peak_mb": _peak_mb(), "idle_mb": idle_mb}


def _child_raw(rows_path: str, directory: str, batch: int) -> dict:
    """``client.insert`` of the same rows, built in Python beforehand (not timed), in batches of the
    sink's size into the same schema, views included."""
    from sinks.clickhouse import connect_url, migrate

    with open(rows_path, "rb") as f:
        columns, rows = pickle.load(f)
    client = connect_url(f"chdb://{directory}")
    migrate(client, DB)
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        client.insert(f"{DB}.records", rows[i:i + batch], column_names=columns)
    seconds = time.perf_counter() - started
    stored = client.query(f"SELECT count() FROM {DB}.records").result_rows[0][0]
    client.close()
    return {"rows": stored, "seconds": seconds}


def _child_dedup_at_scale(directory: str) -> dict:
    """1.56 M records stored; then, per 20k-row batch: the event-id lookup the sink used before (a
    query per batch, ids sent as a temporary table: the fastest form found; as an IN list it does
    not even fit ClickHouse's query size limit), the replay guard now (in memory), its rebuild at
    partition assignment (one query), and the insert itself."""
    from sinks.clickhouse import connect_url, migrate
    from sinks.replay_guard import RecentEventIds

    client = connect_url(f"chdb://{directory}")
    migrate(client, DB)
    client.command(
        f"INSERT INTO {DB}.records (event_id, source_unit, catalog, category, reporting_mode, source_format, "
        "reported_at, processed_at, subject_type, subject_key, subject_key_kind, late, kafka_topic, "
        "kafka_partition, kafka_offset) "
        "SELECT lower(hex(MD5(toString(number)))), concat('unit-', toString(number % 40)), 'XZCF', 'PENALTY', "
        "'BATCH', 'csv', now64(3), now64(3), 'LEGAL_PERSON', toString(number % 200000), 'USCC', number % 10 = 0, "
        f"'credit.records', number % {PARTITIONS}, intDiv(number, {PARTITIONS}) FROM numbers({SCALE_ROWS})")
    new_ids = [uuid.uuid4().hex for _ in range(BATCH)]

    def best(step, rounds=5):
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
        return min(times)

    client.command(f"CREATE TABLE {DB}.probe (event_id String) ENGINE = Memory")

    def old_lookup():
        client.command(f"TRUNCATE TABLE {DB}.probe")
        client.insert(f"{DB}.probe", [[i] for i in new_ids], column_names=["event_id"])
        client.query(f"SELECT event_id FROM {DB}.records WHERE ingested_at >= now64(3) - INTERVAL 72 HOUR "
                     f"AND event_id IN (SELECT event_id FROM {DB}.probe)")

    guard = RecentEventIds(50_000)
    per_partition = SCALE_ROWS // PARTITIONS
    rebuild = best(lambda: guard.load(client, DB, "records", "credit.records", 0, per_partition), rounds=3)

    def check_batch():  # what sinks/store.py does per message
        batch_ids = set()
        for event_id in new_ids:
            if event_id in batch_ids or event_id in guard:
                continue
            batch_ids.add(event_id)

    check = best(check_batch)
    old = best(old_lookup)
    rows = [[i, "unit-1", "XZCF", "PENALTY", "BATCH", "csv", "LEGAL_PERSON", "k", "USCC", False, "credit.records", 0,
             10_000_000 + n] for n, i in enumerate(new_ids)]
    columns = ["event_id", "source_unit", "catalog", "category", "reporting_mode", "source_format", "subject_type",
               "subject_key", "subject_key_kind", "late", "kafka_topic", "kafka_partition", "kafka_offset"]
    insert_times = []
    for n in range(3):
        for row in rows:
            row[-1] += BATCH
            row[0] = f"{row[0][:32]}-{n}"
        t = time.perf_counter()
        client.insert(f"{DB}.records", rows, column_names=columns)
        insert_times.append(time.perf_counter() - t)
    client.close()
    return {"old_lookup": old, "guard_check": check, "guard_rebuild": rebuild, "insert": min(insert_times),
            "guard_size": len(guard)}


def _child(kind: str, *args) -> dict:
    output = subprocess.run([sys.executable, "-m", "bench.bench_sink", "--child", kind, *map(str, args)],
                            capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


# -- the benchmarks ---------------------------------------------------------------------------
def bench_sink_throughput() -> list[dict]:
    from bench.bench_produce import _broker

    with tempfile.TemporaryDirectory(prefix="bench-sink-") as tmp:
        directory = Path(tmp)
        bootstrap, stop = _broker(directory)
        try:
            _produce(bootstrap, ROWS)
            _rows_file(bootstrap, directory / "rows.pickle", ROWS)
            sinks, raws = [], []
            for i in range(ROUNDS):  # alternating, so a neighbour's burst hits both alike
                sinks.append(_child("sink", bootstrap, directory / f"sink{i}", BATCH, ROWS, 0))
                raws.append(_child("raw", directory / "rows.pickle", directory / f"raw{i}", BATCH))
            traced = {size: _child("sink", bootstrap, directory / f"traced{size}", size, ROWS, 1)
                      for size in (BATCH, SMALL_BATCH)}
        finally:
            stop()
    assert all(r["rows"] == r.get("distinct", r["rows"]) == ROWS for r in sinks + raws + list(traced.values()))
    sink = min(sinks, key=lambda r: r["seconds"])
    raw = min(raws, key=lambda r: r["seconds"])
    rate = lambda r: r["rows"] / r["seconds"]  # noqa: E731
    share = rate(sink) / rate(raw)
    label = f"{ROWS:,} records, batches of {BATCH:,}, best of {ROUNDS}"
    return [
        {"benchmark": f"sink, Kafka -> ClickHouse (chdb), {label}", "figure": rate(sink), "unit": "rows/s"},
        {"benchmark": f"raw client.insert of the same rows, {label}", "figure": rate(raw), "unit": "rows/s"},
        {"benchmark": "sink: share of its time inside ClickHouse inserts", "figure":
            100 * sink["insert_seconds"] / sink["seconds"], "unit": "%"},
        {"benchmark": "sink / raw insert", "figure": share * 100, "unit": "%",
         "requirement": f">= {REQUIRED_SHARE:.0%}", "ok": share >= REQUIRED_SHARE},
        *[row for size, run in traced.items() for row in (
            {"benchmark": f"batches of {size:,}: most messages held", "figure": run["most_buffered"], "unit": "messages",
             "requirement": f"<= 3 x {size:,} x {PARTITIONS} partitions",
             "ok": run["most_buffered"] <= 3 * size * PARTITIONS},
            {"benchmark": f"batches of {size:,}: peak Python memory (tracemalloc)", "figure": run["traced_mb"],
             "unit": "MB"},
            {"benchmark": f"batches of {size:,}: peak RSS, chdb included", "figure": run["peak_mb"], "unit": "MB"})],
        {"benchmark": "RSS before reading (chdb + migrations)", "figure": sink["idle_mb"], "unit": "MB"},
    ]


def bench_sink_dedup_at_scale() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        r = _child("dedup", Path(tmp) / "ch")
    ms = lambda s: s * 1000  # noqa: E731
    return [
        {"benchmark": f"insert of a {BATCH:,}-row batch, {SCALE_ROWS / 1e6:.2f} M rows stored", "figure": ms(r["insert"]),
         "unit": "ms"},
        {"benchmark": "before: event-id lookup query per batch", "figure": ms(r["old_lookup"]), "unit": "ms"},
        {"benchmark": "before: lookup / insert", "figure": 100 * r["old_lookup"] / r["insert"], "unit": "%"},
        {"benchmark": "now: replay guard check per batch (memory)", "figure": ms(r["guard_check"]), "unit": "ms",
         "requirement": "< 25 % of the insert (not dominant)", "ok": r["guard_check"] < 0.25 * r["insert"]},
        {"benchmark": f"now: guard rebuild at assignment (once; {r['guard_size']:,} ids)",
         "figure": ms(r["guard_rebuild"]), "unit": "ms"},
    ]


def _main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        kind, args = argv[1], argv[2:]
        if kind == "dedup":
            result = _child_dedup_at_scale(args[0])
        elif kind == "raw":
            result = _child_raw(args[0], args[1], int(args[2]))
        else:
            bootstrap, directory, batch, count, traced = args
            result = _child_sink(bootstrap, directory, int(batch), int(count), traced == "1")
        print(json.dumps(result))
        return 0
    from bench.__main__ import main

    return main(["sink", *argv])


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
