"""`python -m checks.audit_sender`: produces the check audit spool to credit.checks.

A process of its own, so that encoding and sending the audit (librdkafka's threads and delivery
reports) never holds the interpreter the answers need. It reads the spool from the acknowledged
position, produces a batch, waits for the broker to acknowledge all of it, then moves the position
(checks.audit_spool). A failed delivery is sent again from the position: a record may reach the
topic twice after a failure or a crash, never zero times; the sink keeps one row per check id.

The check service starts it and starts it again if it exits. It stops on SIGTERM after sending
what the spool holds, or when the service that started it is gone (the next service's sender
takes over the rest). ``--drain`` sends what is there and exits: for a host taken out of service.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from avro_schemas.codec import CHECK_RECORD
from checks.audit_spool import SpoolReader, sender_lock
from creditstream.topics import CHECKS
from producers.credit_producer import CreditProducer

log = logging.getLogger("checks.audit_sender")


class AuditShipper:
    """One spool to one topic: ``step()`` sends one batch and moves the position once it is
    acknowledged; returns the records sent (0: nothing new)."""

    def __init__(self, reader: SpoolReader, producer: CreditProducer, timeout: float = 30.0):
        self.reader, self.producer, self.timeout = reader, producer, timeout
        self.shipped = 0
        self.resent = 0

    def step(self) -> int:
        records, position = self.reader.read()
        if position is None:
            return 0
        failures: list = []
        for record in records:
            self.producer.send(record, key=record["check_id"], on_delivery=failures.append)
        left = self.producer.flush(self.timeout)
        if left or any(err is not None for err in failures):
            # Nothing moves: the whole batch goes again (the sink drops what was stored twice).
            self.resent += len(records)
            raise BatchNotAcknowledged(f"{len(records)} check records not acknowledged "
                                       f"({left} pending, {len(failures)} failed); sent again")
        self.reader.commit(position)
        self.shipped += len(records)
        return len(records)


class BatchNotAcknowledged(RuntimeError):
    pass


FULL_BATCH = 5000  # records: more than this in one step means a backlog


def run(directory: Path, bootstrap: str, parent: int | None, drain: bool, interval: float = 0.05) -> int:
    # The records are safe on disk already, so the sender waits between batches rather than
    # producing each answer's record at once: a produce request per 50 ms instead of hundreds a
    # second, on two cores the broker shares with the answers (the spool holds what comes meanwhile).
    os.nice(10)  # and when the cores are short, the answers come first
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    held = sender_lock(directory, wait=True)  # one sender per spool: a previous one finishes first
    producer = CreditProducer(bootstrap, topic=CHECKS, record=CHECK_RECORD, **{"linger.ms": 5})
    shipper = AuditShipper(SpoolReader(directory), producer)
    try:
        while True:
            try:
                sent = shipper.step()
            except BatchNotAcknowledged as exc:
                log.warning("%s", exc)
                if stopping:  # the records stay in the spool for the next sender
                    return 1
                time.sleep(1.0)
                continue
            if sent >= FULL_BATCH or (sent and (drain or stopping)):
                continue  # a backlog: no pause until it is sent
            if not sent and (drain or stopping or (parent is not None and os.getppid() != parent)):
                return 0
            time.sleep(interval)
    finally:
        producer.flush(5)
        held.close()
        log.info("audit sender stops: %d check records sent", shipper.shipped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.audit_sender", description=__doc__.splitlines()[0])
    parser.add_argument("--spool", help="the spool directory (default: <data_dir>/checks/audit-spool)")
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default: the settings')")
    parser.add_argument("--parent", type=int, help="stop once this process is gone")
    parser.add_argument("--drain", action="store_true", help="send what the spool holds, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from checks.audit_spool import spool_dir
    from creditstream.settings import get_settings

    settings = get_settings() if not (args.spool and args.bootstrap) else None
    directory = Path(args.spool) if args.spool else spool_dir(settings)
    bootstrap = args.bootstrap or settings.bootstrap_servers
    return run(directory, bootstrap, args.parent, args.drain)


if __name__ == "__main__":
    sys.exit(main())
