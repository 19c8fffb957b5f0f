"""``gpt-trader data``: the Parquet data catalogue (:mod:`gpt_trader_research.catalog`).

``download``, ``import``, ``list``, ``resample`` and ``export``; each takes ``--catalog DIR``
(default ``var/research/catalog``) and ``--json``. Bad input is one line and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CatalogOption = Annotated[
    Path | None,
    typer.Option("--catalog", help="The catalogue directory (default var/research/catalog)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _root(catalog: Path | None) -> Path:
    from gpt_trader_research.catalog import default_catalog

    return catalog if catalog is not None else default_catalog()


def _say(text: str) -> None:
    from gpt_trader.output import stdout

    stdout.print(text, highlight=False)


def _json(data: object) -> None:
    from gpt_trader.output import print_json

    print_json(data)


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(
        help="The data catalogue: candles in Parquet, per product and granularity.",
        no_args_is_help=True,
    )
    app.add_typer(data_app, name="data")

    @data_app.command("import")
    def import_(
        file: Annotated[Path, typer.Argument(help="CSV or Parquet file of OHLCV bars.")],
        symbol: Annotated[str, typer.Option("--symbol", help="Product the bars are for.")],
        granularity: Annotated[
            str | None,
            typer.Option("--granularity", help="Bar length (default: the smallest step)."),
        ] = None,
        catalog: CatalogOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Validate a file of bars and add it to the catalogue (a bad row imports nothing)."""
        from gpt_trader_research.catalog_import import import_file

        out = import_file(file, symbol, _root(catalog), granularity)
        if as_json:
            _json(out)
            return
        _say(
            f"imported {out['rows']:,} bars of {out['symbol']} ({out['granularity']}) "
            f"{out['start']} .. {out['end']} into {out['file']}"
        )

    @data_app.command("download")
    def download(
        symbol: Annotated[str, typer.Option("--symbol", help="Product id, e.g. BTC-USD.")],
        start: Annotated[str, typer.Option("--start", help="ISO-8601 UTC or UNIX seconds.")],
        end: Annotated[str, typer.Option("--end", help="ISO-8601 UTC or UNIX seconds.")],
        granularity: Annotated[
            str,
            typer.Option("--granularity", help="ONE_MINUTE, FIVE_MINUTE, ... or 1m, 5m, 1h, 1d."),
        ] = "ONE_MINUTE",
        sim_json: Annotated[
            Path | None,
            typer.Option("--sim-json", help="sim.json of a Coinbase-protocol simulator to use."),
        ] = None,
        refresh: Annotated[
            bool, typer.Option("--refresh", help="Fetch again what is already there.")
        ] = False,
        catalog: CatalogOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Download Coinbase public candles (or its simulator's), 300 a page, resuming where
        the catalogue stops."""
        from gpt_trader_research.data import download as fetch
        from gpt_trader_research.results_output import page_progress

        with page_progress(shown=not as_json) as progress:
            out = fetch(
                symbol,
                granularity,
                start,
                end,
                _root(catalog),
                sim_json=sim_json,
                refresh=refresh,
                progress=progress,
            )
        if as_json:
            _json(out)
            return
        _say(
            f"{out['symbol']} {out['granularity']}: {out['pages_fetched']} page(s) fetched, "
            f"{out['pages_cached']} already there; {out['candles']:,} candles, "
            f"{out['no_trade']:,} no-trade buckets; {out['file']}"
        )

    @data_app.command("resample")
    def resample(
        symbol: Annotated[str, typer.Option("--symbol", help="Product id.")],
        to: Annotated[str, typer.Option("--to", help="Target bar length: 5m, 15m, 1h, 1d.")],
        source: Annotated[str, typer.Option("--from", help="Source bar length.")] = "1m",
        catalog: CatalogOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Aggregate bars into a coarser granularity, exactly (a new partition)."""
        from gpt_trader_research.catalog import resample as run

        out = run(symbol, source, to, _root(catalog))
        if as_json:
            _json(out)
            return
        _say(f"{out['symbol']} {out['from']} -> {out['to']}: {out['bars']:,} bars in {out['file']}")

    @data_app.command("export")
    def export(
        symbol: Annotated[str, typer.Option("--symbol", help="Product id.")],
        out_file: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
        granularity: Annotated[str, typer.Option("--granularity")] = "1m",
        catalog: CatalogOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Write a partition as the CSV ``backtest --data`` reads."""
        from gpt_trader_research.catalog import export_csv

        out = export_csv(symbol, granularity, out_file, _root(catalog))
        if as_json:
            _json(out)
            return
        _say(f"wrote {out['rows']:,} bars to {out['file']}")

    @data_app.command("list")
    def list_(catalog: CatalogOption = None, as_json: JsonOption = False) -> None:
        """What the catalogue holds: products, granularities, ranges and gaps."""
        from gpt_trader.output import stdout
        from rich.table import Table

        from gpt_trader_research.catalog import summary

        rows = summary(_root(catalog))
        if as_json:
            _json(rows)
            return
        if not rows:
            _say(f"The catalogue {_root(catalog)} is empty.")
            return
        table = Table("Product", "Granularity", "Bars", "No-trade", "Gaps", "From", "To")
        for r in rows:
            gaps = f"{len(r['gaps']):,} ({r['missing']:,} bars)" if r["gaps"] else "none"
            table.add_row(
                r["symbol"],
                r["granularity"],
                f"{r['bars']:,}",
                f"{r['no_trade']:,}",
                gaps,
                r["start"],
                r["end"],
            )
        stdout.print(table)
