"""Command groups of the `creditstream` CLI, one module each (registered in creditstream.cli)."""
