"""Telegram against a fake Bot API on loopback: alerts delivered, the commands answered for
allow-listed chats only, each control confirmed before it is recorded, the token nowhere
in logs, errors or the store; and a running bot paused from a chat."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import stop
from fake_telegram import FakeTelegram
from gpt_trader.store import Store
from gpt_trader_ops.notifiers import Alert, build_notifier
from gpt_trader_ops.telegram import CommandBot, TelegramError, TelegramSettings
from hypothesis import HealthCheck, given
from hypothesis import settings as generated
from hypothesis import strategies as st

TOKEN = "123456:SECRET-telegram-token-abcdef"
OWNER, STRANGER = 1001, 666
ENV = {"GPT_TRADER_TELEGRAM_TOKEN": TOKEN}


@pytest.fixture
def fake() -> FakeTelegram:
    with FakeTelegram(TOKEN) as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("bot")
    proc = subprocess.run(
        [sys.executable, "-m", "gpt_trader", "run", "--profile", "dev", "--state-dir",
         str(state), "--for", "5s"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return state


def settings(fake: FakeTelegram, **kw: object) -> TelegramSettings:
    return TelegramSettings(chat_ids=[OWNER], api_url=fake.url, commands=True, poll_s=0, **kw)  # type: ignore[arg-type]


def actions(state: Path) -> list[tuple[str, str]]:
    with Store(state / "gpt_trader.db", create=False) as store:
        return [(a.action, a.reason) for a in store.operator_actions(pending_only=False)]


def test_alert_reaches_every_chat(fake: FakeTelegram) -> None:
    notifier = build_notifier(TelegramSettings(chat_ids=[OWNER, 1002], api_url=fake.url), env=ENV)
    notifier.send(Alert("daily_loss", "critical", "lost 1000.00 USD today", "look", time.time()))
    assert fake.replies_to(OWNER) == fake.replies_to(1002)
    assert fake.replies_to(OWNER)[0].startswith("CRITICAL daily_loss: lost 1000.00 USD today")


def test_reads_answer_the_owner_only(fake: FakeTelegram, store_dir: Path) -> None:
    bot = CommandBot(settings(fake), store_dir, env=ENV)
    fake.user_says(OWNER, "/status")
    fake.user_says(STRANGER, "/status")
    fake.user_says(OWNER, "/positions")
    fake.user_says(OWNER, "/pnl")
    assert bot.poll_once() == 3
    status, positions, pnl = fake.replies_to(OWNER)
    assert status.startswith("dev (sim) stopped")
    assert "state: ACTIVE" in status
    assert "@" in positions or positions == "flat"
    assert "net:" in pnl
    assert "USD" in pnl
    assert fake.replies_to(STRANGER) == []
    assert bot.ignored == 1
    assert bot.poll_once() == 0  # offsets move on: nothing answered twice


def test_controls_need_confirmation(fake: FakeTelegram, store_dir: Path) -> None:
    clock = [0.0]
    bot = CommandBot(settings(fake, confirm_s=60), store_dir, env=ENV, clock=lambda: clock[0])
    before = actions(store_dir)
    fake.user_says(OWNER, "/pause lunch")
    bot.poll_once()
    prompt = fake.replies_to(OWNER)[-1]
    assert "/confirm" in prompt
    assert actions(store_dir) == before  # nothing recorded on one message
    code = prompt.split("/confirm ")[1].split()[0]
    fake.user_says(STRANGER, f"/confirm {code}")  # a stranger cannot confirm it
    fake.user_says(OWNER, "/confirm 000000x")
    bot.poll_once()
    assert actions(store_dir) == before
    fake.user_says(OWNER, f"/confirm {code}")
    bot.poll_once()
    assert "pause recorded" in fake.replies_to(OWNER)[-1]
    assert actions(store_dir)[-1] == ("pause", f"telegram chat {OWNER}: lunch")
    # A confirmation that comes too late records nothing.
    fake.user_says(OWNER, "/stop")
    bot.poll_once()
    late = fake.replies_to(OWNER)[-1].split("/confirm ")[1].split()[0]
    clock[0] = 61.0
    fake.user_says(OWNER, f"/confirm {late}")
    bot.poll_once()
    assert "expired" in fake.replies_to(OWNER)[-1]
    assert actions(store_dir)[-1][0] == "pause"


def test_token_never_shows(fake: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    wrong = {"GPT_TRADER_TELEGRAM_TOKEN": "999:wrong-token-value"}
    bot = CommandBot(settings(fake), Path("."), env=wrong)
    with pytest.raises(TelegramError) as err:
        bot.poll_once()
    assert "wrong-token-value" not in str(err.value)
    assert "Unauthorized" in str(err.value)
    assert "wrong-token-value" not in repr(bot.api)
    with pytest.raises(ValueError, match="GPT_TRADER_TELEGRAM_TOKEN is not set"):
        CommandBot(settings(fake), Path("."), env={})
    assert "wrong-token-value" not in caplog.text


PROFILE = """
[profile]
mode = "sim"
universe = ["BTC-USD", "ETH-USD"]
seed = 7

