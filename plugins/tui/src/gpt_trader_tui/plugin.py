"""The ``tui`` plugin: ``gpt-trader tui [--state-dir DIR]``, a live dashboard of a bot; the
command is declared in :mod:`gpt_trader_tui.commands` and built by :mod:`gpt_trader_tui.cli`."""
