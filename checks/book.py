"""The objection book: every objection's state, folded from credit.objections (read from the
beginning at boot, then followed, so several check services agree), and the open objection per
basis record that answers suspend."""
from __future__ import annotations

import logging
import threading

from avro_schemas.codec import OBJECTION_EVENT, UndecodableMessage, codec
from checks.index import FollowedTopic, TopicFollower
from creditstream.domain.objections import Objection, apply
from creditstream.topics import OBJECTIONS

log = logging.getLogger(__name__)


class ObjectionBook(FollowedTopic):
    def __init__(self, bootstrap_servers: str, topic: str = OBJECTIONS):
        self.objections: dict[str, Objection] = {}
        self.open_by_basis: dict[str, str] = {}   # basis event id -> open objection id
        self.lock = threading.RLock()              # one transition at a time per process
        self._decode = codec(OBJECTION_EVENT).decode
        self.follower = TopicFollower(bootstrap_servers, topic, self._apply_batch, "objections")

    def _apply_batch(self, batch: list, _live: bool) -> None:
        for _key, value, _ts in batch:
            if value is None:
                continue
            try:
                self.record(self._decode(value))
            except UndecodableMessage as exc:
                log.warning("undecodable objection event: %s", exc)

    def record(self, event: dict) -> Objection | None:
        """Apply one transition (the service's own, right after the broker acknowledged it, or one
        read back from the topic: applying it twice changes nothing)."""
        with self.lock:
            before = self.objections.get(event["objection_id"])
            after = apply(before, event)
            if after is None:
                return None
            self.objections[after.objection_id] = after
            if after.open:
                self.open_by_basis[after.basis_event_id] = after.objection_id
            elif self.open_by_basis.get(after.basis_event_id) == after.objection_id:
                del self.open_by_basis[after.basis_event_id]
            return after

    def get(self, objection_id: str) -> Objection | None:
        return self.objections.get(objection_id)

    def all(self) -> list[Objection]:
        return sorted(self.objections.values(), key=lambda o: o.filed_at)
