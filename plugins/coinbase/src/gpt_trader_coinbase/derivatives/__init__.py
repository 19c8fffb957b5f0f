"""Coinbase derivatives: ``coinbase.cfm`` (US futures) and ``coinbase.intx`` (perpetuals)."""
