"""``coinbase.spot`` and ``coinbase.market``: broker, feed, order tracking and commands."""
