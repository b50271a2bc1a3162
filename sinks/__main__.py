"""The sink process: migrate, serve reads and /metrics, and store the sink's topics in ClickHouse."""
from __future__ import annotations

import logging
import signal
import socket

from creditstream.keys import KeyRing
from creditstream.publication.api import Publication
from creditstream.service_token import service_token
from creditstream.settings import get_settings
from creditstream.gc_policy import relax_gc
from sinks.batch_sink import ClickHouseSink
from sinks.clickhouse import LockedClient, connect, migrate
from sinks.faults import FaultInjectingClient, FaultPoints
from sinks.metrics import SinkMetrics
from sinks.query_api import make_server, serve_in_background
from sinks.reseal import Resealer


def static_membership(settings) -> dict:
    """A restarted sink (same host and port) takes its partitions back at once instead of
    waiting for its killed predecessor's session to time out (45 s by default); distinct sinks
    keep distinct ids. A static member does not leave the group on a clean stop either: its
    partitions move to another sink after the session timeout, kept short for that reason."""
    return {"group.instance.id": f"{settings.sink_group_id}-{socket.gethostname()}-{settings.sink_port}",
            "session.timeout.ms": 10000}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("creditstream.sink")
    settings = get_settings()
    faults = FaultPoints(settings.sink_fault_dir or None)
    client = LockedClient(connect(settings))
    if faults.directory is not None:
        log.warning("fault points enabled in %s (tests only)", faults.directory)
        client = FaultInjectingClient(client, faults)
    applied = migrate(client, settings.clickhouse_database)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    metrics = SinkMetrics()
    keys = KeyRing.for_settings(settings)
    resealer = Resealer(client, settings.clickhouse_database, keys.current)
    publication = Publication.for_settings(client, settings)  # /public and /v1/public/*: 公示 under its rules
    server = make_server(client, settings.clickhouse_database, service_token(settings), settings.sink_port,
                         host=settings.sink_bind, metrics=metrics, keys=keys, resealer=resealer,
                         publication=publication)
    serve_in_background(server)
    resealer.start()  # after a key rotation: stored ID numbers re-sealed under the new key
    stop = {"now": False}

    def _stop(signum, _frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sink = ClickHouseSink(client, settings.clickhouse_database, settings.bootstrap_servers, settings.sink_group_id,
                          settings.sink_batch_size, settings.sink_batch_seconds, settings.sink_replay_window,
                          metrics=metrics, faults=faults, consumer_config=static_membership(settings))
    relax_gc()
    log.info("sink ready: query API, live page and /metrics on %s:%s", settings.sink_bind, settings.sink_port)
    try:
        sink.run(should_stop=lambda: stop["now"])
    finally:
        resealer.stop()
        server.shutdown()
        client.close()
        log.info("sink stopped")


if __name__ == "__main__":
    main()
