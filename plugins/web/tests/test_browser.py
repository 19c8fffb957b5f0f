"""The dashboard in a real browser (Debian's chromium driven by Playwright) against a
running dev bot: the positions table and the state banner come from the bot, Pause with
the token pauses it, Pause without the token is refused and changes nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_support import WebServer, dev_bot, start_web, stop

# Set to a folder (docs/) to refresh the README's screenshots from this test's pages.
SHOTS = os.environ.get("GPT_TRADER_SCREENSHOTS")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs it with apt)"
)


def _api(server: WebServer, path: str) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(server.url + "api/v1/" + path, timeout=10) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def _wait(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError("timed out waiting")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, WebServer]]:
    state = tmp_path_factory.mktemp("live")
    bot = dev_bot(state, "--for", "300s")
    server: WebServer | None = None
    try:
        _wait(lambda: (state / "gpt_trader.db").exists())
        server = start_web(state)
        _wait(lambda: len(_api(server, "positions")) > 0)
        yield state, server
    finally:
        if server is not None:
            stop(server.proc)
        stop(bot)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def page(live: tuple[Path, WebServer]):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(live[1].url)
        yield tab
        assert errors == []  # no script errors (CSP included)
        browser.close()


def test_positions_and_state_come_from_the_bot(page, live) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#live.live")  # the event stream is flowing
    rows = page.locator("#positions tbody tr")
    assert rows.count() > 0
    symbols = {rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())}
    api = {p["symbol"] for p in _api(live[1], "positions")}
    assert symbols & api
    assert page.locator("#state").inner_text() == "ACTIVE"
    assert page.locator("#run").inner_text().startswith("dev")
    # The running bot's equity, as it last recorded it, and when.
    page.wait_for_function("document.querySelector('#equity').textContent !== '—'")
    assert re.fullmatch(r"\d+\.\d{2}", page.locator("#equity").inner_text())
    assert re.fullmatch(r"as of \d\d:\d\d:\d\d UTC", page.locator("#equity-at").inner_text())
    page.wait_for_selector("#chart .main-svg")  # plotly, served from the package, drew
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "web-dashboard-phone.png"), full_page=True)


def test_pause_without_the_token_is_refused(page, live) -> None:  # type: ignore[no-untyped-def]
    page.fill("#token", "")
    page.click("button[data-action=pause]")
    page.wait_for_selector("#control-result.error")
    assert "401" in page.locator("#control-result").inner_text()
    time.sleep(2)
    assert _api(live[1], "state")["entries_paused"] is False


def test_pause_with_the_token_pauses_the_bot(page, live) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.fill("#token", live[1].token)
    page.fill("#reason", "checking the dashboard")
    page.click("button[data-action=pause]")
    page.wait_for_selector("#control-result.ok")
    expect(page.locator("#state")).to_have_text("PAUSED", timeout=60_000)
    state = _api(live[1], "state")
    assert state["entries_paused"] is True
    assert "checking the dashboard" in state["pause_reason"]
    banners = page.locator("#banners .banner").all_inner_texts()
    assert any("ENTRIES PAUSED" in b for b in banners)
    if SHOTS:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(Path(SHOTS) / "web-dashboard-paused.png"), full_page=True)
