"""The token store: no default credentials, hashes at rest, scopes per unit, revocation, one admin."""
from __future__ import annotations

import json
import os
import stat

import pytest

from creditstream.auth.tokens import PLATFORM_UNIT, TokenError, TokenStore


@pytest.fixture
def store(tmp_path):
    return TokenStore(tmp_path / "secrets" / "tokens.json")


def test_a_new_store_accepts_nothing(store):
    assert store.list() == []
    for guess in ("", "123456", "admin", "cst_00000000_x", None):
        assert store.authenticate(guess) is None


def test_created_token_authenticates_as_its_unit_with_its_scopes(store):
    info, plaintext = store.create("TAX-420200", ["report", "check"], "tax system")
    found = store.authenticate(plaintext)
    assert found == info and found.unit == "TAX-420200"
    assert found.allows("report") and found.allows("check") and not found.allows("admin")


def test_only_a_hash_is_kept_and_the_file_is_owner_only(store):
    _, plaintext = store.create("TAX-420200", ["report"])
    text = store.path.read_text()
    assert plaintext not in text and plaintext.split("_", 2)[2] not in text
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.path.parent).st_mode) == 0o700


def test_a_tampered_or_foreign_token_is_refused(store):
    _, plaintext = store.create("TAX-420200", ["report"])
    assert store.authenticate(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    other = TokenStore(store.path.parent / "other.json")
    _, foreign = other.create("TAX-420200", ["report"])
    assert store.authenticate(foreign) is None


def test_revocation_is_seen_by_another_store_on_the_same_file(store):
    info, plaintext = store.create("COURT-420200", ["report"])
    server_view = TokenStore(store.path)
    assert server_view.authenticate(plaintext) is not None
    store.revoke(info.id)
    assert server_view.authenticate(plaintext) is None
    assert [t.id for t in server_view.list(include_revoked=True)] == [info.id]
    assert server_view.list() == []


@pytest.mark.parametrize("unit, scopes", [("", ["report"]), ("X", []), ("X", ["report", "superuser"])])
def test_tokens_need_a_unit_and_known_scopes(store, unit, scopes):
    with pytest.raises(TokenError):
        store.create(unit, scopes)


def test_revoking_an_unknown_token_says_so(store):
    with pytest.raises(TokenError, match="no token"):
        store.revoke("deadbeef")


def test_first_start_makes_one_admin_token_and_shows_it_once(store):
    admin = store.bootstrap_admin()
    assert admin and store.authenticate(admin).allows("admin")
    assert store.authenticate(admin).unit == PLATFORM_UNIT
    assert store.bootstrap_admin() is None
    store.revoke(store.authenticate(admin).id)
    again = store.bootstrap_admin()  # with every admin token revoked, a new start makes a new one
    assert again and again != admin
    assert sum(1 for t in json.loads(store.path.read_text())["tokens"] if "admin" in t["scopes"]) == 2
