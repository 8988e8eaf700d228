"""Reminders and opt-out through the trained assistant, on a channel (session-trained model)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.dialogue.reminding import LOCAL_TIME
from bot.serving.conversation import Conversation
from bot.serving.store import Store
from bot.text import search_key


def said(rendered) -> str:
    return search_key(" ".join([m.text for m in rendered] + [b[0] for m in rendered for b in m.buttons]))


@pytest.fixture
def talk(engine, event_loop_session, tmp_path):
    conversations: dict[str, Conversation] = {}

    def turn(channel: str, sender: str, text: str) -> str:
        if channel not in conversations:
            conversations[channel] = Conversation(engine, Store.sqlite(tmp_path / "pages.db"), channel)
        return said(event_loop_session.run_until_complete(conversations[channel].handle(sender, text)))
    return turn


def test_a_birth_yesterday_gets_a_reminder_confirmed_in_words(engine, talk):
    yesterday = dt.datetime.now(LOCAL_TIME).date() - dt.timedelta(days=1)
    reply = talk("telegram", "remind-1", "be moi sinh hom qua")
    assert search_key(f"ngày {yesterday.day} tháng {yesterday.month} năm {yesterday.year}") in reply
    assert "han lam khai sinh" in reply and "60 ngay" in reply and "co nhac toi" in reply
    assert "da dat nhac" in talk("telegram", "remind-1", "co")
    [pending] = engine.reminders.pending("telegram", "remind-1")
    due = dt.datetime.fromtimestamp(pending.due_at, LOCAL_TIME)
    assert pending.procedure == "khai_sinh" and (due.hour, due.minute) == (8, 0)
    assert pending.deadline == yesterday + dt.timedelta(days=60)
    assert due.date() == pending.deadline - dt.timedelta(days=7)
    assert "khai sinh" in talk("telegram", "remind-1", "nhac lich cua toi")
    assert "da huy 1" in talk("telegram", "remind-1", "huy nhac")
    assert engine.reminders.pending("telegram", "remind-1") == []


def test_a_death_date_typed_in_the_message_that_asks(engine, talk):
    reply = talk("sms", "remind-2", "ong toi mat 9 ngay truoc, nhac toi lam khai tu")
    assert "han lam khai tu" in reply and "15 ngay" in reply
    assert "da dat nhac" in talk("sms", "remind-2", "1")  # SMS: the digit of the offered option
    assert len(engine.reminders.pending("sms", "remind-2")) == 1


def test_zalo_cannot_remind_past_its_window(engine, talk):
    reply = talk("zalo", "remind-3", "con toi sinh hom qua, nhac toi di khai sinh")
    assert "tren zalo" in reply and "7 ngay" in reply and "co nhac toi" not in reply
    assert "da dat nhac" not in talk("zalo", "remind-3", "co")
    assert engine.reminders.pending("zalo", "remind-3") == []


def test_a_future_date_and_a_passed_deadline_get_no_offer(talk):
    assert "chua toi" in talk("telegram", "remind-4", "be sinh ngay mai")
    reply = talk("telegram", "remind-4", "bo toi mat 40 ngay truoc, nhac toi lam khai tu")
    assert "da qua" in reply and "qua han van" in reply and "co nhac toi" not in reply


def test_a_deadline_question_with_the_birth_date_gets_the_date_computed(talk):
    reply = talk("telegram", "remind-5", "Vợ tôi sinh ở bệnh viện hôm 10/3/2026, tôi đi làm rẫy suốt chưa "
                 "rảnh. Hạn cuối để làm khai sinh cho cháu là ngày nào")
    assert "han lam khai sinh" in reply and "ngay 9 thang 5" in reply and "da qua" in reply


def test_stop_opts_out_and_thoi_cancels_the_questionnaire(engine, talk):
    assert "be sinh o dau" in talk("telegram", "stop-1", "huong dan toi lam khai sinh")
    assert "da tat" in talk("telegram", "stop-1", "STOP")
    assert engine.reminders.opted_out("telegram", "stop-1")
    # THOI goes through NLU and leaves the questionnaire; it does not touch the subscription
    assert "da dung phan huong dan" in talk("telegram", "stop-1", "THOI")
    assert engine.reminders.opted_out("telegram", "stop-1")
    assert "da tat" in talk("telegram", "stop-1", "Từ chối")  # repeated: said once, then "already"
    assert "da tat tin nhan chu dong roi" in talk("telegram", "stop-1", "huy dang ky")
    # an opted-out sender is told how to turn reminders back on instead of getting an offer
    assert "bat dau" in talk("telegram", "stop-1", "be moi sinh hom qua")
    assert "da bat lai" in talk("telegram", "stop-1", "Bắt đầu")
    assert not engine.reminders.opted_out("telegram", "stop-1")
    # THOI alone never opts out
    assert "be sinh o dau" in talk("telegram", "stop-2", "huong dan toi lam khai sinh")
    assert "da dung" in talk("telegram", "stop-2", "thoi")
    assert not engine.reminders.opted_out("telegram", "stop-2")
