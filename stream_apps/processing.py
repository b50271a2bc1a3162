"""One batch of inbound messages in, the messages to publish out: decode, assess, encode.

No faust here, so the batch step is tested and benchmarked without a broker. Every input message
yields exactly one output on credit.records or credit.rejected (plus, for blacklist categories,
one on credit.blacklist); nothing raises out of here.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Iterable, NamedTuple

from avro_schemas.codec import BLACKLIST_ENTRY, CREDIT_EVENT, REJECTION, VALIDATED_RECORD, UndecodableMessage, codec
from creditstream.domain import reasons as R
from creditstream.domain.assessment import assess, rejection_for
from creditstream.domain.reasons import Reason
from creditstream.topics import BLACKLIST, RECORDS, REJECTED

log = logging.getLogger(__name__)


class InboundMessage(NamedTuple):
    topic: str
    partition: int
    offset: int
    value: bytes | None


class OutboundMessage(NamedTuple):
    topic: str
    key: bytes
    value: bytes


_event_codec = codec(CREDIT_EVENT)
_record_codec = codec(VALIDATED_RECORD)
_rejection_codec = codec(REJECTION)
_blacklist_codec = codec(BLACKLIST_ENTRY)


def _origin(msg: InboundMessage) -> dict:
    return {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}


def process_batch(messages: Iterable[InboundMessage], now: datetime | None = None) -> list[OutboundMessage]:
    now = now or datetime.now(timezone.utc)
    now_ms = int(now.timestamp() * 1000)
    out: list[OutboundMessage] = []
    for msg in messages:
        try:
            event = _event_codec.decode(msg.value)
        except UndecodableMessage as exc:
            rejection = rejection_for({"event_id": f"{msg.topic}-{msg.partition}-{msg.offset}"},
                                      [Reason(R.UNDECODABLE, "", str(exc))], now_ms, origin=_origin(msg))
            out.append(OutboundMessage(REJECTED, rejection["event_id"].encode(), _rejection_codec.encode(rejection)))
            continue
        try:
            outcome = assess(event, now)
            if outcome.record is not None:
                key = outcome.record["subject_key"].encode()
                encoded = [OutboundMessage(RECORDS, key, _record_codec.encode(outcome.record))]
                if outcome.blacklist is not None:
                    encoded.append(OutboundMessage(BLACKLIST, key, _blacklist_codec.encode(outcome.blacklist)))
            else:
                outcome.rejection["origin"] = _origin(msg)
                encoded = [OutboundMessage(REJECTED, outcome.rejection["event_id"].encode(),
                                           _rejection_codec.encode(outcome.rejection))]
        except Exception as exc:  # a rule that raises must not stop the stream or lose the record
            log.exception("internal error on %s-%s-%s", msg.topic, msg.partition, msg.offset)
            rejection = rejection_for(event, [Reason(R.INTERNAL_ERROR, "", f"{type(exc).__name__}")],
                                      now_ms, origin=_origin(msg))
            encoded = [OutboundMessage(REJECTED, rejection["event_id"].encode(), _rejection_codec.encode(rejection))]
        out.extend(encoded)
    return out
