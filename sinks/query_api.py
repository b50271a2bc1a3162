"""The read API of the process that owns the ClickHouse data (chdb allows one process per
directory), so the CLI, the live page and the reports ask it instead of opening the files."""
from __future__ import annotations

import json
import logging
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from creditstream.exchange.sink_routes import ExchangeRequestError, exchange_routes
from creditstream.reports import ReportInputError
from creditstream.reports.http import report_routes
from creditstream.service_token import token_matches
from dashboards.live_page import live_pages
from dashboards.live_queries import BadRequest as DashboardRequestError, live_routes
from sinks.audit import AuditRequestError, audit_routes
from sinks.queries import GRANULARITIES, counts_per_unit, unit_stats
from sinks.reseal import pending

log = logging.getLogger("creditstream.sink.api")


class BadRequest(ValueError):
    pass


def _unit_stats_args(query: dict[str, list[str]]) -> dict:
    def one(name):
        values = query.get(name)
        return values[-1] if values else None

    granularity = one("granularity") or "day"
    if granularity not in GRANULARITIES:
        raise BadRequest(f"granularity must be one of {', '.join(GRANULARITIES)}")
    try:
        since = date.fromisoformat(one("since")) if one("since") else None
        until = date.fromisoformat(one("until")) if one("until") else None
    except ValueError:
        raise BadRequest("since and until are dates: YYYY-MM-DD") from None
    return {"granularity": granularity, "since": since, "until": until, "source_unit": one("unit")}


def _key_status(client, database: str, keys, resealer) -> dict:
    current = keys.current()
    left = pending(client, database, current.aead_current)
    return {"aead_current": current.aead_current, "hmac_current": current.hmac_current,
            "aead_keys": sorted(current.aead_keys), "hmac_keys": sorted(current.hmac_keys),
            "pending_reseal": left, "resealed": not any(left.values()),
            "last_error": resealer.last_error if resealer else None}


def make_server(client, database: str, token: str, port: int, host: str = "127.0.0.1",
                metrics=None, keys=None, resealer=None, publication=None) -> ThreadingHTTPServer:
    routes = {
        "/v1/counts": lambda q: {"units": counts_per_unit(client, database)},
        # Per unit, indicator set and category per minute, day or month, with 入库合格率 (pass_rate).
        "/v1/unit-stats": lambda q: {"rows": unit_stats(client, database, **_unit_stats_args(q))},
    }
    if keys is not None:  # GET /v1/keys: key ids (never keys) and how much history waits for re-sealing
        routes["/v1/keys"] = lambda q: _key_status(client, database, keys, resealer)
    routes.update(report_routes(client, database))  # GET /v1/reports/<kind>?period=2026-10[&unit=CODE]
    routes.update(exchange_routes(client, database))  # GET /v1/exchange/records: a period's records for a peer
    routes.update(audit_routes(client, database))  # GET /v1/audit/checks/spans|rows: the check audit's chain
    routes.update(live_routes(client, database))  # GET /v1/live (the live page's data), /v1/panel (Grafana panels)
    pages = live_pages()  # GET /live: the page holds no data, so it needs no token; it reads /v1/live

    class Handler(BaseHTTPRequestHandler):
        server_version = "creditstream-sink"

        def log_message(self, fmt, *args):  # requests are not logged: URLs may carry ids
            pass

        def _send(self, status: int, body: dict) -> None:
            self._send_bytes(status, "application/json; charset=utf-8", json.dumps(body, ensure_ascii=False).encode())

        def _send_bytes(self, status: int, content_type: str, data: bytes, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path, _, query = self.path.partition("?")
            if path == "/healthz":
                return self._send(200, {"status": "ok"})
            if path == "/metrics" and metrics is not None:  # counts only, no personal data: Prometheus scrapes it
                return self._send_bytes(200, "text/plain; version=0.0.4; charset=utf-8", metrics.exposition())
            if path in pages:
                return self._send_bytes(200, *pages[path])
            if publication is not None and publication.handles(path):  # 公示: public search, token-only detail
                try:
                    status, content_type, data, headers = publication.answer(
                        path, parse_qs(query), self.headers.get("Authorization"), self.client_address[0])
                except Exception as exc:
                    log.exception("publication %s failed", path)
                    return self._send(503, {"error": "query_failed", "detail": type(exc).__name__})
                return self._send_bytes(status, content_type, data, headers)
            auth = self.headers.get("Authorization", "")
            if not token_matches(auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None, token):
                return self._send(401, {"error": "unauthorized", "detail": "send 'Authorization: Bearer <token>'"})
            handler = routes.get(path)
            if handler is None:
                return self._send(404, {"error": "not_found", "detail": f"no route {path}"})
            try:
                return self._send(200, handler(parse_qs(query)))
            except (BadRequest, ReportInputError, DashboardRequestError, ExchangeRequestError, AuditRequestError) as exc:
                return self._send(400, {"error": "bad_request", "detail": str(exc)})
            except Exception as exc:
                log.exception("query %s failed", path)
                return self._send(503, {"error": "query_failed", "detail": type(exc).__name__})

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="sink-query-api", daemon=True)
    thread.start()
    return thread
