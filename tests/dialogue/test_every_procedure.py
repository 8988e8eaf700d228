"""Every aspect of every procedure, asked the way citizens type it, reaches that procedure's answer.

With 45 procedures the risk is a neighbour's answer (tạm trú for thường trú, a lost sổ đỏ for the
first one): each question names the procedure by one of its aliases, typed without diacritics, and
the reply must carry that procedure's heading and no other procedure's.
"""

from __future__ import annotations

import pytest

from bot.catalogue import ASPECTS, load_catalogue
from bot.text import fold
from tests.paths import PROJECT

CATALOGUE = load_catalogue(PROJECT.procedures)
QUESTIONS = {  # how citizens ask each aspect, with {p} for the procedure
    "documents": "{p} can giay to gi", "fee": "le phi {p} bao nhieu", "where": "{p} nop o dau",
    "processing_time": "{p} bao lau thi co ket qua", "deadline": "{p} thoi han bao lau",
    "online": "{p} lam online duoc ko", "steps": "cac buoc lam {p}",
}
CASES = [(proc.id, aspect, QUESTIONS[aspect].format(p=fold(proc.aliases[i % len(proc.aliases)]).lower()))
         for proc in CATALOGUE for i, aspect in enumerate(ASPECTS)]


@pytest.mark.parametrize(("procedure", "aspect", "question"), CASES,
                         ids=[f"{p}-{a}" for p, a, _ in CASES])
def test_each_aspect_reaches_its_procedure(engine, event_loop_session, procedure, aspect, question):
    proc = CATALOGUE.get(procedure)
    replies = event_loop_session.run_until_complete(engine.handle(f"every-{procedure}-{aspect}", question))
    first = replies[0].text if replies else ""
    # the aspect's answer ("Tạm trú – Lệ phí: ...") or that procedure's FAQ on it ("Tạm trú: ...")
    expected = (f"{proc.short_name} –", f"{proc.short_name}:")
    assert first.startswith(expected), f"{question!r} -> {first[:200]!r}"
