"""Cross-package tests: the installed workspace, run as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import SHARED


@pytest.fixture
def shared_data() -> Path:
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is not present in this checkout")
    return path
