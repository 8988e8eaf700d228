"""Whose FAQ entry answers each situational question of the held-out sets, with no conversation
before it.

Run from the repository root: ``.venv/bin/python bench/faq_answers.py MODEL [--list]``
(``MODEL``: a ``.tar.gz`` made by ``bot train``). Every message the model reads as ``faq`` is
answered as ``bot.dialogue.actions`` answers it in a new conversation: the procedure the message
names (the last one, as the slot takes it) or the one its story leads to, then
``Answers.answer_faq``. Messages whose story leads to several procedures (the bot asks which
before any FAQ) and those naming only a procedure we do not cover are left out. Prints how many
got an entry of a procedure the set annotates ("right"), of another ("wrong"), of some procedure
where the set annotates none ("unannotated": judge by hand with ``--list``), and how many got the
question which procedure, with the annotated one offered or not.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(model: Path, show: bool) -> None:
    from bot.cli.quiet import quiet

    quiet()
    from bench.wrong_procedures import set_number
    from bot.build.evaluate import load_agent, load_examples
    from bot.dialogue.actions import load
    from bot.dialogue.answers import TOLD_ENTITY
    from bot.project import Project

    agent = load_agent(model)
    book = load(Project.locate(ROOT))["answers"]
    tally: Counter[str] = Counter()
    for test in sorted(ROOT.glob("tests/data/nlu_heldout*.yml"), key=set_number):
        for text, _, gold in load_examples(test):
            parsed = asyncio.run(agent.parse_message(text))
            if parsed["intent"]["name"] != "faq":
                continue
            entities = parsed.get("entities") or []
            named = [str(e["value"]) for e in entities
                     if e["entity"] == "procedure" and book.catalogue.get(str(e["value"]))]
            told = sorted({str(e["value"]) for e in entities if e["entity"] == TOLD_ENTITY})
            if not named and (len(told) > 1 or any(e["entity"] == "other_procedure" for e in entities)):
                continue
            procedure = book.catalogue.get((named or told or [None])[-1])
            reply, answered = book.answer_faq(text, procedure, {*named, *told})
            if answered is not None:
                verdict = "right" if answered.id in gold else "wrong" if gold else "unannotated"
            elif not gold:
                verdict = "asked which, none annotated"
            else:
                offered = {json.loads(b.payload[b.payload.index("{"):])["procedure"]
                           for b in reply.buttons}
                verdict = "asked which, annotated offered" if offered & gold else \
                    "asked which, annotated not offered"
            tally[verdict] += 1
            if show and verdict != "right":
                print(f"{verdict:<36} {test.name:<20} {','.join(sorted(gold)) or '-':<24} "
                      f"{answered.id if answered else '-':<24} {text}")
    print(f"faq messages answered: {sum(tally.values())}")
    for verdict, count in sorted(tally.items()):
        print(f"  {verdict}: {count}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), "--list" in sys.argv[2:])