[broker]
use = "sim"
starting_cash = "100000"

[feed]
use = "synthetic"
interval_s = 60
pace_s = 0.5
warmup_bars = 60

[[signals]]
use = "sma_cross"
fast = 5
slow = 20

[sizer]
use = "fixed"
notional = "100"

[[sinks]]
use = "alerts"
notifiers = [{{ kind = "telegram", chat_ids = [{owner}], api_url = "{url}", commands = true, poll_s = 1 }}]

[run]
guard_interval_s = 0.5
"""


def test_a_running_bot_is_paused_from_a_chat(fake: FakeTelegram, tmp_path: Path) -> None:
    profile = tmp_path / "tg.toml"
    profile.write_text(PROFILE.format(owner=OWNER, url=fake.url))
    state = tmp_path / "state"
    log = tmp_path / "bot.log"
    with log.open("w") as err:
        bot = subprocess.Popen(
            [sys.executable, "-m", "gpt_trader", "run", "--profile", str(profile), "--state-dir",
             str(state), "--for", "120s"],
            stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **ENV},
        )  # fmt: skip
        try:
            fake.user_says(OWNER, "/pause from my phone")
            prompt = fake.wait_reply(OWNER, 1)[0]
            code = prompt.split("/confirm ")[1].split()[0]
            fake.user_says(OWNER, f"/confirm {code}")
            assert "pause recorded" in fake.wait_reply(OWNER, 2)[1]
            fake.user_says(OWNER, "/status")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                fake.user_says(OWNER, "/status")
                replies = fake.wait_reply(OWNER, len(fake.replies_to(OWNER)) + 1)
                if "entries paused" in replies[-1]:
                    break
                time.sleep(0.5)
            assert "entries paused" in fake.replies_to(OWNER)[-1]
        finally:
            stop(bot)
    # The secret is in no log line and no row of the store.
    assert TOKEN not in log.read_text()
    assert TOKEN.encode() not in (state / "gpt_trader.db").read_bytes()
    assert any(TOKEN in p for p in fake.paths)  # it was used: in the request URL only


@generated(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(st.text(max_size=60), min_size=1, max_size=6))
def test_no_message_records_a_control_without_its_confirmation(
    store_dir: Path, texts: list[str]
) -> None:
    """Whatever an allow-listed chat sends (commands, codes, junk), nothing is recorded
    unless a control was asked for and its own code confirmed; every answer is text."""
    bot = CommandBot(
        TelegramSettings(chat_ids=[OWNER], api_url="http://127.0.0.1:9", commands=True),
        store_dir,
        env=ENV,
    )
    before = actions(store_dir)
    for text in texts:
        reply = bot.answer(OWNER, text.replace("confirm", "c0nfirm"))
        assert isinstance(reply, str)
        assert reply
    assert actions(store_dir) == before
    # A code is six digits nobody can guess from the message text alone.
    assert all(len(code) == 6 and code.isdigit() for code in bot.pending)
