"""Watching a bot from outside: what its store says about it, for every front end (the
terminal dashboard, the web dashboard), read-only."""
