"""Test sessions: core alone, each plugin with core, the Coinbase adapter without its
simulator, everything, lint, types, bench.

Run one with ``uv run nox -s core``; ``uv run nox -l`` lists them.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["core", "plugins", "coinbase_alone", "all", "lint", "types"]

# pytest-xdist: the repository's addopts run every session's tests on every core (-n auto)
TEST_DEPS = ["pytest>=8", "pytest-asyncio>=0.23", "pytest-xdist>=3.5", "hypothesis>=6"]
PLUGIN_TEST_DEPS = {
    "tui": ["pytest-textual-snapshot"],
    "ops": ["aiosmtpd"],
    "web": ["playwright"],  # drives Debian's chromium (no browser download)
    "strategies": ["ta-lib"],  # the reference the indicators are tested against
}


def _plugins(*names: str) -> list[str]:
    """Editable installs of first-party plugins (``name`` or ``name[extra]``)."""
    return [arg for name in names for arg in ("-e", f"plugins/{name}")]


# What a plugin's own tests run with besides core: research backtests real strategies,
# replays the dev profile (risk guards) and downloads candles from the Coinbase simulator; the
# coinbase tests run the shipped profiles (strategies, risk guards) and put the risk
# plugin's liquidation guard on the wire.
PLUGIN_EXTRAS = {
    "research": [
        *_plugins("strategies", "risk", "coinbase", "coinbase-sim"),
        "backtesting",
        "ray",
    ],
    # The adapter's tests run against the simulator; the simulator's use the official SDK.
    "coinbase": _plugins("coinbase-sim", "risk", "strategies"),
    "coinbase-sim": _plugins("coinbase-sim[testing]"),
    # exports of a dev run's store (strategies, risk guards)
    "analysis": _plugins("analysis[browse]", "strategies", "risk"),
    # the dashboard of a dev run (strategies, risk guards) and of a Coinbase-simulator run
    # with brackets
    "web": _plugins("coinbase", "coinbase-sim", "strategies", "risk"),
    # preflight as a user runs it: the risk plugin's and the Coinbase adapter's checks, the
    # latter against the simulator; the Telegram tests drive a dev run (strategies).
    "ops": _plugins("risk", "coinbase", "coinbase-sim", "strategies"),
    # chaos runs the coinbase-sim profiles (their strategy and guards) against the simulator
    # in-process.
    "chaos": _plugins("coinbase", "coinbase-sim", "strategies", "risk"),
}
PLUGINS = [
    "strategies",
    "risk",
    "coinbase",
    "coinbase-sim",
    "research",
    "tui",
    "ops",
    "web",
    "analysis",
    "chaos",
]


@nox.session
def core(session: nox.Session) -> None:
    """Core alone, with no plugin distribution installed."""
    session.install("-e", "core", *TEST_DEPS)
    session.run("pytest", "core/tests", "-p", "no:cacheprovider", *session.posargs)


@nox.session
@nox.parametrize("plugin", PLUGINS)
def plugins(session: nox.Session, plugin: str) -> None:
    """One plugin with core and only what its own tests need (PLUGIN_EXTRAS)."""
    extra = PLUGIN_EXTRAS.get(plugin, [])
    session.install(
        "-e",
        "core",
        "-e",
        f"plugins/{plugin}",
        *extra,
        *TEST_DEPS,
        *PLUGIN_TEST_DEPS.get(plugin, []),
    )
    session.run("pytest", f"plugins/{plugin}", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def coinbase_alone(session: nox.Session) -> None:
    """The Coinbase adapter without its simulator (no [sim] extra): its plugins load and list,
    a `sim = true` profile fails in one line naming the extra; simulator-backed tests skip."""
    session.install("-e", "core", "-e", "plugins/coinbase", *TEST_DEPS)
    session.run("gpt-trader", "plugins", "list")
    session.run("pytest", "plugins/coinbase", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def all(session: nox.Session) -> None:
    """Everything as `uv sync` installs it."""
    session.run_install("uv", "sync", "--frozen", external=True)
    session.run("uv", "run", "pytest", *session.posargs, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def types(session: nox.Session) -> None:
    # gpt_trader.testing is a pytest plugin: its types come from pytest
    session.install("-e", "core", "mypy", "pytest")
    session.run("mypy", "core/src")


@nox.session
def chaos(session: nox.Session) -> None:
    """Seeded fault-and-crash scenarios on a virtual clock (``-- --runs 1000`` for more)."""
    args = session.posargs or ["--runs", "200", "--seed", "1"]
    session.run("uv", "run", "gpt-trader", "chaos", *args, external=True)


@nox.session
def bench(session: nox.Session) -> None:
    session.run("uv", "run", "python", "bench/run.py", *session.posargs, external=True)
