"""The ``analysis`` plugin: ``gpt-trader export`` and ``gpt-trader db browse``; its commands
are declared in :mod:`gpt_trader_analysis.commands` and built by :mod:`gpt_trader_analysis.cli`."""
