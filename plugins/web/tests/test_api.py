"""The JSON API over a real store and a real server on loopback: reads, the schema, the
controls behind the token, read-only mode, headers, and each bad start in one line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.store import Store
from web_support import WebServer, dev_bot, start_web, stop


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


def post(url: str, body: Any, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def actions(state_dir: Path) -> list[tuple[str, str]]:
    with Store(state_dir / "gpt_trader.db", create=False) as store:
        return [(a.action, a.reason) for a in store.operator_actions(pending_only=False)]


def test_dashboard_reads_the_store(web: WebServer, finished_store: Path) -> None:
    status, body, headers = get(web.url + "api/v1/dashboard")
    assert status == 200
    assert body["state"]["profile"] == "dev"
    assert body["state"]["running"] is False
    assert body["fill_count"] > 0
    assert body["positions"], "a dev run ends holding something"
    for pos in body["positions"]:
        Decimal(pos["size"])  # exact decimal strings
        assert pos["account"] == pos["size"]  # the bot's inventory is what the account holds
    # Money on the cent, every day and product of the run.
    assert body["pnl"]["by_day"]
    for day in body["pnl"]["by_day"]:
        assert Decimal(day["net"]) == Decimal(day["realized"]) - Decimal(day["fees"])
        assert -Decimal(day["fees"]).as_tuple().exponent == 2
    assert [r["profile"] for r in body["runs"]] == ["dev"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path", ["state", "positions", "orders", "fills", "pnl", "trips", "alerts", "freshness", "runs"]
)
def test_each_part_has_its_endpoint(web: WebServer, path: str) -> None:
    _, whole, _ = get(web.url + "api/v1/dashboard")
    status, part, _ = get(web.url + f"api/v1/{path}")
    assert status == 200
    if path == "pnl":
        assert part["totals"] == whole["pnl"]["totals"]
    elif path == "state":
        assert part["run_id"] == whole["state"]["run_id"]
    else:
        assert isinstance(part, list)


def test_openapi_is_generated_from_the_models(web: WebServer) -> None:
    status, doc, _ = get(web.url + "api/v1/openapi.json")
    assert status == 200
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/control/{action}" in doc["paths"]
    position = doc["components"]["schemas"]["PositionView"]
    assert set(position["properties"]) >= {"symbol", "size", "stop", "target", "account"}


def test_controls_need_the_token(web: WebServer, finished_store: Path) -> None:
    before = actions(finished_store)
    assert post(web.url + "api/v1/control/pause", {"reason": "x"})[0] == 401
    assert post(web.url + "api/v1/control/pause", {"reason": "x"}, token="wrong" * 8)[0] == 401
    assert actions(finished_store) == before  # nothing changed
    status, body = post(web.url + "api/v1/control/pause", {"reason": "lunch"}, token=web.token)
    assert status == 200, body
    assert actions(finished_store)[-1] == ("pause", "web: lunch")
    assert os.stat(web.token_file).st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("action", "body", "status", "words"),
    [
        ("pause", {}, 400, "reason"),
        ("pause", {"reason": "   "}, 400, "reason"),
        ("pause", b"not json", 400, "JSON"),
        ("pause", ["list"], 400, "reason"),
        ("pause", {"reason": "x" * 501}, 400, "500"),
        ("explode", {"reason": "x"}, 404, "unknown action"),
    ],
)
def test_bad_control_requests_get_a_json_error(
    web: WebServer, finished_store: Path, action: str, body: Any, status: int, words: str
) -> None:
    before = actions(finished_store)
    got, answer = post(web.url + f"api/v1/control/{action}", body, token=web.token)
    assert got == status
    assert words in answer["error"]
    assert actions(finished_store) == before


def test_unknown_api_path_is_json_404(web: WebServer) -> None:
    status, body, _ = get(web.url + "api/v1/nothing")
    assert status == 404
    assert "error" in body


def test_read_only_has_no_controls(finished_store: Path) -> None:
    server = start_web(finished_store, "--read-only")
    try:
        status, _ = post(server.url + "api/v1/control/pause", {"reason": "x"}, server.token)
        assert status in (404, 405)
        assert get(server.url + "api/v1/server")[1]["read_only"] is True
        doc = get(server.url + "api/v1/openapi.json")[1]
        assert "/api/v1/control/{action}" not in doc["paths"]
    finally:
        stop(server.proc)


def _web_fails(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gpt_trader", "web", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_starts_say_one_line(tmp_path: Path, finished_store: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        cases = {
            "no store": (["--state-dir", str(tmp_path)], "no store"),
            "not a dir": (["--state-dir", str(tmp_path / "missing")], "does not exist"),
            "port in use": (
                ["--state-dir", str(finished_store), "--port", str(port)],
                "in use",
            ),
            "public bind": (
                ["--state-dir", str(finished_store), "--host", "0.0.0.0"],
                "not loopback",
            ),
        }
        for name, (args, words) in cases.items():
            proc = _web_fails(*args)
            assert proc.returncode != 0, name
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1, (name, proc.stderr)
            assert words in lines[0], (name, lines)
            assert "Traceback" not in proc.stderr
    finally:
        busy.close()
    assert not (tmp_path / "web-token").exists()  # refused before anything was written


def test_a_newer_store_is_refused(tmp_path: Path, finished_store: Path) -> None:
    import shutil
    import sqlite3

    state = tmp_path / "newer"
    shutil.copytree(finished_store, state, ignore=shutil.ignore_patterns("web-token"))
    with sqlite3.connect(state / "gpt_trader.db") as conn:
        conn.execute("INSERT INTO _migrations VALUES ('m999_from_the_future', 0)")
    proc = _web_fails("--state-dir", str(state))
    assert proc.returncode != 0
    assert "newer gpt-trader" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_token_file_readable_by_others_is_refused(tmp_path: Path, finished_store: Path) -> None:
    token = tmp_path / "token"
    token.write_text("x" * 40)
    token.chmod(0o644)
    proc = _web_fails("--state-dir", str(finished_store), "--token-file", str(token))
    assert proc.returncode != 0
    assert "chmod 600" in proc.stderr


def test_run_serves_the_dashboard_inside_the_bot(tmp_path: Path) -> None:
    import re

    bot = dev_bot(tmp_path, "--for", "120s", "--web-port", "0", stderr=subprocess.PIPE)
    try:
        assert bot.stderr is not None
        url = None
        for line in bot.stderr:
            found = re.search(r"web dashboard on (http://127\.0\.0\.1:\d+/)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "the bot never said where its dashboard is"
        status, state, _ = get(url + "api/v1/state")
        assert status == 200
        assert state["running"] is True
        assert state["profile"] == "dev"
        assert (tmp_path / "web-token").stat().st_mode & 0o777 == 0o600
    finally:
        stop(bot)
