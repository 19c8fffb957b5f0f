"""Malformed payloads, the way a broken proxy or a venue bug would send them.

:func:`mangle` takes a JSON document (a REST body or a WebSocket frame) and spoils it in one
way, chosen by ``kind``:

* ``type``: one value (a leaf or a whole object/list) becomes a value of another type;
* ``missing``: one key of one object is left out;
* ``enum``: one enumerated field (status, side, type, channel, ...) gets a value no client
  knows;
* ``truncated``: the text is cut short (not JSON any more);
* ``huge``: one number (wire numbers are strings) becomes absurdly large.

The choice of the spoiled place comes from ``rng``: the same seed spoils the same place.
A document with nothing of the kind to spoil (no enum field, say) falls back to ``type``.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any, Literal

Kind = Literal["type", "missing", "enum", "truncated", "huge"]
KINDS: tuple[Kind, ...] = ("type", "missing", "enum", "truncated", "huge")
ENUM_KEYS = frozenset(
    {
        "status",
        "side",
        "order_side",
        "type",
        "order_type",
        "channel",
        "time_in_force",
        "liquidity_indicator",
        "product_type",
        "trade_type",
    }
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_WRONG: tuple[Any, ...] = (None, True, 12.5, -7, [], {}, "", "not-a-value", [1, "x"], {"x": 1})
_HUGE = ("9" * 400, "1E+999999", "-1e5000", "123456789012345678901234567890.5")
UNKNOWN_ENUM = "SOMETHING_NEW"

# A place in a document: the container and the key (or index) inside it.
Place = tuple[Any, Any]


def mangle(doc: Any, kind: Kind, rng: random.Random) -> str:
    """``doc`` spoiled as ``kind`` says, as the text to send."""
    if kind == "truncated":
        text = json.dumps(doc, separators=(",", ":"))
        return text[: rng.randrange(1, max(2, len(text)))]
    doc = json.loads(json.dumps(doc))  # a copy: the caller's document stays as it was
    places = _places(doc)
    if kind == "missing":
        keyed = [(c, k) for c, k in places if isinstance(c, dict)]
        if keyed:
            container, key = rng.choice(keyed)
            del container[key]
            return _dump(doc)
    elif kind == "enum":
        enums = [(c, k) for c, k in places if k in ENUM_KEYS and isinstance(c[k], str)]
        if enums:
            container, key = rng.choice(enums)
            container[key] = UNKNOWN_ENUM
            return _dump(doc)
    elif kind == "huge":
        numbers = [(c, k) for c, k in places if isinstance(c[k], str) and _NUMBER.match(c[k])]
        if numbers:
            container, key = rng.choice(numbers)
            container[key] = rng.choice(_HUGE)
            return _dump(doc)
    if not places:
        return _dump(rng.choice([v for v in _WRONG if type(v) is not type(doc)]))
    container, key = rng.choice(places)
    old = container[key]
    container[key] = rng.choice([v for v in _WRONG if type(v) is not type(old)])
    return _dump(doc)


def _places(doc: Any) -> list[Place]:
    """Every (container, key) in ``doc``, depth first."""
    if not isinstance(doc, (dict, list)):
        return []
    out: list[Place] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            out.append((node, key))
            if isinstance(value, (dict, list)):
                stack.append(value)
    return out


def _dump(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))
