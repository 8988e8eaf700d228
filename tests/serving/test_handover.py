"""Handover to staff, on a real SQLite file with an injected clock: triggers, working hours,
timeout, what staff see (numbers masked), relays, STOP, erasure."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main
from bot.contract import ConfigError
from bot.dialogue.phrases import load_phrases
from bot.serving.handover import (
    REASON_ASKED,
    REASON_FALLBACK,
    REASON_LOW_RATING,
    STAFF_META,
    Handover,
    WorkingHours,
    forget_cases,
    settings_from_env,
    transcript,
    trigger,
)
from bot.serving.reminders import Reminders
from bot.serving.store import Message, OutboundRow, Store
from tests.paths import PROJECT
from tests.serving.test_reminders import FakeClock, local

GROUP = "-1001234567890"
HOURS = "T2-T6 07:30-11:30 13:30-17:00; T7 07:30-11:30"
PHRASES = load_phrases(PROJECT.phrases)


WEDNESDAY_AFTERNOON = local(2026, 12, 2, 14, 30)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(WEDNESDAY_AFTERNOON)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store.sqlite(tmp_path / "bot.db")


@pytest.fixture
def desk(store, clock) -> Handover:
    return Handover(store, PHRASES, "telegram", GROUP, WorkingHours.parse(HOURS), 48 * 3600, clock)


def outbox(store: Store) -> list[tuple[str, str, str, dict]]:
    """(channel, recipient, text, meta) of every queued message, oldest first."""
    with Session(store.engine) as session:
        rows = session.execute(select(OutboundRow).order_by(OutboundRow.id)).scalars()
        return [(r.channel, r.recipient, json.loads(r.payload)["text"], json.loads(r.meta)) for r in rows]


def to_group(store: Store) -> list[str]:
    return [text for channel, recipient, text, _ in outbox(store) if recipient == GROUP]


def to_citizen(store: Store, recipient: str) -> list[str]:
    return [text for _, to, text, _ in outbox(store) if to == recipient]


def sent(store: Store, platform_ids: dict[int, str]) -> None:
    """Marks outbox rows sent with the platform's message ids, as the outbox loop does."""
    for outbound_id, platform_id in platform_ids.items():
        store.mark_sent(outbound_id, platform_id)


def staff(message_id: int, text: str, reply_to: str | None, author: str = "Chị Hoa") -> Message:
    meta = {STAFF_META: {"reply_to": reply_to, "author": author}}
    return Message(message_id, "telegram", GROUP, text, meta)


# ------------------------------------------------------------------ working hours

@pytest.mark.parametrize("at, open_, next_opening", [
    (local(2026, 12, 2, 14, 30), True, local(2026, 12, 3, 7, 30)),  # Wednesday afternoon
    (local(2026, 12, 2, 12, 0), False, local(2026, 12, 2, 13, 30)),  # lunch break
    (local(2026, 12, 2, 17, 0), False, local(2026, 12, 3, 7, 30)),  # closing time: closed
    (local(2026, 12, 4, 18, 0), False, local(2026, 12, 5, 7, 30)),  # Friday evening -> Saturday
    (local(2026, 12, 5, 12, 0), False, local(2026, 12, 7, 7, 30)),  # Saturday noon -> Monday
    (local(2026, 12, 6, 9, 0), False, local(2026, 12, 7, 7, 30)),  # Sunday
])
def test_working_hours_in_vietnam_time(at, open_, next_opening):
    hours = WorkingHours.parse(HOURS)
    assert hours.is_open(at.timestamp()) is open_
    assert hours.next_opening(at.timestamp()) == next_opening


def test_working_hours_read_ranges_that_wrap_and_whole_days():
    hours = WorkingHours.parse("T7-CN 00:00-24:00")
    assert hours.is_open(local(2026, 12, 6, 23, 59).timestamp())
    assert not hours.is_open(local(2026, 12, 7, 0, 0).timestamp())
    assert WorkingHours.parse("CN-T2 08:00-09:00").spans.keys() == {6, 0}


