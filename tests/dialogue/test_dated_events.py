"""A birth or a death told with its date, read as telling the procedure, gets the deadline and
the reminder offer; the same statement with no date gets the procedure's overview."""

from __future__ import annotations

import datetime as dt

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.catalogue import load_catalogue
from bot.dialogue import actions, reminding
from bot.dialogue.answers import Answers
from bot.dialogue.phrases import load_phrases
from bot.text import search_key
from tests.paths import PROJECT

CATALOGUE = load_catalogue(PROJECT.procedures)
NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=reminding.LOCAL_TIME)


class Desk:
    """The reminder store's interface, in memory: nothing is scheduled by an offer."""

    def now(self) -> float:
        return NOW.timestamp()

    def opted_out(self, channel: str, address: str) -> bool:
        return False

    def schedule(self, channel: str, address: str, procedure: str, deadline: dt.date,
                 due_at: float) -> int:
        raise AssertionError("an offer schedules nothing")

    def pending(self, channel: str, address: str) -> list[reminding.Scheduled]:
        return []

    def cancel_pending(self, channel: str, address: str) -> int:
        return 0


def reply_to(text: str, intent: str, procedure: str) -> str:
    tracker = Tracker("citizen", {}, {"text": text, "intent": {"name": intent}, "entities": [],
                                      "metadata": {"channel": "telegram"}},
                      [], False, None, {}, "telegram")
    dispatcher = CollectingDispatcher()
    loaded = {"answers": Answers(CATALOGUE, load_phrases(PROJECT.phrases)), "directions": None}
    with actions.using(loaded), reminding.desk_bound(Desk()):
        actions.respond(intent, CATALOGUE.get(procedure), tracker, dispatcher)
    return search_key(" ".join(m.get("text") or "" for m in dispatcher.messages))


@pytest.mark.parametrize(("text", "intent", "procedure", "said"), [
    ("bo em vua mat sang nay", "inform_procedure", "khai_tu", "han lam khai tu"),
    ("be nha em sinh hom qua", "inform_procedure", "khai_sinh", "han lam khai sinh"),
    ("vo de hom 1/12, khai sinh phai lam truoc ngay nao", "ask_deadline", "khai_sinh", "han lam khai sinh"),
])
def test_a_dated_event_gets_the_deadline_and_the_offer(text, intent, procedure, said):
    reply = reply_to(text, intent, procedure)
    assert said in reply and "toi nhan nhac ban" in reply


def test_the_same_event_without_a_date_gets_the_overview():
    reply = reply_to("bo em mat roi", "inform_procedure", "khai_tu")
    assert "toi nhan nhac ban" not in reply and "khai tu" in reply
