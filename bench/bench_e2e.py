"""End to end: the 1.56 million-row batch (the largest in the seeds) from a CSV file to
ClickHouse through the embedded stack — file adapter, broker, stream worker, sink — with the wall
time and every process's peak RSS; then the latency of single reports from produce to visible in
ClickHouse (p50/p99). The baseline in the same run is the file adapter's load alone (file to
Kafka): how much the stream and the sink add on top of reading and producing.

Targets (issue: 2 cores): 1.56 M rows end to end <= 2 minutes with total RSS <= 2 GB.

    python -m bench e2e
    BENCH_E2E_ROWS=200000 python -m bench.bench_e2e     # a quick look, not recorded
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = int(os.environ.get("BENCH_E2E_ROWS", "1560000"))
LATENCY_SAMPLES = int(os.environ.get("BENCH_E2E_SAMPLES", "40"))
TARGET_SECONDS = 120.0
TARGET_RSS_MB = 2048.0


def _vm_hwm_mb(pid: int | None) -> float:
    """A process's peak RSS (VmHWM), children included for the broker's JVM wrapper."""
    if not pid:
        return 0.0
    total = 0.0
    for p in _family(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def _family(pid: int) -> list[int]:
    return [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                   text=True).stdout.split()]


def _stat_ticks(stat: Path, fields: int) -> int:
    """utime and stime (fields 14-15) and, with `fields` 4, cutime and cstime, of a /proc stat file,
    in clock ticks; 0 when the process or thread is gone."""
    try:
        values = stat.read_text().rsplit(")", 1)[1].split()  # after the command's closing parenthesis
        return sum(int(v) for v in values[11:11 + fields])
    except (OSError, IndexError, ValueError):
        return 0


def _cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system, all threads) a live process and its children have used so far."""
    if not pid:
        return 0.0
    return sum(_stat_ticks(Path(f"/proc/{p}/stat"), 4) for p in _family(pid)) / os.sysconf("SC_CLK_TCK")


def _thread_cpu_seconds(pid: int | None) -> dict[int, float]:
    """CPU time used so far by each thread of a live process, by thread id."""
    tasks = Path(f"/proc/{pid}/task").glob("*") if pid else ()
    ticks = os.sysconf("SC_CLK_TCK")
    return {int(task.name): _stat_ticks(task / "stat", 2) / ticks for task in tasks}


def _stored(sink) -> int:
    return sum(u["records"] + u["rejected"] for u in sink.get("/v1/counts")["units"])


def _load(csv_path: Path, settings) -> tuple[float, float, float]:
    """`creditstream load` in its own process, as a clerk runs it: (seconds, peak RSS MB, CPU s)."""
    from creditstream.embedded.stack import child_env

    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", (
        "import resource, sys; from creditstream.cli import app; sys.argv=['creditstream','load',"
        f"{str(csv_path)!r},'--unit','BENCH-SAMR'];\n"
        "try:\n app()\nexcept SystemExit as e:\n"
        " u = resource.getrusage(resource.RUSAGE_SELF); print('CPU', u.ru_utime + u.ru_stime)\n"
        " print('PEAK', open('/proc/self/status').read().split('VmHWM:')[1].split()[0]); raise")],
        env=child_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"load failed: {out[-2000:]}")
    peak = float(out.rsplit("PEAK", 1)[1].split()[0]) / 1024
    cpu = float(out.rsplit("CPU", 1)[1].split()[0])
    return seconds, peak, cpu


def _latencies(settings, sink, samples: int) -> list[float]:
    """One report at a time: produce, then poll the sink's counts until it is there."""
    from producers.credit_producer import CreditProducer
    from producers.demo_feed import DemoFeed

    feed = DemoFeed(seed=77, bad_share=0.0)
    found = []
    with CreditProducer(settings.bootstrap_servers, **{"linger.ms": 0}) as producer:
        for n in range(samples):
            event, _ = feed.next_event()
            event["event_id"] = f"latency-{n:05d}-{event['event_id'][:12]}"
            # A new natural record: a duplicate of an earlier one is stored but counted apart.
            event["decision"]["document_number"] = f"LAT-{time.time_ns()}-{n}"
            before = _stored(sink)
            started = time.perf_counter()
            producer.send(event)
            producer.flush(5)
            deadline = started + 30
            while _stored(sink) <= before:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"latency sample {n} not visible after 30 s")
                time.sleep(0.005)
            found.append(time.perf_counter() - started)
    return found