@pytest.mark.parametrize("variable, value, said", [
    ("HANDOVER_WORKING_HOURS", "thu hai 7h-11h", "HANDOVER_WORKING_HOURS:"),
    ("HANDOVER_WORKING_HOURS", "T2-T6 17:00-07:30", "HANDOVER_WORKING_HOURS:"),
    ("HANDOVER_WORKING_HOURS", "T2-T6 07:30-25:00", "HANDOVER_WORKING_HOURS:"),
    ("HANDOVER_TIMEOUT_HOURS", "0", "HANDOVER_TIMEOUT_HOURS: must be more than 0"),
    ("HANDOVER_TIMEOUT_HOURS", "hai ngay", "HANDOVER_TIMEOUT_HOURS: not a number"),
])
def test_a_wrong_setting_is_named_by_its_variable(variable, value, said):
    with pytest.raises(ConfigError) as caught:
        settings_from_env({variable: value})
    assert said in str(caught.value)


def test_settings_have_defaults_and_read_the_environment():
    assert settings_from_env({}).timeout_hours == 48
    read = settings_from_env({"HANDOVER_WORKING_HOURS": "T2-T7 07:00-11:00", "HANDOVER_TIMEOUT_HOURS": "8"})
    assert (read.working_hours, read.timeout_hours) == ("T2-T7 07:00-11:00", 8)


# ------------------------------------------------------------------ triggers

def said(*intents: str) -> list:
    return [UserUttered("/nlu_fallback" if intent == "empty" else f"tin {i}",
                        {"name": "nlu_fallback" if intent == "empty" else intent})
            for i, intent in enumerate(intents)]


@pytest.mark.parametrize("intents, reason", [
    (["greet", "ask_human"], REASON_ASKED),
    (["ask_fee", "nlu_fallback", "nlu_fallback"], REASON_FALLBACK),
    (["nlu_fallback"], None),
    (["nlu_fallback", "ask_fee"], None),
    (["nlu_fallback", "nlu_fallback", "nlu_fallback"], None),  # the pair was handed over already
    (["nlu_fallback"] * 4, REASON_FALLBACK),
    (["empty", "nlu_fallback"], None),  # a sticker is not a question the bot failed on
    ([], None),
])
def test_what_hands_a_conversation_over(intents, reason):
    assert trigger(said(*intents)) == reason


def test_transcript_keeps_the_last_messages_of_both_sides():
    events = [UserUttered("gap can bo", {"name": "ask_human"}), BotUttered("Chao ban")] * 15
    lines = transcript(events)
    assert len(lines) == 20 and lines[-1] == ("bot", "Chao ban") and lines[-2] == ("user", "gap can bo")


# ------------------------------------------------------------------ a case, staff side

def test_case_shows_staff_the_conversation_with_numbers_masked(desk, store):
    conversation = [("user", "so cccd cua toi 001099012345, sdt 0912 345 678"), ("bot", "Toi chua hieu")]
    reply = desk.open_case("sms", "84912345678", REASON_FALLBACK, conversation)
    assert reply.text == PHRASES["handover.opened"]
    [post] = to_group(store)
    assert "*********345" in post and "**** *** 678" in post and "người dân ********678" in post
    assert "001099012345" not in post and "0912 345 678" not in post and "84912345678" not in post
    assert "Yêu cầu #1 (sms" in post and PHRASES["staff.reason.fallback"] in post
    assert "Dân: so cccd" in post and "Bot: Toi chua hieu" in post


@pytest.mark.parametrize("at, when", [
    (local(2026, 12, 2, 12, 5), "13:30 thứ Tư, ngày 2/12"),
    (local(2026, 12, 5, 20, 0), "7:30 thứ Hai, ngày 7/12"),
])
def test_outside_working_hours_the_citizen_is_told_when(desk, clock, at, when):
    clock.now = at.timestamp()
    reply = desk.open_case("telegram", "5551234567", REASON_ASKED, [])
    assert reply.text == PHRASES["handover.opened_later"].format(when=when)


def test_staff_reply_threaded_to_the_case_reaches_the_citizen_until_closed(desk, store):
    desk.open_case("telegram", "5551234567", REASON_ASKED, [("user", "gặp cán bộ")])
    sent(store, {1: "901"})
    assert desk.waiting("telegram", "5551234567")
    assert desk.append("telegram", "5551234567", "toi o xa Ia Phi")
    follow_up = outbox(store)[-1]
    assert follow_up[1:] == (GROUP, "#1 Dân: toi o xa Ia Phi", {"handover_case": 1, "reply_to": "901"})
    sent(store, {2: "902"})
    assert desk.on_staff(staff(10, "Chào anh, anh mang CCCD đến xã nhé.", "902")) == "relayed"
    assert to_citizen(store, "5551234567") == ["Cán bộ trả lời: Chào anh, anh mang CCCD đến xã nhé."]
    assert desk.on_staff(staff(11, "/dong", "901")) == "closed"
    assert not desk.waiting("telegram", "5551234567")
    assert to_citizen(store, "5551234567")[-1] == PHRASES["handover.closed"]
    assert to_group(store)[-1] == PHRASES["staff.closed.staff"].format(case=1, author="Chị Hoa")
    assert desk.on_staff(staff(12, "còn gì nữa không anh", "901")) == "not_relayed"
    assert to_group(store)[-1] == PHRASES["staff.already_closed"].format(case=1)
    assert len(to_citizen(store, "5551234567")) == 2
    [case] = desk.cases()
    assert (case.reason, case.closed_at is not None) == (REASON_ASKED, True)


