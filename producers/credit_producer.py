"""The one producer every adapter publishes through: idempotent, acks=all, compressed, with every
delivery report counted and a flush on exit."""
from __future__ import annotations

import signal
from collections import Counter

from confluent_kafka import KafkaException, Producer

from avro_schemas.codec import CREDIT_EVENT, codec
from creditstream.domain.identifiers import routing_key
from creditstream.topics import INBOUND


class DeliveryFailed(RuntimeError):
    pass


class CreditProducer:
    def __init__(self, bootstrap_servers: str, topic: str = INBOUND, **overrides):
        config = {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,  # implies acks=all and ordered, non-duplicating retries
            "acks": "all",
            "compression.type": "lz4",
            "linger.ms": 20,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 200000,
            "log_level": 3,
        }
        config.update(overrides)
        self._producer = Producer(config)
        self.topic = topic
        self._codec = codec(CREDIT_EVENT)
        self.sent = 0
        self.delivered = 0
        self.failed = 0
        self.errors: Counter[str] = Counter()

    def _on_delivery(self, err, _msg) -> None:
        if err is None:
            self.delivered += 1
        else:
            self.failed += 1
            self.errors[str(err.name())] += 1

    def send(self, event: dict) -> None:
        """Publish one CreditEvent keyed by its subject id. Never drops: a full local queue waits."""
        value = self._codec.encode(event)
        key = routing_key(event["subject"]).encode() or None
        while True:
            try:
                self._producer.produce(self.topic, value=value, key=key, on_delivery=self._on_delivery)
                break
            except BufferError:
                self._producer.poll(0.05)
        self.sent += 1
        self._producer.poll(0)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for every delivery report; returns how many messages are still undelivered."""
        remaining = self._producer.flush(timeout)
        return remaining

    @property
    def pending(self) -> int:
        return self.sent - self.delivered - self.failed

    def close(self) -> None:
        # SIGINT during the final flush would lose the queue; hold it off until the flush ends.
        previous = signal.getsignal(signal.SIGINT)
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread
            previous = None
        try:
            if self.flush() > 0:
                raise DeliveryFailed(f"{self.pending} messages were not delivered to {self.topic}")
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def __enter__(self) -> "CreditProducer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["CreditProducer", "DeliveryFailed", "KafkaException"]
