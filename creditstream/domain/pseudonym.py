"""Pseudonyms for natural persons' ID numbers (PIPL: sensitive personal information).

Past credit.inbound an ID number travels and is stored in two forms only:

- a **pseudonym**, ``pid:<hmac key id>:<32 hex>`` — HMAC-SHA256 of the normalised number under
  a secret key. It is the subject key: Kafka keys, joins, de-duplication, blacklist lookups and
  compaction all use it. Without the key it cannot be reversed by trying the ~10^10 valid ID
  numbers, which a plain hash could.
- a **sealed** copy, ``<aead key id>:<base64url(nonce | ciphertext | tag)>`` — AES-GCM, for the
  few entitled to read the number. The key id travels with the ciphertext and is bound to it as
  associated data, so a ciphertext relabelled with another key id fails to open.

Both key sets are versioned: lookups hash under every HMAC key (a rotation never hides a subject
from a check), opening picks the key the ciphertext names, and sealing uses the current key.
Pure functions over key bytes; where the keys live is `creditstream.keys`.
"""
from __future__ import annotations

import base64
import hmac
import os
from dataclasses import dataclass, field
from hashlib import sha256

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PSEUDONYM_PREFIX = "pid:"
_NONCE_BYTES = 12
_DIGEST_HEX = 32  # 128 bits: no collision among a country's ID numbers


class KeyFailure(Exception):
    """A key is missing or wrong: never answered with a silent None."""


class UnknownKey(KeyFailure):
    pass


class WrongKey(KeyFailure):
    pass


def is_pseudonym(key: str | None) -> bool:
    return bool(key) and key.startswith(PSEUDONYM_PREFIX)


def sealed_key_id(sealed: str) -> str:
    """The AEAD key id a sealed value names."""
    return sealed.split(":", 1)[0]


@dataclass
class Pseudonymiser:
    """Pseudonymise, seal and open ID numbers with one key set."""
    hmac_keys: dict[str, bytes]
    hmac_current: str
    aead_keys: dict[str, bytes]
    aead_current: str
    _pseudonyms: dict[str, str] = field(default_factory=dict, repr=False)
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.hmac_current not in self.hmac_keys or self.aead_current not in self.aead_keys:
            raise UnknownKey("the current key id names no key in the key set")
        for kid, key in {**self.hmac_keys, **self.aead_keys}.items():
            if len(key) < 32:
                raise WrongKey(f"key {kid} is shorter than 256 bits")
            if ":" in kid:
                raise WrongKey(f"key id {kid!r} must not contain ':'")

    # -- pseudonyms ---------------------------------------------------------------------------
    def _digest(self, kid: str, number: str) -> str:
        mac = hmac.new(self.hmac_keys[kid], number.encode("utf-8"), sha256).hexdigest()[:_DIGEST_HEX]
        return f"{PSEUDONYM_PREFIX}{kid}:{mac}"

    def pseudonym(self, number: str) -> str:
        """The subject key of a normalised ID number under the current HMAC key (cached: the
        stream sees the same subjects again and again)."""
        found = self._pseudonyms.get(number)
        if found is None:
            if len(self._pseudonyms) > 500_000:
                self._pseudonyms.clear()
            found = self._pseudonyms[number] = self._digest(self.hmac_current, number)
        return found

    def lookup_keys(self, number: str) -> list[str]:
        """Every key the number may be stored under: current HMAC key first, then older ones."""
        kids = [self.hmac_current] + sorted(k for k in self.hmac_keys if k != self.hmac_current)
        return [self._digest(kid, number) for kid in kids]

    # -- sealing ------------------------------------------------------------------------------
    def _cipher(self, kid: str) -> AESGCM:
        cipher = self._ciphers.get(kid)
        if cipher is None:
            key = self.aead_keys.get(kid)
            if key is None:
                raise UnknownKey(f"no AEAD key {kid!r} in the key set: the value cannot be opened")
            cipher = self._ciphers[kid] = AESGCM(key)
        return cipher

    def seal(self, number: str) -> str:
        kid = self.aead_current
        nonce = os.urandom(_NONCE_BYTES)
        data = self._cipher(kid).encrypt(nonce, number.encode("utf-8"), kid.encode())
        return f"{kid}:{base64.urlsafe_b64encode(nonce + data).decode().rstrip('=')}"

    def open(self, sealed: str) -> str:
        """The clear number; UnknownKey or WrongKey (never a wrong number) when it cannot be."""
        kid, _, body = sealed.partition(":")
        if not body:
            raise WrongKey("not a sealed value")
        try:
            blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            raise WrongKey("sealed value is not base64url") from None
        try:
            return self._cipher(kid).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], kid.encode()).decode("utf-8")
        except InvalidTag:
            raise WrongKey(f"sealed value does not open with key {kid!r}: wrong key or tampered") from None

    def reseal(self, sealed: str) -> str | None:
        """The value sealed under the current key, or None when it already is."""
        if sealed_key_id(sealed) == self.aead_current:
            return None
        return self.seal(self.open(sealed))


def ephemeral_pseudonymiser() -> Pseudonymiser:
    """A random key set that lives as long as the process: for tests and benchmarks."""
    return Pseudonymiser({"h1": os.urandom(32)}, "h1", {"k1": os.urandom(32)}, "k1")
