"""Watch lists (信用监管 after approval): a unit registers the subjects it approved or contracts
with, and is told when one of them enters or leaves a list: a WatchEvent on its own topic
credit.watch.<unit> and a POST to its webhook, signed with HMAC-SHA256 and retried with
exponential back-off.

Where it runs: in the check service, as a listener of the blacklist index, which already follows
credit.blacklist. Each live batch hands over only the subjects it changed; the watches are indexed
by subject key, so a change costs one dict lookup per changed subject, never a pass over the
watches. Each watch remembers the lists it last reported, so a repeated or re-read change reports
nothing, and at start (after the index is built) every watch is compared once with the index: what
changed while the service was down is reported then.

One topic per unit rather than one keyed by unit: a unit is granted read on its own topic alone
(Kafka ACLs are per topic), and reads only its own events from the beginning.

Nothing is lost between the change and the unit: the event is written to an outbox (SQLite, in the
service's data directory) in the same step as the watch's new lists, and a delivery thread
publishes it (waiting for the broker's acknowledgement) and then posts it, retrying both until
they succeed or the webhook's attempts run out (state ``failed``, shown by `creditstream watches
status`). Persons are watched by pseudonym; their number appears nowhere here but masked.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from checks import answers as A
from creditstream.domain.normalise import CHINA_TZ, epoch_days

log = logging.getLogger(__name__)

WATCH_EVENT = "io.creditstream.WatchEvent"
TOPIC_PREFIX = "credit.watch."
SIGNATURE_HEADER = "X-Creditstream-Signature"
TIMESTAMP_HEADER = "X-Creditstream-Timestamp"
EVENT_HEADER = "X-Creditstream-Event"
MAX_ATTEMPTS = 12                 # about 34 minutes of back-off in all, then ``failed``
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.5, 600.0
WEBHOOK_TIMEOUT_S = 5.0
ENTERED, LEFT, CHANGED = "ENTERED", "LEFT", "CHANGED"


# -- pure rules -------------------------------------------------------------------------------------
def watch_topic(unit: str) -> str:
    """credit.watch.<unit>; characters Kafka refuses in a name become '_' with a short hash, so two
    units never share a topic."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", unit)
    if safe != unit:
        safe += "-" + hashlib.blake2b(unit.encode(), digest_size=4).hexdigest()
    return TOPIC_PREFIX + safe


def active_lists(entry: dict | None, today_days: int) -> list[str]:
    """The lists the subject is on today with an ACTIVE basis (what a check would answer listed)."""
    return sorted(item["list"] for item in A.standing(entry, today_days)["lists"] if item["status"] == "ACTIVE")


def change_of(before: list[str], after: list[str]) -> str | None:
    if before == after:
        return None
    if not before:
        return ENTERED
    return LEFT if not after else CHANGED


