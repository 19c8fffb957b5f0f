"""Error replies in the venue's shapes.

Coinbase's gRPC gateway answers errors with compact JSON
``{"error":"INVALID_ARGUMENT","error_details":"...","message":"..."}`` (compact matters: the
SDK looks for the substring ``"error_details":"Missing required scopes"``); a bad JWT gets a
plain-text ``Unauthorized``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

JSON_CT = "application/json"


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


class ApiError(Exception):
    """Raised by handlers; the error middleware turns it into the documented reply."""

    def __init__(self, status: int, error: str, details: str, message: str | None = None) -> None:
        super().__init__(f"{status} {error}: {details}")
        self.status = status
        self.error = error
        self.details = details
        self.message = details if message is None else message

    def response(self) -> web.Response:
        body = {"error": self.error, "error_details": self.details, "message": self.message}
        return web.Response(status=self.status, text=compact(body), content_type=JSON_CT)


def invalid_argument(details: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", details)


def not_found(details: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", details)


def permission_denied(details: str = "Missing required scopes") -> ApiError:
    return ApiError(403, "PERMISSION_DENIED", details)


def unauthorized() -> web.Response:
    return web.Response(status=401, text="Unauthorized\n", content_type="text/plain")


def internal_error() -> web.Response:
    body = {"error": "INTERNAL", "error_details": "internal error", "message": "internal error"}
    return web.Response(status=500, text=compact(body), content_type=JSON_CT)
