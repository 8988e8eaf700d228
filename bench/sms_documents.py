"""SMS parts of every procedure's documents answer (issue 12: at most 3 SMS on plain SMS).

Run from the repository root: ``.venv/bin/python bench/sms_documents.py [--all]``. For each
procedure, the SMS the documents answer costs as the SMS channel sends it (every page, those read
with THEM included), how it is shaped (the whole list, or the papers every case needs and the cases
to pick), and the longest follow-up a picked case sends. Prints a Markdown table, longest first;
without ``--all`` only the procedures whose answer or a follow-up needs more than 3 SMS.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalogue import load_catalogue  # noqa: E402
from bot.contract import SMS_MAX_PARTS  # noqa: E402
from bot.dialogue.answers import CASE_SEPARATOR, Answers  # noqa: E402
from bot.dialogue.phrases import load_phrases  # noqa: E402
from bot.dialogue.preview import shown  # noqa: E402


def measure(answers: Answers) -> list[tuple[str, int, str, int]]:
    """(procedure, SMS of the answer, shape, SMS of the longest case follow-up) per procedure."""
    rows = []
    for proc in answers.catalogue:
        reply = answers.documents(proc)
        _, parts = shown(reply, "sms")
        follow_ups = [answers.documents_case(f"{proc.id}{CASE_SEPARATOR}{option.id}")
                      for _, option in answers.cases(proc)] if reply.buttons else []
        longest = max((shown(found[1], "sms")[1] for found in follow_ups if found), default=0)
        shape = f"common + {len(reply.buttons)} cases" if reply.buttons else "whole list"
        rows.append((proc.id, parts, shape, longest))
    return sorted(rows, key=lambda row: (-max(row[1], row[3]), row[0]))


def main(argv: list[str]) -> int:
    answers = Answers(load_catalogue(ROOT / "procedures"), load_phrases(ROOT / "flows" / "phrases.yml"))
    rows = measure(answers)
    print("| procedure | SMS | shape | longest case follow-up |")
    print("|---|---|---|---|")
    for proc_id, parts, shape, longest in rows:
        if "--all" in argv or max(parts, longest) > SMS_MAX_PARTS:
            print(f"| {proc_id} | {parts} | {shape} | {longest or '-'} |")
    over = sum(max(parts, longest) > SMS_MAX_PARTS for _, parts, _, longest in rows)
    print(f"\n{len(rows)} procedures, {over} over {SMS_MAX_PARTS} SMS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
