"""Deadline reminders in the conversation: offer one, confirm it, list and cancel them.

A citizen says a birth or a death happened on a date; the deadline is ``deadline.days`` after it
(procedure YAML, ``counted_from: sinh|mat``). The bot says the date back in words and offers a
reminder at 8:00 local time, ``LEAD_DAYS`` before the deadline (or the next 8:00 if that is past);
on a yes it asks the serving layer's ``ReminderDesk`` to store it. The desk is bound per request
(``desk_bound``) by the in-process action endpoint, so this layer never imports the database; a
separate ``rasa run actions`` server has no desk and says reminders are not available.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from bot.catalogue import DeadlineCount, Procedure
from bot.contract.limits import PROACTIVE_WINDOW_SECONDS
from bot.contract.reply import Button, Reply
from bot.dialogue.answers import Answers, payload
from bot.dialogue.dates import in_words, read_date, read_event

# Vietnam has kept UTC+7 without daylight saving since 1975: a fixed offset needs no tz database.
LOCAL_TIME = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
REMIND_AT = dt.time(8, 0)  # a working morning: never at night, outside Zalo's 22h-6h curfew
LEAD_DAYS = 7  # remind this many days before the deadline, or at the next 8:00 if that is past

ACTION = "action_reminder"
EVENT_INTENT = "remind_event"  # "con tôi sinh ngày 3/11", "ông mất sáng nay"
YES_INTENT = "remind_yes"  # the offer's button (or its digit)
AFFIRM_INTENT = "affirm"  # "có", "đồng ý" typed after the offer
LIST_INTENT = "list_reminders"
CANCEL_INTENT = "cancel_reminder"
INTENTS = (EVENT_INTENT, YES_INTENT, AFFIRM_INTENT, LIST_INTENT, CANCEL_INTENT)
OFFER_SLOT = "reminder_offer"

OFFER, FUTURE, PASSED, TOO_CLOSE, BEYOND_WINDOW = "offer", "future", "passed", "too_close", "window"


@dataclass(frozen=True)
class Scheduled:
    """A pending reminder as the desk lists it."""

    id: int
    procedure: str
    deadline: dt.date
    due_at: float  # UTC epoch seconds


class ReminderDesk(Protocol):
    """What the conversation needs from the reminder store (``bot.serving.reminders``)."""

    def now(self) -> float: ...

    def opted_out(self, channel: str, address: str) -> bool: ...

    def schedule(self, channel: str, address: str, procedure: str, deadline: dt.date,
                 due_at: float) -> int: ...

    def pending(self, channel: str, address: str) -> list[Scheduled]: ...

    def cancel_pending(self, channel: str, address: str) -> int: ...


_desk: ContextVar[ReminderDesk | None] = ContextVar("reminder_desk", default=None)


@contextlib.contextmanager
def desk_bound(desk: ReminderDesk | None) -> Iterator[None]:
    """Makes ``desk`` the one actions use while the block runs (one engine's request)."""
    token = _desk.set(desk)
    try:
        yield
    finally:
        _desk.reset(token)


def current_desk() -> ReminderDesk | None:
    return _desk.get()


# --------------------------------------------------------------------------- planning (pure)


@dataclass(frozen=True)
class Plan:
    outcome: str
    deadline: dt.date
    remind_on: dt.date | None = None

    @property
    def due_at(self) -> float:
        assert self.remind_on is not None
        return dt.datetime.combine(self.remind_on, REMIND_AT, LOCAL_TIME).timestamp()


def local(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, LOCAL_TIME)


def plan(event_date: dt.date, count: DeadlineCount, now: float,
         window_seconds: float | None = None) -> Plan:
    """When to remind about a deadline ``count.days`` after ``event_date``, seen at ``now``."""
    today = local(now).date()
    deadline = event_date + dt.timedelta(days=count.days)
    if event_date > today:
        return Plan(FUTURE, deadline)
    if deadline < today:
        return Plan(PASSED, deadline)
    first = today if local(now).time() < REMIND_AT else today + dt.timedelta(days=1)
    remind_on = max(deadline - dt.timedelta(days=LEAD_DAYS), first)
    if remind_on > deadline:
        return Plan(TOO_CLOSE, deadline)
    found = Plan(OFFER, deadline, remind_on)
    if window_seconds is not None and found.due_at - now > window_seconds:
        return Plan(BEYOND_WINDOW, deadline, remind_on)
    return found


# --------------------------------------------------------------------------- conversation


def _channel(tracker: Any) -> str:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return str(metadata.get("channel") or tracker.get_latest_input_channel() or "")


def _offered_last(tracker: Any) -> bool:
    """True when the bot's reply to the message before this one made a reminder offer (the
    reminder action, or the answer to a birth or death told with its date)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return False
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == OFFER_SLOT:
            return bool(event.get("value"))
    return False


def _when(book: Answers, on: dt.date) -> str:
    return book.phrases["reminder.at"].format(date=in_words(on))


def _counted(book: Answers, event: str) -> Procedure | None:
    return next((p for p in book.catalogue
                 if p.deadline_count and p.deadline_count.counted_from == event), None)


def _procedure(book: Answers, given: Procedure | None, event: str | None) -> Procedure | None:
    if given and given.deadline_count and event in (None, given.deadline_count.counted_from):
        return given
    return _counted(book, event) if event else None


DATED_INTENTS = ("ask_deadline", "inform_procedure")  # answered with the deadline when a date is told


def asks_deadline_of_a_date(intent: str, tracker: Any) -> bool:
    """True for a deadline question that gives the birth or death date ("bé sinh hôm 10/3, hạn
    cuối là ngày nào"), or a birth or death told with its date ("bố em vừa mất sáng nay"): it is
    answered with the computed deadline and a reminder offer."""
    desk = current_desk()
    if intent not in DATED_INTENTS or desk is None:
        return False
    text = tracker.latest_message.get("text") or ""
    return read_event(text) is not None and read_date(text, local(desk.now()).date()).found


def handle(intent: str, procedure: Procedure | None, tracker: Any,
           book: Answers) -> tuple[list[Reply], dict[str, Any]]:
    """The replies to a reminder intent, and the slots to set."""
    desk = current_desk()
    channel, address = _channel(tracker), tracker.sender_id
    phrases = book.phrases
    if intent in (YES_INTENT, AFFIRM_INTENT):
        offer = tracker.get_slot(OFFER_SLOT)
        if not offer or not _offered_last(tracker):
            return [book.menu()], {}
        return _confirm(offer, book, desk, channel, address), {OFFER_SLOT: None}
    if desk is None:
        return [Reply(phrases["reminder.unavailable"])], {}
    if intent == LIST_INTENT:
        return [_listing(desk.pending(channel, address), book)], {}
    if intent == CANCEL_INTENT:
        count = desk.cancel_pending(channel, address)
        key = "reminder.cancelled" if count else "reminder.none"
        return [Reply(phrases[key].format(count=count))], {OFFER_SLOT: None}
    return _offer(procedure, tracker, book, desk, channel, address)  # EVENT_INTENT, ask_deadline


def _offer(given: Procedure | None, tracker: Any, book: Answers, desk: ReminderDesk, channel: str,
           address: str) -> tuple[list[Reply], dict[str, Any]]:
    phrases = book.phrases
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):  # a button naming the procedure: the date comes next
        text = ""
    event = read_event(text)
    proc = _procedure(book, given, event)
    if proc is None or proc.deadline_count is None:
        if given is not None and given.deadline_count is None and event is None:
            return [Reply(phrases["reminder.no_deadline"].format(name=given.short_name))], {}
        buttons = tuple(Button(p.short_name, payload(EVENT_INTENT, procedure=p.id))
                        for p in (_counted(book, "sinh"), _counted(book, "mat")) if p)
        return [Reply(phrases["reminder.which"], buttons)], {"options": [b.payload for b in buttons]}
    count = proc.deadline_count
    slots: dict[str, Any] = {"procedure": proc.id, "options": None, OFFER_SLOT: None}
    now = desk.now()
    found = read_date(text, local(now).date())
    if found.invalid:
        return [Reply(phrases["reminder.invalid_date"])], slots
    if found.date is None:
        return [Reply(phrases[f"reminder.ask_date.{count.counted_from}"])], slots
    said = phrases[f"reminder.event.{count.counted_from}"].format(date=in_words(found.date))
    result = plan(found.date, count, now, PROACTIVE_WINDOW_SECONDS.get(channel))
    deadline = in_words(result.deadline)
    if result.outcome == FUTURE:
        return [Reply(phrases["reminder.future"].format(date=in_words(found.date)))], slots
    head = phrases["reminder.deadline"].format(said=said, name=proc.short_name, deadline=deadline,
                                               days=count.days)
    if result.outcome == PASSED:
        late = book.aspect(proc, "deadline")
        return [Reply(f"{head}\n{phrases['reminder.passed']}"), late], slots
    if result.outcome == TOO_CLOSE:
        return [Reply(f"{head}\n{phrases['reminder.too_close']}")], slots
    if result.outcome == BEYOND_WINDOW:
        window = phrases["reminder.zalo_window"].format(when=_when(book, result.remind_on))
        return [Reply(f"{head}\n{window}")], slots
    if desk.opted_out(channel, address):
        return [Reply(f"{head}\n{phrases['reminder.opted_out']}")], slots
    buttons = (Button(phrases["reminder.yes"], payload(YES_INTENT)),
               Button(phrases["reminder.no"], payload("cancel")))
    offer = {"procedure": proc.id, "deadline": result.deadline.isoformat(), "due_at": result.due_at}
    question = phrases["reminder.offer"].format(when=_when(book, result.remind_on))
    return [Reply(f"{head}\n{question}", buttons)], {
        **slots, OFFER_SLOT: offer, "options": [b.payload for b in buttons]}


def _confirm(offer: Mapping[str, Any], book: Answers, desk: ReminderDesk | None, channel: str,
             address: str) -> list[Reply]:
    phrases = book.phrases
    proc = book.catalogue.get(offer.get("procedure"))
    if desk is None or proc is None:
        return [Reply(phrases["reminder.unavailable"])]
    if desk.opted_out(channel, address):
        return [Reply(phrases["reminder.opted_out"])]
    deadline = dt.date.fromisoformat(offer["deadline"])
    due_at = float(offer["due_at"])
    if due_at <= desk.now():
        return [Reply(phrases["reminder.too_close"])]
    desk.schedule(channel, address, proc.id, deadline, due_at)
    return [Reply(phrases["reminder.set"].format(when=_when(book, local(due_at).date()),
                                                 name=proc.short_name, deadline=in_words(deadline)))]


def _listing(pending: list[Scheduled], book: Answers) -> Reply:
    phrases = book.phrases
    if not pending:
        return Reply(phrases["reminder.none"])
    lines = [phrases["reminder.list"]]
    for item in pending:
        proc = book.catalogue.get(item.procedure)
        lines.append(phrases["reminder.item"].format(
            name=proc.short_name if proc else item.procedure, deadline=in_words(item.deadline),
            when=_when(book, local(item.due_at).date())))
    lines.append(phrases["reminder.how_to_cancel"])
    return Reply("\n".join(lines))


def due_reply(book: Answers, procedure: str, deadline: dt.date, now: float) -> Reply:
    """The reminder itself, sent by the serving layer when it is due."""
    proc = book.catalogue.get(procedure)
    left = (deadline - local(now).date()).days
    return Reply(book.phrases["reminder.due"].format(
        name=proc.short_name if proc else procedure, deadline=in_words(deadline), left=left))
