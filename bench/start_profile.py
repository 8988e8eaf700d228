"""Where ``bot serve``'s start goes: py-spy over what it does before its first reply.

Run from the repository root (py-spy is on PyPI)::

    PYTHONPATH=. .venv/bin/python bench/start_profile.py [--other DIR] [--py-spy PATH]

A child process does what ``bot serve`` does up to its first reply: ``quiet()``, the imports,
``Engine.load`` of ``models/current.tar.gz`` on a fresh SQLite file, one turn; py-spy samples it
(``--nonblocking -r 50 --format raw``). Printed: the inclusive share of the samples of each part
(a sample counts in every part its stack passes through, so parts overlap), the child's own timings
and its peak resident set. ``--other DIR`` profiles another checkout (its code and project) first.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import time
started = time.monotonic()
import asyncio, sys, tempfile
from pathlib import Path
from bot.cli.quiet import quiet
quiet()
from bot.project import Project
from bot.serving.engine import Engine
imported = time.monotonic()
project = Project.locate()
engine = Engine.load(project.models / "current.tar.gz", Path(tempfile.mkdtemp()) / "bot.db", project)
loaded = time.monotonic()
replies = asyncio.run(engine.handle("5550000001", "khai sinh can giay to gi", "telegram"))
answered = time.monotonic()
peak = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"imports {imported - started:.1f} s, Engine.load {loaded - imported:.1f} s, first turn "
      f"{answered - loaded:.2f} s, in all {answered - started:.1f} s, CPU "
      f"{usage.ru_utime + usage.ru_stime:.1f} s; peak {int(peak) // 1024} MB; "
      f"tensorflow imported: {'tensorflow' in sys.modules}; replies: {len(replies)}", file=sys.stderr)
"""

# (part, a pattern one frame of the stack matches)
PARTS = (
    ("`import rasa.core.agent` (Rasa's modules)", r"<module> \(rasa/core/agent\.py"),
    ("importing TensorFlow", r"<module> \(tensorflow/__init__\.py"),
    ("`import skops.io`", r"<module> \(skops/io/__init__\.py"),
    ("Rasa's built-in channels (their package's `__init__`)", r"<module> \(rasa/core/channels/__init__"),
    ("matplotlib (`rasa.core.test`)", r"<module> \(matplotlib/__init__\.py"),
    ("scikit-learn's modules", r"<module> \(sklearn/"),
    ("the classifier's file read without skops (`read_logistic_regression`)",
     r"^read_logistic_regression \(bot/serving/classifier_file\.py"),
    ("`bot.dialogue.actions.load` (catalogue, FAQ index, address book)", r"^load \(bot/dialogue/actions\.py"),
    ("of which the catalogue checked (`check_catalogue`)", r"^check_catalogue \(bot/catalogue/loading\.py"),
    ("of which read back from var/cache (`bot.cache.cached`)", r"^cached \(bot/cache\.py"),
    ("the address gazetteer (`bot/address/gazetteer.py`, vietnamadminunits)",
     r"\((bot/address/gazetteer\.py|vietnamadminunits/)"),
    ("`Agent.load` (the model)", r"^load \(rasa/core/agent\.py"),
    ("the first turn (`Engine.handle`)", r"^handle \(bot/serving/engine\.py"),
)


def _short(frame: str, root: Path) -> str:
    frame = re.sub(r"\(\S*?(site-packages|dist-packages)/", "(", frame)
    return frame.replace(f"({root}/", "(")


def shares(raw: Path, root: Path) -> tuple[int, Counter]:
    parts: Counter = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        frames = [_short(f, root) for f in stack.split(";")]
        for name, pattern in PARTS:
            if any(re.search(pattern, f) for f in frames):
                parts[name] += int(count)
    return total, parts


def profile(root: Path, py_spy: str, out: Path) -> str:
    raw = out / f"start-{root.name}.txt"
    env = dict(os.environ, PYTHONPATH=str(root), BOT_ROOT=str(root), RASA_TELEMETRY_ENABLED="false")
    done = subprocess.run([py_spy, "record", "--nonblocking", "-r", "50", "--format", "raw", "-o", str(raw),
                           "--", sys.executable, "-c", CHILD], cwd=root, env=env, capture_output=True,
                          text=True, timeout=1800)
    timing = next((line for line in done.stderr.splitlines() if line.startswith("imports ")),
                  done.stderr[-2000:])
    total, parts = shares(raw, root)
    lines = [f"{root}: {timing}", f"{total} samples", "", "| part | share of samples |", "|---|---|"]
    lines += [f"| {name} | {parts[name] / total:.0%} |" for name, _ in PARTS] if total else []
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", type=Path, default=None, help="another checkout, profiled first")
    parser.add_argument("--py-spy", default=str(Path(sys.executable).with_name("py-spy")))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        for root in ([args.other.resolve()] if args.other else []) + [ROOT]:
            print(profile(root, args.py_spy, Path(tmp)), end="\n\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