def test_unthreaded_close_command_names_the_case_and_other_talk_is_left_alone(desk, store):
    desk.open_case("telegram", "5551234567", REASON_ASKED, [])
    assert desk.on_staff(staff(10, "ai trực hôm nay?", None)) == "none"
    assert desk.on_staff(staff(11, "/dong@thutuc_bot 2", None)) == "none"  # no case 2
    assert desk.on_staff(staff(12, "/dong@thutuc_bot #1", None)) == "closed"
    assert len(to_citizen(store, "5551234567")) == 1


def test_long_reply_to_an_sms_citizen_is_gsm7_and_paged(desk, store):
    desk.open_case("sms", "84912345678", REASON_ASKED, [])
    sent(store, {1: "901"})
    answer = "Chào bác, " + "bác mang căn cước và giấy chứng sinh của cháu lên xã vào giờ hành chính. " * 12
    assert desk.on_staff(staff(10, answer, "901")) == "relayed"
    [first] = to_citizen(store, "84912345678")
    assert first.startswith("Can bo tra loi: Chao bac") and first.isascii()
    assert store.pop_page("sms", "84912345678") is not None  # THEM gets the rest


def test_timeout_closes_the_case_and_the_bot_answers_again(desk, store, clock):
    desk.open_case("zalo", "zalo-user-1", REASON_LOW_RATING, [])
    clock.now += 47 * 3600
    assert desk.append("zalo", "zalo-user-1", "alo?")  # activity: the timeout starts again
    clock.now += 47 * 3600
    assert desk.close_expired() == 0 and desk.waiting("zalo", "zalo-user-1")
    clock.now += 3600
    assert not desk.waiting("zalo", "zalo-user-1")  # checked when the citizen writes, too
    assert to_citizen(store, "zalo-user-1") == [PHRASES["handover.timeout"]]
    assert to_group(store)[-1] == PHRASES["staff.closed.timeout"].format(case=1, hours="48")
    assert desk.close_expired() == 0  # closed once


def test_stop_closes_the_case_and_no_staff_reply_reaches_the_citizen(desk, store):
    desk.open_case("sms", "84912345678", REASON_ASKED, [])
    sent(store, {1: "901"})
    Reminders(store).opt_out("sms", "84912345678")
    assert desk.on_staff(staff(10, "Chào bác", "901")) == "not_relayed"
    assert to_group(store)[-1] == PHRASES["staff.opted_out"].format(case=1)
    desk.stopped("sms", "84912345678")
    assert not desk.waiting("sms", "84912345678")
    assert to_citizen(store, "84912345678") == []


def test_second_request_while_waiting_keeps_one_case(desk, store):
    desk.open_case("telegram", "5551234567", REASON_ASKED, [])
    assert desk.open_case("telegram", "5551234567", REASON_ASKED, []).text == PHRASES["handover.already"]
    assert len(desk.cases()) == 1 and len(to_group(store)) == 1


def test_low_rating_entry_point_posts_the_conversation_from_the_tracker(desk, store):
    from rasa.core.tracker_store import InMemoryTrackerStore

    trackers = InMemoryTrackerStore(Domain.empty())
    tracker = DialogueStateTracker.from_events("5551234567", [
        UserUttered("khai sinh cần gì", {"name": "ask_documents"}), BotUttered("Giấy tờ cần mang: ...")])
    asyncio.run(trackers.save(tracker))
    reply = asyncio.run(desk.hand_over(SimpleNamespace(tracker_store=trackers), "telegram", "5551234567"))
    assert reply.text == PHRASES["handover.opened"]
    [post] = to_group(store)
    assert PHRASES["staff.reason.low_rating"] in post and "Dân: khai sinh cần gì" in post


