"""The API's OpenAPI document, generated from the response models (never written by hand,
so it cannot drift from what the server answers)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from gpt_trader_web import views

# path -> (summary, response model); every GET under /api/v1/.
READS: dict[str, tuple[str, type[BaseModel]]] = {
    "/dashboard": ("Everything the page shows", views.DashboardView),
    "/state": ("Trading state, pauses and banners", views.State),
    "/positions": ("Positions: the bot's inventory beside the account", views.PositionView),
    "/orders": ("Working orders, bracket legs included", views.OrderView),
    "/fills": ("The current run's recent fills", views.FillView),
    "/pnl": ("P&L by kind, product and day; equity and exposure", views.PnlView),
    "/trips": ("Guard trips, newest first", views.TripView),
    "/alerts": ("Alerts and component failures", views.AlertView),
    "/freshness": ("Market data age per product", views.FreshnessView),
    "/runs": ("Run history, newest first", views.RunView),
}
LISTS = {"/positions", "/orders", "/fills", "/trips", "/alerts", "/freshness", "/runs"}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def openapi(actions: tuple[str, ...], read_only: bool) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    models: list[type[BaseModel]] = [m for _, m in READS.values()]
    models += [views.ControlResult, views.ApiError]
    for model in models:
        doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(doc.pop("$defs", {}))
        schemas[model.__name__] = doc
    paths: dict[str, Any] = {}
    for path, (summary, model) in READS.items():
        body = {"type": "array", "items": _ref(model)} if path in LISTS else _ref(model)
        paths[f"/api/v1{path}"] = {
            "get": {
                "summary": summary,
                "responses": {"200": {"content": {"application/json": {"schema": body}}}},
            }
        }
    paths["/api/v1/stream"] = {
        "get": {
            "summary": "Server-Sent Events: a DashboardView as each `data:` line, every second",
            "responses": {"200": {"content": {"text/event-stream": {}}}},
        }
    }
    if not read_only:
        paths["/api/v1/control/{action}"] = {
            "post": {
                "summary": "Record an operator action; the bot applies it on its next poll",
                "security": [{"bearer": []}],
                "parameters": [
                    {
                        "name": "action",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": list(actions)},
                    }
                ],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"reason": {"type": "string", "maxLength": 500}},
                                "required": ["reason"],
                            }
                        }
                    }
                },
                "responses": {
                    "200": {"content": {"application/json": {"schema": _ref(views.ControlResult)}}},
                    "400": {"content": {"application/json": {"schema": _ref(views.ApiError)}}},
                    "401": {"content": {"application/json": {"schema": _ref(views.ApiError)}}},
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "GPT-Trader web API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
