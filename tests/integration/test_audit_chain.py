"""The check audit's hash chain in real chdb: the sink's store links rows per partition in offset
order, a replayed batch links the same, a new owner resumes the chain where it stopped, and the
verifier names the first broken link when a row is changed or removed."""
from __future__ import annotations

import pytest

from avro_schemas.codec import CHECK_RECORD
from creditstream.domain.audit_chain import link, verify
from creditstream.topics import CHECKS
from sinks import audit
from sinks.metrics import SinkMetrics
from sinks.replay_guard import RecentEventIds
from sinks.store import BatchStore
from sinks.tables import CHECK_COLUMNS
from tests.integration.test_clickhouse_store import SPECS, batch, check_record, encoded

pytestmark = pytest.mark.integration
SPEC = SPECS[CHECKS]


def stored(client, db, partition: int, first: int, count: int, store=None):
    store = store or BatchStore(client, db, SinkMetrics())
    if (CHECKS, partition) not in store.chain_heads:
        store.load_chain_head(SPEC, partition, first)
    values = encoded(CHECK_RECORD, [check_record(f"c-{partition}-{first + i}", (first + i) % 3 == 0)
                                    for i in range(count)])
    b = batch(CHECKS, values, first_offset=first, partition=partition)
    store.store(b, SPEC, None)
    return store, b


def report(client, db, start=None, end=None):
    return verify(audit.spans(client, db, start, end),
                  lambda p, a, b: audit.rows(client, db, p, a, b, limit=7))  # small pages: paging is walked


def test_chain_verifies_across_batches_replays_and_a_new_owner(client, db):
    store, first = stored(client, db, 0, 0, 10)
    store.store(first, SPEC, None)                       # a retried batch: same links, nothing doubled
    stored(client, db, 0, 10, 10, store)
    stored(client, db, 0, 20, 5)                         # a new owner resumes from ClickHouse
    stored(client, db, 1, 0, 4)
    result = report(client, db)
    assert result["broken"] is None and result["rows"] == 29 and result["unchained"] == 0
    links = client.query(f"SELECT prev_hash, hash FROM {db}.checks WHERE kafka_partition = 0 "
                         "ORDER BY kafka_offset").result_rows
    assert links[0][0] == "" and all(links[i][0] == links[i - 1][1] for i in range(1, len(links)))


def test_a_check_sent_again_at_a_later_offset_is_stored_once_and_the_chain_holds(client, db):
    """The audit sender resends a batch the broker took but did not acknowledge: the same check
    ids at new offsets, after the ones stored; the sink drops them by check id."""
    store, guard = BatchStore(client, db, SinkMetrics()), RecentEventIds(10_000)
    store.load_chain_head(SPEC, 0, 0)
    ids = [f"c-0-{i}" for i in range(10)]
    for first, names in ((0, ids), (10, ids[5:] + [f"c-0-{i}" for i in range(10, 15)]), (20, ids[8:])):
        result = store.store(batch(CHECKS, encoded(CHECK_RECORD, [check_record(n, False) for n in names]),
                                   first_offset=first), SPEC, guard)
        guard.add_many(result.stored_ids, result.stored_offsets)
        assert all(isinstance(o, int) for o in result.stored_offsets)
    assert dict(client.query(f"SELECT check_id, count() FROM {db}.checks GROUP BY check_id").result_rows) == \
        {f"c-0-{i}": 1 for i in range(15)}
    result = report(client, db)
    assert result["broken"] is None and result["rows"] == 15


def tamper(client, db, change: str) -> None:
    client.command(f"ALTER TABLE {db}.checks {change} SETTINGS mutations_sync = 1")


def test_a_changed_row_is_found(client, db):
    stored(client, db, 0, 0, 12)
    tamper(client, db, "UPDATE listed = NOT listed WHERE check_id = 'c-0-6'")
    result = report(client, db)
    assert "offset 6 (check c-0-6)" in result["broken"] and "was changed" in result["broken"]


def test_a_changed_row_with_its_hash_recomputed_breaks_the_next_link(client, db):
    stored(client, db, 0, 0, 12)
    (row,) = audit.rows(client, db, 0, 4, 4)
    values, offset, prev_hash = row[:-3], row[-3], row[-2]
    values[CHECK_COLUMNS.index("listed")] = not values[CHECK_COLUMNS.index("listed")]
    forged = link(prev_hash, values, 0, offset)
    tamper(client, db, f"UPDATE listed = NOT listed, hash = '{forged}' WHERE check_id = 'c-0-4'")
    result = report(client, db)
    assert "offset 5 (check c-0-5)" in result["broken"] and "previous hash" in result["broken"]


def test_a_removed_row_breaks_the_link_after_it(client, db):
    stored(client, db, 0, 0, 12)
    tamper(client, db, "DELETE WHERE check_id = 'c-0-9'")
    result = report(client, db)
    assert "offset 10 (check c-0-10)" in result["broken"] and "previous hash" in result["broken"]
