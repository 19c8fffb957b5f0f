"""The ``chaos`` plugin: ``gpt-trader chaos``, seeded fault-and-crash scenarios on a virtual
clock with the kernel, the Coinbase adapter and its simulator in one process; the command is
declared in :mod:`gpt_trader_chaos.commands` and built by :mod:`gpt_trader_chaos.cli`."""
