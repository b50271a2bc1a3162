"""Schema migrations on real chdb: from empty, re-run, every statement safe twice, status."""
from __future__ import annotations

import shutil
import uuid

import pytest

from sinks.clickhouse import migrate, migration_files, migration_status, statements

pytestmark = pytest.mark.integration



@pytest.fixture
def db():
    return f"m_{uuid.uuid4().hex[:10]}"


def tables(client, db) -> dict[str, str]:
    return dict(client.query("SELECT name, engine FROM system.tables WHERE database = {db:String}",
                             parameters={"db": db}).result_rows)


def test_from_empty_applies_every_file_in_order_and_records_it(client, db):
    applied = migrate(client, db)
    assert applied == [m.label for m in migration_files()]
    assert [m["state"] for m in migration_status(client, db)] == ["applied"] * len(applied)
    found = tables(client, db)
    for table in ("records", "rejections", "blacklist_history", "checks", "zero_reports", "sink_batches",
                  "unit_counts_minute", "unit_counts_day", "unit_counts_month"):
        assert found.get(table, "").endswith("MergeTree"), table
    for view in ("records_published", "checks_published", "records_retention", "blacklist_current"):
        assert found.get(view) == "View", view
    assert found.get("unit_counts_records_mv") == "MaterializedView"


def test_rerun_applies_nothing(client, db):
    migrate(client, db)
    assert migrate(client, db) == []
    assert client.query(f"SELECT count() FROM {db}.schema_migrations").result_rows[0][0] == len(migration_files())


def test_every_statement_can_run_twice(client, db):
    """A run that dies inside a file runs the whole file again: no statement may fail or double."""
    client.command(f"CREATE DATABASE {db}")
    for migration in migration_files():
        for statement in statements(migration.path.read_text()):
            client.command(statement.replace("{db}", db))
            client.command(statement.replace("{db}", db))
    assert migrate(client, db) == [m.label for m in migration_files()]  # recorded now, nothing fails
    assert migrate(client, db) == []


def test_partial_run_is_completed(client, db, tmp_path):
    files = migration_files()
    first = tmp_path / "first"
    first.mkdir()
    for m in files[:3]:
        shutil.copy(m.path, first / m.path.name)
    assert migrate(client, db, first) == [m.label for m in files[:3]]
    states = [m["state"] for m in migration_status(client, db)]
    assert states == ["applied"] * 3 + ["pending"] * (len(files) - 3)
    assert migrate(client, db) == [m.label for m in files[3:]]


def test_status_flags_an_applied_file_that_was_edited(client, db, tmp_path):
    directory = tmp_path / "m"
    directory.mkdir()
    for m in migration_files():
        shutil.copy(m.path, directory / m.path.name)
    migrate(client, db, directory)
    edited = directory / migration_files()[-1].path.name
    edited.write_text(edited.read_text() + "\n-- edited\n")
    states = {m["name"]: m["state"] for m in migration_status(client, db, directory)}
    assert states[migration_files()[-1].name] == "changed"
    assert list(states.values()).count("applied") == len(states) - 1


def test_nothing_expires_by_accident(client, db):
    """Only the sink's own batch log has a TTL; the history, the checks and the counts keep everything."""
    migrate(client, db)
    with_ttl = [name for name, ddl in client.query(
        "SELECT name, create_table_query FROM system.tables WHERE database = {db:String}",
        parameters={"db": db}).result_rows if " TTL " in ddl]
    assert with_ttl == ["sink_batches"]


def test_dedup_window_on_every_table_the_sink_or_a_view_writes(client, db):
    """Without it a non-replicated MergeTree ignores insert_deduplication_token."""
    migrate(client, db)
    for table, engine, ddl in client.query(
            "SELECT name, engine, create_table_query FROM system.tables WHERE database = {db:String}",
            parameters={"db": db}).result_rows:
        if engine.endswith("MergeTree") and table not in ("schema_migrations", "sink_batches"):
            assert "non_replicated_deduplication_window = 10000" in ddl, table
