"""An async REST client for Advanced Trade (aiohttp), with auth, limits, retries, paging.

* TLS is verified, against a given CA file (the simulator's certificate) or the system store.
* Private calls carry a fresh JWT each (coinbase-api.md §5); public ``/market/*`` calls none.
* Every call takes a token from a bucket (private and public budgets apart) and feeds the
  reply's ``x-ratelimit-*`` headers back into it; a 429 pauses every caller.
* Reads and idempotent mutations (cancels) are retried on 429, 5xx, timeouts and dropped
  connections, with exponential backoff plus jitter, bounded in attempts and in time.
* An order submit is retried only when it certainly did not reach the venue (429, a
  connection that never opened). A timeout, a 5xx or a connection lost mid-request raise
  :class:`Ambiguous`: the caller must look the order up, never send it again.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from gpt_trader.errors import BrokerError

from gpt_trader_coinbase.auth import Credentials
from gpt_trader_coinbase.convert import objects
from gpt_trader_coinbase.malformed import MalformedPayloads
from gpt_trader_coinbase.ratelimit import RateLimiter

API = "/api/v3/brokerage"
USER_AGENT = "gpt-trader-coinbase/0.1"
Retry = Literal["always", "unsent", "never"]


class RestError(BrokerError):
    """A call the venue answered with an error (or that could not be made)."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class Ambiguous(RestError):
    """The request may or may not have been applied: look it up, do not resend.

    ``replied`` is True when the venue did answer (a 5xx, or a 2xx whose body could not be
    read): whatever happened is done and a
    lookup now is conclusive; False after a timeout or a lost connection, when the request
    may still be on its way.
    """

    @property
    def replied(self) -> bool:
        return self.status >= 500 or 200 <= self.status < 300


@dataclass
class RestStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    timeouts: int = 0
    dropped: int = 0
    ambiguous: int = 0
    malformed: int = 0  # 2xx replies whose body could not be read
    by_path: dict[str, int] = field(default_factory=dict)


