"""What ``gpt-trader preflight`` asks of a Coinbase account (registered by the
``coinbase_checks`` entry point, :mod:`gpt_trader_coinbase.checks_plugin`).

Four checks, run when the profile's broker is a Coinbase one or a
simulator is named (``--sim-json``, the broker's ``sim_json``, ``$GPT_TRADER_COINBASE_SIM``):

* ``coinbase.key``: ``key_format`` (a CDP key, ES256 or EdDSA, from ``--key-file``, the
  broker's ``key_file``, the simulator's key, or ``COINBASE_API_KEY``/``COINBASE_API_SECRET``)
  and ``key_file_permissions`` (owner only);
* ``coinbase.clock``: ``clock_skew`` against the exchange's ``/time`` (JWTs live 120 s);
* ``coinbase.permissions``: ``api_permissions`` (view and trade, never transfer) and
  ``portfolio`` (the key's portfolio exists and is the one the profile wants);
* ``coinbase.eligibility``: ``derivatives`` (CFM buying power, INTX access and its switch).

The secret is never printed: details name the key (its ``name`` is not secret), its type
and where it came from, and exchange errors are reduced to their class and status.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from gpt_trader.checks import Check, CheckContext, Result
from gpt_trader.errors import UserError

from gpt_trader_coinbase.auth import ENV_KEY, ENV_SECRET, KeyProblem, key_type
from gpt_trader_coinbase.derivatives import ENABLE_ENV
from gpt_trader_coinbase.sdk import response_data, rest_client, trusting
from gpt_trader_coinbase.target import SIM_ENV, Endpoints, read_sim_json

KEY_NAME = re.compile(r"^organizations/[^/\s]+/apiKeys/[^/\s]+$")
UUID = re.compile(r"^[0-9a-fA-F-]{36}$")


@dataclass(frozen=True)
class ApiKey:
    """A CDP key as loaded; ``secret`` stays out of repr, logs and output."""

    name: str
    secret: str
    source: str
    path: Path | None = None

    def __repr__(self) -> str:
        return f"ApiKey(name={self.name!r}, source={self.source!r})"


# -- key loading and format --------------------------------------------------------------


def find_key(context: CheckContext, sim: Endpoints | None) -> ApiKey | Path | None:
    """The key to check: ``--key-file``, the broker's ``key_file``, then the simulator's
    key file when one is targeted, else the environment. A path is returned when the file
    is named but not yet read."""
    if context.key_file is not None:
        return context.key_file
    configured = context.config.broker.params.get("key_file")
    if configured:
        return Path(str(configured)).expanduser()
    if sim is not None:
        # A simulator gets its own key, never the real one from the environment.
        return Path(sim.key_file) if sim.key_file else None
    name, secret = context.env.get(ENV_KEY, ""), context.env.get(ENV_SECRET, "")
    if name or secret:
        return ApiKey(name, secret, f"environment ({ENV_KEY}/{ENV_SECRET})")
    return None


def read_key_file(path: Path) -> ApiKey:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyProblem(f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyProblem(f"key file {path} cannot be read: {exc.strerror}") from None
    try:
        data = json.loads(raw)
    except ValueError:
        raise KeyProblem(
            f'key file {path} is not JSON (expected a CDP key: {{"name": ..., "privateKey": ...}})'
        ) from None
    if not isinstance(data, dict):
        raise KeyProblem(f"key file {path} holds {type(data).__name__}, not a JSON object")
    name = data.get("name") or data.get("id") or ""
    secret = data.get("privateKey") or ""
    if not isinstance(name, str) or not isinstance(secret, str) or not name or not secret:
        raise KeyProblem(f'key file {path} lacks "name" or "privateKey" (a CDP API key JSON)')
    return ApiKey(name, secret, f"file {path}", path)


def file_mode_problem(path: Path) -> str | None:
    """Why ``path`` is too open (group/other bits), or None."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"mode {mode:04o}: readable or writable by group/others; run `chmod 600 {path}`"
    return None


