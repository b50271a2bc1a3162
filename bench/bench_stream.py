"""The stream worker: events/s through decode -> rules -> encode -> produce (in Kafka
transactions, with the tables' changelogs) against a naive faust agent doing the same rules one
event at a time (`async for` over the stream, one send per output), in the same run.

Required: >= 20 000 events/s for the worker, and >= 4x the naive agent. Each side runs in its own
child process against an embedded Apache Kafka in a temporary directory; each reads the same
CreditEvents (demo reports, every copy with its own event id) from credit.inbound.

    python -m bench stream                 # with the others, appended to bench/RESULTS.md
    python -m bench.bench_stream           # alone (--no-record to skip recording)
    BENCH_STREAM_EVENTS=50000 python -m bench.bench_stream --no-record
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVENTS = int(os.environ.get("BENCH_STREAM_EVENTS", "200000"))
NAIVE_EVENTS = max(EVENTS // 5, 5000)  # the naive agent is slow: a fifth is enough for a rate
REQUIRED_RATE = 20_000
REQUIRED_RATIO = 4.0


def _events(count: int):
    from producers.demo_feed import DemoFeed

    feed = DemoFeed(seed=3, bad_share=0.05)
    base = [feed.next_event()[0] for _ in range(min(count, 20_000))]
    for i in range(count):
        event = dict(base[i % len(base)])
        event["event_id"] = f"{event['event_id'][:24]}{i:08x}"
        yield event


def _produce(bootstrap: str, topic: str, count: int) -> None:
    from producers.credit_producer import CreditProducer

    with CreditProducer(bootstrap, topic=topic) as producer:
        for event in _events(count):
            producer.send(event)


def _settings(bootstrap: str, directory: str, **extra):
    from creditstream.settings import Settings

    return Settings(kafka_bootstrap=bootstrap, data_dir=Path(directory), topic_partitions=4, **extra)


def _child_pipeline(bootstrap: str, directory: str, topic: str, count: int) -> dict:
    """The worker's own loop (stream_apps.pipeline), as `python -m stream_apps worker` runs it."""
    import threading

    from creditstream.domain.catalog import load_catalog
    from creditstream.gc_policy import relax_gc
    from stream_apps.pipeline import StreamPipeline

    pipeline = StreamPipeline(_settings(bootstrap, directory, worker_app_id="bench-pipeline"), load_catalog(None),
                              source_topic=topic)
    relax_gc()  # as the worker does when it starts its loop
    thread = threading.Thread(target=pipeline.run, daemon=True)
    thread.start()
    pipeline.ready.wait(120)
    started, cpu_started = time.perf_counter(), time.process_time()
    while pipeline.processed < count:
        time.sleep(0.01)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    pipeline.stop()
    thread.join(60)
    return {"events": count, "seconds": seconds, "cpu_seconds": cpu}


def _child_naive(bootstrap: str, directory: str, topic: str, count: int) -> dict:
    """A faust agent as the examples write one: one event at a time through the same rules."""
    import faust

    from creditstream.domain.catalog import load_catalog
    from stream_apps.processing import BatchProcessor, InboundMessage
    from stream_apps.tables import StreamTables

    app = faust.App("bench-naive", broker=f"kafka://{bootstrap}", store="memory://", web_enabled=False,
                    topic_partitions=4, broker_max_poll_records=5000, stream_buffer_maxsize=65536,
                    datadir=str(Path(directory) / "naive"))
    source = app.topic(topic, key_serializer="raw", value_serializer="raw")
    outputs: dict = {}
    tables = StreamTables()
    processor = BatchProcessor(tables, load_catalog(None))
    result_path = Path(directory) / "naive.json"
    state = {"seen": 0, "started": None}

    @app.agent(source)
    async def validate_each(stream):
        async for event in stream.events():
            if state["started"] is None:
                state["started"] = time.perf_counter()
            message = event.message
            for out in processor.process([InboundMessage(message.topic, message.partition, message.offset,
                                                         message.value, message.timestamp)]):
                if out.topic not in outputs:
                    outputs[out.topic] = app.topic(out.topic, key_serializer="raw", value_serializer="raw")
                await outputs[out.topic].send(key=out.key, value=out.value)
            tables.commit()
            state["seen"] += 1
            if state["seen"] == count:
                seconds = time.perf_counter() - state["started"]
                result_path.write_text(json.dumps({"events": count, "seconds": seconds}))
                os._exit(0)  # a benchmark child: stopping faust cleanly is not what is measured

    sys.argv = ["bench-naive", "worker", "--loglevel", "warn"]
    app.main()
    return {}


def _child(kind: str, bootstrap: str, directory: str, topic: str, count: int) -> dict:
    command = [sys.executable, "-m", "bench.bench_stream", "--child", kind, bootstrap, directory, topic, str(count)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if kind == "naive":
        path = Path(directory) / "naive.json"
        if not path.exists():
            raise RuntimeError(f"naive run failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
        return json.loads(path.read_text())
    if result.returncode != 0:
        raise RuntimeError(f"{kind} run failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_stream_worker() -> list[dict]:
    from bench.bench_produce import _broker
    from creditstream.topics import TopicSpec, ensure_topics

    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        bootstrap, stop = _broker(Path(tmp))
        try:
            # One input topic per side, so each reads exactly its own events from the start.
            ensure_topics(bootstrap, [TopicSpec("bench.inbound.pipeline", 4), TopicSpec("bench.inbound.naive", 4)])
            _produce(bootstrap, "bench.inbound.pipeline", EVENTS)
            _produce(bootstrap, "bench.inbound.naive", NAIVE_EVENTS)
            ours = _child("pipeline", bootstrap, str(Path(tmp) / "p"), "bench.inbound.pipeline", EVENTS)
            naive = _child("naive", bootstrap, tmp, "bench.inbound.naive", NAIVE_EVENTS)
        finally:
            stop()
    ours_rate = ours["events"] / ours["seconds"]
    naive_rate = naive["events"] / naive["seconds"]
    return [
        {"benchmark": f"worker pipeline, {EVENTS:,} events (transactions, tables)", "figure": ours_rate,
         "unit": "events/s", "requirement": f">= {REQUIRED_RATE:,}", "ok": ours_rate >= REQUIRED_RATE},
        # CPU of the worker's process, librdkafka's threads included: steadier than the rate on a shared host.
        {"benchmark": "worker pipeline, CPU per event", "figure": ours["cpu_seconds"] / ours["events"] * 1e6,
         "unit": "µs"},
        {"benchmark": f"naive faust agent, per event, {NAIVE_EVENTS:,} events", "figure": naive_rate,
         "unit": "events/s"},
        {"benchmark": "worker / naive agent", "figure": ours_rate / naive_rate, "unit": "x",
         "requirement": f">= {REQUIRED_RATIO:g}x", "ok": ours_rate / naive_rate >= REQUIRED_RATIO},
    ]


def _main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        kind, bootstrap, directory, topic, count = argv[1:6]
        Path(directory).mkdir(parents=True, exist_ok=True)
        run = {"pipeline": _child_pipeline, "naive": _child_naive}[kind]
        print(json.dumps(run(bootstrap, directory, topic, int(count))))
        return 0
    from bench.__main__ import main

    return main(["stream_worker", *argv])


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
