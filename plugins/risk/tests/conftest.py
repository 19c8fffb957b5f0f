from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from risk_support import FakeState


@pytest.fixture
def state() -> FakeState:
    return FakeState()
