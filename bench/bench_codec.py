"""CreditEvent encode and decode per second: our codec against plain fastavro schemaless calls on the
same parsed schema, in the same run. The codec adds only the 5-byte Confluent header and its
checks, so it must keep at least 80 % of plain fastavro's rate."""
from __future__ import annotations

import io
import os
import time

import fastavro

from avro_schemas.codec import CREDIT_EVENT, HEADER_SIZE, codec
from producers.demo_feed import DemoFeed

REQUIRED_SHARE = 0.80
SAMPLE = int(os.environ.get("BENCH_CODEC_SAMPLE", "2000"))  # distinct demo events, realistic sizes and wild formats
PASSES = 5          # over the sample per round
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))


def _seconds(step, items) -> float:
    started = time.perf_counter()
    for _ in range(PASSES):
        for item in items:
            step(item)
    return time.perf_counter() - started


def _rates(ours, our_items, plain, plain_items) -> tuple[float, float]:
    """Records per second of each, timed in alternating rounds (so a neighbour's load hits both
    alike) after one warm-up pass; the best round of each counts."""
    _seconds(ours, our_items), _seconds(plain, plain_items)
    best_ours = best_plain = float("inf")
    for _ in range(ROUNDS):
        best_ours = min(best_ours, _seconds(ours, our_items))
        best_plain = min(best_plain, _seconds(plain, plain_items))
    return len(our_items) * PASSES / best_ours, len(plain_items) * PASSES / best_plain


def _plain_encode(parsed):
    def encode(record):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, record)
        return buf.getvalue()
    return encode


def _plain_decode(parsed):
    def decode(body):
        return fastavro.schemaless_reader(io.BytesIO(body), parsed, None)
    return decode


def _rows(operation: str, ours: float, plain: float) -> list[dict]:
    share = ours / plain
    return [
        {"benchmark": f"CreditEvent {operation}, codec", "figure": ours, "unit": "records/s"},
        {"benchmark": f"CreditEvent {operation}, plain fastavro", "figure": plain, "unit": "records/s"},
        {"benchmark": f"CreditEvent {operation}, codec / plain", "figure": share * 100, "unit": "%",
         "requirement": f">= {REQUIRED_SHARE:.0%}", "ok": share >= REQUIRED_SHARE},
    ]


def bench_credit_event_codec() -> list[dict]:
    feed = DemoFeed(seed=11)
    events = [feed.next_event()[0] for _ in range(SAMPLE)]
    ours = codec(CREDIT_EVENT)
    parsed = fastavro.parse_schema(ours.writer.parsed)  # the same schema, parsed the same way
    messages = [ours.encode(e) for e in events]
    bodies = [m[HEADER_SIZE:] for m in messages]

    encode_ours, encode_plain = _rates(ours.encode, events, _plain_encode(parsed), events)
    decode_ours, decode_plain = _rates(ours.decode, messages, _plain_decode(parsed), bodies)
    size = sum(map(len, messages)) / len(messages)
    return [*_rows("encode", encode_ours, encode_plain), *_rows("decode", decode_ours, decode_plain),
            {"benchmark": "CreditEvent message size (demo feed)", "figure": size, "unit": "bytes"}]
