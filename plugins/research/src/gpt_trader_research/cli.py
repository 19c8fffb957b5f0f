"""The research commands, added to ``gpt-trader`` through ``register_commands``.

Every command takes ``--json``; bad input is a :class:`~gpt_trader.errors.UserError`, which
the CLI prints as one line and exits 2 on. Progress bars go to stderr, and never with --json.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from gpt_trader.errors import UserError

from gpt_trader_research.results_output import bar_progress, output
from gpt_trader_research.specs import decimal_option as _dec


def _roi(text: str | None) -> dict[str, str] | None:
    """``--roi 0=2,30=1,60=0``: minutes held -> minimum return in percent."""
    if text is None:
        return None
    table: dict[str, str] = {}
    for part in text.split(","):
        minutes, sep, pct = part.partition("=")
        if not sep or not minutes.strip().lstrip("-").isdigit():
            raise UserError(f"--roi {text!r}: expected MINUTES=PCT[,MINUTES=PCT...], e.g. 0=2,30=1")
        _dec("--roi", pct)
        table[minutes.strip()] = pct.strip()
    return table


def _output_file(option: str, path: Path) -> None:
    """Refuse an output path that cannot become a file, before the work that fills it."""
    if path.is_dir():
        raise UserError(f"{option} {path}: is a directory; name a file inside it")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{option} {path}: {parent} is a file, not a directory")
            return


def _stderr() -> Any:
    from gpt_trader.output import stderr

    return stderr


def _print_json(data: Any) -> None:
    from gpt_trader.output import print_json

    print_json(data)


def _stdout() -> Any:
    from gpt_trader.output import stdout

    return stdout


def register(app: typer.Typer) -> None:
    _register_backtest(app)
    _register_replay(app)
    _register_optimize(app)
    _register_strategy(app)
    from gpt_trader_research.catalog_cli import register as register_data

    register_data(app)
    from gpt_trader_research.sweep_cli import register as register_sweep

    register_sweep(app)


# ---- backtest --------------------------------------------------------------------------


def backtest_spec(
    data: Path,
    symbol: str,
    signal: list[str] | None,
    voter: str | None,
    profile: str | None,
    cash: str | None,
    fee_bps: str | None,
    slippage_bps: str | None,
    fill: str,
    volume_cap: str | None,
    leverage: str | None = None,
    margin_type: str | None = None,
    entry: str | None = None,
    stop_loss: str | None = None,
    take_profit: str | None = None,
    trailing: str | None = None,
    max_hold: str | None = None,
    roi: str | None = None,
) -> Any:
    from gpt_trader_research.engine import BacktestSpec
    from gpt_trader_research.specs import parse_component

    if fill not in ("next_open", "close"):
        raise UserError(f"--fill must be next_open or close, not {fill!r}")
    if margin_type is not None and margin_type.upper() not in ("CROSS", "ISOLATED"):
        raise UserError(f"--margin-type must be CROSS or ISOLATED, not {margin_type!r}")
    cap = _dec("--volume-cap", volume_cap, minimum=Decimal(0))
    if cap is not None and not 0 < cap <= 1:
        raise UserError("--volume-cap is a fraction of the bar volume in (0, 1]")
    cash_d = _dec("--cash", cash, minimum=Decimal(0))
    if cash_d is not None and cash_d <= 0:
        raise UserError("--cash must be positive")
    return BacktestSpec(
        data=data,
        symbol=symbol,
        signals=tuple(parse_component(s, "signal") for s in signal or []),
        voter=parse_component(voter, "voter") if voter else None,
        profile=profile,
        cash=cash_d,
        fee_bps=_dec("--fee-bps", fee_bps, minimum=Decimal(0)),
        slippage_bps=_dec("--slippage-bps", slippage_bps, minimum=Decimal(0)) or Decimal(0),
        fill=fill,
        volume_participation=cap,
        leverage=_dec("--leverage", leverage, minimum=Decimal(1)),
        margin_type=None if margin_type is None else margin_type.upper(),
        entry=parse_component(entry, "entry") if entry else None,
        stop_loss_pct=_dec("--stop-loss", stop_loss),
        take_profit_pct=_dec("--take-profit", take_profit),
        trailing_pct=_dec("--trailing", trailing),
        max_hold=max_hold,
        roi=_roi(roi),
    )


def _register_backtest(app: typer.Typer) -> None:
    @app.command()
    def backtest(
        data: Annotated[
            list[Path],
            typer.Option(
                "--data",
                help="Candle CSV (timestamp,open,high,low,close,volume) or catalog:BTC-USD@1m. "
                "Without --symbol: "
                "the profile's whole universe from a directory (BTC-USD.csv, ETH-USD.parquet, "
                "...), files named after their products, or a file with a symbol column "
                "(repeat --data for several).",
            ),
        ],
        symbol: Annotated[
            str | None,
            typer.Option(
                "--symbol",
                help="Product the bars are for, e.g. BTC-USD, BTC-PERP-INTX, BIT-28NOV26-CDE "
                "(without it: a portfolio backtest of the --profile's universe).",
            ),
        ] = None,
        signal: Annotated[
            list[str] | None,
            typer.Option("--signal", help="NAME[:key=value,...]; repeat for an ensemble."),
        ] = None,
        voter: Annotated[
            str | None, typer.Option("--voter", help="NAME[:key=value,...] (default majority).")
        ] = None,
        profile: Annotated[
            str | None,
            typer.Option(
                "--profile",
                "-p",
                help="Take signals, voter, filters, sizer, guards from this profile.",
            ),
        ] = None,
        cash: Annotated[
            str | None,
            typer.Option(
                "--cash",
                help="Starting cash (default 100000); the margin pool's for a future or perp.",
            ),
        ] = None,
        fee_bps: Annotated[
            str | None,
            typer.Option("--fee-bps", help="Fee on notional, maker and taker (default 40/60)."),
        ] = None,
        leverage: Annotated[
            str | None,
            typer.Option(
                "--leverage", help="Futures/perps: leverage of every order (default: profile's)."
            ),
        ] = None,
        margin_type: Annotated[
            str | None,
            typer.Option(
                "--margin-type", help="Futures/perps: CROSS or ISOLATED (default: profile's)."
            ),
        ] = None,
        slippage_bps: Annotated[
            str | None, typer.Option("--slippage-bps", help="Worsen every fill price by this.")
        ] = None,
        fill: Annotated[
            str, typer.Option("--fill", help="next_open (default) or close.")
        ] = "next_open",
        volume_cap: Annotated[
            str | None,
            typer.Option(
                "--volume-cap", help="Max share of a bar's volume one order may take (0-1]."
            ),
        ] = None,
        entry: Annotated[
            str | None,
            typer.Option(
                "--entry",
                help="market (default), limit or post_only[:offset_bps=5,timeout=5m,"
                "reprice=cancel_replace|edit|market,max_reprices=3,fill_on_touch=true]: "
                "the [execution] section.",
            ),
        ] = None,
        stop_loss: Annotated[
            str | None,
            typer.Option("--stop-loss", help="Stop PCT below (above, short) the entry fill."),
        ] = None,
        take_profit: Annotated[
            str | None,
            typer.Option("--take-profit", help="Take profit PCT beyond the entry fill."),
        ] = None,
        trailing: Annotated[
            str | None,
            typer.Option("--trailing", help="Trail the stop PCT behind the best price."),
        ] = None,
        max_hold: Annotated[
            str | None,
            typer.Option("--max-hold", help="Close a position at market after this long (2h)."),
        ] = None,
        roi: Annotated[
            str | None,
            typer.Option(
                "--roi", help="Close once the return reaches PCT after MINUTES: 0=2,30=1,60=0."
            ),
        ] = None,
        product: Annotated[
            list[str] | None,
            typer.Option(
                "--product",
                help="An instrument the sim does not know: SYMBOL:price_increment=0.00001,"
                "base_increment=1[,quote=USD,...]; repeat for several.",
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
        report: Annotated[
            Path | None, typer.Option("--report", help="Write an HTML report (plotly) here.")
        ] = None,
        report_cdn: Annotated[
            bool, typer.Option("--report-cdn", help="Load plotly.js from its CDN (smaller file).")
        ] = False,
        png: Annotated[
            Path | None, typer.Option("--png", help="Write a PNG chart (needs kaleido).")
        ] = None,
        trades: Annotated[
            int, typer.Option("--trades", min=0, help="Trades to list in the table (0: none).")
        ] = 20,
        events: Annotated[
            bool,
            typer.Option(
                "--events", help="Feed every bar through the kernel (no vectorised path)."
            ),
        ] = False,
    ) -> None:
        """Backtest signals on historical bars through the live kernel, guards and sizers:
        one product (--symbol), or the profile's whole universe at once (a portfolio)."""
        from gpt_trader.plugins import make_plugin_manager

        from gpt_trader_research import instruments
        from gpt_trader_research.engine import load_series, run_backtest
        from gpt_trader_research.report import show, write_html, write_png

        spec = backtest_spec(
            data[0],
            symbol or "",
            signal,
            voter,
            profile,
            cash,
            fee_bps,
            slippage_bps,
            fill,
            volume_cap,
            leverage,
            margin_type,
            entry,
            stop_loss,
            take_profit,
            trailing,
            max_hold,
            roi,
        )
        if png is not None and png.suffix.lower() != ".png":
            raise UserError(f"--png {png}: the file name must end in .png")
        if report is not None and report.suffix.lower() not in (".html", ".htm"):
            raise UserError(f"--report {report}: the file name must end in .html")
        for option, path in (("--png", png), ("--report", report)):
            if path is not None:
                _output_file(option, path)
        if symbol is None:
            from gpt_trader_research.portfolio_cli import portfolio_backtest

            portfolio_backtest(spec, data, as_json, report, report_cdn, png, trades, product or [])
            return
        if len(data) > 1:
            raise UserError(
                "--symbol backtests one file; for several products drop --symbol and give "
                "a --profile (its universe)"
            )
        described = instruments.described(product or [], spec.profile, spec.data)
        series = load_series(spec.data, spec.symbol)
        pm = make_plugin_manager()
        for line in instruments.install(pm, described, {spec.symbol: series}):
            _stderr().print(f"[yellow]warning:[/] {line}", highlight=False)
        with bar_progress(len(series), shown=not as_json) as progress_cb:
            result = run_backtest(
                spec, pm, series=series, progress=progress_cb, vectorise=not events
            )
        output(result, show, write_html, write_png, as_json, report, report_cdn, png, trades)


