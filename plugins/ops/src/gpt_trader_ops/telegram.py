"""Telegram: alerts as messages, and a command bot for allow-listed chats.

Alerts reach Telegram through the alerts engine like any notifier (cooldowns included).
With ``commands = true`` the bot also answers ``/status``, ``/positions``, ``/pnl``,
``/pause``, ``/resume`` and ``/stop`` from the chats in ``chat_ids`` and from no other.
A control is never applied on one message: the bot answers with a code, and only
``/confirm CODE`` within ``confirm_s`` records it, through the same operator-action path as
the CLI, with the chat named in the reason. Messages from other chats are logged by chat
id and never answered.

The bot token is a secret: it is read from the environment (``token_env``), lives only in
request URLs, and no log line, error or repr shows it.

The Bot API is plain HTTPS + JSON (``getUpdates`` long polling, ``sendMessage``), spoken
here with the standard library on a background thread, so the kernel's loop never waits
on Telegram.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gpt_trader.control import record
from gpt_trader.errors import UserError
from gpt_trader.monitor.reader import StoreReader

from gpt_trader_ops.settings import TelegramSettings

log = logging.getLogger("gpt_trader.telegram")

CONTROLS = {"pause": "pause", "resume": "resume", "stop": "stop"}
READS = ("status", "positions", "pnl")
HELP = (
    "/status /positions /pnl to read; /pause, /resume, /stop [reason] to act "
    "(each asks for /confirm CODE)"
)


class TelegramError(RuntimeError):
    """A failed Bot API call; its text never holds the token."""


class BotApi:
    def __init__(self, settings: TelegramSettings, env: dict[str, str] | None = None) -> None:
        environ = os.environ if env is None else env
        token = environ.get(settings.token_env, "")
        if not token:
            raise ValueError(f"telegram: environment variable {settings.token_env} is not set")
        if urlsplit(settings.api_url).scheme not in ("http", "https"):
            raise ValueError("telegram: api_url must be http or https")
        self._base = f"{settings.api_url.rstrip('/')}/bot{token}/"
        self.settings = settings

    def __repr__(self) -> str:
        return f"BotApi({urlsplit(self.settings.api_url).netloc})"

    def call(self, method: str, http_timeout: float | None = None, **params: Any) -> Any:
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self._base + method,
            data=json.dumps(params).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=http_timeout or self.settings.timeout_s
            ) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            # The Bot API explains a refusal in its JSON body (never the URL: it holds the token).
            try:
                text = str(json.loads(exc.read()).get("description", ""))
            except (OSError, ValueError, AttributeError):
                text = ""
            raise TelegramError(f"telegram {method} refused ({exc.code}): {text[:200]}") from None
        except (OSError, ValueError) as exc:
            raise TelegramError(f"telegram {method} failed: {type(exc).__name__}") from None
        if not isinstance(body, dict) or not body.get("ok"):
            text = body.get("description", "") if isinstance(body, dict) else ""
            raise TelegramError(f"telegram {method} refused: {str(text)[:200]}")
        return body.get("result")

    def send(self, chat_id: int, text: str) -> None:
        self.call("sendMessage", chat_id=chat_id, text=text[:4000])


class TelegramNotifier:
    name = "telegram"

    def __init__(self, settings: TelegramSettings, env: dict[str, str] | None = None) -> None:
        self.api = BotApi(settings, env)
        self.chat_ids = settings.chat_ids

    def send(self, alert: Any) -> None:
        """Send an alert (:class:`gpt_trader_ops.notifiers.Alert`) to every chat."""
        text = f"{alert.severity.upper()} {alert.rule}: {alert.message}\nWhat to do: {alert.hint}"
        for chat_id in self.chat_ids:
            self.api.send(chat_id, text)


@dataclass
class _Pending:
    action: str
    reason: str
    chat_id: int
    expires: float


class CommandBot:
    """Long-polls ``getUpdates`` on its own thread and answers allow-listed chats."""

    def __init__(
        self,
        settings: TelegramSettings,
        state_dir: Path,
        env: dict[str, str] | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.api = BotApi(settings, env)
        self.settings = settings
        self.state_dir = state_dir
        self.allowed = set(settings.chat_ids)
        self.clock = clock
        self.pending: dict[str, _Pending] = {}
        self.answered = 0
        self.ignored = 0
        self._offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="gpt-trader-telegram", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _work(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.poll_once()
                failures = 0
            except TelegramError as exc:
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("%s (attempt %d)", exc, failures)
                self._stop.wait(min(30.0, 1.0 * failures))
            except Exception:  # a bug here must never stop trading
                log.exception("telegram command bot failed; retrying")
                self._stop.wait(5.0)

    def poll_once(self) -> int:
        """Fetch and answer new updates; returns how many were handled."""
        poll = self.settings.poll_s
        updates = self.api.call(
            "getUpdates",
            http_timeout=poll + self.settings.timeout_s,
            offset=self._offset,
            timeout=poll,
        )
        handled = 0
        for update in updates or []:
            if not isinstance(update, dict):
                continue
            self._offset = max(self._offset, int(update.get("update_id", 0)) + 1)
            message = update.get("message") or {}
            chat_id = (message.get("chat") or {}).get("id")
            text = message.get("text")
            if not isinstance(chat_id, int) or not isinstance(text, str):
                continue
            if chat_id not in self.allowed:
                self.ignored += 1
                log.warning("telegram: ignored a message from chat %d (not in chat_ids)", chat_id)
                continue
            self.api.send(chat_id, self.answer(chat_id, text))
            self.answered += 1
            handled += 1
        return handled

    def answer(self, chat_id: int, text: str) -> str:
        words = text.strip().split(maxsplit=1)
        if not words:
            return HELP
        command = words[0].lstrip("/").split("@", 1)[0].lower()
        rest = words[1].strip() if len(words) > 1 else ""
        if command in READS:
            return self._read(command)
        if command in CONTROLS:
            code = f"{secrets.randbelow(10**6):06d}"
            reason = rest or f"{command} from Telegram"
            self.pending[code] = _Pending(
                CONTROLS[command], reason, chat_id, self.clock() + self.settings.confirm_s
            )
            return (
                f"{command.upper()} the bot ({reason})? Send /confirm {code} within "
                f"{self.settings.confirm_s:.0f} s."
            )
        if command == "confirm":
            return self._confirm(chat_id, rest)
        return HELP

    def _confirm(self, chat_id: int, code: str) -> str:
        pending = self.pending.pop(code, None)
        if pending is None or pending.chat_id != chat_id:
            return "No such request to confirm; send the command again."
        if self.clock() > pending.expires:
            return f"That {pending.action} request expired; send it again."
        try:
            action_id = record(
                self.state_dir, pending.action, f"telegram chat {chat_id}: {pending.reason}"
            )
        except UserError as exc:
            return f"Not recorded: {exc}"
        return f"{pending.action} recorded (#{action_id}); the bot applies it on its next poll."

    def _read(self, command: str) -> str:
        reader = StoreReader(self.state_dir)
        try:
            data = reader.read(time.time_ns())
        finally:
            reader.close()
        quote = reader.increments.quote
        if data.error:
            return data.error
        if command == "status":
            run = data.run
            lines = [
                f"{run.profile} ({run.mode}) {'stopped' if run.finished else 'running'}"
                if run
                else "no run yet",
                f"state: {data.trading_state}"
                + (" (entries paused)" if data.entries_paused else ""),
            ]
            lines += [text for _, text in data.banners()]
            return "\n".join(lines)
        if command == "positions":
            rows = [
                f"{p.symbol} {p.size} @ {p.avg_entry} (mark {p.mark}, unrealized {p.unrealized})"
                + (f" stop {p.stop}" if p.stop is not None else "")
                + (f" target {p.target}" if p.target is not None else "")
                for p in data.positions
                if p.size != 0
            ]
            return "\n".join(rows) or "flat"
        return "\n".join(f"{kind}: {value} {quote}" for kind, value in data.pnl.items()) or (
            "no P&L yet"
        )
