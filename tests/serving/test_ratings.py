"""Ratings after an answer: offered per channel, caught only as the next message, stored masked.

Fast: a scripted engine stands in for the trained model (the same turns through the real model
are in ``test_rating_conversations.py``); the conversation, the tables and the rendering are real.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

import pytest

from bot.catalogue import ASPECTS, load_catalogue
from bot.contract import SMS_MAX_PARTS, Button, Reply, Topic, is_gsm7, sms_parts
from bot.dialogue.answers import CASE_SEPARATOR, Answers
from bot.dialogue.phrases import load_phrases
from bot.render import paginate_sms, render, sms_text
from bot.serving.conversation import Conversation
from bot.serving.engine import replies_of
from bot.serving.ratings import NOT_USEFUL, USEFUL, Rated, Ratings, score_of, with_offer
from bot.serving.store import Store
from bot.text import search_key
from tests.paths import PROJECT

PHRASES = load_phrases(PROJECT.phrases)
CHANNELS = ("cli", "sms", "telegram", "zalo")
FEE = Reply("Khai sinh – Lệ phí:\nMiễn phí nếu đăng ký đúng hạn.", rate=Topic("khai_sinh", "fee"))
MENU = Reply("Bạn hỏi về thủ tục nào? Trả lời bằng số:",
             (Button("Khai sinh", '/ask_fee{"procedure":"khai_sinh"}'),
              Button("Khai tử", '/ask_fee{"procedure":"khai_tu"}')))
OTHER = Reply("Kết hôn – Nộp ở đâu:\nUBND xã nơi một trong hai người cư trú.", rate=Topic("ket_hon", "where"))


@dataclass
class ScriptedEngine:
    """Answers each text with the replies scripted for it; records what reached it (the NLU)."""

    script: dict[str, list[Reply]]
    phrases: object = PHRASES
    reminders: object = None
    seen: list[str] = field(default_factory=list)

    async def handle(self, sender: str, text: str, channel: str | None = None) -> list[Reply]:
        self.seen.append(text)
        return self.script.get(text, [Reply("Tôi chưa hiểu ý bạn.")])


SCRIPT = {"le phi khai sinh": [FEE], "menu": [MENU], "ket hon nop o dau": [OTHER]}


@pytest.fixture
def chat(tmp_path):
    engine = ScriptedEngine(dict(SCRIPT))
    store = Store.sqlite(tmp_path / "bot.db")
    conversations: dict[str, Conversation] = {}

    def turn(channel: str, sender: str, text: str) -> str:
        conversation = conversations.setdefault(channel, Conversation(engine, store, channel))
        rendered = asyncio.run(conversation.handle(sender, text))
        return search_key(" ".join([m.text for m in rendered] + [t for m in rendered for t, _ in m.buttons]))

    turn.engine = engine
    turn.ratings = Ratings(store)
    return turn


# (channel, what the citizen sends to rate, the score stored)
RATE = [(channel, typed, score) for channel in CHANNELS
        for typed, score in (("1", USEFUL), ("2", NOT_USEFUL))]
RATE += [(channel, payload, score) for channel in ("telegram", "zalo")
         for payload, score in (("/rating_useful", USEFUL), ("/rating_not_useful", NOT_USEFUL))]


@pytest.mark.parametrize("channel, typed, score", RATE)
def test_an_answer_then_a_rating_is_stored_and_thanked(chat, channel, typed, score):
    offer = chat(channel, "an", "le phi khai sinh")
    assert "mien phi" in offer
    if channel == "sms":
        assert offer.endswith("tra loi 1 neu huu ich 2 neu chua dung y")
    else:
        assert "huu ich" in offer and "chua dung y" in offer
    said = chat(channel, "an", typed)
    assert "cam on ban" in said
    assert ("nhan gap can bo de gap can bo" in said) == (score == NOT_USEFUL)
    [rated] = chat.ratings.rated(channel, "an")
    assert (rated.procedure, rated.aspect, rated.score) == ("khai_sinh", "fee", score)
    assert rated.answer == FEE.text
    assert chat.engine.seen == ["le phi khai sinh"]  # the rating never reached the NLU
    assert "tra loi 1" not in said and not chat(channel, "an", typed).startswith("cam on")  # once only
    assert len(chat.ratings.rated(channel, "an")) == 1


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_menu_then_a_digit_picks_the_option(chat, channel):
    shown = chat(channel, "menu-1", "menu")
    assert "khai sinh" in shown and "huu ich" not in shown and "tra loi 1 neu" not in shown
    chat(channel, "menu-1", "1")
    assert chat.engine.seen == ["menu", "1"]  # the digit went to the NLU, which picks option 1
    assert chat.ratings.rated() == []


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_unrelated_question_after_an_answer_is_answered_and_not_a_rating(chat, channel):
    chat(channel, "ignore", "le phi khai sinh")
    said = chat(channel, "ignore", "ket hon nop o dau")
    assert "ubnd xa" in said and "cam on" not in said
    assert chat.engine.seen == ["le phi khai sinh", "ket hon nop o dau"]
    chat(channel, "ignore", "1")  # rates the answer just given, not the one before
    [rated] = chat.ratings.rated(channel, "ignore")
    assert (rated.procedure, rated.aspect) == ("ket_hon", "where")


def test_a_rating_of_another_sender_or_channel_is_not_taken(chat):
    chat("sms", "a", "le phi khai sinh")
    chat("sms", "b", "1")
    chat("telegram", "a", "1")
    assert chat.ratings.rated() == []
    assert chat.engine.seen == ["le phi khai sinh", "1", "1"]


def test_a_button_tapped_under_an_older_answer_is_not_stored(chat):
    chat("telegram", "late", "le phi khai sinh")
    chat("telegram", "late", "menu")
    said = chat("telegram", "late", "/rating_useful")
    assert "da cu" in said and chat.ratings.rated() == []
    assert "/rating_useful" not in chat.engine.seen


def test_stop_ends_the_offer(chat):
    chat("sms", "stop", "le phi khai sinh")
    chat("sms", "stop", "STOP")  # no reminders in the scripted engine: STOP goes on to the NLU
    chat("sms", "stop", "1")
    assert chat.ratings.rated() == []


def test_the_stored_answer_has_citizens_numbers_masked(tmp_path):
    reply = Reply("Gọi cán bộ hộ tịch 0912 345 678, CCCD 001099012345.", rate=Topic("khai_sinh", "where"))
    engine = ScriptedEngine({"hoi": [reply]})
    store = Store.sqlite(tmp_path / "bot.db")
    conversation = Conversation(engine, store, "telegram")
    asyncio.run(conversation.handle("m", "hoi"))
    asyncio.run(conversation.handle("m", "/rating_not_useful"))
    [rated] = Ratings(store).rated()
    assert rated.answer == "Gọi cán bộ hộ tịch **** *** 678, CCCD *********345."
    raw = store.engine.raw_connection()
    try:
        cells = [str(v) for table in ("ratings", "rating_prompts")
                 for row in raw.execute(f"SELECT * FROM {table}") for v in row]
    finally:
        raw.close()
    assert not any("0912" in c or "001099" in c for c in cells)


def test_a_low_rating_hook_can_answer_instead(tmp_path):
    told: list[Rated] = []

    async def hand_over(rated: Rated) -> list[Reply]:
        told.append(rated)
        return [Reply("Đã chuyển cho cán bộ.")]

    conversation = Conversation(ScriptedEngine(dict(SCRIPT)), Store.sqlite(tmp_path / "bot.db"), "zalo",
                                on_low_rating=hand_over)
    asyncio.run(conversation.handle("h", "le phi khai sinh"))
    [said] = asyncio.run(conversation.handle("h", "2"))
    assert said.text == "Đã chuyển cho cán bộ."
    assert [(r.sender, r.score, r.low) for r in told] == [("h", NOT_USEFUL, True)]


def test_rated_at_is_naive_utc(tmp_path):
    ratings = Ratings(Store.sqlite(tmp_path / "bot.db"), clock=lambda: 1_800_000_000.0)
    ratings.ask("sms", "t", Topic(None, None), "Trả lời")
    rated = ratings.record("sms", "t", ratings.take("sms", "t"), USEFUL)
    assert rated.rated_at == dt.datetime(2027, 1, 15, 8, 0) and rated.rated_at.tzinfo is None
    assert ratings.take("sms", "t") is None


@pytest.mark.parametrize("typed, score", [
    ("1", USEFUL), (" 2 ", NOT_USEFUL), ("2.", NOT_USEFUL), ("/rating_useful", USEFUL),
    ("/rating_not_useful", NOT_USEFUL), ("3", None), ("12", None), ("1 nguoi", None), ("huu ich", None),
    ("", None), ("/ask_fee", None),
])
def test_what_counts_as_a_rating(typed, score):
    assert score_of(typed) == score


def test_rasa_custom_message_marks_the_answer_before_it():
    messages = [{"text": "Khai sinh – Lệ phí: miễn phí"},
                {"custom": {"rate": {"procedure": "khai_sinh", "aspect": "fee"}}},
                {"text": "Bạn hỏi gì nữa?", "buttons": [{"title": "Menu", "payload": "/menu"}]}]
    first, second = replies_of(messages)
    assert first.rate == Topic("khai_sinh", "fee") and second.rate is None
    assert second.buttons == (Button("Menu", "/menu"),)


def test_answers_say_what_they_are_about():
    book = Answers(load_catalogue(PROJECT.procedures), PHRASES)
    proc = book.catalogue.get("khai_sinh")
    assert book.aspect(proc, "fee").rate == Topic("khai_sinh", "fee")
    entry = proc.faq[0]
    assert book.faq(proc, entry).rate == Topic("khai_sinh", f"faq:{entry.id}")
    assert book.menu().rate is None and book.overview(proc).rate is None


def _every_answer() -> list[Reply]:
    """Every answer a citizen may rate: a documents list that asks which case applies is a
    question (its options are picked with a digit); the papers of each case are the answer."""
    book = Answers(load_catalogue(PROJECT.procedures), PHRASES)
    answers = [book.aspect(p, a) for p in book.catalogue for a in ASPECTS]
    cases = [book.documents_case(f"{p.id}{CASE_SEPARATOR}{o.id}") for p in book.catalogue
             for _, o in book.cases(p)]
    return ([r for r in answers if not r.buttons] + [reply for _, reply in filter(None, cases)]
            + [book.faq(p, f) for p in book.catalogue for f in p.faq])


EVERY_ANSWER = _every_answer()


def test_sms_rating_line_never_adds_a_part_and_stays_gsm7():
    offered = 0
    for reply in EVERY_ANSWER:
        before = paginate_sms(sms_text(reply))
        with_line = with_offer(reply, "sms", PHRASES)
        if with_line is None:
            assert len(before) > 1 or sms_parts(before[0]) < sms_parts(
                sms_text(reply) + "\n" + sms_text(Reply(PHRASES["rating.ask_sms"]))), reply.text
            continue
        offered += 1
        [message] = render(with_line, "sms")
        assert message.more == () and is_gsm7(message.text)
        assert sms_parts(message.text) == sms_parts(before[0]) <= SMS_MAX_PARTS
        assert message.text.endswith("Tra loi 1 neu huu ich, 2 neu chua dung y.")
    assert offered * 4 >= len(EVERY_ANSWER), f"the line fits only {offered} of {len(EVERY_ANSWER)} answers"


@pytest.mark.parametrize("channel", ["telegram", "zalo", "cli"])
def test_app_rating_buttons_come_with_every_answer(channel):
    for reply in EVERY_ANSWER:
        offered = with_offer(reply, channel, PHRASES)
        assert offered is not None and [b.title for b in offered.buttons] == ["Hữu ích", "Chưa đúng ý"]
        assert render(offered, channel)[-1].buttons or channel == "cli"


def test_an_answer_with_options_or_a_question_is_not_offered():
    assert with_offer(MENU, "telegram", PHRASES) is None
    assert with_offer(Reply("Xin chào"), "telegram", PHRASES) is None
    with_options = Reply("x", (Button("a", "/a"),), rate=Topic("khai_sinh", "fee"))
    assert with_offer(with_options, "sms", PHRASES) is None
