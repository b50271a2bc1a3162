"""What the check service tells Prometheus: the blacklist index's freshness (age since the broker
last confirmed it complete, stale or not, its size), the audit spool's backlog, checks answered by
match, and watch notifications. A registry per service, so tests start from zero; gauges are read at scrape time."""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector, generate_latest


class CheckMetrics:
    def __init__(self, service, registry: CollectorRegistry | None = None):
        self.registry = r = registry or CollectorRegistry()

        def now_ms() -> int:
            return int(time.time() * 1000)

        def age() -> float:
            value = service.index.state.age_ms(now_ms())
            return float("nan") if value is None else value / 1000

        Gauge("creditstream_checks_index_age_seconds", "Since the broker last confirmed the blacklist index "
              "held every committed change of credit.blacklist.", registry=r).set_function(age)
        Gauge("creditstream_checks_index_stale", "1 while answers are marked stale (the index is not confirmed "
              "current), else 0.", registry=r).set_function(lambda: float(service.index.state.stale(now_ms())))
        Gauge("creditstream_checks_index_ready", "1 once the index has read credit.blacklist to its end.",
              registry=r).set_function(lambda: float(service.index.ready))
        Gauge("creditstream_checks_index_subjects", "Subjects in the blacklist index.",
              registry=r).set_function(lambda: len(service.index.entries))
        Gauge("creditstream_checks_audit_backlog_bytes", "Check records in the local audit spool that the broker "
              "has not acknowledged yet (bytes).", registry=r).set_function(lambda: service.audit.backlog_bytes)
        Gauge("creditstream_checks_audit_sender_starts", "Times the audit sender process was started (more than "
              "one: it exited and was started again).", registry=r).set_function(lambda: service.audit.sender_starts)
        self.answers = Counter("creditstream_checks_answers_total", "Check answers, by match (KEY, NAME) and "
                               "whether the index was stale.", ["match", "stale"], registry=r)
        self.watch_events = Counter("creditstream_checks_watch_events_total",
                                    "Watch events published, by change (ENTERED, LEFT, CHANGED).", ["change"],
                                    registry=r)
        self.webhook_deliveries = Counter("creditstream_checks_webhook_attempts_total",
                                          "Webhook delivery attempts, by outcome (delivered, failed).", ["outcome"],
                                          registry=r)
        ProcessCollector(registry=r)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
