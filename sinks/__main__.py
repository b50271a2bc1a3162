"""The sink process: migrate, serve reads, and store credit.records and credit.rejected."""
from __future__ import annotations

import logging
import signal

from creditstream.service_token import service_token
from creditstream.settings import get_settings
from sinks.batch_sink import ClickHouseSink
from sinks.clickhouse import LockedClient, connect, migrate
from sinks.query_api import make_server, serve_in_background


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("creditstream.sink")
    settings = get_settings()
    client = LockedClient(connect(settings))
    applied = migrate(client, settings.clickhouse_database)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    server = make_server(client, settings.clickhouse_database, service_token(settings), settings.sink_port)
    serve_in_background(server)
    stop = {"now": False}

    def _stop(signum, _frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sink = ClickHouseSink(client, settings.clickhouse_database, settings.bootstrap_servers, settings.sink_group_id,
                          settings.sink_batch_size, settings.sink_batch_seconds, settings.sink_dedup_window_hours)
    log.info("sink ready: query API on 127.0.0.1:%s", settings.sink_port)
    try:
        sink.run(should_stop=lambda: stop["now"])
    finally:
        server.shutdown()
        client.close()
        log.info("sink stopped; stored %s, replays dropped %s", dict(sink.stored), dict(sink.replays_dropped))


if __name__ == "__main__":
    main()
