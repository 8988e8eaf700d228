"""Per-message cost of the NLU pipeline, with and without this project's rankers and focus features.

Run from the repository root: ``.venv/bin/python bench/nlu.py [repeats]``. Trains both
pipelines (about a minute), then parses every held-out message ``repeats`` times (default 3) with
each and prints medians. Both pipelines are measured in one run, so compare their ratio rather
than the absolute figures on a shared machine.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The components this project adds after the classifier or beside the stock featurizers.
ADDED = ("bot.nlu.focus.QuestionFocusFeaturizer", "bot.nlu.ranking.PlaceScopeRanker",
         "bot.nlu.ranking.KnownTextRanker")


def without_added(config: Path, into: Path) -> Path:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["pipeline"] = [c for c in data["pipeline"] if c["name"] not in ADDED]
    into.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return into


def parse_times(model: Path, texts: list[str], repeats: int) -> list[float]:
    from rasa.core.agent import Agent

    from bot.address import AddressBook

    agent = Agent.load(str(model))
    AddressBook.shared()  # loaded before the first citizen by the engine, too

    async def run() -> list[float]:
        await agent.parse_message("khai sinh can gi")
        times = []
        for _ in range(repeats):
            for text in texts:
                start = time.perf_counter()
                await agent.parse_message(text)
                times.append((time.perf_counter() - start) * 1000)
        return times

    return asyncio.run(run())


def main() -> None:
    os.chdir(ROOT)
    os.environ.setdefault("RASA_MAX_CACHE_SIZE", "0")
    from bot.build.evaluate import load_examples
    from bot.build.training import train_nlu
    from bot.cli.quiet import quiet
    from bot.project import Project

    quiet()
    project = Project.locate(ROOT)
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    texts = [t for f in project.heldout_sets
             for t, _, _ in load_examples(f)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        configs = [("ours (config.yml)", project.config),
                   ("without the added components", without_added(project.config,
                                                                   out / "config_plain.yml"))]
        rows = []
        for label, config in configs:
            start = time.perf_counter()
            model = train_nlu(project, config, out, label.split()[0])
            trained = time.perf_counter() - start
            times = parse_times(model, texts, repeats)
            rows.append((label, trained, statistics.median(times),
                         statistics.quantiles(times, n=20)[18]))
    print(f"{len(texts)} held-out messages x {repeats}")
    print(f"{'pipeline':<30} {'train s':>8} {'parse median ms':>16} {'parse p95 ms':>13}")
    for label, trained, median, p95 in rows:
        print(f"{label:<30} {trained:>8.1f} {median:>16.2f} {p95:>13.2f}")
    print(f"ratio of medians: {rows[0][2] / rows[1][2]:.2f}")


if __name__ == "__main__":
    main()
