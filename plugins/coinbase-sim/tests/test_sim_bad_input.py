"""Bad input to ``gpt-trader sim serve`` gets one line on stderr and exit 2, before anything is
written: no key file, TLS files or sim.json are left by a refused command. The CLI runs as a
subprocess, as a user runs it; the fault-spec grammar is also fed generated specs in-process.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import string
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from coinbase.rest import RESTClient
from gpt_trader.cli.main import main
from gpt_trader_coinbase_sim.faults import FaultSpecError, parse_spec
from gpt_trader_coinbase_sim.testing import assert_refused
from hypothesis import given, settings
from hypothesis import strategies as st

BIN = Path(sys.executable).parent / "gpt-trader"


def serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), "sim", "serve", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# The rows of issue #19, through the CLI as a user runs it (a subprocess).
ISSUE_ROWS = [
    (("--balances", "USD=-100"), ("--balances", "USD=-100", ">= 0")),
    (("--balances", "USD=abc"), ("--balances", "USD=abc", "USD=100000")),
    (("--port", "99999"), ("--port", "65535")),
    (("--faults", "ratelimit=-5"), ("--faults", "ratelimit", "negative")),
    (("--products", ","), ("--products", "at least one product")),
    (("--tick", "0"), ("--tick", "greater than 0")),
    (("--tick", "-1"), ("--tick", "greater than 0")),
]

# More of the same, through the same entry point in-process (``main``), for speed.
MORE_ROWS = [
    (("--balances", "=5"), ("--balances", "CURRENCY=AMOUNT")),
    (("--balances", "USD=NaN"), ("--balances", "USD=NaN")),
    (("--port", "-1"), ("--port", "0")),
    (("--faults", "429=2"), ("--faults", "outside [0, 1]")),
    (("--faults", "latency=fast"), ("--faults", "bad duration")),
    (("--faults", "nope=1"), ("--faults", "unknown fault")),
    (("--faults", "gap"), ("--faults", "key=value")),
    (("--faults", "ambiguous_mode=maybe"), ("--faults", "delay, drop or mixed")),
    (("--faults", "seed=x"), ("--faults", "bad seed")),
    (("--faults", "latency=9ms..1ms"), ("--faults", "low..high")),
    (("--faults", "ratelimit=1.5"), ("--faults", "bad ratelimit")),
    (("--faults", "paths=orders"), ("--faults", "paths")),
    (("--faults", "429=0.1,429=0.2"), ("--faults", "twice")),
    (("--faults", "stall=@1s"), ("--faults", "bad duration")),
    (("--faults", "ambiguous_delay=3000m"), ("--faults", "longer than a day")),
    (("--products", "FOO-BAR"), ("FOO-BAR", "known")),
    (("--tick", "inf"), ("--tick", "finite")),
    (("--replay", "no-such.csv"), ("--replay", "no-such.csv")),
]


def _ids(rows: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> list[str]:
    return [" ".join(args) for args, _ in rows]


@pytest.mark.parametrize(("args", "words"), ISSUE_ROWS, ids=_ids(ISSUE_ROWS))
def test_a_bad_option_is_one_line_and_writes_nothing(tmp_path, args, words):
    run = serve("--state-dir", "state", *args, cwd=tmp_path)
    assert_refused(run, *words)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "words"), MORE_ROWS, ids=_ids(MORE_ROWS))
def test_more_bad_options_in_process(tmp_path, monkeypatch, capsys, args, words):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["sim", "serve", "--state-dir", "state", *args])
    out = capsys.readouterr()
    run = subprocess.CompletedProcess([], int(exit_.value.code or 0), out.out, out.err)
    assert_refused(run, *words)
    assert list(tmp_path.iterdir()) == []


def test_a_state_dir_under_a_regular_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    run = serve("--state-dir", "afile/sim", cwd=tmp_path)
    assert_refused(run, "--state-dir", "is a file, not a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_port_in_use_is_one_line_and_leaves_no_files(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        run = serve("--state-dir", "state", "--port", port, "--tick", "60", cwd=tmp_path)
    assert_refused(run, f"127.0.0.1:{port}", "in use")
    assert list(tmp_path.iterdir()) == []


def test_sim_json_names_absolute_files_for_a_relative_state_dir(tmp_path):
    cmd = [str(BIN), "sim", "serve", "--state-dir", "rel/sim", "--products", "BTC-USD"]
    proc = subprocess.Popen(
        [*cmd, "--tick", "60"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    written = json.loads((tmp_path / "rel" / "sim" / "sim.json").read_text())
    assert written == info
    for key in ("cert_file", "key_file", "tls_key_file", "state_dir"):
        assert os.path.isabs(info[key]), (key, info[key])
        assert Path(info[key]).exists()
    assert "Traceback" not in proc.stderr.read()


def test_a_dropped_reply_is_one_log_line_not_a_traceback(make_sim, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    sim = make_sim(faults="ambiguous=1,ambiguous_mode=drop,paths=/orders")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    client = RESTClient(key_file=sim.info.key_file, base_url=sim.info.rest_base_url, timeout=5)
    order = {"market_market_ioc": {"base_size": "0.001"}}
    with pytest.raises(requests.exceptions.ConnectionError):
        client.create_order(str(uuid.uuid4()), "BTC-USD", "BUY", order)
    faults = [r for r in caplog.records if "injected fault ambiguous_drop" in r.getMessage()]
    assert len(faults) == 1
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert sim.state.faults.counts["ambiguous_drop"] == 1


# -- the fault-spec grammar, fed generated specs ---------------------------------------------

_KEYS = ["429", "5xx", "ambiguous", "ws_drop", "gap", "latency", "ratelimit", "stall", "seed"]
_junk = st.text(alphabet=string.printable, max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([*_KEYS, "paths", "nope", ""]), _junk), max_size=4))
def test_a_generated_spec_parses_or_says_why_in_one_line(items):
    spec = ",".join(f"{k}={v}" for k, v in items)
    try:
        cfg = parse_spec(spec)
    except FaultSpecError as exc:
        why = str(exc)
        assert why
        assert "\n" not in why
        return
    for p in (cfg.p429, cfg.p5xx, cfg.ambiguous, cfg.ws_drop, cfg.gap):
        assert 0 <= p <= 1
    assert cfg.ratelimit >= 0
    assert 0 <= cfg.latency[0] <= cfg.latency[1] <= 86_400
    assert cfg.stall >= 0
    assert all(p.startswith("/") for p in cfg.paths)
