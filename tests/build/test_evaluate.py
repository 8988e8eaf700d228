"""What the held-out scoring counts as a wrong-procedure answer, and what as the question which."""

from __future__ import annotations

import pytest

from bot.build.evaluate import score


class Parsed:
    """An agent answering every message with the same intent and entities."""

    def __init__(self, intent: str, entities: list[tuple[str, str]]) -> None:
        self.parsed = {"intent": {"name": intent, "confidence": 1.0},
                       "entities": [{"entity": kind, "value": value} for kind, value in entities]}

    async def parse_message(self, text: str) -> dict:
        return self.parsed


def named(*values: str) -> list[tuple[str, str]]:
    return [("procedure", v) for v in values]


def told(*values: str) -> list[tuple[str, str]]:
    return [("procedure_told", v) for v in values]


@pytest.mark.parametrize(("intent", "entities", "meant", "wrong", "asked"), [
    # the neighbour's facts
    ("ask_documents", named("tam_tru"), {"thuong_tru"}, 1, 0),
    ("ask_documents", told("tam_tru"), {"thuong_tru"}, 1, 0),
    # a question offering the one meant gives nobody else's facts
    ("ask_documents", told("tam_tru", "thuong_tru"), {"thuong_tru"}, 0, 1),
    # a question offering only procedures not meant leads to a wrong one
    ("ask_documents", told("tam_tru", "tach_ho"), {"thuong_tru"}, 1, 0),
    ("ask_documents", told("tam_tru", "tach_ho"), set(), 1, 0),
    # a name beside the story is answered, not asked about
    ("ask_documents", named("tam_tru") + told("thuong_tru", "tach_ho"), {"thuong_tru"}, 1, 0),
    # replies without facts mislead nobody
    ("out_of_scope", named("tam_tru"), {"thuong_tru"}, 0, 0),
    ("ask_documents", named("thuong_tru"), {"thuong_tru"}, 0, 0),
])
def test_wrong_answers_and_questions_are_counted_apart(intent: str, entities: list[tuple[str, str]],
                                                       meant: set[str], wrong: int, asked: int) -> None:
    result = score(Parsed(intent, entities), [("tin nhan", "ask_documents", meant)], "set")
    assert (len(result.wrong_procedure), len(result.asked_which)) == (wrong, asked)


# A procedure we do not cover gets the honest reply, whatever the intent: no facts, so no wrong
# answer, and neither a hit nor a miss (the sets annotate no uncovered procedure).
@pytest.mark.parametrize(("entities", "meant", "wrong", "tp", "fp"), [
    (named("ho_chieu"), set(), 0, 0, 0),
    (named("ho_chieu") + told("tam_tru"), set(), 0, 0, 0),
    (named("ho_chieu", "tam_tru"), {"thuong_tru"}, 1, 0, 1),
    (named("ho_chieu", "thuong_tru"), {"thuong_tru"}, 0, 1, 0),
])
def test_a_procedure_not_covered_gives_no_facts(entities, meant, wrong, tp, fp):
    result = score(Parsed("ask_fee", entities), [("tin nhan", "ask_fee", meant)], "set",
                   frozenset({"ho_chieu"}))
    assert (len(result.wrong_procedure), result.entity_tp, result.entity_fp) == (wrong, tp, fp)
