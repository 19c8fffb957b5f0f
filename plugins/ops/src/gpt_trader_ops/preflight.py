"""``gpt-trader preflight --profile P``: is this machine, key and account ready to trade P,
and can every component of P do its job in P's mode (``caveats``)?

One line per check, ``ok`` or ``FAIL`` with the reason; exit 1 when any failed; ``--json``
prints ``[{check, ok, detail}]``. Checks that need the exchange run only when the profile's
broker is a Coinbase one or a simulator is named (``--sim-json`` / ``GPT_TRADER_COINBASE_SIM``);
for an in-process ``sim`` profile they pass as "not needed".

The API secret is never printed: details name the key (its ``name`` is not secret), its
type and where it came from, and exchange errors are reduced to their class and status.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

SIM_ENV = "GPT_TRADER_COINBASE_SIM"
KEY_ENV = "COINBASE_API_KEY"
SECRET_ENV = "COINBASE_API_SECRET"  # noqa: S105 - a variable name, not a secret
DEFAULT_MAX_SKEW_S = 5.0
KEY_NAME = re.compile(r"^organizations/[^/\s]+/apiKeys/[^/\s]+$")
UUID = re.compile(r"^[0-9a-fA-F-]{36}$")


@dataclass(frozen=True)
class Check:
    check: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ApiKey:
    """A CDP key as loaded; ``secret`` stays out of repr, logs and output."""

    name: str
    secret: str
    source: str
    path: Path | None = None

    def __repr__(self) -> str:
        return f"ApiKey(name={self.name!r}, source={self.source!r})"


class KeyProblem(Exception):
    """The key cannot be used; the message is safe to print."""


# -- key loading and format --------------------------------------------------------------


def find_key(
    *,
    key_file: Path | None,
    broker_params: Mapping[str, Any],
    sim: Mapping[str, Any] | None,
    env: Mapping[str, str],
) -> ApiKey | Path | None:
    """The key to check: ``--key-file``, the broker's ``key_file``, then the simulator's
    key file when one is targeted, else the environment (``COINBASE_API_KEY`` and
    ``COINBASE_API_SECRET``).
    A path is returned when the file is named but not yet read."""
    if key_file is not None:
        return key_file
    configured = broker_params.get("key_file")
    if configured:
        return Path(str(configured)).expanduser()
    if sim is not None:
        # A simulator gets its own key, never the real one from the environment.
        return Path(str(sim["key_file"])) if sim.get("key_file") else None
    name, secret = env.get(KEY_ENV, ""), env.get(SECRET_ENV, "")
    if name or secret:
        return ApiKey(name, secret, f"environment ({KEY_ENV}/{SECRET_ENV})")
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


def key_type(secret: str) -> str:
    """``"ES256 (EC P-256)"`` or ``"EdDSA (Ed25519)"``; raises KeyProblem otherwise."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    except ImportError:
        raise KeyProblem(
            "cannot check the key: `cryptography` is missing (install gpt-trader-coinbase)"
        ) from None

    text = secret.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            # The library's message never contains key material, but keep it generic anyway.
            why = "it is encrypted" if "encrypted" in str(exc).lower() else "it does not parse"
            raise KeyProblem(f"privateKey is PEM but not a usable private key: {why}") from None
        except Exception:
            raise KeyProblem("privateKey is PEM but not a usable private key") from None
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if not isinstance(key.curve, ec.SECP256R1):
                raise KeyProblem(f"EC key on {key.curve.name}; CDP keys use P-256 (secp256r1)")
            return "ES256 (EC P-256)"
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return "EdDSA (Ed25519)"
        raise KeyProblem(
            f"privateKey is a {type(key).__name__.lstrip('_')}; expected an EC P-256 or Ed25519 key"
        )
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem("privateKey is neither a PEM EC key nor a base64 Ed25519 key") from None
    if len(raw) not in (32, 64):
        raise KeyProblem(f"base64 privateKey decodes to {len(raw)} bytes; Ed25519 needs 32 or 64")
    try:
        priv = ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])
    except ValueError:
        raise KeyProblem("privateKey is not a valid Ed25519 seed") from None
    if len(raw) == 64:
        pub = priv.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        if pub != raw[32:]:
            raise KeyProblem("Ed25519 privateKey: the public half does not match the seed")
    return "EdDSA (Ed25519)"


