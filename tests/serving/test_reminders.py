"""Reminders in the database: exactly once across workers and restarts, cancelled after STOP."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.catalogue import DeadlineCount, load_catalogue
from bot.contract import Rendered
from bot.dialogue.answers import Answers
from bot.dialogue.phrases import load_phrases
from bot.dialogue.reminding import BEYOND_WINDOW, FUTURE, LOCAL_TIME, OFFER, PASSED, TOO_CLOSE, plan
from bot.serving.reminders import Due, ReminderLoop, Reminders, composer
from bot.serving.store import Store
from tests.paths import PROJECT


class FakeClock:
    def __init__(self, at: dt.datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LOCAL_TIME)


NOW = local(2026, 12, 2, 14, 30)  # a Wednesday afternoon in Hanoi
BIRTH = DeadlineCount(60, "sinh")
DEATH = DeadlineCount(15, "mat")


# ------------------------------------------------------------------ when (pure)

@pytest.mark.parametrize("event, count, window, outcome, remind_on", [
    (dt.date(2026, 12, 1), BIRTH, None, OFFER, dt.date(2027, 1, 23)),  # 60 - 7 days after birth
    (dt.date(2026, 11, 25), DEATH, None, OFFER, dt.date(2026, 12, 3)),  # 7 days before 10/12
    (dt.date(2026, 11, 20), DEATH, None, OFFER, dt.date(2026, 12, 3)),  # 28/11 is past: sooner
    (dt.date(2026, 11, 17), DEATH, None, TOO_CLOSE, None),  # the deadline is today, 8:00 is past
    (dt.date(2026, 11, 1), DEATH, None, PASSED, None),
    (dt.date(2026, 12, 3), BIRTH, None, FUTURE, None),
    (dt.date(2026, 12, 1), BIRTH, 7 * 86400, BEYOND_WINDOW, dt.date(2027, 1, 23)),  # Zalo
    (dt.date(2026, 11, 20), DEATH, 7 * 86400, OFFER, dt.date(2026, 12, 3)),
])
def test_plan(event, count, window, outcome, remind_on):
    found = plan(event, count, NOW.timestamp(), window)
    assert (found.outcome, found.remind_on) == (outcome, remind_on)
    if outcome == OFFER:
        due = dt.datetime.fromtimestamp(found.due_at, LOCAL_TIME)
        assert (due.hour, due.minute) == (8, 0)


def test_before_eight_the_reminder_can_be_today():
    found = plan(dt.date(2026, 11, 17), DEATH, local(2026, 12, 2, 6, 0).timestamp())
    assert (found.outcome, found.remind_on) == (OFFER, dt.date(2026, 12, 2))


# ------------------------------------------------------------------ store and loop

@pytest.fixture(scope="module")
def book() -> Answers:
    return Answers(load_catalogue(PROJECT.procedures), load_phrases(PROJECT.phrases))


def worker(path, clock, book, channels=("telegram", "sms")) -> tuple[Store, Reminders, ReminderLoop]:
    """One server process: its own engine and connections on the shared SQLite file."""
    store = Store.sqlite(path)
    reminders = Reminders(store, clock)
    return store, reminders, ReminderLoop(reminders, composer(book), set(channels), clock=clock)


def schedule(reminders: Reminders, recipient: str = "42", channel: str = "telegram") -> float:
    due_at = local(2026, 12, 9, 8, 0).timestamp()
    reminders.schedule(channel, recipient, "khai_sinh", dt.date(2026, 12, 16), due_at)
    return due_at


def test_sent_exactly_once_by_two_workers_and_after_a_restart(tmp_path, book):
    clock = FakeClock(NOW)
    db = tmp_path / "bot.db"
    store_a, reminders_a, loop_a = worker(db, clock, book)
    store_b, reminders_b, loop_b = worker(db, clock, book)
    due_at = schedule(reminders_a)
    assert loop_a.tick() == {} and loop_b.tick() == {}  # not due yet
    clock.now = due_at + 1
    # both workers see it due before either sends it: only one claim wins
    seen_a, seen_b = reminders_a.due(clock.now), reminders_b.due(clock.now)
    assert [d.id for d in seen_a] == [d.id for d in seen_b] == [1]
    messages = composer(book)(seen_a[0], clock.now)
    assert reminders_b.deliver(seen_b[0], messages, clock.now) == "sent"
    assert reminders_a.deliver(seen_a[0], messages, clock.now) == "taken"
    assert loop_a.tick() == {} and loop_b.tick() == {}
    # a restart: a new process on the same file finds nothing left to send
    store_c, reminders_c, loop_c = worker(db, clock, book)
    clock.now += 3600
    assert loop_c.tick() == {}
    assert reminders_c.states() == {"sent": 1}
    queued = store_c.due_outbound(now=clock.now)
    assert len(queued) == 1 and store_c.outbound_counts() == {"pending": 1}
    assert queued[0].recipient == "42" and queued[0].meta == {"reminder_id": 1}
    assert "Khai sinh" in queued[0].text and "ngày 16 tháng 12 năm 2026" in queued[0].text
    assert "còn 7 ngày" in queued[0].text and "STOP" in queued[0].text


def test_a_reminder_scheduled_before_a_restart_is_sent_after_it(tmp_path, book):
    clock = FakeClock(NOW)
    _, first, _ = worker(tmp_path / "bot.db", clock, book)
    due_at = schedule(first, "77", "sms")
    clock.now = due_at + 5
    store, _, loop = worker(tmp_path / "bot.db", clock, book)
    assert loop.tick() == {"sent": 1}
    [queued] = store.due_outbound(now=clock.now)
    assert queued.channel == "sms" and queued.text.isascii()  # SMS is folded by the renderer


def test_a_channel_that_is_off_keeps_its_reminder_waiting(tmp_path, book):
    clock = FakeClock(NOW)
    _, reminders, loop = worker(tmp_path / "bot.db", clock, book, channels=("sms",))
    clock.now = schedule(reminders) + 1
    assert loop.tick() == {} and reminders.states() == {"pending": 1}


def test_opt_out_cancels_a_due_reminder_instead_of_sending_it(tmp_path, book):
    clock = FakeClock(NOW)
    store, reminders, loop = worker(tmp_path / "bot.db", clock, book)
    due_at = schedule(reminders, "42")
    schedule(reminders, "43")
    assert reminders.opt_out("telegram", "42") is True
    assert reminders.opt_out("telegram", "42") is False  # confirmed once
    assert reminders.opted_out("telegram", "42") and not reminders.opted_out("sms", "42")
    clock.now = due_at + 1
    assert loop.tick() == {"cancelled": 1, "sent": 1}
    assert [m.recipient for m in store.due_outbound(now=clock.now)] == ["43"]
    assert reminders.states() == {"cancelled": 1, "sent": 1}
    assert reminders.opt_in("telegram", "42") is True and not reminders.opted_out("telegram", "42")


def test_list_cancel_and_a_new_date_replaces_the_old(tmp_path, book):
    clock = FakeClock(NOW)
    _, reminders, _ = worker(tmp_path / "bot.db", clock, book)
    schedule(reminders)
    reminders.schedule("telegram", "42", "khai_sinh", dt.date(2026, 12, 20), NOW.timestamp() + 99)
    [pending] = reminders.pending("telegram", "42")
    assert pending.deadline == dt.date(2026, 12, 20)
    assert reminders.pending("zalo", "42") == []
    assert reminders.cancel_pending("telegram", "42") == 1
    assert reminders.pending("telegram", "42") == []


def test_compose_says_the_deadline_and_the_days_left(book):
    due = Due(1, "telegram", "42", "khai_tu", dt.date(2026, 12, 5))
    [message] = composer(book)(due, NOW.timestamp())
    assert isinstance(message, Rendered) and "Khai tử" in message.text and "còn 3 ngày" in message.text