def bench_end_to_end() -> list[dict]:
    from bench.bench_produce import write_csv
    from creditstream.embedded.stack import EmbeddedStack, SinkClient
    from tests.conftest import stack_settings

    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        directory = Path(tmp)
        csv_path = directory / "rows.csv"
        write_csv(csv_path, ROWS)
        settings = stack_settings(directory / "stack", topic_partitions=4, sink_batch_seconds=0.5)
        stack = EmbeddedStack(settings, log=lambda *_: None).start()
        try:
            sink = SinkClient(settings)
            pids = {"broker": stack.kafka.process.pid if stack.kafka else None,
                    "worker": stack.processes["worker"].pid, "sink": stack.processes["sink"].pid}
            cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
            worker_threads_before = _thread_cpu_seconds(pids["worker"])
            started = time.perf_counter()
            load_seconds, load_peak, load_cpu = _load(csv_path, settings)
            while _stored(sink) < ROWS:
                time.sleep(0.2)
            wall = time.perf_counter() - started
            cpu = {"loader": load_cpu}
            cpu.update({name: _cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()})
            # The worker's records go through one thread: the wall time cannot be less than its CPU.
            busiest = max((seconds - worker_threads_before.get(tid, 0.0)
                           for tid, seconds in _thread_cpu_seconds(pids["worker"]).items()), default=0.0)
            peaks = {"loader": load_peak, **{name: _vm_hwm_mb(pid) for name, pid in pids.items()}}
            latencies = sorted(_latencies(settings, sink, LATENCY_SAMPLES))
        finally:
            stack.stop()
    total_rss = sum(peaks.values())
    label = f"{ROWS / 1e6:.2f} M rows"
    rows = [
        {"benchmark": f"file -> ClickHouse, {label}, wall time", "figure": wall, "unit": "s",
         "requirement": f"<= {TARGET_SECONDS:.0f} s", "ok": wall <= TARGET_SECONDS},
        {"benchmark": f"file -> ClickHouse, {label}, rate", "figure": ROWS / wall, "unit": "rows/s"},
        {"benchmark": f"baseline: file -> Kafka alone (the load), {label}", "figure": load_seconds, "unit": "s"},
        {"benchmark": "stream + sink after the load finished", "figure": wall - load_seconds, "unit": "s"},
        {"benchmark": "peak RSS, all processes together", "figure": total_rss, "unit": "MB",
         "requirement": f"<= {TARGET_RSS_MB:.0f} MB", "ok": total_rss <= TARGET_RSS_MB},
    ]
    rows += [{"benchmark": f"peak RSS, {name}", "figure": mb, "unit": "MB"} for name, mb in peaks.items()]
    # What bounds the wall time on a small machine: the CPU the run needs against what the cores give.
    cores = os.cpu_count() or 1
    rows += [{"benchmark": f"CPU time, {name}", "figure": seconds, "unit": "s"} for name, seconds in cpu.items()]
    rows += [
        {"benchmark": "CPU time, all processes together", "figure": sum(cpu.values()), "unit": "s"},
        {"benchmark": f"least wall time that CPU allows on {cores} cores", "figure": sum(cpu.values()) / cores,
         "unit": "s"},
        {"benchmark": "worker CPU per row", "figure": cpu["worker"] / ROWS * 1e6, "unit": "µs"},
        {"benchmark": "CPU time, the worker's busiest thread (its batch loop)", "figure": busiest, "unit": "s"},
    ]
    rows += [
        {"benchmark": f"produce -> visible in ClickHouse, p50 of {len(latencies)}",
         "figure": statistics.median(latencies) * 1000, "unit": "ms"},
        {"benchmark": f"produce -> visible in ClickHouse, p99 of {len(latencies)}",
         "figure": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, "unit": "ms"},
    ]
    return rows


if __name__ == "__main__":
    for row in bench_end_to_end():
        print(row)