# ---- replay ----------------------------------------------------------------------------


def _register_replay(app: typer.Typer) -> None:
    @app.command()
    def replay(
        state_dir: Annotated[
            Path, typer.Option("--state-dir", help="The recorded bot's state dir.")
        ],
        run: Annotated[
            str | None, typer.Option("--run", help="Run id to replay (default: the last run).")
        ] = None,
        profile: Annotated[
            str | None,
            typer.Option("--profile", "-p", help="Profile to replay with (default: the run's)."),
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the comparison as JSON.")
        ] = False,
        strict: Annotated[
            bool, typer.Option("--strict", help="Exit 1 when anything differs.")
        ] = False,
        limit: Annotated[
            int, typer.Option("--limit", min=0, help="Differences to list in the table.")
        ] = 20,
    ) -> None:
        """Replay a recorded session's market data through the kernel and compare decisions,
        orders, prices and fees with what was recorded."""
        from gpt_trader_research.replay import replay_run, show_replay

        report = replay_run(state_dir, run, profile=profile)
        if as_json:
            _print_json(report.to_json())
        else:
            show_replay(report, _stdout(), limit)
        if strict and not report.identical:
            raise typer.Exit(1)


# ---- optimize --------------------------------------------------------------------------


def _register_optimize(app: typer.Typer) -> None:
    @app.command()
    def optimize(
        data: Annotated[
            list[Path],
            typer.Option(
                "--data",
                help="Candle CSV; without --symbol, the --profile's universe (as backtest).",
            ),
        ],
        signal: Annotated[
            list[str], typer.Option("--signal", help="NAME[:key=value,...]; fixed params.")
        ],
        space: Annotated[
            list[str],
            typer.Option(
                "--space",
                help="key=low:high[:step][:log] or key=a,b,c (signal.key with several signals).",
            ),
        ],
        symbol: Annotated[
            str | None,
            typer.Option(
                "--symbol",
                help="Product the bars are for (without it: one objective over the "
                "--profile's whole universe).",
            ),
        ] = None,
        trials: Annotated[int, typer.Option("--trials", min=1, help="Trials per study.")] = 50,
        objective: Annotated[
            str, typer.Option("--objective", help="sharpe, return or calmar.")
        ] = "sharpe",
        walk_forward: Annotated[
            int,
            typer.Option(
                "--walk-forward", min=0, help="K folds: optimise in-sample, test out-of-sample."
            ),
        ] = 0,
        backend: Annotated[str, typer.Option("--backend", help="local or ray.")] = "local",
        address: Annotated[
            str | None, typer.Option("--address", help="Ray cluster address (with --backend ray).")
        ] = None,
        jobs: Annotated[int, typer.Option("--jobs", min=1, help="Parallel backtests.")] = 1,
        batch: Annotated[
            int,
            typer.Option(
                "--batch",
                min=1,
                help="Trials asked of the sampler at a time (the next batch is asked "
                "before this one's results are in).",
            ),
        ] = 8,
        seed: Annotated[int, typer.Option("--seed", help="Sampler seed.")] = 0,
        voter: Annotated[str | None, typer.Option("--voter", help="NAME[:key=value,...].")] = None,
        profile: Annotated[
            str | None, typer.Option("--profile", "-p", help="Profile for the rest.")
        ] = None,
        cash: Annotated[str | None, typer.Option("--cash", help="Starting cash.")] = None,
        fee_bps: Annotated[str | None, typer.Option("--fee-bps", help="Fee on notional.")] = None,
        slippage_bps: Annotated[str | None, typer.Option("--slippage-bps")] = None,
        fill: Annotated[str, typer.Option("--fill", help="next_open or close.")] = "next_open",
        state_dir: Annotated[
            Path, typer.Option("--state-dir", help="Where research.db (the trials table) lives.")
        ] = Path("var/research"),
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
        top: Annotated[int, typer.Option("--top", min=0, help="Trials to list in the table.")] = 10,
    ) -> None:
        """Search signal parameters with Optuna; each trial is a backtest through the kernel
        (of one product, or of the profile's whole universe)."""
        from gpt_trader_research.optimize import OptimizeSpec, optimize_cli, show_optimize
        from gpt_trader_research.specs import parse_space

        if symbol is None and profile is None:
            raise UserError("optimize: give --symbol (one product) or --profile (its universe)")
        if symbol is not None and len(data) > 1:
            raise UserError("--symbol optimises over one file; drop it for a portfolio")
        base = backtest_spec(
            data[0], symbol or "", signal, voter, profile, cash, fee_bps, slippage_bps, fill, None
        )
        dims = [parse_space(s, list(base.signals)) for s in space]
        spec = OptimizeSpec(
            base=base,
            space=tuple(dims),
            trials=trials,
            objective=objective,
            walk_forward=walk_forward,
            backend=backend,
            address=address,
            jobs=jobs,
            batch=batch,
            seed=seed,
            portfolio=tuple(data) if symbol is None else (),
        )
        result = optimize_cli(spec, state_dir, progress=not as_json)
        if as_json:
            _print_json(result.to_json())
        else:
            show_optimize(result, _stdout(), top)


# ---- strategy new ----------------------------------------------------------------------


def _register_strategy(app: typer.Typer) -> None:
    strategy = typer.Typer(
        help="Write and manage third-party strategy packages.", no_args_is_help=True
    )
    app.add_typer(strategy, name="strategy")

    @strategy.command("new")
    def new(
        name: Annotated[str, typer.Argument(help="Package name, e.g. my_momentum.")],
        directory: Annotated[
            Path, typer.Option("--dir", help="Where to create the package folder.")
        ] = Path("."),
        as_json: Annotated[
            bool, typer.Option("--json", help="Print what was written as JSON.")
        ] = False,
    ) -> None:
        """Write a third-party strategy package: pyproject with the entry point, a signal, a test."""
        from gpt_trader_research.scaffold import new_strategy

        made = new_strategy(name, directory)
        if as_json:
            _print_json(made)
            return
        out = _stdout()
        out.print(f"created {made['path']} (distribution {made['distribution']})")
        for f in made["files"]:
            out.print(f"  {f}")
        out.print(
            f"install it with `uv pip install -e {made['path']}`; its signal is "
            f"{made['signal']!r} (see `gpt-trader plugins list`)"
        )