def file_mode_problem(path: Path) -> str | None:
    """Why ``path`` is too open (group/other bits), or None."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"mode {mode:04o}: readable or writable by group/others; run `chmod 600 {path}`"
    return None


# -- the exchange -------------------------------------------------------------------------


@contextlib.contextmanager
def ca_bundle(cert_file: str | None) -> Iterator[None]:
    """Trust ``cert_file`` (the simulator's self-signed cert) for the SDK's requests."""
    if not cert_file:
        yield
        return
    old = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = cert_file
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = old


def _data(response: Any) -> dict[str, Any]:
    if isinstance(response, dict):
        return response
    to_dict = getattr(response, "to_dict", None)
    return dict(to_dict()) if callable(to_dict) else dict(vars(response))


def _safe_error(exc: BaseException, secret: str = "") -> str:
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


# -- profile sanity ----------------------------------------------------------------------


def _money_positive(value: Any) -> bool:
    try:
        return Decimal(str(value)) > 0
    except (InvalidOperation, ValueError):
        return False


def check_risk_file(path: Path) -> str:
    """A one-line summary of a valid risk file; raises ValueError with the reason."""
    caps: dict[str, Any]
    leverage: Any
    try:
        from gpt_trader_risk.riskfile import load_risk_file
    except ImportError:  # the risk plugin is optional: check the essentials ourselves
        import tomllib

        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"risk file {path} does not exist") from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"risk file {path}: {exc}") from None
        caps = dict(raw.get("notional_caps") or {})
        leverage = raw.get("max_leverage")
    else:
        risk = load_risk_file(path)
        caps = dict(risk.notional_caps)
        leverage = risk.max_leverage
    bad = [s for s, v in caps.items() if isinstance(v, float) or not _money_positive(v)]
    if bad:
        raise ValueError(
            f"risk file {path}: caps must be positive decimal strings ({', '.join(bad)})"
        )
    if leverage is not None and not _money_positive(leverage):
        raise ValueError(f"risk file {path}: max_leverage must be positive")
    lev = f", max_leverage {leverage}" if leverage is not None else ""
    return f"{path}: {len(caps)} caps{lev}"


def state_dir_problem(path: Path) -> str | None:
    """Why the state dir cannot be used, or None. Creates nothing that stays."""
    target = path
    while not target.exists():
        if target.parent == target:
            return f"no existing parent of {path}"
        target = target.parent
    if not target.is_dir():
        return f"{target} is not a directory"
    try:
        with tempfile.NamedTemporaryFile(dir=target, prefix=".preflight-"):
            pass
    except OSError as exc:
        return f"{target} is not writable: {exc.strerror}"
    return None


# -- the checks --------------------------------------------------------------------------


class Preflight:
    """Runs every check for one profile; ``clock`` (seconds) is the local clock."""

    def __init__(
        self,
        config: Any,
        pm: Any,
        *,
        state_dir: Path,
        sim_json: Path | None = None,
        key_file: Path | None = None,
        max_skew_s: float = DEFAULT_MAX_SKEW_S,
        clock: Callable[[], float] = time.time,
        env: Mapping[str, str] | None = None,
        client_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.config = config
        self.pm = pm
        self.state_dir = state_dir
        self.env = dict(os.environ if env is None else env)
        self.key_file = key_file
        self.max_skew_s = max_skew_s
        self.clock = clock
        self.client_factory = client_factory
        params = config.broker.params
        if sim_json is None and params.get("sim_json"):
            sim_json = Path(str(params["sim_json"])).expanduser()
        if sim_json is None and self.env.get(SIM_ENV):
            sim_json = Path(self.env[SIM_ENV])
        self.sim_json = sim_json
        # `sim = true` without a sim.json: the broker starts its own simulator and key.
        self.own_simulator = params.get("sim") is True and sim_json is None
        self.sim: dict[str, Any] | None = None
        self.results: list[Check] = []
        self.key: ApiKey | None = None

    # plumbing
    def add(self, name: str, ok: bool, detail: str) -> Check:
        check = Check(name, ok, detail)
        self.results.append(check)
        return check

    @property
    def broker(self) -> str:
        return str(self.config.broker.use)

    @property
    def needs_exchange(self) -> bool:
        return self.broker.startswith("coinbase") or self.sim_json is not None

    @property
    def wants_cfm(self) -> bool:
        return "cfm" in self.broker or any("-CDE" in s for s in self.config.profile.universe)

    @property
    def wants_intx(self) -> bool:
        return "intx" in self.broker or any(
            s.endswith(("-PERP", "-PERP-INTX")) for s in self.config.profile.universe
        )

    def run(self) -> list[Check]:
        self.check_plugins()
        self.check_caveats()
        self.check_state_dir()
        self.check_risk_files()
        if not self.needs_exchange or self.own_simulator:
            why = f"not needed: broker {self.broker!r} trades in-process, no exchange account"
            if self.own_simulator:
                why = f"not needed: broker {self.broker!r} starts its own simulator (sim = true)"
            for name in (
                "key_format",
                "key_file_permissions",
                "api_permissions",
                "portfolio",
                "clock_skew",
                "derivatives",
            ):
                self.add(name, True, why)
            return self.results
        if self.sim_json is not None:
            self._load_sim()
        self.check_key()
        self.check_clock_skew()
        self.check_permissions()
        return self.results

    def _load_sim(self) -> None:
        assert self.sim_json is not None
        try:
            self.sim = json.loads(self.sim_json.read_text())
        except (OSError, ValueError) as exc:
            self.add("simulator", False, f"cannot read {self.sim_json}: {exc}")
            self.sim = None

    # components
    def check_plugins(self) -> None:
        from gpt_trader.components import Kind
        from gpt_trader.errors import UserError
        from gpt_trader.registry import Registry

        try:
            registry = Registry(self.pm)
        except UserError as exc:
            self.add("plugins", False, str(exc))
            return
        c = self.config
        refs = [(Kind.BROKER, c.broker), (Kind.FEED, c.feed), (Kind.VOTER, c.voter)]
        refs += [(Kind.SIZER, c.sizer)]
        refs += [(Kind.SIGNAL, r) for r in c.signals] + [(Kind.FILTER, r) for r in c.filters]
        refs += [(Kind.GUARD, r) for r in c.guards] + [(Kind.SINK, r) for r in c.sinks]
        problems: list[str] = []
        for kind, ref in refs:
            try:
                registry.validate(kind, ref.use, ref.params)
            except UserError as exc:
                problems.append(str(exc))
        if problems:
            self.add("plugins", False, "; ".join(problems))
        else:
            self.add("plugins", True, f"all {len(refs)} components of the profile are registered")

    def check_caveats(self) -> None:
        """What a component, as the profile configures it, cannot do in the profile's mode
        (``Params.caveats``): e.g. a guard that cannot judge some symbol's orders."""
        from gpt_trader.app import component_refs
        from gpt_trader.components import Params
        from gpt_trader.errors import UserError
        from gpt_trader.registry import Registry
        from pydantic import ValidationError

        c = self.config
        lines: list[str] = []
        try:
            registry = Registry(self.pm)
        except UserError:
            return  # the plugins check says why
        for kind, ref in component_refs(c):
            try:
                model = registry.get(kind, ref.use).settings_model.model_validate(ref.params)
            except (UserError, ValidationError):
                continue  # the plugins check reports it
            if isinstance(model, Params):
                lines += model.caveats(c.profile.universe, c.profile.mode)
        if lines:
            self.add("caveats", False, "; ".join(lines))
        else:
            self.add("caveats", True, f"every component can do its job in {c.profile.mode} mode")

    def check_state_dir(self) -> None:
        problem = state_dir_problem(self.state_dir)
        if problem:
            self.add("state_dir", False, problem)
        else:
            self.add("state_dir", True, f"{self.state_dir} is writable")

    def check_risk_files(self) -> None:
        files = [ref.params["file"] for ref in self.config.guards if ref.params.get("file")]
        if not files:
            self.add("risk_files", True, "no risk files named by the profile's guards")
            return
        details, problems = [], []
        for name in dict.fromkeys(files):
            try:
                details.append(check_risk_file(Path(str(name)).expanduser()))
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            self.add("risk_files", False, "; ".join(problems))
        else:
            self.add("risk_files", True, "; ".join(details))

    # key
    def check_key(self) -> None:
        found = find_key(
            key_file=self.key_file,
            broker_params=self.config.broker.params,
            sim=self.sim,
            env=self.env,
        )
        if found is None:
            self.add(
                "key_format",
                False,
                f"no API key: set the broker's key_file, {KEY_ENV}/{SECRET_ENV}, or --key-file",
            )
            self.add("key_file_permissions", False, "no key file to check")
            return
        try:
            key = read_key_file(found) if isinstance(found, Path) else found
            if not key.name or not key.secret:
                raise KeyProblem(f"{KEY_ENV} and {SECRET_ENV} must both be set")
            kind = key_type(key.secret)
        except KeyProblem as exc:
            self.add("key_format", False, str(exc))
            self._key_permissions(found if isinstance(found, Path) else None)
            return
        shape = "" if KEY_NAME.match(key.name) or UUID.match(key.name) else " (unusual key name)"
        self.key = key
        self.add("key_format", True, f"{kind} key {key.name}{shape} from {key.source}")
        self._key_permissions(key.path)

    def _key_permissions(self, path: Path | None) -> None:
        if path is None:
            self.add("key_file_permissions", True, "key from the environment, no file")
            return
        try:
            problem = file_mode_problem(path)
        except OSError as exc:
            self.add("key_file_permissions", False, f"{path}: {exc.strerror}")
            return
        if problem:
            self.add("key_file_permissions", False, f"{path} {problem}")
        else:
            mode = stat.S_IMODE(path.stat().st_mode)
            self.add("key_file_permissions", True, f"{path} mode {mode:04o}, owner only")

    # exchange
    def base_url(self) -> str | None:
        if self.sim is not None:
            return str(self.sim["rest_base_url"])
        params = self.config.broker.params
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
        if self.client_factory is not None:
            return self.client_factory(**kwargs)
        from coinbase.rest import RESTClient  # type: ignore[import-untyped]

        return RESTClient(**kwargs)

    def _call(self, fn: Callable[[], Any]) -> dict[str, Any]:
        cert = self.sim.get("cert_file") if self.sim is not None else None
        with ca_bundle(cert):
            return _data(fn())

    def check_clock_skew(self) -> None:
        try:
            client = self.client(authenticated=False)
            before = self.clock()
            data = self._call(client.get_unix_time)
            after = self.clock()
        except Exception as exc:
            self.add("clock_skew", False, f"cannot read the exchange's time: {_safe_error(exc)}")
            return
        millis = data.get("epoch_millis") or data.get("epochMillis")
        seconds = data.get("epoch_seconds") or data.get("epochSeconds")
        try:
            server = int(millis) / 1000 if millis is not None else float(str(seconds))
        except (TypeError, ValueError):
            self.add("clock_skew", False, f"unexpected /time answer {sorted(data)}")
            return
        skew = (before + after) / 2 - server
        direction = "ahead of" if skew > 0 else "behind"
        detail = (
            f"local clock {abs(skew):.3f}s {direction} the exchange (limit {self.max_skew_s:g}s)"
        )
        if abs(skew) > self.max_skew_s:
            self.add("clock_skew", False, f"{detail}; sync it (chrony/ntpd): JWTs expire in 120s")
        else:
            self.add("clock_skew", True, detail)

    def check_permissions(self) -> None:
        names = ("api_permissions", "portfolio", "derivatives")
        if self.key is None:
            for name in names:
                self.add(name, False, "skipped: no usable API key")
            return
        secret = self.key.secret
        try:
            client = self.client()
            perms = self._call(client.get_api_key_permissions)
        except Exception as exc:
            why = _safe_error(exc, secret)
            self.add("api_permissions", False, f"the exchange refused the key: {why}")
            for name in names[1:]:
                self.add(name, False, "skipped: the key was not accepted")
            return
        can = {k: bool(perms.get(f"can_{k}")) for k in ("view", "trade", "transfer")}
        granted = ", ".join(k for k, v in can.items() if v) or "none"
        if not can["view"] or not can["trade"]:
            self.add("api_permissions", False, f"key may {granted}; trading needs view and trade")
        elif can["transfer"]:
            self.add(
                "api_permissions",
                False,
                f"key may {granted}: a trading key must not move funds; create a trade-only key",
            )
        else:
            self.add("api_permissions", True, f"key may {granted}")
        self._portfolio(client, perms, secret)
        self._derivatives(client, secret)

    def _portfolio(self, client: Any, perms: dict[str, Any], secret: str) -> None:
        bound = str(perms.get("portfolio_uuid") or "")
        kind = str(perms.get("portfolio_type") or "")
        wanted = self.config.broker.params.get("portfolio_uuid") or self.config.broker.params.get(
            "portfolio"
        )
        try:
            portfolios = self._call(client.get_portfolios).get("portfolios") or []
        except Exception as exc:
            self.add("portfolio", False, f"cannot list portfolios: {_safe_error(exc, secret)}")
            return
        by_uuid = {str(_data(p).get("uuid")): _data(p) for p in portfolios}
        if not bound:
            self.add("portfolio", False, "the key is not bound to a portfolio")
            return
        found = by_uuid.get(bound)
        if found is None or found.get("deleted"):
            self.add("portfolio", False, f"the key's portfolio {bound} is missing or deleted")
            return
        if wanted and str(wanted) not in (bound, str(found.get("name"))):
            self.add(
                "portfolio",
                False,
                f"the profile wants portfolio {wanted} but the key is bound to "
                f"{found.get('name')!r} ({bound})",
            )
            return
        self.add(
            "portfolio",
            True,
            f"key bound to {found.get('name')!r} ({kind or found.get('type')}, {bound})",
        )

    def _derivatives(self, client: Any, secret: str) -> None:
        cfm: str
        cfm_ok = False
        try:
            summary = self._call(client.get_futures_balance_summary).get("balance_summary") or {}
            power = _data(summary.get("futures_buying_power") or {}).get("value", "0")
            cfm_ok = _money_positive(power)
            cfm = f"CFM futures buying power {power}" if cfm_ok else "CFM: no futures buying power"
        except Exception as exc:
            cfm = f"CFM not available ({_safe_error(exc, secret)})"
        try:
            intx = self._call(lambda: client.get_portfolios(portfolio_type="INTX"))
            intx_ok = bool(intx.get("portfolios"))
        except Exception:
            intx_ok = False
        allows = f"{cfm}; INTX perpetuals {'enabled' if intx_ok else 'not enabled'}"
        switched_on = self.env.get(DERIVATIVES_SWITCH, "").strip() == "1"
        if self.wants_intx and intx_ok and not switched_on:
            self.add(
                "derivatives",
                False,
                f"the account allows INTX perpetuals but they are off here: set "
                f"{DERIVATIVES_SWITCH}=1 to trade them ({allows})",
            )
        elif self.wants_cfm and not cfm_ok:
            self.add("derivatives", False, f"the profile trades CFM futures but {allows}")
        elif self.wants_intx and not intx_ok:
            self.add("derivatives", False, f"the profile trades INTX perpetuals but {allows}")
        else:
            scope = "spot profile" if not (self.wants_cfm or self.wants_intx) else "eligible"
            self.add("derivatives", True, f"{scope}; account allows: {allows}")


# The coinbase.intx broker's switch (named here, not imported: ops does not depend on it).
DERIVATIVES_SWITCH = "COINBASE_ENABLE_DERIVATIVES"


def run_preflight(config: Any, pm: Any, **kwargs: Any) -> list[Check]:
    return Preflight(config, pm, **kwargs).run()


def render(results: list[Check]) -> str:
    width = max((len(c.check) for c in results), default=0)
    return "\n".join(
        f"{'ok  ' if c.ok else 'FAIL'}  {c.check.ljust(width)}  {c.detail}" for c in results
    )


def plugin_manager() -> Any:
    from gpt_trader.plugins import make_plugin_manager

    return make_plugin_manager()


def register(app: Any) -> None:
    @app.command()  # type: ignore[untyped-decorator]
    def preflight(
        ctx: typer.Context,
        profile: Annotated[str, typer.Option("--profile", "-p", help="Profile name or TOML file.")],
        state_dir: Annotated[
            Path | None,
            typer.Option("--state-dir", help="The run's state dir (default var/<profile>)."),
        ] = None,
        sim_json: Annotated[
            Path | None,
            typer.Option(
                "--sim-json",
                envvar=SIM_ENV,
                help="A simulator's sim.json: check against it instead of Coinbase.",
            ),
        ] = None,
        key_file: Annotated[
            Path | None, typer.Option("--key-file", help="CDP API key JSON to check.")
        ] = None,
        max_skew: Annotated[
            float, typer.Option("--max-skew", min=0, help="Largest clock skew allowed (s).")
        ] = DEFAULT_MAX_SKEW_S,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Check keys, permissions, clock, risk files, state dir and plugins for a profile."""
        from gpt_trader.config import default_state_dir, load_config
        from gpt_trader.output import print_json
        from gpt_trader.plugins import PluginManager

        config = load_config(profile)
        # The CLI's own manager when core passes it (context obj), else a fresh one.
        pm = ctx.obj if isinstance(ctx.obj, PluginManager) else plugin_manager()
        results = run_preflight(
            config,
            pm,
            state_dir=state_dir or default_state_dir(config.profile.name),
            sim_json=sim_json,
            key_file=key_file,
            max_skew_s=max_skew,
        )
        if as_json:
            print_json([c.to_json() for c in results])
        else:
            typer.echo(render(results))
        if not all(c.ok for c in results):
            raise typer.Exit(1)
