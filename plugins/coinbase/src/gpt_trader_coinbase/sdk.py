"""The official SDK (``coinbase-advanced-py``) for tools that call Coinbase once in a while:
preflight's account checks and research's candle download. The brokers and the feed use
their own asyncio client (:mod:`gpt_trader_coinbase.rest`).

The SDK's ``RESTClient`` talks through ``requests``, which trusts a simulator's
self-signed certificate only through ``REQUESTS_CA_BUNDLE``; :func:`trusting` sets it for
the calls made inside it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

CA_BUNDLE_ENV = "REQUESTS_CA_BUNDLE"


def rest_client(**kwargs: Any) -> Any:
    """The SDK's ``RESTClient(**kwargs)`` (``base_url``, ``timeout``, ``api_key``,
    ``api_secret``); imported here so its users need no import of the SDK themselves."""
    from coinbase.rest import RESTClient  # type: ignore[import-untyped]

    return RESTClient(**kwargs)


@contextlib.contextmanager
def trusting(cert_file: str | None) -> Iterator[None]:
    """Trust ``cert_file`` (a simulator's certificate) for the SDK's requests made inside;
    nothing changes for None."""
    if not cert_file:
        yield
        return
    old = os.environ.get(CA_BUNDLE_ENV)
    os.environ[CA_BUNDLE_ENV] = cert_file
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(CA_BUNDLE_ENV, None)
        else:
            os.environ[CA_BUNDLE_ENV] = old


def response_data(response: Any) -> dict[str, Any]:
    """An SDK response (or one of its nested objects) as a plain dict."""
    if isinstance(response, dict):
        return response
    to_dict = getattr(response, "to_dict", None)
    return dict(to_dict()) if callable(to_dict) else dict(vars(response))
