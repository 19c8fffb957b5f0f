"""Shell completion: `gpt-trader --install-completion` installs for bash and zsh, and the
installed hook completes our commands (plugins' too)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_helpers import gpt_trader


@pytest.mark.parametrize(
    ("shell", "rc", "script"),
    [
        ("bash", ".bashrc", ".bash_completions/gpt-trader.sh"),
        ("zsh", ".zshrc", ".zfunc/_gpt-trader"),
    ],
)
def test_completion_installs(tmp_path: Path, shell: str, rc: str, script: str) -> None:
    # The shell named, not the one shellingham finds running the tests.
    env = {"HOME": str(tmp_path), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    proc = gpt_trader("--install-completion", shell, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / script).is_file()
    assert (tmp_path / rc).is_file()
    assert (
        "gpt-trader" in (tmp_path / script).read_text().lower()
        or "_gpt" in (tmp_path / script).read_text()
    )


def test_the_hook_completes_commands() -> None:
    env = {
        "_GPT_TRADER_COMPLETE": "complete_bash",
        "COMP_WORDS": "gpt-trader ru",
        "COMP_CWORD": "1",
    }
    proc = gpt_trader(env={**os.environ, **env})
    assert proc.stdout.split() == ["run"]
    env["COMP_WORDS"] = "gpt-trader we"  # a plugin's command
    proc = gpt_trader(env={**os.environ, **env})
    assert proc.stdout.split() == ["web"]
