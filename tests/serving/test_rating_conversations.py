"""Ratings through the trained assistant, on each channel (session-trained model)."""

from __future__ import annotations

import pytest

from bot.contract import SMS_MAX_PARTS, is_gsm7, sms_parts
from bot.serving.conversation import Conversation
from bot.serving.ratings import NOT_USEFUL, USEFUL, Ratings
from bot.serving.store import Store
from bot.text import search_key

CHANNELS = ("cli", "sms", "telegram", "zalo")
FEE_QUESTION = "khai tu co mat phi ko"  # its SMS answer has room for the rating line


@pytest.fixture
def talk(engine, event_loop_session, tmp_path):
    store = Store.sqlite(tmp_path / "ratings.db")
    conversations: dict[str, Conversation] = {}

    def turn(channel: str, sender: str, text: str):
        conversation = conversations.setdefault(channel, Conversation(engine, store, channel))
        return event_loop_session.run_until_complete(conversation.handle(sender, text))

    turn.ratings = Ratings(store)
    return turn


def said(rendered) -> str:
    return search_key(" ".join([m.text for m in rendered] + [t for m in rendered for t, _ in m.buttons]))


# (channel, what the citizen sends after the answer, the score stored)
RATINGS = [(c, typed, score) for c in CHANNELS for typed, score in (("1", USEFUL), ("2", NOT_USEFUL))]
RATINGS += [(c, payload, score) for c in ("telegram", "zalo")
            for payload, score in (("/rating_useful", USEFUL), ("/rating_not_useful", NOT_USEFUL))]


@pytest.mark.parametrize("channel, typed, score", RATINGS)
def test_an_answer_rated_is_stored_with_what_it_answered(talk, channel, typed, score):
    sender = f"rate-{channel}-{search_key(typed).replace(' ', '-')}"
    answer = talk(channel, sender, FEE_QUESTION)
    shown = said(answer)
    assert "khai tu" in shown and "mien phi" in shown
    assert "tra loi 1 neu huu ich 2 neu chua dung y" in shown if channel == "sms" else "chua dung y" in shown
    thanks = said(talk(channel, sender, typed))
    assert thanks.startswith("cam on ban") and ("gap can bo" in thanks) == (score == NOT_USEFUL)
    [rated] = talk.ratings.rated(channel, sender)
    assert (rated.procedure, rated.score) == ("khai_tu", score)
    assert rated.aspect == "fee" or rated.aspect.startswith("faq:")
    assert "Miễn phí" in rated.answer and "Trả lời 1" not in rated.answer
    if channel != "sms":  # SMS shows the answer without diacritics and with the rating line
        assert answer[0].text.startswith(rated.answer.split("\n")[0])


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_menu_then_1_picks_the_first_option(talk, channel):
    sender = f"menu-{channel}"
    menu = said(talk(channel, sender, "menu"))
    assert "cu tru" in menu and "huu ich" not in menu
    picked = said(talk(channel, sender, "1"))
    assert "cam on" not in picked and "thuong tru" in picked  # the residence group's procedures
    assert talk.ratings.rated() == []


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_unrelated_question_after_an_answer_is_answered(talk, channel):
    sender = f"ignore-{channel}"
    talk(channel, sender, FEE_QUESTION)
    reply = said(talk(channel, sender, "khai sinh can giay to gi"))
    assert "khai sinh" in reply and "sinh o benh vien" in reply and "cam on" not in reply
    assert talk.ratings.rated() == []


def test_sms_answer_with_the_rating_line_stays_within_three_parts(talk):
    for question in (FEE_QUESTION, "khai tu can giay to gi", "dang ky ket hon nop o dau"):
        [message] = talk("sms", "sms-parts", question)
        assert is_gsm7(message.text) and sms_parts(message.text) <= SMS_MAX_PARTS
        if message.more:
            assert "tra loi 1 neu" not in search_key(message.text)
