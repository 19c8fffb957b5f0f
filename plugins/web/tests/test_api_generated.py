"""Generated bad requests against a real server on loopback: every answer is JSON with a
4xx status and an ``error``, never a 5xx, and a control is recorded only when it carries
the token and a reason (one action per such request, none for anything else)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from gpt_trader.store import Store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_support import WebServer

ACTIONS = ["pause", "resume", "reduce-only", "halt", "cancel-all", "stop"]
SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=8,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=600).map(lambda reason: json.dumps({"reason": reason}).encode()),
)
printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


def call(url: str, method: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def recorded(state: Path) -> int:
    with Store(state / "gpt_trader.db", create=False) as store:
        return len(store.operator_actions(pending_only=False))


def valid(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    reason = data.get("reason") if isinstance(data, dict) else None
    return isinstance(reason, str) and bool(reason.strip()) and len(reason) <= 500


@SETTINGS
@given(header=printable, action=st.sampled_from(ACTIONS), body=bodies)
def test_a_control_without_the_token_changes_nothing(
    web: WebServer, finished_store: Path, header: str, action: str, body: bytes
) -> None:
    before = recorded(finished_store)
    status, answer = call(
        web.url + f"api/v1/control/{action}", "POST", body, {"Authorization": header}
    )
    assert status == 401
    assert "error" in answer
    assert recorded(finished_store) == before


@SETTINGS
@given(
    action=st.sampled_from(ACTIONS)
    | printable.filter(lambda a: a and "/" not in a and "?" not in a and "#" not in a),
    body=bodies,
)
def test_a_control_with_the_token_is_recorded_only_when_well_formed(
    web: WebServer, finished_store: Path, action: str, body: bytes
) -> None:
    before = recorded(finished_store)
    path = urllib.request.quote(action, safe="")
    status, answer = call(
        web.url + f"api/v1/control/{path}",
        "POST",
        body,
        {"Authorization": f"Bearer {web.token}", "Content-Type": "application/json"},
    )
    if action in ACTIONS and valid(body):
        assert status == 200, answer
        assert recorded(finished_store) == before + 1
    else:
        assert 400 <= status < 500, answer
        assert "error" in answer
        assert recorded(finished_store) == before


@SETTINGS
@given(path=printable.filter(lambda p: ".." not in p and not p.startswith("stream")))
def test_any_api_path_answers_json_and_never_fails(web: WebServer, path: str) -> None:
    status, answer = call(
        web.url + "api/v1/" + urllib.request.quote(path, safe="/"), "GET", None, {}
    )
    assert status < 500
    assert isinstance(answer, (dict, list))
