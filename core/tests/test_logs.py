"""JSON-lines logging: one object per line with the fixed keys; run id from the record,
the formatter or the current run."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from gpt_trader.logs import JsonLinesFormatter, install, set_run_id


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    set_run_id(None)  # another test's run may have left its id behind
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter())
    logger = logging.getLogger("gpt_trader.kernel.test")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True
    set_run_id(None)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(x) for x in stream.getvalue().splitlines()]


def test_one_json_object_per_line_with_the_fixed_keys(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = capture
    logger.warning("trading state %s -> %s:\nsecond line", "ACTIVE", "HALTED")
    (line,) = lines(stream)
    assert set(line) == {"ts", "level", "logger", "message", "run_id", "component", "event"}
    assert line["level"] == "WARNING"
    assert line["logger"] == "gpt_trader.kernel.test"
    assert line["message"] == "trading state ACTIVE -> HALTED:\nsecond line"
    assert line["component"] == "kernel.test"
    assert line["run_id"] is None
    assert line["event"] is None
    assert str(line["ts"]).endswith("+00:00")
    assert stream.getvalue().count("\n") == 1


def test_run_id_component_event_and_extras(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    set_run_id("20250101T000000-abcdef")
    logger.info("fill", extra={"component": "sink", "event": "fill", "symbol": "BTC-USD"})
    logger.info("mine", extra={"run_id": "other"})
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    first, second, third = lines(stream)
    assert first["run_id"] == "20250101T000000-abcdef"
    assert first["component"] == "sink"
    assert first["event"] == "fill"
    assert first["symbol"] == "BTC-USD"
    assert second["run_id"] == "other"
    assert third["level"] == "ERROR"
    assert "ValueError: boom" in str(third["exc"])


def test_install_routes_our_loggers_as_json() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        install("INFO", stream=stream, run_id="r1")
        logging.getLogger("gpt_trader.control").info("applied pause")
        logging.getLogger("gpt_trader.control").debug("hidden")
    finally:
        root.handlers, root.level = saved[0], saved[1]
        logging.getLogger("gpt_trader").setLevel(logging.NOTSET)
    (line,) = lines(stream)
    assert line["message"] == "applied pause"
    assert line["run_id"] == "r1"
    assert line["component"] == "control"
