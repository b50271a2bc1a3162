"""Publication (公示) of licences and penalties: what the public may see, under the rules."""
