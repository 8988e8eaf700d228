"""Wrong-procedure answers of every held-out set, scored with a model already trained.

Run from the repository root: ``.venv/bin/python bench/wrong_procedures.py MODEL [--misses]
[--readings]`` (``MODEL``: a ``.tar.gz`` made by ``bot train`` or ``bot evaluate``, e.g.
``models/nlu-ours.tar.gz``). Prints, per set, intent accuracy, procedure F1 and the
wrong-procedure answers (expected -> found: message), with ``bot.build.evaluate``'s scoring;
``--readings`` adds under each what the extractor saw (each procedure entity: named or told,
its value and the words it was read from) and the intent's confidence. A message the bot
answers with the question which procedure, the one meant among those offered, is listed apart
(``ASKED``, "asked which"): it gives no other procedure's facts. Then
the CPU time of one parse (median and p95 over all messages, ``time.process_time``:
independent of the machine's load). Without
training, it shows what a change of the rules in ``bot/nlu/`` does; a change of the catalogue or
of ``nlu_data/`` needs a new model.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def set_number(path: Path) -> int:
    tail = path.stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 1


def parse_cpu_times(agent: object, texts: list[str]) -> list[float]:
    """CPU milliseconds of each parse."""
    times = []

    async def run() -> None:
        for text in texts:
            started = time.process_time()
            await agent.parse_message(text)
            times.append((time.process_time() - started) * 1000)

    asyncio.run(run())
    return times


def readings(agent: object, text: str) -> str:
    """What the pipeline read in ``text``: the intent's confidence and each procedure entity."""
    parsed = asyncio.run(agent.parse_message(text))
    found = [f"{e['entity']}={e['value']} \"{e.get('text')}\"" for e in parsed["entities"]
             if str(e["entity"]).startswith("procedure")]
    return f"{parsed['intent']['name']} {parsed['intent']['confidence']:.2f}; " + "; ".join(found)


def main(model: Path, show_misses: bool, show_readings: bool = False) -> None:
    from bot.cli.quiet import quiet

    quiet()
    from bot.build.evaluate import load_agent, load_examples, score
    from bot.catalogue import load_catalogue

    agent = load_agent(model)
    not_covered = frozenset(n.id for n in load_catalogue(ROOT / "procedures").not_covered)
    total, asked, texts = 0, 0, []
    for test in sorted(ROOT.glob("tests/data/nlu_heldout*.yml"), key=set_number):
        examples = load_examples(test)
        texts += [text for text, _, _ in examples]
        result = score(agent, examples, test.name, not_covered)
        total += len(result.wrong_procedure)
        asked += len(result.asked_which)
        print(f"{test.name:<22} intent {result.intent_accuracy:.3f}  F1 {result.entity_f1:.3f}  "
              f"wrong procedure {len(result.wrong_procedure)}  asked which {len(result.asked_which)}")
        for text, expected, found in result.wrong_procedure:
            print(f"    {expected} -> {found}: {text}")
            if show_readings:
                print(f"        read: {readings(agent, text)}")
        for text, expected, found in result.asked_which:
            print(f"    ASKED {expected} -> {found}: {text}")
        if show_misses:
            for text, expected, predicted in result.misses:
                print(f"    MISS {expected} -> {predicted}: {text}")
    times = sorted(parse_cpu_times(agent, texts))
    print(f"wrong-procedure answers in all sets: {total}; asked which (the one meant offered): {asked}")
    print(f"parse CPU time over {len(times)} messages: median {statistics.median(times):.2f} ms, "
          f"p95 {times[int(len(times) * 0.95)]:.2f} ms")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), "--misses" in sys.argv[2:], "--readings" in sys.argv[2:])
