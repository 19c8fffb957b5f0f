"""Secrets out of a configuration before anyone sees it (``config show``, text and JSON).

A value is replaced by :data:`REDACTED` when any one rule says it is a secret:

- a validated settings model holds it in a ``SecretStr`` (:func:`secret_values`), wherever
  it appears;
- its key is named like a secret (``token``, ``password``, ``api_key``, ``webhook_url``,
  ``username``, ...), unless the name says where the secret comes from (``password_env``,
  ``url_env``, ``key_file``: the name of a variable or a file, which the user needs to see);
- it is a URL inside a webhook's settings (the URL is the credential), or the credentials in
  any other URL (``user:password@``, a query parameter named like a secret).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, SecretBytes, SecretStr

REDACTED = "<redacted>"

_SECRET_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "bearer",
        "cookie",
        "credential",
        "credentials",
        "dsn",
        "key",
        "keys",
        "login",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "secrets",
        "sig",
        "signature",
        "token",
        "tokens",
        "username",
        "webhook",
    }
)
# A last word naming where a secret is kept, not the secret itself.
_REFERENCE_WORDS = frozenset({"env", "file", "path"})
# Keys whose value says what a settings block is (``kind = "webhook"``).
_KIND_KEYS = ("kind", "use", "type")


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


def is_secret_name(name: str) -> bool:
    words = _words(name)
    return (
        bool(words) and words[-1] not in _REFERENCE_WORDS and any(w in _SECRET_WORDS for w in words)
    )


def secret_values(*models: BaseModel) -> set[str]:
    """Every non-empty value the models hold in a ``SecretStr``/``SecretBytes``."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
        elif isinstance(value, SecretBytes):
            found.add(value.get_secret_value().decode("utf-8", "replace"))
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(item)

    for model in models:
        walk(model)
    return {s for s in found if s}


def redact(data: Any, secrets: set[str] | frozenset[str] = frozenset()) -> Any:
    """A copy of JSON-like ``data`` with every secret replaced (see the module doc)."""
    if isinstance(data, dict):
        webhook = any("webhook" in _words(str(data.get(k, ""))) for k in _KIND_KEYS)
        out: dict[Any, Any] = {}
        for key, value in data.items():
            named = value not in (None, "") and is_secret_name(str(key))
            webhook_url = webhook and isinstance(value, str) and "://" in value
            out[key] = REDACTED if named or webhook_url else redact(value, secrets)
        return out
    if isinstance(data, list):
        return [redact(item, secrets) for item in data]
    if isinstance(data, str):
        return REDACTED if data in secrets else _redact_url(data)
    return data


def _redact_url(text: str) -> str:
    """``text`` with a URL's credentials replaced; anything else unchanged."""
    if "://" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            query = urlencode(
                [(k, REDACTED if is_secret_name(k) else v) for k, v in pairs], safe="<>"
            )
    if (netloc, query) == (parts.netloc, parts.query):
        return text
    return urlunsplit(parts._replace(netloc=netloc, query=query))
