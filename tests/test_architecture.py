"""The tree shows the layers: an import against their direction fails here.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``); import-linter checks them over
the whole import graph, imports inside functions included.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_tree_keeps_its_import_contracts():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "statement", "contract"), [
    ("connectors/telegram/updates.py", "import bot.serving.store", "Connectors depend on the contract only"),
    ("bot/catalogue/model.py", "import bot.dialogue.answers", "Layers of bot"),
    ("bot/contract/reply.py", "import bot.text", "Layers of bot"),
    ("bot/render.py", "import connectors.kannel", "Nothing in bot imports a connector"),
])
def test_an_import_against_the_direction_is_caught(tmp_path, module, statement, contract):
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(REPO / "pyproject.toml", copy)
    for package in ("bot", "connectors"):
        shutil.copytree(REPO / package, copy / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.yml"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{statement}  # noqa\n", encoding="utf-8")
    result = _lint(copy)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout
