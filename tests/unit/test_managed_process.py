"""A child of the embedded stack never outlives the process that started it."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from creditstream.embedded.process import ManagedProcess


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_child_dies_when_its_starter_is_killed(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from creditstream.embedded.process import ManagedProcess
        p = ManagedProcess("sleeper", ["sleep", "300"], Path({str(tmp_path)!r}) / "s.log").start()
        print(p.pid, flush=True)
        time.sleep(300)
    """)
    starter = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(starter.stdout.readline())
    assert _alive(child)
    starter.kill()  # SIGKILL: no cleanup code runs in the starter
    starter.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path):
    proc = ManagedProcess("stubborn", [sys.executable, "-c",
                                       "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                       "print('ready', flush=True)\ntime.sleep(300)"],
                          tmp_path / "stubborn.log", stop_timeout=0.5).start()
    deadline = time.monotonic() + 10
    while "ready" not in proc.tail() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.stop()
    assert not proc.alive()
    assert proc.proc.returncode == -9
    assert not os.path.exists(f"/proc/{proc.pid}") or not _alive(proc.pid)
