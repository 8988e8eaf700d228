"""The staff group on the Telegram webhook: staff replies are told from citizens' messages, other
groups are ignored, and a case goes round through the fake Bot API (an echo engine: no model)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from bot.contract import ConfigError, Inbound, Reply, StaffMessage
from bot.dialogue.phrases import load_phrases
from bot.serving.channels import load_connectors
from bot.serving.handover import HandoverSettings
from bot.serving.store import Store
from connectors.telegram import TelegramConnector
from tests.connectors.harness import ServerThread, request, wait_until
from tests.connectors.telegram.fake_telegram import BOT_USER, FakeTelegram
from tests.connectors.telegram.test_telegram import SECRET, SECRET_HEADER, TOKEN, payload, webhook
from tests.paths import PROJECT, REPO

GROUP = -1001987650000
OTHER_GROUP = -1001987654321
STAFF = {"id": 4440001, "is_bot": False, "first_name": "Hoa", "last_name": "Trần"}
ALWAYS_OPEN = HandoverSettings(working_hours="T2-CN 00:00-24:00", timeout_hours=48)
PHRASES = load_phrases(PROJECT.phrases)


def staff_connector(base_url: str = "https://api.telegram.org/bot") -> TelegramConnector:
    return TelegramConnector.from_credentials({"token": TOKEN, "secret_token": SECRET, "base_url": base_url,
                                               "staff_group_id": str(GROUP)})


def group_update(update_id: int, text: str | None, reply_to: int | None = None, chat: int = GROUP,
                 sender: dict[str, Any] = STAFF, **extra: Any) -> bytes:
    group = {"id": chat, "title": "Cán bộ một cửa xã", "type": "supergroup"}
    message: dict[str, Any] = {"message_id": 5000 + update_id, "from": sender, "date": 1764660000,
                               "chat": group, **extra}
    if text is not None:
        message["text"] = text
    if reply_to is not None:
        message["reply_to_message"] = {"message_id": reply_to, "from": BOT_USER, "date": 1764650000,
                                       "chat": message["chat"], "text": "Yêu cầu #1"}
    return json.dumps({"update_id": update_id, "message": message}, ensure_ascii=False).encode()


def citizen_update(update_id: int, chat_id: int, text: str) -> bytes:
    body = json.loads(payload("text"))
    body["update_id"], body["message"]["text"] = update_id, text
    body["message"]["chat"]["id"] = body["message"]["from"]["id"] = chat_id
    return json.dumps(body, ensure_ascii=False).encode()


# --- Webhook: who wrote it ---------------------------------------------------------------------

@pytest.mark.parametrize("body, expected", [
    (group_update(1, "Chào bác, bác mang CCCD nhé", reply_to=901),
     StaffMessage("telegram", "1", str(GROUP), "Chào bác, bác mang CCCD nhé", "901", "Hoa Trần")),
    (group_update(2, "/dong", reply_to=901),
     StaffMessage("telegram", "2", str(GROUP), "/dong", "901", "Hoa Trần")),
    (group_update(3, "/dong 12"), StaffMessage("telegram", "3", str(GROUP), "/dong 12", None, "Hoa Trần")),
], ids=["threaded reply", "threaded close", "close by number"])
def test_staff_group_messages_become_staff_messages(body, expected):
    events, (status, _, _) = staff_connector().handle(webhook(body))
    assert (status, events) == (200, [expected])


@pytest.mark.parametrize("body, reason", [
    (group_update(4, "ai trực chiều nay?"), "neither a reply to a case nor a command"),
    (group_update(5, None, reply_to=901, sticker={"file_id": "x", "file_unique_id": "y", "type": "regular",
                                                  "width": 1, "height": 1, "is_animated": False,
                                                  "is_video": False}), "without text"),
    (group_update(6, "ok", reply_to=901, sender={**BOT_USER, "id": 7000000002}), "from a bot"),
    (group_update(7, "Chào bác", reply_to=901, chat=OTHER_GROUP), "nor the staff group"),
    (group_update(8, "/dong", chat=OTHER_GROUP), "neither a citizen's private chat nor the staff group"),
], ids=["group talk", "sticker", "another bot", "another group", "command in another group"])
def test_other_group_messages_are_acknowledged_and_ignored(body, reason):
    events, (status, _, answer) = staff_connector().handle(webhook(body))
    assert (status, events) == (200, [])
    assert reason in json.loads(answer)["ignored"]


def test_without_a_staff_group_no_group_is_answered_and_citizens_still_are():
    plain = TelegramConnector.from_credentials({"token": TOKEN, "secret_token": SECRET})
    events, (status, _, answer) = plain.handle(webhook(group_update(9, "Chào bác", reply_to=901)))
    assert (status, events, plain.staff_chat()) == (200, [], None)
    assert "staff group" in json.loads(answer)["ignored"]
    events, _ = staff_connector().handle(webhook(payload("text")))
    assert [type(e) for e in events] == [Inbound]


def test_button_tap_in_a_group_is_ignored():
    body = json.loads(payload("callback_query"))
    tapped = copy.deepcopy(body)
    tapped["callback_query"]["message"]["chat"] = {"id": OTHER_GROUP, "title": "x", "type": "group"}
    events, (status, _, answer) = staff_connector().handle(webhook(json.dumps(tapped).encode()))
    assert (status, events) == (200, [])
    assert "private chat" in json.loads(answer)["ignored"]


@pytest.mark.parametrize("value", ["1001987650000", "-0", "nhom-can-bo", "-10019876500001234567"])
def test_a_staff_group_id_that_is_not_a_group_stops_the_server(value):
    with pytest.raises(ConfigError) as caught:
        TelegramConnector.from_credentials({"token": TOKEN, "secret_token": SECRET, "staff_group_id": value})
    assert "staff_group_id: not a group's chat id" in str(caught.value) and value not in str(caught.value)


def test_documented_entry_reads_the_staff_group_from_the_environment(tmp_path: Path):
    env = {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_SECRET_TOKEN": SECRET, "TELEGRAM_STAFF_GROUP_ID": str(GROUP)}
    connectors = load_connectors(REPO / "credentials.yml", env)
    assert connectors["telegram"].staff_chat() == str(GROUP)
    del env["TELEGRAM_STAFF_GROUP_ID"]
    assert load_connectors(REPO / "credentials.yml", env)["telegram"].staff_chat() is None


# --- A case round trip through the fake Bot API, without a model --------------------------------

class EchoEngine:
    """Answers ``re: <text>``: shows whether the bot answered, with the project's phrases."""

    agent = None  # no tracker: cases are opened through the entry point a rating handler calls
    reminders = None

    def __init__(self) -> None:
        self.phrases = load_phrases(PROJECT.phrases)

    async def handle(self, sender: str, text: str, channel: str | None = None) -> list[Reply]:
        return [Reply(f"re: {text}")]


