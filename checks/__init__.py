"""The approval-window check service (逢报必查): an in-memory blacklist index followed from the
compacted credit.blacklist topic, the check API over it, the audit of every check, feedback, and
objections (异议) with their statutory deadlines."""
