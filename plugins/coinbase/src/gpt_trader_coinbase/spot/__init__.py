"""Coinbase spot broker and market-data feed (being written)."""
