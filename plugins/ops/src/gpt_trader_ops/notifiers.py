"""Where alerts go: the log, a webhook (Slack-compatible JSON POST), email over SMTP,
Telegram (:mod:`gpt_trader_ops.telegram`).

Sending happens on a :class:`Dispatcher` thread, never on the kernel's loop: a slow SMTP
server must not delay an order. A notifier that fails is logged (without its URL or
password) and the others still get the alert.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import smtplib
import ssl
import threading
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit

from gpt_trader_ops.settings import (
    EmailSettings,
    LogSettings,
    TelegramSettings,
    WebhookSettings,
)
from gpt_trader_ops.telegram import TelegramNotifier

log = logging.getLogger("gpt_trader.alerts")

_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}
_COLORS = {"info": "#439FE0", "warning": "warning", "critical": "danger"}


@dataclass(frozen=True)
class Alert:
    """One alert as the notifiers send it (the alerts engine decides when)."""

    rule: str
    severity: str
    message: str
    hint: str
    ts: float
    key: str = ""
    run_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def iso_time(self) -> str:
        return datetime.fromtimestamp(self.ts, tz=UTC).isoformat(timespec="seconds")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = self.iso_time
        return data


class Notifier(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


# -- notifiers ---------------------------------------------------------------------------


def describe(alert: Alert) -> str:
    return f"{alert.severity.upper()} {alert.rule}: {alert.message}"


class LogNotifier:
    name = "log"

    def __init__(self, settings: LogSettings | None = None) -> None:
        self.log = logging.getLogger((settings or LogSettings()).logger)

    def send(self, alert: Alert) -> None:
        level = _LEVELS.get(alert.severity, logging.WARNING)
        self.log.log(
            level,
            "alert %s: %s (hint: %s)",
            alert.rule,
            alert.message,
            alert.hint,
            extra={"component": "alerts", "event": alert.rule, "run_id": alert.run_id or None},
        )


class WebhookNotifier:
    name = "webhook"

    def __init__(self, settings: WebhookSettings, env: dict[str, str] | None = None) -> None:
        environ = os.environ if env is None else env
        if settings.url is not None:
            url = settings.url.get_secret_value()
        else:
            url = environ.get(settings.url_env or "", "")
            if not url:
                raise ValueError(f"webhook: environment variable {settings.url_env} is not set")
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("webhook url must be http or https")
        self._url = url
        self.settings = settings

    def __repr__(self) -> str:
        return f"WebhookNotifier({urlsplit(self._url).netloc})"

    def payload(self, alert: Alert) -> dict[str, Any]:
        if self.settings.format == "json":
            return alert.to_json()
        return {
            "text": f":rotating_light: {describe(alert)}",
            "attachments": [
                {
                    "color": _COLORS.get(alert.severity, "warning"),
                    "title": alert.rule,
                    "text": alert.message,
                    "fields": [
                        {"title": "What to do", "value": alert.hint, "short": False},
                        {"title": "Run", "value": alert.run_id or "-", "short": True},
                        {"title": "Severity", "value": alert.severity, "short": True},
                    ],
                    "ts": int(alert.ts),
                }
            ],
        }

    def send(self, alert: Alert) -> None:
        body = json.dumps(self.payload(alert)).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self._url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as resp:  # noqa: S310
                resp.read()
        except OSError as exc:
            # Never echo the URL: a Slack webhook URL is a credential.
            raise RuntimeError(f"webhook POST failed: {type(exc).__name__}") from None


class EmailNotifier:
    name = "email"

    def __init__(self, settings: EmailSettings, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        environ = os.environ if env is None else env
        self._password = environ.get(settings.password_env, "") if settings.password_env else ""
        if settings.password_env and not self._password:
            raise ValueError(f"email: environment variable {settings.password_env} is not set")

    def message(self, alert: Alert) -> EmailMessage:
        s = self.settings
        msg = EmailMessage()
        msg["Subject"] = f"{s.subject_prefix} {describe(alert)}"
        msg["From"] = s.sender
        msg["To"] = ", ".join(s.to)
        msg.set_content(
            f"{alert.message}\n\nWhat to do: {alert.hint}\n\n"
            f"rule: {alert.rule}\nseverity: {alert.severity}\nrun: {alert.run_id or '-'}\n"
            f"time: {alert.iso_time}\n"
        )
        return msg

    def send(self, alert: Alert) -> None:
        s = self.settings
        msg = self.message(alert)
        try:
            if s.use_ssl:
                context = ssl.create_default_context()
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_s, context=context
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            with client:
                if s.starttls and not s.use_ssl:
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, self._password)
                client.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise RuntimeError(f"email to {s.host}:{s.port} failed: {type(exc).__name__}") from None


def build_notifier(settings: Any, env: dict[str, str] | None = None) -> Notifier:
    if isinstance(settings, LogSettings):
        return LogNotifier(settings)
    if isinstance(settings, WebhookSettings):
        return WebhookNotifier(settings, env)
    if isinstance(settings, EmailSettings):
        return EmailNotifier(settings, env)
    if isinstance(settings, TelegramSettings):
        return TelegramNotifier(settings, env)
    raise TypeError(f"unknown notifier settings {type(settings).__name__}")


# -- delivery ----------------------------------------------------------------------------


class Dispatcher:
    """Delivers alerts to every notifier on one background thread, in order."""

    def __init__(self, notifiers: list[Notifier]) -> None:
        self.notifiers = notifiers
        self.sent: dict[str, int] = {n.name: 0 for n in notifiers}
        self.failed: dict[str, int] = {n.name: 0 for n in notifiers}
        self._queue: queue.Queue[Alert | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, alert: Alert) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="gpt-trader-alerts", daemon=True
                )
                self._thread.start()
        self._queue.put(alert)

    def _work(self) -> None:
        while True:
            alert = self._queue.get()
            try:
                if alert is None:
                    return
                for notifier in self.notifiers:
                    try:
                        notifier.send(alert)
                        self.sent[notifier.name] = self.sent.get(notifier.name, 0) + 1
                    except Exception as exc:
                        self.failed[notifier.name] = self.failed.get(notifier.name, 0) + 1
                        log.error(
                            "alert %s not delivered by %s: %s", alert.rule, notifier.name, exc
                        )
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted was delivered (or failed); False on timeout."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)
