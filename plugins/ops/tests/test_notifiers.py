"""Notifiers over real sockets on 127.0.0.1: a webhook receiver (http.server), an SMTP
server (aiosmtpd), and the log."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from gpt_trader_ops.alerts import AlertEngine, AlertsParams
from gpt_trader_ops.notifiers import (
    EmailNotifier,
    EmailSettings,
    LogNotifier,
    WebhookNotifier,
    WebhookSettings,
)
from ops_support import Clock, connection, free_port, stopped


class Receiver:
    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.paths.append(self.path)
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/s3cr3tt0ken"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_webhook_posts_slack_compatible_json(receiver: Receiver) -> None:
    hook = WebhookNotifier(WebhookSettings(url_env="HOOK"), env={"HOOK": receiver.url})
    engine = AlertEngine(notifiers=[hook], clock=Clock())
    engine.on_event(connection("coinbase.ws", "disconnected", "1006"))
    engine.close()
    (body,) = receiver.bodies
    assert receiver.paths == ["/services/T000/B000/s3cr3tt0ken"]
    assert "connection_lost" in body["text"]
    assert "coinbase.ws disconnected" in body["text"]
    (attachment,) = body["attachments"]
    assert attachment["color"] == "danger"
    assert attachment["fields"][0]["title"] == "What to do"
    assert "reconnects" in attachment["fields"][0]["value"]
    assert engine.dispatcher.sent == {"webhook": 1}


def test_webhook_json_format_posts_the_alert(receiver: Receiver) -> None:
    hook = WebhookNotifier(WebhookSettings(url=receiver.url, format="json"))
    engine = AlertEngine(notifiers=[hook], clock=Clock())
    engine.on_event(stopped("error"))
    engine.close()
    (body,) = receiver.bodies
    assert body["rule"] == "bot_stopped"
    assert body["severity"] == "critical"
    assert body["hint"]
    assert body["time"].endswith("+00:00")


def test_a_failing_webhook_is_logged_without_its_url(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks/s3cr3tt0ken"  # nothing listens there
    recorder = LogNotifier()
    hook = WebhookNotifier(WebhookSettings(url=url, timeout_s=2))
    engine = AlertEngine(notifiers=[hook, recorder], clock=Clock())
    with caplog.at_level(logging.INFO, logger="gpt_trader.alerts"):
        engine.on_event(stopped("signal"))
        engine.close()
    assert engine.dispatcher.failed["webhook"] == 1
    assert engine.dispatcher.sent["log"] == 1, "one failing notifier must not stop the others"
    assert "not delivered by webhook" in caplog.text
    assert "s3cr3tt0ken" not in caplog.text
    assert "s3cr3tt0ken" not in repr(hook)


def test_webhook_refuses_non_http_urls() -> None:
    with pytest.raises(ValueError, match="http or https"):
        WebhookNotifier(WebhookSettings(url="file:///etc/passwd"))
    with pytest.raises(ValueError, match="not set"):
        WebhookNotifier(WebhookSettings(url_env="NOPE"), env={})


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def test_email_is_sent_over_smtp() -> None:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    inbox = Inbox()
    port = free_port()
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mail = EmailNotifier(
            EmailSettings(
                host="127.0.0.1", port=port, sender="bot@example.com", to=["ops@example.com"]
            )
        )
        engine = AlertEngine(notifiers=[mail], clock=Clock())
        engine.on_event(connection("coinbase.ws", "disconnected"))
        engine.close()
    finally:
        controller.stop()
    (sender, rcpts, content), *_ = inbox.messages
    assert sender == "bot@example.com"
    assert rcpts == ["ops@example.com"]
    msg = message_from_bytes(content)
    assert msg["Subject"] == "[gpt-trader] CRITICAL connection_lost: coinbase.ws disconnected"
    body = msg.get_payload(decode=True).decode()
    assert "What to do:" in body
    assert "rule: connection_lost" in body
    assert engine.dispatcher.sent == {"email": 1}


def test_email_needs_its_password_variable() -> None:
    settings = EmailSettings(sender="a@b.c", to=["d@e.f"], username="u", password_env="SMTP_PW")
    with pytest.raises(ValueError, match="SMTP_PW is not set"):
        EmailNotifier(settings, env={})


def test_log_notifier_logs_rule_message_and_hint(caplog: pytest.LogCaptureFixture) -> None:
    engine = AlertEngine(AlertsParams(), clock=Clock())  # default: the log notifier
    with caplog.at_level(logging.INFO, logger="gpt_trader.alerts"):
        engine.on_event(stopped("crashed"))
        engine.close()
    (record,) = [r for r in caplog.records if r.name == "gpt_trader.alerts"]
    assert record.levelno == logging.CRITICAL
    assert "alert bot_stopped: run run-1 stopped: crashed" in record.getMessage()
    assert "hint:" in record.getMessage()
    assert record.component == "alerts"
