"""Multi-turn conversations through the trained model, checked by phrases a citizen would see."""

from __future__ import annotations

import asyncio

import pytest
import yaml

from bot.text import search_key
from tests.paths import PROJECT, REPO

CASES = yaml.safe_load((REPO / "tests" / "data" / "conversations.yml")
                       .read_text(encoding="utf-8"))["conversations"]


def text_of(replies) -> str:
    parts = []
    for reply in replies:
        parts.append(reply.text)
        parts.extend(button.title for button in reply.buttons)
    return search_key(" ".join(parts))


def _case(case: dict):
    """A conversation; one with a ``known_issue`` is an expected failure that says why."""
    marks = [pytest.mark.xfail(reason=case["known_issue"], strict=False)] if "known_issue" in case else []
    return pytest.param(case, id=case["name"], marks=marks)


@pytest.mark.parametrize("case", [_case(c) for c in CASES])
def test_conversation(engine, event_loop_session, case):
    sender = "test-" + search_key(case["name"]).replace(" ", "-")
    for turn in case["turns"]:
        replies = event_loop_session.run_until_complete(engine.handle(sender, turn["user"]))
        said = text_of(replies)
        for phrase in turn.get("expect", []):
            assert search_key(phrase) in said, f"{turn['user']!r} -> {said!r}"
        for phrase in turn.get("forbid", []):
            assert search_key(phrase) not in said, f"{turn['user']!r} -> {said!r}"


def test_there_are_enough_conversations():
    assert len(CASES) >= 60
    turns = [t["user"] for c in CASES for t in c["turns"]]
    plain = [t for t in turns if search_key(t) == t.lower().strip()]
    assert len(plain) * 2 >= len(turns), "half the turns must be typed without diacritics"


HELP = yaml.safe_load(PROJECT.responses.read_text(encoding="utf-8"))["responses"]["utter_help"][0]["text"]
# (what arrives, what it must be answered as: None for the help reply)
BAD_INPUT = [("", None), ("   ", None), ("x" * 5000, None), ("🙂🙂🙂", None), ("\x00\x01\x02", None),
             ("khai\x00sinh", "khai sinh"), ("\u202e\u200b", None)]


@pytest.mark.parametrize("text, understood_as", BAD_INPUT, ids=range(len(BAD_INPUT)))
def test_bad_input_gets_a_short_polite_reply(engine, event_loop_session, text, understood_as):
    def said(sender: str, message: str) -> list[str]:
        return [r.text for r in event_loop_session.run_until_complete(engine.handle(sender, message))]

    sender = "bad-input-" + str(BAD_INPUT.index((text, understood_as)))
    replies = said(sender, text)
    if understood_as is None:
        assert replies == [HELP]
    else:  # a control character between words reads as a space
        assert replies == said(sender + "-plain", understood_as) and HELP not in replies
    assert all(len(r) < 1000 and "Traceback" not in r for r in replies)


def test_conversation_survives_a_restart(full_model, tmp_path):
    from bot.serving.engine import Engine

    db = tmp_path / "bot.db"

    async def first() -> None:
        await Engine.load(full_model, db, PROJECT).handle("restart", "ket hon")

    async def second():
        return await Engine.load(full_model, db, PROJECT).handle("restart", "le phi bao nhieu")

    asyncio.run(first())
    assert "ket hon" in text_of(asyncio.run(second()))


def test_sms_long_answer_is_paged_and_them_sends_the_rest(engine, event_loop_session, tmp_path):
    from bot.render import SMS_MORE_HINT
    from bot.serving.conversation import Conversation
    from bot.serving.store import Store

    conversation = Conversation(engine, Store.sqlite(tmp_path / "pages.db"), "sms")

    def say(text: str) -> str:
        (reply,) = event_loop_session.run_until_complete(conversation.handle("pager", text))
        return reply.text

    pages = [say("huong dan toi lam khai sinh"), say("2"), say("2"), say("1")]
    assert pages[-1].endswith(SMS_MORE_HINT)
    rest = say("them")
    assert rest and rest not in pages
    while rest.endswith(SMS_MORE_HINT):
        rest = say("THEM")
    assert "khong con" in say("them").lower()
