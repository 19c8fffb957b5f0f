"""``python -m gpt_trader`` is the ``gpt-trader`` command."""

from gpt_trader.cli.main import main

main()
