"""Answering without TensorFlow: `bot chat` and `bot serve` load the model and answer with Rasa's
TensorFlow-only module left unimported (bot/serving/lean.py), about 360 MB less per process; nor
skops.io, Rasa's built-in channels or its test module (seconds of the cold start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO

# `bot chat --json` run by main() in a child, which then says what it imported and its peak memory.
CHILD = """
import json, sys
from bot.cli import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(json.dumps({"code": code, "tensorflow": "tensorflow" in sys.modules,
                  "heavy": sorted(m for m in ("skops.io", "aiogram", "socketio", "slack_sdk", "matplotlib",
                                              "apscheduler") if m in sys.modules),
                  "train_utils": type(sys.modules["rasa.utils.train_utils"]).__name__,
                  "peak_mb": int(status) // 1024}))
"""


@pytest.mark.slow  # a process of its own loads the model: about 10 s
def test_chat_loads_the_model_and_answers_without_importing_tensorflow(full_model: Path, tmp_path):
    env = dict(os.environ, BOT_ROOT=str(REPO), RASA_TELEMETRY_ENABLED="false")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "chat", "--channel", "sms", "--json", "--out", str(full_model.parent),
         "--name", full_model.name.removesuffix(".tar.gz"), "--db", str(tmp_path / "bot.db")],
        input=json.dumps({"sender": "0912000001", "text": "dang ky khai sinh can giay to gi"}) + "\n",
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=True)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    answer, state = lines
    assert "khai sinh" in answer["replies"][0]["text"].lower()
    assert state["code"] == 0
    assert state["tensorflow"] is False
    assert state["train_utils"] == "DeferredModule"
    # the classifier read without skops.io, Rasa's built-in channels and its test module not loaded
    assert state["heavy"] == []
    assert state["peak_mb"] < 700  # issue 16's bound per process; with TensorFlow it was 705


def test_the_deferred_module_is_imported_on_first_use_and_then_is_the_real_one(tmp_path):
    package = tmp_path / "deferpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "heavy.py").write_text("import sys\nsys.modules['deferpkg'].loads += 1\nVALUE = 42\n")
    code = """
import sys
import deferpkg
deferpkg.loads = 0
from bot.serving import lean
lean.DEFERRED_MODULES = ("deferpkg.heavy",)
lean.defer_tensorflow()
import deferpkg.heavy
from deferpkg import heavy
before = deferpkg.loads
print(before, heavy.VALUE, deferpkg.loads, sys.modules["deferpkg.heavy"].VALUE, deferpkg.loads,
      type(sys.modules["deferpkg.heavy"]).__name__, hasattr(heavy, "__path__"))
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    assert done.stdout.split() == ["0", "42", "1", "42", "1", "module", "False"]


def test_a_scan_of_every_module_for_a_name_leaves_a_deferred_module_unimported(tmp_path):
    """skops.io, imported after the stand-ins, looks up each NumPy ufunc's name in every module of
    sys.modules: a name the deferred module's source never binds must not import it."""
    package = tmp_path / "scanpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "heavy.py").write_text("import sys as _s\n_s.modules['scanpkg'].loads += 1\n"
                                      "def rank(x):\n    return x\n")
    code = """
import sys
import scanpkg
scanpkg.loads = 0
from bot.serving import lean
lean.DEFERRED_MODULES = ("scanpkg.heavy",)
lean.defer_tensorflow()
heavy = sys.modules["scanpkg.heavy"]
found = [getattr(module, "erf", None) for module in list(sys.modules.values())]
after_scan = scanpkg.loads
print(after_scan, hasattr(heavy, "erf"), scanpkg.loads, heavy.rank(7), scanpkg.loads)
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    assert done.stdout.split() == ["0", "False", "0", "7", "1"]


def test_a_module_paired_in_import_first_is_imported_just_before_its_pair_and_only_then(tmp_path):
    """skops.io before TensorFlow when training (its scan of every module costs 3-4 s more after
    TensorFlow's); serving, which never imports TensorFlow, never imports skops.io either."""
    for name, body in (("firstmod", "import builtins\nbuiltins.order.append('first')\n"),
                       ("heavymod", "import builtins\nbuiltins.order.append('heavy')\n")):
        (tmp_path / f"{name}.py").write_text(body)
    code = """
import builtins, sys
builtins.order = []
from bot.serving import lean
lean.DEFERRED_MODULES = ()
lean.IMPORT_FIRST = {"firstmod": "heavymod"}
lean.defer_tensorflow()
lean.defer_tensorflow()
before = "firstmod" in sys.modules
import heavymod
print(before, builtins.order, sum(isinstance(f, lean.ImportFirst) for f in sys.meta_path))
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    assert done.stdout.split() == ["False", "['first',", "'heavy']", "0"]
