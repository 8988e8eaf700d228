"""The question at the end of a message is found apart from the story before it."""

from __future__ import annotations

import re

import pytest
from rasa.nlu.tokenizers.tokenizer import Token

from bot.nlu.focus import focus_start


def tokens_of(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in re.finditer(r"\w+", text)]


# (message, the words the featurizer counts) with window 6 and min_clause 3
CASES = [
    ("khai sinh can gi", "khai sinh can gi"),
    ("dk ks can j?", "dk ks can j"),
    ("e o xa vung cao, ks can gi", "ks can gi"),
    # a clause shorter than min_clause is not a question on its own
    ("khai sinh nop o dau, ad", "khai sinh nop o dau ad"),
    ("chao ad, e o xa Ia Grai, vo e moi sanh be duoc 3 tuan, gio muon lam giay khai sinh "
     "thi can mang theo nhung gi a", "can mang theo nhung gi a"),
    ("Nhà bác nghèo lắm.\nGiờ làm sổ đỏ hết bao nhiêu", "làm sổ đỏ hết bao nhiêu"),
    ("ong nha toi mat roi thi khai tu o dau", "roi thi khai tu o dau"),
    ("", ""),
]


@pytest.mark.parametrize("text,focus", CASES)
def test_focus_is_the_final_question(text, focus):
    tokens = tokens_of(text)
    start = focus_start(text, tokens, window=6, min_clause=3)
    assert " ".join(t.text for t in tokens[start:]) == focus
