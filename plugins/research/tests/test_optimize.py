"""`optimize`: seeded, batched Optuna search over backtests; pruning; walk-forward; Ray."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager
from gpt_trader_research.engine import BacktestSpec
from gpt_trader_research.optimize import OptimizeSpec, run_optimize
from gpt_trader_research.specs import ComponentArg, parse_space

SIGNALS = (ComponentArg("sma_cross", {}),)


def ospec(sample: Path, **kw: object) -> OptimizeSpec:
    sigs = list(SIGNALS)
    base = BacktestSpec(sample, "BTC-USD", SIGNALS, fee_bps=Decimal(0))
    values: dict[str, object] = {
        "base": base,
        "space": (parse_space("fast=5:60", sigs), parse_space("slow=10:80", sigs)),
        "trials": 12,
        "batch": 4,
        "seed": 7,
    }
    values.update(kw)
    return OptimizeSpec(**values)  # type: ignore[arg-type]


def _trials(result) -> list[tuple[int, dict, str, float | None]]:  # type: ignore[no-untyped-def]
    return [(t.number, t.params, t.state, t.value) for t in result.folds[0].trials]


@pytest.fixture(scope="module")
def local(sample: Path, pm: PluginManager, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return run_optimize(ospec(sample), tmp_path_factory.mktemp("opt"), pm=pm)


def test_search_prunes_invalid_combos_and_stores_trials(local) -> None:  # type: ignore[no-untyped-def]
    trials = local.folds[0].trials
    assert len(trials) == 12
    pruned = [t for t in trials if t.state == "PRUNED"]
    assert pruned, "fast=5:60 vs slow=10:80 must propose some fast >= slow"
    for t in pruned:
        assert t.params["sma_cross.fast"] >= t.params["sma_cross.slow"]
        assert "must be less than slow" in t.reason
    complete = [t for t in trials if t.state == "COMPLETE"]
    best = local.best
    assert best is not None
    assert best.value == max(t.value for t in complete)
    with sqlite3.connect(local.db) as conn:
        rows = conn.execute(
            "SELECT number, state, value, params FROM trials WHERE study_id = ? ORDER BY number",
            (local.study_id,),
        ).fetchall()
        study = conn.execute(
            "SELECT objective, seed, result FROM studies WHERE id = ?", (local.study_id,)
        ).fetchone()
    assert [(n, s) for n, s, _, _ in rows] == [(t.number, t.state) for t in trials]
    assert json.loads(rows[best.number][3]) == best.params
    assert study[:2] == ("sharpe", 7)
    assert json.loads(study[2])["best"]["number"] == best.number


def test_same_seed_same_trials_with_a_process_pool(
    sample: Path, pm: PluginManager, local, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    pooled = run_optimize(ospec(sample, jobs=2), tmp_path, pm=pm)
    assert _trials(pooled) == _trials(local)

    def metrics(result) -> list[dict]:  # type: ignore[no-untyped-def]
        return [
            {k: v for k, v in t.metrics.items() if k != "elapsed_s"} for t in result.folds[0].trials
        ]

    assert metrics(pooled) == metrics(local)  # every figure, not only the objective
    other = run_optimize(ospec(sample, seed=8, trials=4), tmp_path, pm=pm)
    assert _trials(other) != _trials(local)[:4]


def test_two_batches_are_in_flight(
    sample: Path, pm: PluginManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Which results the sampler has seen when it is asked decides the trials a seed gives:
    # batch k + 1 is submitted once batch k - 1 is collected (and told), on every backend.
    from gpt_trader_research import optimize

    events: list[tuple[str, int]] = []
    make_backend = optimize.make_backend

    def recording(spec: OptimizeSpec, pm: PluginManager):  # type: ignore[no-untyped-def]
        backend = make_backend(spec, pm)
        submit = backend.submit

        def record(tasks):  # type: ignore[no-untyped-def]
            n = sum(kind == "submit" for kind, _ in events)
            events.append(("submit", n))
            collect = submit(tasks)

            def collected():  # type: ignore[no-untyped-def]
                events.append(("collect", n))
                return collect()

            return collected

        backend.submit = record  # type: ignore[method-assign]
        return backend

    monkeypatch.setattr(optimize, "make_backend", recording)
    run_optimize(ospec(sample, trials=10), tmp_path, pm=pm)  # batches of 4, 4 and 2
    assert events == [
        ("submit", 0),
        ("submit", 1),
        ("collect", 0),
        ("submit", 2),
        ("collect", 1),
        ("collect", 2),
    ]


def test_walk_forward(sample: Path, pm: PluginManager, tmp_path: Path) -> None:
    result = run_optimize(
        ospec(sample, walk_forward=2, trials=6, objective="return"), tmp_path, pm=pm
    )
    out = result.to_json()["walk_forward"]
    folds = out["folds"]
    assert [f["fold"] for f in folds] == [1, 2]
    for f in folds:
        assert f["in_sample"]["bars"] == 1000
        assert f["out_of_sample"]["bars"] == 1000
        assert f["best"]["params"]
        assert "total_return" in f["out_of_sample"]
    assert folds[0]["out_of_sample"]["start"] == folds[1]["in_sample"]["start"]
    assert out["oos_compounded_return"] is not None
    with sqlite3.connect(result.db) as conn:
        phases = conn.execute(
            "SELECT fold, phase, COUNT(*) FROM trials WHERE study_id = ? GROUP BY fold, phase",
            (result.study_id,),
        ).fetchall()
    assert sorted(phases) == [(1, "oos", 1), (1, "search", 6), (2, "oos", 1), (2, "search", 6)]


def test_bad_options(sample: Path, pm: PluginManager, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--objective"):
        run_optimize(ospec(sample, objective="alpha"), tmp_path, pm=pm)
    with pytest.raises(UserError, match="--backend"):
        run_optimize(ospec(sample, backend="dask"), tmp_path, pm=pm)
    with pytest.raises(UserError, match="too few"):
        run_optimize(ospec(sample, walk_forward=2000), tmp_path, pm=pm)


def test_cli_optimize_json(run_main, sample: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_main(
        "optimize", "--data", str(sample), "--symbol", "BTC-USD", "--signal", "sma_cross",
        "--space", "fast=5:50", "--space", "slow=20:200", "--trials", "6", "--seed", "3",
        "--objective", "calmar", "--state-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["objective"] == "calmar"
    assert len(data["trials"]) == 6
    assert data["space"] == ["sma_cross.fast", "sma_cross.slow"]
    assert (tmp_path / "research.db").is_file()
    # Each trial's money is printed (and stored) to the cent.
    done = [t for t in data["trials"] if t["state"] == "COMPLETE"]
    assert done
    figures = [t[k] for t in done for k in ("final_equity", "fees")]
    db = sqlite3.connect(tmp_path / "research.db")
    try:
        figures += [x for row in db.execute("SELECT final_equity, fees FROM trials") for x in row]
    finally:
        db.close()
    assert [x for x in figures if -Decimal(x).as_tuple().exponent != 2] == []
    code, _, err = run_main(
        "optimize", "--data", str(sample), "--symbol", "BTC-USD", "--signal", "sma_cross",
        "--space", "fast", "--state-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 2
    assert "--space 'fast'" in err


def test_ray_gives_the_same_best_parameters(
    sample: Path, pm: PluginManager, local, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # Under `uv run`, Ray would re-create the uv environment for its workers (slow); the
    # workers share this interpreter's environment anyway. Read when ray is imported.
    monkeypatch.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    ray = pytest.importorskip("ray")
    import ray._private.ray_constants as constants  # when ray was imported earlier

    monkeypatch.setattr(constants, "RAY_ENABLE_UV_RUN_RUNTIME_ENV", False, raising=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        result = run_optimize(ospec(sample, backend="ray", jobs=2), tmp_path, pm=pm)
        assert ray.is_initialized()  # it joined our Ray and left it running
    finally:
        ray.shutdown()
    assert _trials(result) == _trials(local)
    assert result.best is not None
    assert local.best is not None
    assert result.best.params == local.best.params
