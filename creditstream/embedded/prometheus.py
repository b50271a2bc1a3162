"""Prometheus for the embedded default: Debian's package, our own config, 127.0.0.1 only.
Started when it is installed; the stack runs without it otherwise."""
from __future__ import annotations

import os
import shutil
import time
import urllib.request

from creditstream.embedded.process import ManagedProcess, port_open
from creditstream.service_token import service_token
from creditstream.settings import Settings


def scrape_config(targets: dict[str, str], token_file: str, interval: str = "5s") -> str:
    """A prometheus.yml scraping each named target (host:port) with the services' bearer token."""
    jobs = []
    for job, target in sorted(targets.items()):
        jobs.append(
            f"  - job_name: {job}\n"
            f"    authorization:\n"
            f"      credentials_file: {token_file}\n"
            f"    static_configs:\n"
            f"      - targets: ['{target}']\n")
    return (f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
            "scrape_configs:\n" + "".join(jobs))


class EmbeddedPrometheus:
    def __init__(self, settings: Settings, targets: dict[str, str]):
        self.settings = settings
        self.targets = targets
        self.dir = settings.data_dir.resolve() / "prometheus"
        self.process: ManagedProcess | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("prometheus") is not None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.prometheus_port}"

    def start(self, timeout: float = 30.0) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "prometheus.yml"
        # Its own copy of the token (owner-only): the token may come from the environment, not a file.
        token_file = self.dir / "scrape.token"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(service_token(self.settings))
        config.write_text(scrape_config(self.targets, str(token_file), self.settings.prometheus_scrape_interval))
        self.process = ManagedProcess("prometheus", [
            shutil.which("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.settings.prometheus_port}",
            "--storage.tsdb.retention.time=7d", "--web.enable-lifecycle",
        ], self.settings.log_dir.resolve() / "prometheus.log").start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise RuntimeError("Prometheus exited during start-up:\n" + self.process.tail())
            if port_open("127.0.0.1", self.settings.prometheus_port):
                try:
                    with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                        if r.status == 200:
                            return
                except OSError:
                    pass
            time.sleep(0.2)
        raise RuntimeError("Prometheus did not become ready; see " + str(self.process.log_path))

    def stop(self) -> None:
        if self.process:
            self.process.stop()
