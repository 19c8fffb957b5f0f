"""Settings of the ops sinks and notifiers: what ``register_sinks`` needs to validate a
profile, without loading the sinks themselves (prometheus_client, SMTP, HTTP clients).

The sinks, notifiers and the Telegram bot import their settings from here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from gpt_trader.execution_stats import CRITICAL_BELOW, DEGRADED_BELOW
from gpt_trader.params import Params
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from gpt_trader_ops.rules import RULES


class MetricsParams(Params):
    """Settings of the ``metrics`` sink.

    ``port``: serve ``/metrics`` on ``host:port`` (0 = any free port). Unset, the port comes
    from the run's option ``metrics_port`` (``gpt-trader run --metrics-port``) or the
    environment variable ``GPT_TRADER_METRICS_PORT``; with none of them nothing is served
    (the families are still kept, e.g. for a test or another exporter).
    """

    port: int | None = Field(default=None, ge=0, le=65535)
    host: str = "127.0.0.1"
    refresh_s: float = Field(default=1.0, gt=0)


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogSettings(_Settings):
    kind: Literal["log"] = "log"
    logger: str = "gpt_trader.alerts"


class WebhookSettings(_Settings):
    """``url`` inline, or better ``url_env``: the name of an environment variable holding
    it (Slack webhook URLs are secrets). ``format = "slack"`` posts ``{"text", "attachments"}``;
    ``"json"`` posts the alert object itself."""

    kind: Literal["webhook"] = "webhook"
    url: SecretStr | None = None
    url_env: str | None = None
    format: Literal["slack", "json"] = "slack"
    timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookSettings:
        if self.url is None and not self.url_env:
            raise ValueError("a webhook needs url or url_env")
        return self


class EmailSettings(_Settings):
    """SMTP delivery. The password is read from the environment variable ``password_env``."""

    kind: Literal["email"] = "email"
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = Field(min_length=3)
    to: list[str] = Field(min_length=1)
    username: str | None = None
    password_env: str | None = None
    starttls: bool = False
    use_ssl: bool = False
    timeout_s: float = Field(default=10.0, gt=0)
    subject_prefix: str = "[gpt-trader]"


class TelegramSettings(BaseModel):
    """``[[sinks]] use = "alerts"`` notifier: ``{ kind = "telegram", chat_ids = [...] }``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["telegram"] = "telegram"
    token_env: str = "GPT_TRADER_TELEGRAM_TOKEN"  # noqa: S105 - a variable's name
    chat_ids: list[int] = Field(min_length=1)
    api_url: str = "https://api.telegram.org"
    commands: bool = False
    confirm_s: float = Field(default=60.0, gt=0)
    poll_s: int = Field(default=25, ge=0, le=50)
    timeout_s: float = Field(default=10.0, gt=0)


NotifierSettings = Annotated[
    LogSettings | WebhookSettings | EmailSettings | TelegramSettings, Field(discriminator="kind")
]


class RuleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    cooldown_s: float | None = Field(default=None, ge=0)


def _default_notifiers() -> list[NotifierSettings]:
    return [LogSettings()]


class AlertsParams(Params):
    """Settings of the ``alerts`` sink (thresholds as fractions or seconds)."""

    cooldown_s: float = Field(default=300.0, ge=0)
    check_interval_s: float = Field(default=5.0, gt=0)
    notifiers: list[NotifierSettings] = Field(default_factory=lambda: _default_notifiers())
    rules: dict[str, RuleSettings] = Field(default_factory=dict)
    write_file: bool = True
    rate_limit_min_ratio: float = Field(default=0.2, ge=0, le=1)
    execution_degraded_below: float = Field(default=DEGRADED_BELOW, gt=0, le=1)
    execution_critical_below: float = Field(default=CRITICAL_BELOW, gt=0, le=1)
    execution_min_submissions: int = Field(default=10, ge=1)
    p95_latency_s: float = Field(default=2.0, gt=0)
    retry_ratio: float = Field(default=0.2, gt=0)
    daily_loss_warn_pct: Decimal = Field(default=Decimal(2), gt=0)
    unrealized_loss_pct: Decimal = Field(default=Decimal(2), gt=0)
    stale_order_s: float = Field(default=300.0, gt=0)
    failed_orders_count: int = Field(default=3, ge=1)
    failed_orders_window_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _known_rules(self) -> AlertsParams:
        unknown = sorted(set(self.rules) - set(RULES))
        if unknown:
            raise ValueError(
                f"unknown alert rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}"
            )
        return self
