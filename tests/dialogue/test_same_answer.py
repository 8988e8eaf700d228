"""The same question gets the same answer on Telegram, Zalo and SMS, each rendered for its channel."""

from __future__ import annotations

import re

import pytest

from bot.contract import SMS_MORE_KEYWORD
from bot.dialogue.phrases import load_phrases
from bot.render import SMS_MORE_HINT, to_gsm7
from bot.serving.conversation import Conversation
from bot.serving.ratings import PAYLOADS
from bot.serving.store import Store
from bot.text import search_key
from tests.paths import PROJECT

QUESTIONS = [
    ["dang ky khai sinh can giay to gi"],
    ["ket hon", "le phi bao nhieu"],
    ["le phi bao nhieu"],  # options: buttons on the apps, numbered lines on SMS
    ["toi o xa ia phi huyen chu pah gia lai", "lam khai tu o dau"],
    ["thoi tiet hom nay the nao"],
]
RATING_LINE = to_gsm7(load_phrases(PROJECT.phrases)["rating.ask_sms"])


def _words(text: str) -> list[str]:
    """The words read, without the numbering that stands for buttons on SMS and crowded Zalo replies."""
    text = re.sub(r"(?m)^\s*\d+\.\s+", " ", text.replace(SMS_MORE_HINT, " "))
    return search_key(text).split()


def _said(conversation: Conversation, sender: str, turns: list[str], loop) -> list[str]:
    """Everything the citizen finally reads for the last turn: texts and options, SMS pages included."""
    for turn in turns:
        messages = loop.run_until_complete(conversation.handle(sender, turn))
    parts = []
    for message in messages:  # the offer to rate an answer is the channel's own: buttons or a line
        parts.append(message.text.replace(RATING_LINE, ""))
        parts += [title for title, payload in message.buttons if payload not in PAYLOADS]
    if conversation.channel == "sms":
        while SMS_MORE_HINT in parts[-1]:
            (page,) = loop.run_until_complete(conversation.handle(sender, SMS_MORE_KEYWORD))
            parts.append(page.text)
    return _words("\n".join(parts))


@pytest.mark.parametrize("turns", QUESTIONS, ids=[t[-1] for t in QUESTIONS])
def test_same_answer_on_every_channel(engine, event_loop_session, tmp_path, turns):
    store = Store.sqlite(tmp_path / "pages.db")
    said = {channel: _said(Conversation(engine, store, channel), f"same-{channel}-{'-'.join(turns)}",
                           turns, event_loop_session)
            for channel in ("telegram", "zalo", "sms")}
    assert said["telegram"] == said["zalo"] == said["sms"]