def _body_of(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """A 2xx body as its JSON object, or None and why it is not one."""
    try:
        reply = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return None, "not JSON (truncated?)"
    if not isinstance(reply, dict):
        return None, f"a JSON {type(reply).__name__}, not an object"
    return reply, ""


def make_ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """Verification on, against ``ca_file`` when given (else the system's trust store)."""
    if ca_file:
        return ssl.create_default_context(cafile=ca_file)
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with aiohttp's usual installs
        return ssl.create_default_context()


def _encode(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Query pairs: lists repeat the key, booleans are ``true``/``false``, None is dropped."""
    out: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if isinstance(v, bool):
                out.append((key, "true" if v else "false"))
            else:
                out.append((key, str(v)))
    return out


def _error_of(status: int, raw: bytes) -> tuple[str, str]:
    """(code, message) from an error body; bodies vary (JSON, plain text, HTML)."""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict):
        code = str(data.get("error") or "")
        message = str(data.get("message") or data.get("error_details") or "")
        if not code and isinstance(data.get("errors"), list) and data["errors"]:
            first = data["errors"][0]
            if isinstance(first, dict):
                code = str(first.get("id") or "")
                message = message or str(first.get("message") or "")
        return code, message[:200]
    text = raw[:120].decode("utf-8", "replace").strip()
    if text.startswith("<"):
        text = ""  # an HTML error page says nothing useful
    return "", text


def _template(path: str) -> str:
    """A path with the order id taken out (for per-endpoint counters)."""
    head, sep, tail = path.partition("/orders/historical/")
    if sep and tail not in ("batch", "fills"):
        return f"{head}/orders/historical/{{order_id}}"
    return path


class RestClient:
    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | None,
        ca_file: str | None = None,
        timeout_s: float = 10.0,
        submit_timeout_s: float = 5.0,
        private_rate: float = 30.0,
        public_rate: float = 10.0,
        max_attempts: int = 10,
        backoff_base_s: float = 0.05,
        backoff_max_s: float = 2.0,
        retry_budget_s: float = 20.0,
        seed: int | None = None,
        connector: Callable[[], aiohttp.BaseConnector] | None = None,
    ) -> None:
        if "://" in host or "/" in host:
            raise ValueError(f"host must be host[:port], not {host!r}")
        self.host = host
        self.credentials = credentials
        self.ca_file = ca_file
        self.timeout_s = timeout_s
        self.submit_timeout_s = submit_timeout_s
        self.private_limiter = RateLimiter(private_rate)
        self.public_limiter = RateLimiter(public_rate)
        self.max_attempts = max(1, max_attempts)
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.retry_budget_s = retry_budget_s
        self.stats = RestStats()
        # Bodies and list items it cannot read; the broker attaches the kernel to it.
        self.malformed = MalformedPayloads("coinbase.rest")
        self._rng = random.Random(seed)
        self._session: aiohttp.ClientSession | None = None
        self._ssl: ssl.SSLContext | None = None
        # What the session connects through (REST and both WebSockets): TCP and TLS unless
        # an embedder that runs the venue in-process hands its own (chaos: memory pipes).
        self.connector = connector

    # -- plumbing ------------------------------------------------------------------------

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = make_ssl_context(self.ca_file)
        return self._ssl

    def session(self) -> aiohttp.ClientSession:
        """The shared keep-alive session (created on first use, in the running loop)."""
        if self._session is None or self._session.closed:
            connector = (
                self.connector()
                if self.connector is not None
                else aiohttp.TCPConnector(ssl=self.ssl_context, limit=32, ttl_dns_cache=300)
            )
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": USER_AGENT}
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _backoff(self, attempt: int) -> float:
        cap = min(self.backoff_max_s, self.backoff_base_s * float(2**attempt))
        return cap / 2 + self._rng.uniform(0, cap / 2)

    def _headers(self, method: str, path: str, public: bool) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if not public:
            if self.credentials is None:
                raise RestError(f"{method} {path} needs a Coinbase API key; none is configured")
            token = self.credentials.rest_jwt(method, self.host, path)
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        public: bool = False,
        retry: Retry = "always",
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """One call (retried as ``retry`` allows); the reply's JSON object."""
        if not path.startswith(API):
            path = API + path
        url = f"https://{self.host}{path}"
        limiter = self.public_limiter if public else self.private_limiter
        query = _encode(params)
        data = None if body is None else json.dumps(body, separators=(",", ":"))
        timeout = aiohttp.ClientTimeout(total=timeout_s or self.timeout_s)
        what = f"{method} {path}"
        started = time.monotonic()
        attempt = 0
        while True:
            await limiter.acquire()
            self.stats.requests += 1
            key = f"{method} {_template(path)}"
            self.stats.by_path[key] = self.stats.by_path.get(key, 0) + 1
            unsent = False
            try:
                async with self.session().request(
                    method,
                    url,
                    params=query,
                    data=data,
                    headers=self._headers(method, path, public),
                    timeout=timeout,
                ) as resp:
                    raw = await resp.read()
                    status = resp.status
                    limiter.observe(resp.headers, limited=status == 429)
            except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
                raise RestError(f"{what}: TLS verification failed ({type(exc).__name__})") from None
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                # The connection never opened: the request certainly did not arrive.
                unsent = True
                self.stats.dropped += 1
                problem = f"cannot connect ({type(exc).__name__})"
                status = 0
            except (TimeoutError, aiohttp.ServerTimeoutError):
                self.stats.timeouts += 1
                problem = f"no reply within {timeout.total:g}s"
                status = 0
            except aiohttp.ClientError as exc:
                self.stats.dropped += 1
                problem = f"connection lost ({type(exc).__name__})"
                status = 0
            else:
                if 200 <= status < 300:
                    reply, unreadable = _body_of(raw)
                    if reply is not None:
                        return reply
                    # Applied or not, this body cannot say: a GET asks again, an order
                    # call is ambiguous (looked up, never sent twice).
                    self.stats.malformed += 1
                    self.malformed.report(f"reply to {method} {_template(path)}", unreadable)
                    problem = f"HTTP {status} with an unreadable body"
                else:
                    code, message = _error_of(status, raw)
                    problem = (
                        f"HTTP {status}"
                        + (f" {code}" if code else "")
                        + (f": {message}" if message else "")
                    )
                    if status == 429:
                        self.stats.rate_limited += 1
                        unsent = True
                    elif status >= 500:
                        self.stats.server_errors += 1
                    else:
                        raise RestError(f"{what}: {problem}", status=status, code=code)
            # A failure that may be retried (or is ambiguous).
            may_retry = retry == "always" or (retry == "unsent" and unsent)
            elapsed = time.monotonic() - started
            if not may_retry:
                if unsent:
                    raise RestError(f"{what}: {problem}", status=status)
                self.stats.ambiguous += 1
                raise Ambiguous(f"{what}: outcome unknown, {problem}", status=status)
            attempt += 1
            if attempt >= self.max_attempts or elapsed >= self.retry_budget_s:
                if unsent or method == "GET":
                    raise RestError(
                        f"{what}: gave up after {attempt} attempts, {problem}", status=status
                    )
                self.stats.ambiguous += 1
                raise Ambiguous(
                    f"{what}: outcome unknown after {attempt} attempts, {problem}", status=status
                )
            self.stats.retries += 1
            if status != 429:  # a 429 already paused the limiter for as long as it asked
                await asyncio.sleep(self._backoff(attempt))

    async def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, public: bool = False
    ) -> dict[str, Any]:
        return await self.request("GET", path, params=params, public=public)

    async def paginate(
        self,
        path: str,
        params: Mapping[str, Any],
        key: str,
        *,
        max_pages: int = 500,
    ) -> list[dict[str, Any]]:
        """Every item of a cursor-paged list (``has_next`` when present, else ``cursor``).
        The venue always sends the list, empty or not: a page without it is unreadable, not
        an empty list (no accounts read as a zero balance of every coin)."""
        items: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(max_pages):
            page = await self.get(path, {**params, "cursor": cursor or None})
            got = objects(page, key, f"reply to GET {_template(path)}")
            items.extend(got)
            cursor = str(page.get("cursor") or "")
            if not cursor or page.get("has_next") is False or not got:
                return items
        raise RestError(f"GET {path}: more than {max_pages} pages; narrow the query")

    # -- endpoints -------------------------------------------------------------------------

    async def products(self, product_type: str = "SPOT") -> list[dict[str, Any]]:
        """Every listed product of ``product_type`` (SPOT or FUTURE: CFM and INTX)."""
        items: list[dict[str, Any]] = []
        offset, limit = 0, 250
        for _ in range(100):
            page = await self.get(
                "/products",
                {"product_type": product_type, "limit": limit, "offset": offset or None},
            )
            got = objects(page, "products", "reply to GET /products")
            items.extend(got)
            pagination = page.get("pagination") or {}
            if not got or not pagination.get("has_next"):
                return items
            offset += len(got)
        return items

    async def accounts(self) -> list[dict[str, Any]]:
        return await self.paginate("/accounts", {"limit": 250}, "accounts")

    async def create_order(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request(
            "POST", "/orders", body=dict(body), retry="unsent", timeout_s=self.submit_timeout_s
        )

    async def preview_order(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /orders/preview``: what the venue would say to ``body`` (no side effect)."""
        return await self.request("POST", "/orders/preview", body=dict(body), retry="always")

    async def cancel_orders(self, order_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Cancel up to 100 orders (safe to retry: a repeat is a duplicate-cancel answer)."""
        if len(order_ids) > 100:
            raise ValueError("at most 100 order ids per batch_cancel")
        reply = await self.request(
            "POST",
            "/orders/batch_cancel",
            body={"order_ids": list(order_ids)},
            retry="always",
            timeout_s=self.submit_timeout_s,
        )
        return [r for r in reply.get("results") or [] if isinstance(r, dict)]

    async def edit_order(self, order_id: str, *, price: str, size: str) -> dict[str, Any]:
        return await self.request(
            "POST",
            "/orders/edit",
            body={"order_id": order_id, "price": price, "size": size},
            retry="unsent",
            timeout_s=self.submit_timeout_s,
        )

    async def get_order(
        self, order_id: str, client_order_id: str | None = None
    ) -> dict[str, Any] | None:
        """An order by venue id (or, with ``client_order_id``, by the deprecated lookup)."""
        params = {"client_order_id": client_order_id} if client_order_id else None
        try:
            reply = await self.get(f"/orders/historical/{order_id}", params)
        except RestError as exc:
            if exc.status in (400, 404):
                return None
            raise
        order = reply.get("order")
        return order if isinstance(order, dict) else None

    async def list_orders(self, **filters: Any) -> list[dict[str, Any]]:
        return await self.paginate("/orders/historical/batch", {"limit": 1000, **filters}, "orders")

    async def list_fills(self, **filters: Any) -> list[dict[str, Any]]:
        return await self.paginate("/orders/historical/fills", {"limit": 1000, **filters}, "fills")

    async def product_book(self, product_id: str, limit: int = 100) -> dict[str, Any]:
        return await self.get(
            "/market/product_book", {"product_id": product_id, "limit": limit}, public=True
        )
