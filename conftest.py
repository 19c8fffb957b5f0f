"""What every test process shares, whichever package's tests run.

A machine that sets ``PYTHONDONTWRITEBYTECODE`` (the CI machines do) makes every process
the tests start (``gpt-trader ...``, a simulator, a bench script) compile the whole package
and its dependencies from source: about 40 % of a command-line test's time. The test run's
processes share one bytecode cache instead, in a private directory outside the tree that
is removed when the run ends, so nothing is written where the setting forbids it. What is
tested does not change: a module runs the same from source or from its cache
(``bench/startup.py`` times both itself, with its own environment).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile


def _share_bytecode() -> None:
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    prefix = tempfile.mkdtemp(prefix="gpt-trader-tests-pyc-")
    atexit.register(shutil.rmtree, prefix, ignore_errors=True)
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    sys.dont_write_bytecode = False
    sys.pycache_prefix = prefix


_share_bytecode()
