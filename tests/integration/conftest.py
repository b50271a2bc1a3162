"""Fixtures of the ClickHouse tests: a chdb of the module's own and a fresh, migrated database."""
from __future__ import annotations

import uuid

import pytest

from sinks.clickhouse import connect_url, migrate


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """chdb in a directory of the test module's own (the ClickHouse tests need no stack)."""
    c = connect_url(f"chdb://{tmp_path_factory.mktemp('chdb')}")
    yield c
    c.close()


@pytest.fixture
def db(client):
    """A fresh, migrated database in that chdb."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    migrate(client, name)
    return name
