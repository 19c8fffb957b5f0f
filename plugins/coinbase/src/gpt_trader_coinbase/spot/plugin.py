"""Plugin hooks for coinbase.spot (being written)."""
