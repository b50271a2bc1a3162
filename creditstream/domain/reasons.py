"""Why a record was rejected: a stable code, the field, and a message a clerk can act on."""
from __future__ import annotations

from typing import NamedTuple


class Reason(NamedTuple):
    code: str
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "field": self.field, "message": self.message}


# Stable codes; dashboards and units' feedback depend on them, so add, never rename.
UNDECODABLE = "undecodable"
INTERNAL_ERROR = "internal_error"
MISSING_FIELD = "missing_field"
INVALID_USCC = "invalid_uscc"
INVALID_ID_NUMBER = "invalid_id_number"
MISSING_SUBJECT_ID = "missing_subject_id"
INVALID_ORG_CODE = "invalid_org_code"
INVALID_TAX_NUMBER = "invalid_tax_number"
INVALID_DATE = "invalid_date"
DATE_IN_FUTURE = "date_in_future"
VALIDITY_BEFORE_DECISION = "validity_before_decision"
INVALID_SEX = "invalid_sex"

