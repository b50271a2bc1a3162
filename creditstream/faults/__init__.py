"""Fault injection and reconciliation over the embedded stack (`creditstream chaos`)."""
