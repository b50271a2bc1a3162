"""Quality flags on an accepted record (ValidatedRecord.flags): stable codes, like reasons, for
what did not stop the record but a clerk or a report should see. Add, never rename."""
from __future__ import annotations

PRE_USCC_CODE = "PRE_USCC_CODE"          # 组织机构代码 or 税务登记号 instead of a USCC
CHECKSUM_PILOT = "CHECKSUM_PILOT"        # pilot USCC that fails the checksum, accepted by the allow-list
OLD_ID_NUMBER = "OLD_ID_NUMBER"          # 15-digit ID number, keyed by its 18-digit form
SEX_FROM_ID = "SEX_FROM_ID"              # sex not reported, read from the ID number
NO_EXPIRY = "NO_EXPIRY"                  # 2099-12-31 / 长期: validity without end
UNKNOWN_UNIT = "UNKNOWN_UNIT"            # source unit not in the unit catalog: default deadline applied
SUBJECT_TYPE_FROM_USCC = "SUBJECT_TYPE_FROM_USCC"  # reported type missing or contradicted by the USCC
PROHIBITED_DROPPED = "PROHIBITED_DROPPED"  # prohibited attributes were removed (names in prohibited_dropped)
