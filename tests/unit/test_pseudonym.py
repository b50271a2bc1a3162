"""Pseudonyms and sealed ID numbers: stable, keyed, versioned, and loud when a key is wrong."""
import json
import os
import stat

import pytest

from creditstream.domain.pseudonym import KeyFailure, Pseudonymiser, UnknownKey, WrongKey, is_pseudonym
from creditstream.keys import KeyRing, ensure_key_file, key_file, rotate
from creditstream.settings import Settings

NUMBER = "11010519491231002X"


def make(hmac_keys=None, aead_keys=None, hmac_current="h1", aead_current="k1"):
    return Pseudonymiser(hmac_keys or {"h1": b"a" * 32}, hmac_current, aead_keys or {"k1": b"b" * 32}, aead_current)


def test_pseudonym_is_stable_keyed_and_hides_the_number():
    p = make()
    key = p.pseudonym(NUMBER)
    assert key == p.pseudonym(NUMBER) and is_pseudonym(key)
    assert NUMBER not in key and "0519491231" not in key
    assert make(hmac_keys={"h1": b"c" * 32}).pseudonym(NUMBER) != key
    assert p.pseudonym("110105194912310038") != key


def test_lookup_keys_cover_every_hmac_version_current_first():
    old = make()
    both = make(hmac_keys={"h1": b"a" * 32, "h2": b"z" * 32}, hmac_current="h2")
    keys = both.lookup_keys(NUMBER)
    assert keys[0] == both.pseudonym(NUMBER) and keys[0].startswith("pid:h2:")
    assert old.pseudonym(NUMBER) in keys


def test_seal_opens_only_with_its_key():
    p = make()
    sealed = p.seal(NUMBER)
    assert NUMBER not in sealed and sealed.startswith("k1:")
    assert p.seal(NUMBER) != sealed  # a fresh nonce every time
    assert p.open(sealed) == NUMBER
    with pytest.raises(WrongKey):
        make(aead_keys={"k1": b"x" * 32}).open(sealed)
    with pytest.raises(UnknownKey):
        make(aead_keys={"k2": b"b" * 32}, aead_current="k2").open(sealed)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(WrongKey):
        p.open(tampered)
    relabelled = "k2:" + sealed.split(":", 1)[1]  # same bytes under another key id fail too
    with pytest.raises(WrongKey):
        make(aead_keys={"k1": b"b" * 32, "k2": b"b" * 32}).open(relabelled)


def test_reseal_moves_a_value_to_the_current_key():
    before = make()
    sealed = before.seal(NUMBER)
    after = make(aead_keys={"k1": b"b" * 32, "k2": b"n" * 32}, aead_current="k2")
    moved = after.reseal(sealed)
    assert moved.startswith("k2:") and after.open(moved) == NUMBER
    assert after.reseal(moved) is None


def test_short_keys_and_unknown_current_are_refused():
    with pytest.raises(WrongKey):
        make(hmac_keys={"h1": b"short"})
    with pytest.raises(UnknownKey):
        make(aead_current="k9")


def test_key_file_generated_owner_only_and_rotated(tmp_path):
    settings = Settings(data_dir=tmp_path)
    path = ensure_key_file(settings)
    assert path == key_file(settings)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    ring = KeyRing(path)
    first = ring.current()
    sealed, pseudonym = first.seal(NUMBER), first.pseudonym(NUMBER)
    assert rotate(path) == {"aead_current": "k2", "hmac_current": "h1"}
    second = ring.current()  # reloaded: the file changed
    assert second.aead_current == "k2" and second.open(sealed) == NUMBER
    assert second.pseudonym(NUMBER) == pseudonym
    assert rotate(path, hmac_too=True) == {"aead_current": "k3", "hmac_current": "h2"}
    third = ring.current()
    assert pseudonym in third.lookup_keys(NUMBER) and third.pseudonym(NUMBER) != pseudonym
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_configured_key_file_missing_or_broken_fails_loudly(tmp_path):
    with pytest.raises(KeyFailure, match="does not exist"):
        ensure_key_file(Settings(data_dir=tmp_path, keys_file=str(tmp_path / "nope.json")))
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"hmac": {"h1": "AAAA"}}))
    with pytest.raises(KeyFailure, match="malformed"):
        KeyRing(broken).current()