def safe_error(exc: BaseException, secret: str = "") -> str:
    """An exchange error in a few words: the HTTP status, or the exception's class and first
    line; never anything that contains a piece of the secret."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is not None:
        reason = getattr(response, "reason", "") or ""
        return f"HTTP {status} {reason}".strip()
    message = str(exc).splitlines()[0][:160] if str(exc) else ""
    if any(len(part) >= 16 and part in message for part in secret.split()):
        message = ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _positive(value: Any) -> bool:
    try:
        return Decimal(str(value)) > 0
    except (InvalidOperation, ValueError):
        return False


# -- one account, looked at once per preflight ---------------------------------------------


def simulator_path(context: CheckContext) -> Path | None:
    """The simulator to check against: ``--sim-json``, the broker's ``sim_json``, then
    ``$GPT_TRADER_COINBASE_SIM``; None for the real exchange."""
    if context.simulator is not None:
        return context.simulator
    configured = context.config.broker.params.get("sim_json")
    if configured:
        return Path(str(configured)).expanduser()
    return Path(context.env[SIM_ENV]) if context.env.get(SIM_ENV) else None


def not_needed(context: CheckContext) -> str | None:
    broker = str(context.config.broker.use)
    simulator = simulator_path(context)
    if context.config.broker.params.get("sim") is True and simulator is None:
        # The broker starts its own simulator, with its own key.
        return f"broker {broker!r} starts its own simulator (sim = true)"
    if not broker.startswith("coinbase") and simulator is None:
        return f"broker {broker!r} trades in-process, no exchange account"
    return None


class Account:
    """What the checks of one preflight learn about the account, each thing asked once."""

    def __init__(self, context: CheckContext, client_factory: Callable[..., Any]) -> None:
        self.context = context
        self.client_factory = client_factory
        self.sim_json = simulator_path(context)
        self.sim: Endpoints | None = None
        self.sim_problem = ""
        if self.sim_json is not None:
            try:
                self.sim = read_sim_json(self.sim_json)
            except UserError as exc:
                self.sim_problem = str(exc)

    @property
    def broker(self) -> str:
        return str(self.context.config.broker.use)

    @property
    def wants_cfm(self) -> bool:
        universe = self.context.config.profile.universe
        return "cfm" in self.broker or any("-CDE" in s for s in universe)

    @property
    def wants_intx(self) -> bool:
        universe = self.context.config.profile.universe
        return "intx" in self.broker or any(s.endswith(("-PERP", "-PERP-INTX")) for s in universe)

    def base_url(self) -> str | None:
        if self.sim is not None:
            return self.sim.rest_host
        params = self.context.config.broker.params
        url = params.get("rest_base_url") or params.get("base_url")
        return str(url) if url else None

    def client(self, authenticated: bool = True) -> Any:
        kwargs: dict[str, Any] = {"timeout": 10}
        base = self.base_url()
        if base:
            kwargs["base_url"] = base
        if authenticated:
            assert self.key is not None
            kwargs.update(api_key=self.key.name, api_secret=self.key.secret)
        return self.client_factory(**kwargs)

    def call(self, fn: Callable[[], Any]) -> dict[str, Any]:
        with trusting(self.sim.ca_file if self.sim is not None else None):
            return response_data(fn())

    # key
    @cached_property
    def key_rows(self) -> tuple[ApiKey | None, list[Result]]:
        found = find_key(self.context, self.sim)
        if found is None:
            return None, [
                Result.of(
                    "key_format",
                    False,
                    f"no API key: set the broker's key_file, {ENV_KEY}/{ENV_SECRET}, or --key-file",
                ),
                Result.of("key_file_permissions", False, "no key file to check"),
            ]
        try:
            key = read_key_file(found) if isinstance(found, Path) else found
            if not key.name or not key.secret:
                raise KeyProblem(f"{ENV_KEY} and {ENV_SECRET} must both be set")
            kind = key_type(key.secret)
        except KeyProblem as exc:
            path = found if isinstance(found, Path) else None
            return None, [Result.of("key_format", False, str(exc)), self._permissions_row(path)]
        shape = "" if KEY_NAME.match(key.name) or UUID.match(key.name) else " (unusual key name)"
        detail = f"{kind} key {key.name}{shape} from {key.source}"
        return key, [Result.of("key_format", True, detail), self._permissions_row(key.path)]

    @property
    def key(self) -> ApiKey | None:
        return self.key_rows[0]

    def _permissions_row(self, path: Path | None) -> Result:
        if path is None:
            return Result.of("key_file_permissions", True, "key from the environment, no file")
        try:
            problem = file_mode_problem(path)
        except OSError as exc:
            return Result.of("key_file_permissions", False, f"{path}: {exc.strerror}")
        if problem:
            return Result.of("key_file_permissions", False, f"{path} {problem}")
        mode = stat.S_IMODE(path.stat().st_mode)
        return Result.of("key_file_permissions", True, f"{path} mode {mode:04o}, owner only")

    # clock
    def clock_skew(self) -> Result:
        try:
            client = self.client(authenticated=False)
            before = self.context.clock()
            data = self.call(client.get_unix_time)
            after = self.context.clock()
        except Exception as exc:
            return Result.of(
                "clock_skew", False, f"cannot read the exchange's time: {safe_error(exc)}"
            )
        millis = data.get("epoch_millis") or data.get("epochMillis")
        seconds = data.get("epoch_seconds") or data.get("epochSeconds")
        try:
            server = int(millis) / 1000 if millis is not None else float(str(seconds))
        except (TypeError, ValueError):
            return Result.of("clock_skew", False, f"unexpected /time answer {sorted(data)}")
        skew = (before + after) / 2 - server
        direction = "ahead of" if skew > 0 else "behind"
        limit = self.context.max_skew_s
        detail = f"local clock {abs(skew):.3f}s {direction} the exchange (limit {limit:g}s)"
        if abs(skew) > limit:
            return Result.of(
                "clock_skew", False, f"{detail}; sync it (chrony/ntpd): JWTs expire in 120s"
            )
        return Result.of("clock_skew", True, detail)

    # permissions
    @cached_property
    def permissions(self) -> tuple[Any, dict[str, Any] | None, str]:
        """``(client, the key's permissions, why not)``: permissions are None when the key
        is unusable or refused, and ``why not`` says which."""
        if self.key is None:
            return None, None, "skipped: no usable API key"
        try:
            client = self.client()
            return client, self.call(client.get_api_key_permissions), ""
        except Exception as exc:
            return None, None, f"the exchange refused the key: {safe_error(exc, self.key.secret)}"

    def permission_rows(self) -> Iterator[Result]:
        client, perms, why = self.permissions
        if perms is None:
            yield Result.of("api_permissions", False, why)
            skipped = why if self.key is None else "skipped: the key was not accepted"
            yield Result.of("portfolio", False, skipped)
            return
        can = {k: bool(perms.get(f"can_{k}")) for k in ("view", "trade", "transfer")}
        granted = ", ".join(k for k, v in can.items() if v) or "none"
        if not can["view"] or not can["trade"]:
            yield Result.of(
                "api_permissions", False, f"key may {granted}; trading needs view and trade"
            )
        elif can["transfer"]:
            yield Result.of(
                "api_permissions",
                False,
                f"key may {granted}: a trading key must not move funds; create a trade-only key",
            )
        else:
            yield Result.of("api_permissions", True, f"key may {granted}")
        yield self._portfolio(client, perms)

    def _portfolio(self, client: Any, perms: dict[str, Any]) -> Result:
        assert self.key is not None
        bound = str(perms.get("portfolio_uuid") or "")
        kind = str(perms.get("portfolio_type") or "")
        params = self.context.config.broker.params
        wanted = params.get("portfolio_uuid") or params.get("portfolio")
        try:
            portfolios = self.call(client.get_portfolios).get("portfolios") or []
        except Exception as exc:
            why = safe_error(exc, self.key.secret)
            return Result.of("portfolio", False, f"cannot list portfolios: {why}")
        by_uuid = {str(response_data(p).get("uuid")): response_data(p) for p in portfolios}
        if not bound:
            return Result.of("portfolio", False, "the key is not bound to a portfolio")
        found = by_uuid.get(bound)
        if found is None or found.get("deleted"):
            return Result.of(
                "portfolio", False, f"the key's portfolio {bound} is missing or deleted"
            )
        if wanted and str(wanted) not in (bound, str(found.get("name"))):
            return Result.of(
                "portfolio",
                False,
                f"the profile wants portfolio {wanted} but the key is bound to "
                f"{found.get('name')!r} ({bound})",
            )
        return Result.of(
            "portfolio",
            True,
            f"key bound to {found.get('name')!r} ({kind or found.get('type')}, {bound})",
        )

    # eligibility
    def derivatives(self) -> Result:
        client, perms, why = self.permissions
        if perms is None:
            skipped = why if self.key is None else "skipped: the key was not accepted"
            return Result.of("derivatives", False, skipped)
        assert self.key is not None
        secret = self.key.secret
        cfm_ok = False
        try:
            summary = self.call(client.get_futures_balance_summary).get("balance_summary") or {}
            power = response_data(summary.get("futures_buying_power") or {}).get("value", "0")
            cfm_ok = _positive(power)
            cfm = f"CFM futures buying power {power}" if cfm_ok else "CFM: no futures buying power"
        except Exception as exc:
            cfm = f"CFM not available ({safe_error(exc, secret)})"
        try:
            intx = self.call(lambda: client.get_portfolios(portfolio_type="INTX"))
            intx_ok = bool(intx.get("portfolios"))
        except Exception:
            intx_ok = False
        allows = f"{cfm}; INTX perpetuals {'enabled' if intx_ok else 'not enabled'}"
        switched_on = self.context.env.get(ENABLE_ENV, "").strip() == "1"
        if self.wants_intx and intx_ok and not switched_on:
            return Result.of(
                "derivatives",
                False,
                f"the account allows INTX perpetuals but they are off here: set "
                f"{ENABLE_ENV}=1 to trade them ({allows})",
            )
        if self.wants_cfm and not cfm_ok:
            return Result.of("derivatives", False, f"the profile trades CFM futures but {allows}")
        if self.wants_intx and not intx_ok:
            return Result.of(
                "derivatives", False, f"the profile trades INTX perpetuals but {allows}"
            )
        scope = "spot profile" if not (self.wants_cfm or self.wants_intx) else "eligible"
        return Result.of("derivatives", True, f"{scope}; account allows: {allows}")


def account_checks(client_factory: Callable[..., Any] = rest_client) -> list[Check]:
    """The four checks, sharing one :class:`Account` per preflight; ``client_factory``
    builds the SDK client (``RESTClient(**kwargs)`` by default)."""
    accounts: WeakKeyDictionary[CheckContext, Account] = WeakKeyDictionary()

    def account(context: CheckContext) -> Account:
        if context not in accounts:
            accounts[context] = Account(context, client_factory)
        return accounts[context]

    def key(context: CheckContext) -> Iterator[Result]:
        acc = account(context)
        if acc.sim_problem:
            yield Result.of("simulator", False, acc.sim_problem)
        yield from acc.key_rows[1]

    def clock(context: CheckContext) -> Iterator[Result]:
        yield account(context).clock_skew()

    def permissions(context: CheckContext) -> Iterator[Result]:
        yield from account(context).permission_rows()

    def eligibility(context: CheckContext) -> Iterator[Result]:
        yield account(context).derivatives()

    def check(name: str, summary: str, run: Any, reports: tuple[str, ...]) -> Check:
        return Check(name, summary, run, reports, not_needed=not_needed, remote=True)

    return [
        check(
            "coinbase.key",
            "the CDP key parses (ES256/EdDSA) and its file is owner-only",
            key,
            ("key_format", "key_file_permissions"),
        ),
        check("coinbase.clock", "the local clock is within the skew limit", clock, ("clock_skew",)),
        check(
            "coinbase.permissions",
            "the key may view and trade, not transfer; its portfolio is the profile's",
            permissions,
            ("api_permissions", "portfolio"),
        ),
        check(
            "coinbase.eligibility",
            "the account may trade the profile's CFM futures or INTX perpetuals",
            eligibility,
            ("derivatives",),
        ),
    ]
