"""Watch lists: from a list change reported to credit.inbound to the watching unit's webhook
receiving the signed event (stream worker, credit.blacklist, the check service's index listener,
outbox, delivery thread), p50/p99/max over entries and exits of watched subjects, with 2,000
watches registered and as many unwatched subjects changing alongside. Target: within 2 s.

    python -m bench watches
"""
from __future__ import annotations

import json
import os
import random
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SAMPLES = int(os.environ.get("BENCH_WATCHES_SAMPLES", "30"))
WATCHES = int(os.environ.get("BENCH_WATCHES", "2000"))
TARGET_S = 2.0


def bench_watches() -> list[dict]:
    import httpx

    from creditstream.auth.tokens import TokenStore
    from creditstream.domain.event_id import event_id
    from creditstream.embedded.process import free_ports
    from creditstream.embedded.stack import EmbeddedStack
    from creditstream.settings import Settings
    from producers.credit_producer import CreditProducer, message_key
    from producers.demo_feed import make_uscc

    arrived: dict[str, float] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            arrived[f"{body['subject_key']}:{body['change']}"] = time.perf_counter()
            self.send_response(204)
            self.end_headers()

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    kafka, controller, sink, web, ingest, check = free_ports(6)
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-watches-")), kafka_port=kafka,
                        kafka_controller_port=controller, sink_port=sink, worker_web_port=web, ingest_port=ingest,
                        check_port=check, topic_partitions=2)
    token = TokenStore.for_settings(settings).create("FGW-420200", ["check"], "bench")[1]
    rng = random.Random(14)
    watched = [make_uscc(rng, "420202") for _ in range(WATCHES)]
    stack = EmbeddedStack(settings, checks=True).start()

    def event(uscc: str, doc: str, status: str | None) -> dict:
        subject = {"type": "LEGAL_PERSON", "uscc": uscc, "id_type": None, "id_number": None, "plate": None,
                   "name": "黄石恒达建工有限公司", "sex": None, "legal_representative": None, "other_ids": {}}
        now = time.time()
        return {"event_id": event_id("TAX-420200", "TAX-ZDSS", "TAX_VIOLATION", message_key(subject), doc + (status or "")),
                "source_unit": "TAX-420200", "catalog": "TAX-ZDSS", "category": "TAX_VIOLATION",
                "reporting_mode": "INTERFACE", "source_format": "json", "reported_at": int(now * 1000),
                "reported_by": "bench", "source_ref": doc, "subject": subject,
                "decision": {"document_number": doc, "document_name": None, "authority": "国家税务总局黄石市税务局",
                             "authority_code": None, "date": time.strftime("%Y-%m-%d", time.gmtime(now - 86400)),
                             "valid_from": None, "valid_until": "2099-12-31", "status": status},
                "matter": {"name": "重大税收违法失信主体", "kind": None, "cause": "虚开增值税专用发票",
                           "legal_basis": None, "content": None}, "raw": {}}

    try:
        api = httpx.Client(base_url=settings.check_url, timeout=30, headers={"Authorization": f"Bearer {token}"})
        deadline = time.monotonic() + 120
        while api.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        api.put("/v1/watches/webhook", json={"url": f"http://127.0.0.1:{receiver.server_port}/", "secret": "b" * 32})
        api.post("/v1/watches", json={"subjects": watched})
        latencies = []
        with CreditProducer(settings.bootstrap_servers, **{"linger.ms": 0}) as producer:
            for n in range(SAMPLES):
                subject, change = watched[n // 2], ("ENTERED" if n % 2 == 0 else "LEFT")
                doc = f"黄税稽罚〔2026〕{n // 2 + 1}号"
                for _ in range(5):  # unwatched changes alongside
                    producer.send(event(make_uscc(rng, "420202"), f"其他〔2026〕{rng.random()}号", None))
                started = time.perf_counter()
                producer.send(event(subject, doc, None if change == "ENTERED" else "删除"))
                producer.flush(10)
                key = f"{subject}:{change}"
                wait_until = time.monotonic() + 30
                while key not in arrived and time.monotonic() < wait_until:
                    time.sleep(0.005)
                latencies.append(arrived.get(key, float("inf")) - started)
        api.close()
    finally:
        stack.stop()
        receiver.shutdown()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return [
        {"benchmark": f"list change -> webhook p50 ({WATCHES:,} watches, {SAMPLES} entries/exits)",
         "figure": latencies[len(latencies) // 2], "unit": "s"},
        {"benchmark": "list change -> webhook p99", "figure": p99, "unit": "s",
         "requirement": f"<= {TARGET_S:.0f} s", "ok": p99 <= TARGET_S},
        {"benchmark": "list change -> webhook max", "figure": latencies[-1], "unit": "s"},
    ]


if __name__ == "__main__":
    for row in bench_watches():
        print(row)
