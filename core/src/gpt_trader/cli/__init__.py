"""The ``gpt-trader`` command line, built by :func:`gpt_trader.cli.main.build_app`."""