def backoff_s(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: 0.5, 1, 2, 4 ... capped at 10 minutes."""
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempt - 1))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>." + body: a receiver checks it and refuses an old timestamp,
    so a captured request cannot be replayed later."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), header or "")


def event_id(unit: str, subject_key: str, version: str, after: list[str]) -> str:
    return hashlib.blake2b("\x1f".join((unit, subject_key, version, ",".join(after))).encode(),
                           digest_size=16).hexdigest()


def _today() -> int:
    return epoch_days(datetime.now(CHINA_TZ).date())


def _now_ms() -> int:
    return int(time.time() * 1000)


# -- the store ---------------------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (unit TEXT, subject_key TEXT, shown TEXT, name TEXT, label TEXT,
    created_at INTEGER, lists TEXT, PRIMARY KEY (unit, subject_key));
CREATE TABLE IF NOT EXISTS webhooks (unit TEXT PRIMARY KEY, url TEXT, secret TEXT, updated_at INTEGER);
CREATE TABLE IF NOT EXISTS outbox (event_id TEXT PRIMARY KEY, unit TEXT, subject_shown TEXT, change TEXT,
    event TEXT, created_at INTEGER, published_at INTEGER, webhook_state TEXT, attempts INTEGER DEFAULT 0,
    next_at INTEGER, delivered_at INTEGER, last_error TEXT);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (webhook_state, next_at);
"""


class WatchStore:
    """The watches, webhooks and outbox in one SQLite file (readable by `creditstream watches status`
    while the service runs)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        path.chmod(0o600)  # webhook secrets
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        self.lock = threading.RLock()

    def rows(self, sql: str, *args) -> list[tuple]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def write(self, statements: list[tuple[str, tuple]]) -> None:
        """Several statements as one transaction."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    self.db.execute(sql, args)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise


class Watches:
    """Registration, the change listener and the delivery thread."""

    def __init__(self, store: WatchStore, index, producer, metrics=None, ensure_topic=None):
        self.store = store
        self.index = index                 # callable: the current BlacklistIndex (it may be rebuilt)
        self.producer = producer           # a CreditProducer of WatchEvents; its topic set per event
        self.metrics = metrics
        self.ensure_topic = ensure_topic or (lambda topic: None)
        self.by_subject: dict[str, set[str]] = {}
        for unit, key in store.rows("SELECT unit, subject_key FROM watches"):
            self.by_subject.setdefault(key, set()).add(unit)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watch-delivery", daemon=True)
        self._topics: set[str] = set()
        self.rechecked = False

    # -- registration ------------------------------------------------------------------------------
    def add(self, unit: str, subject_key: str, shown: str, label: str | None) -> dict:
        entry = self.index().get(subject_key)
        lists = active_lists(entry, _today())
        name = (entry or {}).get("subject_name")
        self.store.write([("INSERT OR REPLACE INTO watches VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (unit, subject_key, shown, name, label, _now_ms(), json.dumps(lists)))])
        self.by_subject.setdefault(subject_key, set()).add(unit)
        return {"subject": shown, "name": name, "label": label, "lists": lists}

    def remove(self, unit: str, subject_key: str) -> bool:
        found = self.store.rows("SELECT 1 FROM watches WHERE unit = ? AND subject_key = ?", unit, subject_key)
        self.store.write([("DELETE FROM watches WHERE unit = ? AND subject_key = ?", (unit, subject_key))])
        units = self.by_subject.get(subject_key, set())
        units.discard(unit)
        if not units:
            self.by_subject.pop(subject_key, None)
        return bool(found)

    def list(self, unit: str) -> list[dict]:
        return [{"subject": shown, "name": name, "label": label, "lists": json.loads(lists),
                 "since": _iso(created)}
                for shown, name, label, created, lists in self.store.rows(
                    "SELECT shown, name, label, created_at, lists FROM watches WHERE unit = ? ORDER BY created_at", unit)]

    def set_webhook(self, unit: str, url: str, secret: str) -> None:
        self.store.write([("INSERT OR REPLACE INTO webhooks VALUES (?, ?, ?, ?)", (unit, url, secret, _now_ms()))])

    def webhook(self, unit: str) -> dict | None:
        return webhook_of(self.store, unit)

    def status(self, unit: str | None = None) -> dict:
        return self.status_of(self.store, unit)

    @staticmethod
    def status_of(store: WatchStore, unit: str | None = None) -> dict:
        """Per unit: watches, webhook, and the outbox by state (pending, delivered, failed, none)."""
        where, args = ("WHERE unit = ?", (unit,)) if unit else ("", ())
        units: dict[str, dict] = {}
        for u, n in store.rows(f"SELECT unit, count() FROM watches {where} GROUP BY unit", *args):
            units.setdefault(u, {"unit": u, "watches": 0, "outbox": {}})["watches"] = n
        for u, state, published, n in store.rows(
                f"SELECT unit, webhook_state, published_at IS NOT NULL, count() FROM outbox {where} "
                "GROUP BY unit, webhook_state, published_at IS NOT NULL", *args):
            item = units.setdefault(u, {"unit": u, "watches": 0, "outbox": {}})
            item["outbox"][state] = item["outbox"].get(state, 0) + n
            if not published:
                item["outbox"]["unpublished"] = item["outbox"].get("unpublished", 0) + n
        for u, item in units.items():
            item["webhook"] = (webhook_of(store, u) or {}).get("url")
            item["topic"] = watch_topic(u)
            item["recent"] = [{"event_id": e, "subject": s, "change": c, "state": st, "attempts": a,
                               "published_at": _iso(p), "delivered_at": _iso(d), "last_error": err}
                              for e, s, c, st, a, p, d, err in store.rows(
                                  "SELECT event_id, subject_shown, change, webhook_state, attempts, published_at, "
                                  "delivered_at, last_error FROM outbox WHERE unit = ? ORDER BY created_at DESC "
                                  "LIMIT 20", u)]
        return {"units": sorted(units.values(), key=lambda i: i["unit"])}

    # -- the listener ------------------------------------------------------------------------------
    def on_changes(self, heard: dict, state) -> None:
        """A live batch of credit.blacklist: re-check only the watched subjects it touched."""
        touched = [key for key in heard if key in self.by_subject]
        if touched:
            version = self.index().version(state)
            self._recheck(touched, lambda key: heard[key][1], version)

    def recheck_all(self) -> None:
        """Once the index is built: what changed while the service was down."""
        index = self.index()
        self._recheck(list(self.by_subject), index.get, index.version())
        self.rechecked = True

    def _recheck(self, keys: list[str], entry_of, version: str) -> None:
        with self.store.lock:  # compare and update as one step (the listener and the start-up pass)
            self._compare(keys, entry_of, version)

    def _compare(self, keys: list[str], entry_of, version: str) -> None:
        today, now = _today(), _now_ms()
        writes = []
        hooks = {u for (u,) in self.store.rows("SELECT unit FROM webhooks")}
        for key in keys:
            entry = entry_of(key)
            after = active_lists(entry, today)
            for unit, shown, name, lists in self.store.rows(
                    "SELECT unit, shown, name, lists FROM watches WHERE subject_key = ?", key):
                before = json.loads(lists)
                change = change_of(before, after)
                if change is None:
                    continue
                event = {"event_id": event_id(unit, key, version, after), "unit": unit, "subject_key": key,
                         "subject_shown": shown, "subject_name": (entry or {}).get("subject_name") or name,
                         "change": change, "lists_before": before, "lists_after": after, "detected_at": now,
                         "index_version": version}
                writes += [("UPDATE watches SET lists = ? WHERE unit = ? AND subject_key = ?",
                            (json.dumps(after), unit, key)),
                           ("INSERT OR IGNORE INTO outbox (event_id, unit, subject_shown, change, event, created_at, "
                            "webhook_state, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (event["event_id"], unit, shown, change, json.dumps(event, ensure_ascii=False), now,
                             "pending" if unit in hooks else "none", now))]
                if self.metrics:
                    self.metrics.watch_events.labels(change).inc()
        if writes:
            self.store.write(writes)
            self._wake.set()

    # -- delivery ----------------------------------------------------------------------------------
    def start(self) -> "Watches":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self._deliver_due()
            except Exception:  # noqa: BLE001 - the thread must outlive a bad round
                log.exception("watch delivery round failed")
                busy = False
            if not busy:
                self._wake.wait(0.5)
                self._wake.clear()

    def _deliver_due(self) -> bool:
        from checks.service import NotDelivered, send_and_wait

        now = _now_ms()
        due = self.store.rows("SELECT event_id, unit, event, published_at, webhook_state, attempts FROM outbox "
                              "WHERE (published_at IS NULL OR webhook_state = 'pending') AND next_at <= ? "
                              "ORDER BY created_at LIMIT 100", now)
        for eid, unit, text, published, state, attempts in due:
            event = json.loads(text)
            if published is None:
                topic = watch_topic(unit)
                try:
                    if topic not in self._topics:
                        self.ensure_topic(topic)
                        self._topics.add(topic)
                    self.producer.topic = topic   # one thread produces: the topic is set per event
                    send_and_wait(self.producer, event, key=event["subject_key"], timeout=10)
                    self.store.write([("UPDATE outbox SET published_at = ? WHERE event_id = ?", (_now_ms(), eid))])
                except (NotDelivered, Exception) as exc:  # noqa: BLE001 - retried on the next round
                    log.warning("watch event %s not published to %s: %s", eid, topic, exc)
                    self.store.write([("UPDATE outbox SET next_at = ?, last_error = ? WHERE event_id = ?",
                                       (_now_ms() + 2000, f"topic: {exc}", eid))])
                    continue
            if state == "pending":
                self._post(eid, unit, event, attempts)
        return len(due) == 100

    def _post(self, eid: str, unit: str, event: dict, attempts: int) -> None:
        hook = self.store.rows("SELECT url, secret FROM webhooks WHERE unit = ?", unit)
        if not hook:
            self.store.write([("UPDATE outbox SET webhook_state = 'none' WHERE event_id = ?", (eid,))])
            return
        url, secret = hook[0]
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(_now_ms())
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", EVENT_HEADER: eid, TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret, timestamp, body), "User-Agent": "creditstream-watches"})
        attempts += 1
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
                ok, error = 200 <= response.status < 300, f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            ok, error = False, f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            ok, error = False, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        if self.metrics:
            self.metrics.webhook_deliveries.labels("delivered" if ok else "failed").inc()
        if ok:
            self.store.write([("UPDATE outbox SET webhook_state = 'delivered', attempts = ?, delivered_at = ?, "
                               "last_error = NULL WHERE event_id = ?", (attempts, _now_ms(), eid))])
            return
        state = "failed" if attempts >= MAX_ATTEMPTS else "pending"
        self.store.write([("UPDATE outbox SET webhook_state = ?, attempts = ?, next_at = ?, last_error = ? "
                           "WHERE event_id = ?", (state, attempts, _now_ms() + int(backoff_s(attempts) * 1000),
                                                  error, eid))])


def webhook_of(store: WatchStore, unit: str) -> dict | None:
    rows = store.rows("SELECT url, updated_at FROM webhooks WHERE unit = ?", unit)
    return {"url": rows[0][0], "updated_at": _iso(rows[0][1]), "secret": "set"} if rows else None


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds")
