"""Deterministic event ids: the same source record always gets the same id, so a re-sent file
doubles nothing downstream."""
from __future__ import annotations

import hashlib

from creditstream.domain.identifiers import compact, normalise_document_number


def event_id(source_unit: str, catalog: str, category: str, subject_id: str | None,
             document_number: str | None, extra: str = "") -> str:
    """From unit, indicator set and the record's natural key (category, subject, document number).

    ``extra`` carries what distinguishes records that have no document number (a row's own key,
    an arrears period ...)."""
    natural = "\x1f".join([source_unit, catalog, category, compact(subject_id),
                           normalise_document_number(document_number) or "", extra])
    return hashlib.blake2b(natural.encode("utf-8"), digest_size=16).hexdigest()
