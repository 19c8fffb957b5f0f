"""GPT-Trader for Coinbase Advanced Trade: the ``coinbase.spot`` broker and the
``coinbase.market`` feed (``spot/``), their wire pieces (``auth``, ``rest``, ``stream``,
``convert``, ``ratelimit``) and the Coinbase-protocol simulator (``simulator/``)."""