def test_asking_for_a_person_opens_a_case_without_the_reply_it_replaces(desk, store):
    from rasa.core.tracker_store import InMemoryTrackerStore

    trackers = InMemoryTrackerStore(Domain.empty())
    agent = SimpleNamespace(tracker_store=trackers)
    events = [UserUttered("lệ phí khai sinh", {"name": "ask_fee"}), BotUttered("Miễn phí.")]
    asyncio.run(trackers.save(DialogueStateTracker.from_events("5551234567", events)))
    assert asyncio.run(desk.after_turn(agent, "telegram", "5551234567")) is None
    events += [UserUttered("gặp cán bộ", {"name": "ask_human"}), BotUttered("Ở đây tôi chưa chuyển được")]
    asyncio.run(trackers.save(DialogueStateTracker.from_events("5551234567", events)))
    reply = asyncio.run(desk.after_turn(agent, "telegram", "5551234567"))
    assert reply.text == PHRASES["handover.opened"]
    [post] = to_group(store)
    assert "Bot: Miễn phí." in post and "Dân: gặp cán bộ" in post and "chưa chuyển được" not in post


def test_forget_deletes_the_cases_and_what_staff_were_sent(desk, store, tmp_path, capsys):
    desk.open_case("sms", "84912345678", REASON_ASKED, [("user", "gap can bo")])
    desk.append("sms", "84912345678", "toi can hoi")
    desk.open_case("sms", "84900000000", REASON_ASKED, [])
    assert main(["forget", "84912345678", "--db", str(tmp_path / "bot.db")]) == 0
    printed = capsys.readouterr().out
    assert "handover_cases 1" in printed and "handover_posts 2" in printed
    assert [case.sender for case in desk.cases()] == ["84900000000"]
    assert len(to_group(store)) == 1
    assert forget_cases(store, "84912345678")["handover_cases"] == 0


class EchoEngine:
    """Answers ``re: <text>`` with the project's phrases; reminders and opt-outs in ``store``."""

    agent = None

    def __init__(self, store: Store) -> None:
        self.phrases = PHRASES
        self.reminders = Reminders(store)

    async def handle(self, sender: str, text: str, channel: str | None = None) -> list:
        from bot.contract import Reply

        return [Reply(f"re: {text}")]


def test_while_waiting_the_bot_is_quiet_bat_dau_keeps_the_case_and_stop_closes_it(desk, store):
    from bot.serving.conversation import Conversation

    conversation = Conversation(EchoEngine(store), store, "telegram", desk)
    talk = lambda text: [m.text for m in asyncio.run(conversation.handle("5551234567", text))]  # noqa: E731
    desk.open_case("telegram", "5551234567", REASON_ASKED, [])
    assert talk("le phi bao nhieu") == []
    assert to_group(store)[-1] == "#1 Dân: le phi bao nhieu"
    assert talk("BAT DAU") == [PHRASES["optin.already"]]
    assert desk.waiting("telegram", "5551234567")
    assert talk("STOP") == [PHRASES["optout.done"]]
    assert not desk.waiting("telegram", "5551234567")
    assert to_group(store)[-1] == PHRASES["staff.closed.stop"].format(case=1)
    assert talk("le phi bao nhieu") == ["re: le phi bao nhieu"]


def test_a_not_useful_rating_hands_the_conversation_to_staff(desk, store):
    from bot.serving.conversation import Conversation
    from tests.serving.test_ratings import SCRIPT, ScriptedEngine

    conversation = Conversation(ScriptedEngine(dict(SCRIPT)), store, "telegram", desk)
    talk = lambda text: [m.text for m in asyncio.run(conversation.handle("5551234567", text))]  # noqa: E731
    talk("le phi khai sinh")
    assert talk("2") == [PHRASES["handover.opened"]]
    [case] = desk.cases()
    assert (case.sender, case.reason, case.closed_at) == ("5551234567", REASON_LOW_RATING, None)
    assert PHRASES["staff.reason.low_rating"] in to_group(store)[0]
    assert talk("le phi khai sinh") == []  # with staff now: the bot stays quiet


def test_a_useful_rating_hands_nothing_over(desk, store):
    from bot.serving.conversation import Conversation
    from tests.serving.test_ratings import SCRIPT, ScriptedEngine

    conversation = Conversation(ScriptedEngine(dict(SCRIPT)), store, "telegram", desk)
    asyncio.run(conversation.handle("5551234567", "le phi khai sinh"))
    [thanks] = asyncio.run(conversation.handle("5551234567", "1"))
    assert thanks.text == PHRASES["rating.thanks"] and desk.cases() == [] and to_group(store) == []
