"""`creditstream up` as a user runs it: the counts grow, Ctrl-C stops everything it started."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from creditstream.embedded.process import port_open
from creditstream.embedded.stack import SinkClient, child_env
from tests.conftest import stack_settings, wait_for

pytestmark = pytest.mark.integration


def _descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = map(int, line.split())
        children.setdefault(pp, []).append(p)
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.add(c)
            todo.append(c)
    return found


def _proc(pid: int, name: str) -> bytes:
    """/proc/<pid>/<name>, or nothing once the process is gone."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except OSError:
        return b""


def test_up_shows_growing_counts_and_ctrl_c_stops_everything(tmp_path):
    settings = stack_settings(tmp_path, demo_rate=300.0)
    up = subprocess.Popen([sys.executable, "-m", "creditstream", "up", "--refresh", "0.5"],
                          env=child_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          start_new_session=True)
    try:
        sink = SinkClient(settings)
        wait_for(sink.healthy, 120, what="the sink of `creditstream up` to answer")

        def total():
            return sum(u["records"] + u["rejected"] for u in sink.get("/v1/counts")["units"])

        first = wait_for(total, 120, what="the first stored records")
        ingest = f"http://127.0.0.1:{settings.ingest_port}"
        assert urllib.request.urlopen(f"{ingest}/healthz", timeout=5).status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:  # the units' push answers, and wants a token
            urllib.request.urlopen(urllib.request.Request(f"{ingest}/v1/reports", data=b"{}", method="POST"), timeout=5)
        assert refused.value.code == 401
        wait_for(lambda: total() > first, 60, what="the counts to grow")
        # A child that dies is started again: the counts keep growing after the worker is killed.
        worker = [p for p in _descendants(up.pid) if b"stream_apps\x00worker" in _proc(p, "cmdline")]
        assert len(worker) == 1
        os.kill(worker[0], signal.SIGKILL)
        wait_for(lambda: not os.path.exists(f"/proc/{worker[0]}") or b") Z " in _proc(worker[0], "stat"), 10,
                 what="the worker to die")
        after_kill = total()
        wait_for(lambda: [p for p in _descendants(up.pid) if b"stream_apps\x00worker" in _proc(p, "cmdline")], 30,
                 what="`up` to start the worker again")
        wait_for(lambda: total() > after_kill + 100, 180, what="the counts to grow after the restart")
        started = _descendants(up.pid)
        assert len(started) >= 5, "expected broker, sink, worker, ingest and feed under `up`"
        os.killpg(up.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        output, _ = up.communicate(timeout=90)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
    text = output.decode(errors="replace")
    assert up.returncode == 0, text[-2000:]
    assert "nothing left running" in text
    assert "worker exited; starting it again" in text
    assert "Traceback" not in text
    admin = re.search(r"(cst_[\w-]+)", text)
    assert admin, "the first start shows the administrator token once"
    for log_file in settings.log_dir.glob("*.log*"):  # shown on the terminal, written nowhere
        assert admin.group(1).encode() not in log_file.read_bytes(), log_file.name
    time.sleep(0.5)
    alive = [p for p in started if os.path.exists(f"/proc/{p}")]
    assert alive == [], f"processes left behind: {alive}"
    for port in (settings.kafka_port, settings.kafka_controller_port, settings.sink_port, settings.ingest_port):
        assert not port_open("127.0.0.1", port)
