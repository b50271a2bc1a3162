"""Every benchmark runs, in miniature: a few thousand records each, so that `python -m bench`
keeps working. Figures of such a run mean nothing and are not recorded; only a crash fails here
(a smoke run cannot meet throughput targets, so the runner's exit status 1 is accepted)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import discover

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SMALL = {"BENCH_PRODUCE_ROWS": "3000", "BENCH_STREAM_EVENTS": "5000", "BENCH_SINK_ROWS": "8000",
         "BENCH_SINK_BATCH": "2000", "BENCH_SINK_SCALE_ROWS": "20000", "BENCH_CODEC_SAMPLE": "500", "BENCH_ROUNDS": "1", "BENCH_E2E_ROWS": "3000", "BENCH_E2E_SAMPLES": "3",
         "BENCH_CHECKS_SECONDS": "2", "BENCH_CHECKS_WARMUP_SECONDS": "1", "BENCH_CHECKS_RATE": "200", "BENCH_CHECKS_SUBJECTS": "2000",
         "BENCH_CHECKS_BULK": "500", "BENCH_CHECKS_SAMPLES": "3", "BENCH_NAMES_SIZE": "5000",
         "BENCH_WATCHES_SAMPLES": "3", "BENCH_WATCHES": "50", "BENCH_PSEUDONYM_RECORDS": "1000"}


def test_every_benchmark_runs_in_miniature():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITSTREAM_")}
    env.update(SMALL, COLUMNS="240", PYTHONUNBUFFERED="1")
    results = (ROOT / "bench" / "RESULTS.md").read_bytes()
    run = subprocess.run([sys.executable, "-m", "bench", "--no-record"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=1200)
    output = run.stdout + run.stderr
    assert run.returncode in (0, 1), output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    modules = {module for module, _ in discover([])}
    assert modules >= {"checks", "codec", "e2e", "names", "produce", "pseudonym", "sink", "stream", "watches"}
    for module in modules:
        assert f"│ {module} " in run.stdout, f"no figure from {module}:\n{run.stdout[-3000:]}"
    assert (ROOT / "bench" / "RESULTS.md").read_bytes() == results  # --no-record: nothing appended
