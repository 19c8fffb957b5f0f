"""Files the simulator writes that hold secrets."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only, with no window where the mode is wider."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    # O_CREAT's mode does not apply to a file that already existed.
    os.chmod(path, 0o600)