def post(url: str, body: bytes) -> int:
    return request(url, body, {"Content-Type": "application/json", SECRET_HEADER: SECRET}).status


def texts_to(fake: FakeTelegram, chat: int) -> list[str]:
    return [c.params["text"] for c in fake.sent() if str(c.params["chat_id"]) == str(chat)]


def test_case_goes_to_the_group_and_a_threaded_reply_comes_back(tmp_path):
    citizen = 5550100001
    store = Store.sqlite(tmp_path / "bot.db")
    with FakeTelegram(TOKEN) as fake, ServerThread(EchoEngine(), store, {
            "telegram": staff_connector(fake.base_url)}, handover=ALWAYS_OPEN) as server:
        url = f"{server.url}/webhooks/telegram/webhook"
        desk = server.app.ctx.worker.handover
        reply = desk.open_case("telegram", str(citizen), "low_rating", [("user", "sđt tôi 0912 345 678")])
        assert reply.text == PHRASES["handover.opened"]
        [case_post] = wait_until(lambda: texts_to(fake, GROUP))
        case_message = 101  # the fake's first message id
        assert "**** *** 678" in case_post and "0912 345 678" not in case_post

        assert post(url, citizen_update(1, citizen, "tôi ở xã Ia Phí")) == 200
        wait_until(lambda: len(texts_to(fake, GROUP)) == 2)
        follow_up = fake.sent()[-1].params
        assert follow_up["text"] == "#1 Dân: tôi ở xã Ia Phí"
        assert json.loads(follow_up["reply_parameters"])["message_id"] == case_message

        assert post(url, group_update(2, "Chào anh, anh mang CCCD lên xã nhé.", reply_to=case_message)) == 200
        assert post(url, group_update(2, "Chào anh, anh mang CCCD lên xã nhé.", reply_to=case_message)) == 200
        assert post(url, group_update(3, "Chào anh", reply_to=case_message, chat=OTHER_GROUP)) == 200
        wait_until(lambda: texts_to(fake, citizen))
        assert post(url, group_update(4, "/dong", reply_to=case_message + 1)) == 200  # on the follow-up
        wait_until(lambda: len(texts_to(fake, citizen)) == 2)
        assert post(url, citizen_update(5, citizen, "khai sinh cần gì")) == 200
        wait_until(lambda: len(texts_to(fake, citizen)) == 3)
        time.sleep(0.5)  # a duplicate relay would be sent by now
        said, told = texts_to(fake, citizen), texts_to(fake, GROUP)
    assert said == ["Cán bộ trả lời: Chào anh, anh mang CCCD lên xã nhé.", PHRASES["handover.closed"],
                    "re: khai sinh cần gì"]  # quiet while the case was open; answers again after
    assert told[-1] == PHRASES["staff.closed.staff"].format(case=1, author="Hoa Trần")
    assert [c.closed_at is not None for c in desk.cases()] == [True]
