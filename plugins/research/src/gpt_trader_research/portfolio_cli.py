"""``gpt-trader backtest --profile P --data PATH`` without ``--symbol``: the portfolio run,
its report and its output (the command itself is :mod:`gpt_trader_research.cli`'s)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gpt_trader_research.engine import BacktestSpec


def portfolio_backtest(
    base: BacktestSpec,
    data: list[Path],
    as_json: bool,
    report: Path | None,
    report_cdn: bool,
    png: Path | None,
    trades: int,
    product: list[str],
) -> None:
    from gpt_trader.errors import UserError
    from gpt_trader.output import stderr
    from gpt_trader.plugins import make_plugin_manager

    from gpt_trader_research import instruments
    from gpt_trader_research.portfolio import (
        PortfolioSpec,
        portfolio_config,
        refuse_derivatives,
        run_portfolio,
    )
    from gpt_trader_research.portfolio_report import show, write_html, write_png
    from gpt_trader_research.results_output import bar_progress, output
    from gpt_trader_research.universe import load_universe

    if base.profile is None:
        raise UserError(
            "backtest: give --symbol (one product) or --profile (its universe, a portfolio)"
        )
    spec = PortfolioSpec(replace(base, data=data[0]), tuple(data))
    pm = make_plugin_manager()
    refuse_derivatives(spec.symbols(), pm)
    # every file is read and checked before anything runs or is written
    bars = load_universe(spec.data, spec.symbols())
    described = instruments.described(product, base.profile, data[0])
    for line in instruments.install(pm, described, bars):
        stderr.print(f"[yellow]warning:[/] {line}", highlight=False)
    config = portfolio_config(spec, pm)
    total = sum(len(s) for s in bars.values())
    with bar_progress(total, shown=not as_json) as progress:
        result = run_portfolio(spec, pm, bars=bars, config=config, progress=progress)
    output(result, show, write_html, write_png, as_json, report, report_cdn, png, trades)
