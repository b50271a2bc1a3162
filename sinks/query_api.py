"""The read API of the process that owns the ClickHouse data (chdb allows one process per
directory), so the CLI, the live page and the reports ask it instead of opening the files."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from creditstream.service_token import token_matches
from sinks.queries import counts_per_unit

log = logging.getLogger("creditstream.sink.api")


def make_server(client, database: str, token: str, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    routes = {
        "/v1/counts": lambda: {"units": counts_per_unit(client, database)},
    }

    class Handler(BaseHTTPRequestHandler):
        server_version = "creditstream-sink"

        def log_message(self, fmt, *args):  # requests are not logged: URLs may carry ids
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                return self._send(200, {"status": "ok"})
            auth = self.headers.get("Authorization", "")
            if not token_matches(auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None, token):
                return self._send(401, {"error": "unauthorized", "detail": "send 'Authorization: Bearer <token>'"})
            handler = routes.get(path)
            if handler is None:
                return self._send(404, {"error": "not_found", "detail": f"no route {path}"})
            try:
                return self._send(200, handler())
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
