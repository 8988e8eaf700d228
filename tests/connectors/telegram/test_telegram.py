"""Telegram connector: recorded webhook payloads in, Bot API calls (to a local fake) out."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.contract import ConfigError, Inbound, NotConfigured, Rendered, SendError, WebRequest
from bot.contract.redact import RedactingFilter
from bot.contract.reply import Button, Reply
from bot.render import render
from bot.serving.channels import load_connectors
from bot.serving.store import InboundRow, Store
from connectors.telegram import TelegramConnector
from connectors.telegram.connector import DEFAULT_BASE_URL, MAX_CALLBACK_BYTES, MAX_TEXT, SECRET_HEADER
from tests.connectors.harness import BACKOFF_SECONDS, ServerThread, free_port, request, wait_until
from tests.connectors.telegram.fake_telegram import FakeTelegram

TESTDATA = Path(__file__).parent / "testdata"
TOKEN = "7000000001:AAH-fake_token_Zq3xVb9LmN2pRt5sW8yK1cD"
SECRET = "webhook-secret_4f9a2c71e8b35d06"
LAN = "5551234567"  # the chat id in the recorded payloads
FEE_PAYLOAD = '/ask_fee{"procedure":"khai_sinh"}'
E2E_TIMEOUT = 15.0  # covers the outbox's first backoff with room to spare
IDLE_SECONDS = 1.0  # ten of the test worker's idle polls: enough for a second answer to show up



def payload(name: str) -> bytes:
    return (TESTDATA / f"{name}.json").read_bytes()


def update(name: str, chat_id: int) -> bytes:
    """A recorded update moved to another chat, so end-to-end tests never share a conversation."""
    return payload(name).replace(LAN.encode(), str(chat_id).encode())


def webhook(body: bytes, *, secret: str | None = SECRET, content_type: str = "application/json",
            method: str = "POST") -> WebRequest:
    headers = {"content-type": content_type}
    if secret is not None:
        headers[SECRET_HEADER.lower()] = secret
    return WebRequest(method=method, endpoint="webhook", headers=headers, query={}, body=body)


def connector(base_url: str = DEFAULT_BASE_URL, token: str = TOKEN) -> TelegramConnector:
    return TelegramConnector.from_credentials({"token": token, "secret_token": SECRET, "base_url": base_url})


# --- Webhook: request in, status and events out ---------------------------------------------------

ANSWERED = [
    ("text", LAN, "khai sinh cần giấy tờ gì", "815000101"),
    ("start_command", LAN, "/greet", "815000103"),
    ("callback_query", LAN, FEE_PAYLOAD, "815000102"),
    ("photo_caption", LAN, "giấy chứng sinh thế này có được không", "815000104"),
    ("sticker", LAN, "", "815000105"),  # no words: the engine answers with its help message
    ("voice", LAN, "", "815000106"),
]


@pytest.mark.parametrize("name, sender, text, platform_id", ANSWERED)
def test_update_becomes_one_message(name, sender, text, platform_id):
    events, (status, _, _) = connector().handle(webhook(payload(name)))
    assert status == 200
    assert [(e.sender, e.text, e.platform_id, e.channel) for e in events] == [
        (sender, text, platform_id, "telegram")]


@pytest.mark.parametrize("typed, understood", [
    ("/start", "/greet"),
    ("/start@thutuc_test_bot tu-trang-web", "/greet"),  # in a group, or from a deep link
    ("/help", "/menu"),
    (FEE_PAYLOAD, FEE_PAYLOAD),  # a payload typed by hand is read like the button
    ("/", "/"),
])
def test_telegram_commands_become_intents(typed, understood):
    body = json.loads(payload("text"))
    body["message"]["text"] = typed
    events, _ = connector().handle(webhook(json.dumps(body).encode()))
    assert [e.text for e in events] == [understood]


def test_button_tap_keeps_the_query_id_to_answer_it():
    events, _ = connector().handle(webhook(payload("callback_query")))
    assert events[0].meta == {"callback_query_id": "4382bfdwdsb323b2d9"}


@pytest.mark.parametrize("name, reason", [
    ("edited_message", "edited_message"),
    ("group_member_joined", "neither a citizen's private chat nor the staff group"),
    ("my_chat_member_blocked", "my_chat_member"),
    ("from_other_bot", "from a bot"),
])
def test_nothing_to_answer_is_acknowledged(name, reason):
    events, (status, _, body) = connector().handle(webhook(payload(name)))
    assert (status, events) == (200, [])
    assert reason in json.loads(body)["ignored"]


@pytest.mark.parametrize("case, request_, status", [
    ("wrong secret", webhook(payload("text"), secret="webhook-secret_4f9a2c71e8b35d07"), 403),
    ("missing secret", webhook(payload("text"), secret=None), 403),
    ("empty secret", webhook(payload("text"), secret=""), 403),
    ("secret in other case", webhook(payload("text"), secret=SECRET.upper()), 403),
    ("not JSON content", webhook(payload("text"), content_type="text/plain"), 400),
    ("GET", webhook(b"", method="GET"), 405),
    ("truncated JSON", webhook(payload("truncated")), 400),
    ("invalid UTF-8", webhook(b'{"update_id": 1, "message": {"text": "\xff\xfe"}}'), 400),
    ("chat is not an object", webhook(payload("malformed_chat")), 400),
    ("no update_id", webhook(payload("missing_update_id")), 400),
    ("text is a number", webhook(payload("text_not_a_string")), 400),
    ("a JSON list", webhook(b"[1, 2]"), 400),
    ("oversized body", webhook(b'{"update_id": 1, "pad": "' + b"x" * 300_000 + b'"}'), 413),
], ids=lambda v: v if isinstance(v, str) else "")
def test_refused_requests_store_nothing(case, request_, status):
    events, (answered, _, body) = connector().handle(request_)
    assert (answered, events) == (status, [])
    assert json.loads(body)["ok"] is False


def _mutated(name: str, path: tuple[str, ...], value: Any) -> bytes:
    """A recorded update with one field set (``...``: removed)."""
    body = json.loads(payload(name))
    node = body
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return json.dumps(body).encode()


# The update is read from the JSON without python-telegram-bot's objects: the Bot API's required
# fields and the types of the fields read are still checked, each refusal a 400 (Telegram does
# not send such updates; something else posting to the webhook does).
@pytest.mark.parametrize("name, path, value", [
    ("text", ("message",), "khai sinh"),
    ("text", ("message", "date"), ...),
    ("text", ("message", "message_id"), "1208"),
    ("text", ("message", "chat", "id"), "5551234567"),
    ("text", ("message", "chat", "type"), ...),
    ("text", ("message", "from"), 5551234567),
    ("text", ("message", "from", "is_bot"), "false"),
    ("text", ("message", "from", "first_name"), ...),
    ("photo_caption", ("message", "caption"), ["giấy chứng sinh"]),
    ("text", ("message", "reply_to_message"), {"message_id": 1}),
    ("callback_query", ("callback_query", "id"), ...),
    ("callback_query", ("callback_query", "from", "id"), None),
    ("callback_query", ("callback_query", "message", "chat"), ...),
    ("callback_query", ("callback_query",), [1]),
], ids=lambda v: ".".join(v) if isinstance(v, tuple) else None)
def test_a_malformed_field_is_refused_and_nothing_stored(name, path, value):
    events, (status, _, body) = connector().handle(webhook(_mutated(name, path, value)))
    assert (status, events) == (400, [])
    assert "malformed update" in json.loads(body)["error"]


@pytest.mark.parametrize("name, path, value, reason", [
    ("text", ("message",), None, "update type message is not answered"),
    ("callback_query", ("callback_query", "data"), ..., "callback query without data"),
    ("text", ("message", "text"), ..., "service message"),
])
def test_an_update_without_content_is_acknowledged_and_ignored(name, path, value, reason):
    events, (status, _, body) = connector().handle(webhook(_mutated(name, path, value)))
    assert (status, events) == (200, [])
    assert reason in json.loads(body)["ignored"]


@pytest.mark.parametrize("name, path, value, sender", [
    ("callback_query", ("callback_query", "message"), ..., LAN),  # an old message: the user's id
    ("text", ("message", "from"), ..., LAN),  # a message in a channel chat has no sender
    ("text", ("message", "text"), None, None),  # a null text is no text: nothing else, ignored
])
def test_optional_fields_may_be_missing(name, path, value, sender):
    events, (status, _, _) = connector().handle(webhook(_mutated(name, path, value)))
    assert status == 200
    assert [e.sender for e in events] == ([sender] if sender else [])


def test_json_with_charset_is_accepted():
    events, (status, _, _) = connector().handle(webhook(payload("text"),
                                                        content_type="application/json; charset=utf-8"))
    assert (status, len(events)) == (200, 1)


# --- Configuration --------------------------------------------------------------------------------

@pytest.mark.parametrize("credentials, message", [
    ({}, "token is empty"),
    ({"token": TOKEN}, "secret_token is empty"),
    ({"token": "", "secret_token": SECRET}, "token is empty"),
])
def test_channel_stays_off_without_its_secrets(credentials, message):
    with pytest.raises(NotConfigured, match=message):
        TelegramConnector.from_credentials(credentials)


@pytest.mark.parametrize("credentials, message", [
    ({"token": TOKEN, "secret_token": "has spaces and é"}, "secret_token: setWebhook would refuse it"),
    ({"token": TOKEN, "secret_token": "x" * 257}, "secret_token: setWebhook would refuse it"),
    ({"token": TOKEN, "secret_token": SECRET, "base_url": "api.telegram.org/bot"}, "base_url: not an http"),
])
def test_a_secret_setwebhook_refuses_or_a_bad_url_stops_the_server(credentials, message):
    with pytest.raises(ConfigError, match=message):
        TelegramConnector.from_credentials(credentials)


CREDENTIALS_ENTRY = """\
connectors.telegram.TelegramConnector:
  token: ${TELEGRAM_TOKEN}
  secret_token: ${TELEGRAM_SECRET_TOKEN}
  base_url: ${TELEGRAM_BASE_URL:-https://api.telegram.org/bot}
"""


def test_credentials_entry_switches_the_channel_on_from_the_environment(tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text(CREDENTIALS_ENTRY, encoding="utf-8")
    assert load_connectors(path, {}) == {}
    telegram = load_connectors(path, {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_SECRET_TOKEN": SECRET})["telegram"]
    assert (telegram.token, telegram.secret_token, telegram.base_url) == (TOKEN, SECRET, DEFAULT_BASE_URL)
    assert set(telegram.secrets()) == {TOKEN, SECRET}


# --- Sending: Rendered in, Bot API calls out ------------------------------------------------------

def started(telegram: TelegramConnector, work: Callable[[], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        await telegram.start()
        try:
            return await work()
        finally:
            await telegram.close()

    return asyncio.run(main())


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as api:
        yield api


def test_buttons_become_an_inline_keyboard_one_per_row(fake):
    telegram = connector(fake.base_url)
    buttons = (("Lệ phí", FEE_PAYLOAD), ("Nộp ở đâu", '/ask_where{"procedure":"khai_sinh"}'))
    message_id = started(telegram, lambda: telegram.send(LAN, Rendered("Bạn muốn biết gì?", buttons), {}))
    [call] = fake.sent()
    assert call.params["chat_id"] == LAN
    assert call.params["text"] == "Bạn muốn biết gì?"
    assert call.params["reply_markup"] == {"inline_keyboard": [
        [{"text": "Lệ phí", "callback_data": FEE_PAYLOAD}],
        [{"text": "Nộp ở đâu", "callback_data": '/ask_where{"procedure":"khai_sinh"}'}]]}
    assert message_id == "101"


def test_button_too_long_for_callback_data_becomes_a_numbered_line(fake):
    telegram = connector(fake.base_url)
    too_long = "/ask_fee" + "x" * MAX_CALLBACK_BYTES
    started(telegram, lambda: telegram.send(LAN, Rendered("Chọn:", (("Lệ phí", too_long),)), {}))
    [call] = fake.sent()
    assert call.params["text"] == "Chọn:\n1. Lệ phí"
    assert "reply_markup" not in call.params


def test_long_reply_is_split_under_telegrams_limit(fake):
    telegram = connector(fake.base_url)
    words = " ".join(f"bước{i}" for i in range(1200))  # about 8,000 characters
    rendered = render(Reply(words, (Button("Lệ phí", FEE_PAYLOAD),)), "telegram")

    async def send_all() -> None:
        for message in rendered:
            await telegram.send(LAN, message, {})

    started(telegram, send_all)
    sent = fake.sent()
    assert len(sent) == len(rendered) >= 2
    assert all(len(c.params["text"]) <= MAX_TEXT for c in sent)
    assert " ".join(c.params["text"] for c in sent).split() == words.split()
    assert ["reply_markup" in c.params for c in sent] == [False] * (len(sent) - 1) + [True]


@pytest.mark.parametrize("status, retryable, retry_after", [
    (429, True, 1.0),  # flood control: not before retry_after
    (502, True, None),  # Telegram's proxy: try again later
    (403, False, None),  # the citizen blocked the bot
    (400, False, None),  # e.g. chat not found
])
def test_send_errors_say_whether_to_retry(fake, status, retryable, retry_after):
    telegram = connector(fake.base_url)
    fake.fail_next("sendMessage", status)
    with pytest.raises(SendError) as raised:
        started(telegram, lambda: telegram.send(LAN, Rendered("Xin chào"), {}))
    assert (raised.value.retryable, raised.value.retry_after) == (retryable, retry_after)


def test_refused_token_is_final_and_never_quoted(fake, caplog):
    telegram = connector(fake.base_url, token="7000000001:AAH-revoked_token_0000000000000000")
    with pytest.raises(SendError) as raised:
        started(telegram, lambda: telegram.send(LAN, Rendered("Xin chào"), {}))
    assert raised.value.retryable is False
    assert "revoked_token" not in raised.value.reason
    assert "refused the token" in caplog.text and "revoked_token" not in caplog.text


def test_unreachable_api_is_retryable():
    telegram = connector(f"http://127.0.0.1:{free_port()}/bot")
    with pytest.raises(SendError) as raised:
        started(telegram, lambda: telegram.send(LAN, Rendered("Xin chào"), {}))
    assert raised.value.retryable is True


def test_button_tap_is_answered_before_the_reply(fake):
    telegram = connector(fake.base_url)
    tap = Inbound("telegram", "815000102", LAN, FEE_PAYLOAD, {"callback_query_id": "4382bfdwdsb323b2d9"})
    typed = Inbound("telegram", "815000101", LAN, "khai sinh")

    async def both() -> None:
        await telegram.before_reply(tap)
        await telegram.before_reply(typed)

    started(telegram, both)
    answered = [c.params for c in fake.calls("answerCallbackQuery")]
    assert answered == [{"callback_query_id": "4382bfdwdsb323b2d9"}]


def test_fake_reads_json_and_multipart_bodies_as_the_real_api_does(fake):
    url = f"{fake.base_url}{TOKEN}/setWebhook"
    hook = "https://bot.example.vn/webhooks/telegram/webhook"
    assert request(url, json.dumps({"url": hook, "secret_token": SECRET}).encode(),
                   {"Content-Type": "application/json"}).status == 200
    assert fake.webhook == {"url": hook, "secret_token": SECRET}
    boundary = "b0undary"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\n{hook}\r\n"
                 f"--{boundary}\r\nContent-Disposition: form-data; name=\"secret_token\"\r\n\r\nother\r\n"
                 f"--{boundary}--\r\n").encode()
    form = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    assert request(url, multipart, form).status == 200
    assert fake.webhook == {"url": hook, "secret_token": "other"}
    info = json.loads(request(f"{fake.base_url}{TOKEN}/getWebhookInfo").body)
    assert info["result"]["url"] == hook
    assert request(f"{fake.base_url}wrong:token/getMe").status == 401


# --- End to end: webhook -> inbox -> engine -> outbox -> fake Bot API ------------------------------

@contextmanager
def serving(engine: Any, fake: FakeTelegram, tmp_path: Path) -> Iterator[tuple[str, Store]]:
    store = Store.sqlite(tmp_path / "telegram.db")
    with ServerThread(engine, store, {"telegram": connector(fake.base_url)}) as server:
        yield f"{server.url}/webhooks/telegram/webhook", store


def post(url: str, body: bytes, secret: str | None = SECRET) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    return request(url, body, headers).status


def settled(store: Store, state: str) -> dict[str, int] | None:
    """The outbox counts once every reply reached ``state`` (none pending), else None."""
    counts = store.outbound_counts()
    return counts if counts.get(state) and not counts.get("pending") else None


def finished(store: Store, state: str) -> dict[str, int]:
    """Waits until every reply reached ``state``, then a little more: a late, unexpected send
    (a duplicate) would show up in the fake's calls."""
    counts = wait_until(lambda: settled(store, state), E2E_TIMEOUT)
    time.sleep(IDLE_SECONDS)
    return counts


def inbound_count(store: Store) -> int:
    with Session(store.engine) as session:
        return session.execute(select(func.count()).select_from(InboundRow)).scalar_one()


def test_question_is_answered_once_even_when_delivered_twice(engine, fake, tmp_path):
    with serving(engine, fake, tmp_path) as (url, store):
        body = update("text", 5550000001)
        assert [post(url, body), post(url, body)] == [200, 200]
        counts = finished(store, "sent")  # a second answer would be queued and sent by now
        sent = fake.sent()
        assert store.outbound_counts() == counts and inbound_count(store) == 1
    assert len(sent) == counts["sent"]
    assert {c.params["chat_id"] for c in sent} == {"5550000001"}
    assert "Giấy tờ" in sent[0].params["text"]


def test_wrong_or_missing_secret_causes_no_reply(engine, fake, tmp_path):
    with serving(engine, fake, tmp_path) as (url, store):
        body = update("text", 5550000002)
        assert post(url, body, secret="not-the-secret") == 403
        assert post(url, body, secret=None) == 403
        time.sleep(IDLE_SECONDS)  # time enough for an answer, if one had been accepted
        assert (inbound_count(store), store.outbound_counts()) == (0, {})
    assert [c.method for c in fake.calls()] == ["getMe"]


def test_button_tap_is_answered_and_its_answer_sent(engine, fake, tmp_path):
    with serving(engine, fake, tmp_path) as (url, store):
        assert post(url, update("callback_query", 5550000003)) == 200
        finished(store, "sent")
    methods = [c.method for c in fake.calls() if c.method != "getMe"]
    assert methods[0] == "answerCallbackQuery" and set(methods[1:]) == {"sendMessage"}
    assert fake.calls("answerCallbackQuery")[0].params == {"callback_query_id": "4382bfdwdsb323b2d9"}
    assert "Miễn phí nếu đăng ký đúng hạn" in "\n".join(c.params["text"] for c in fake.sent())


def test_sticker_gets_the_help_message(engine, fake, tmp_path):
    with serving(engine, fake, tmp_path) as (url, store):
        assert post(url, update("sticker", 5550000004)) == 200
        finished(store, "sent")
    assert "Tôi chưa hiểu ý bạn" in fake.sent()[0].params["text"]


# 429 says retry_after=1, longer than the test server's first backoff step, so it must win
@pytest.mark.parametrize("status, wait", [(429, 1.0), (502, BACKOFF_SECONDS[0])])
def test_rate_limit_and_bad_gateway_are_retried(engine, fake, tmp_path, status, wait):
    fake.fail_next("sendMessage", status, retry_after=1)
    with serving(engine, fake, tmp_path) as (url, store):
        assert post(url, update("text", 5550000010 + status)) == 200
        counts = finished(store, "sent")
    attempts = fake.calls("sendMessage")
    assert [c.status for c in attempts] == [status] + [200] * counts["sent"]
    assert attempts[1].params == attempts[0].params  # the same message, once
    assert attempts[1].at - attempts[0].at >= wait  # not before Telegram's retry_after or the backoff


@pytest.mark.parametrize("status", [403, 400])
def test_blocked_bot_or_bad_request_fails_without_retry(engine, fake, tmp_path, status):
    fake.fail_next("sendMessage", status, count=50)
    with serving(engine, fake, tmp_path) as (url, store):
        assert post(url, update("text", 5550000020 + status)) == 200
        counts = finished(store, "failed")
    assert set(counts) == {"failed"}
    assert len(fake.calls("sendMessage")) == counts["failed"]  # one attempt each


def test_logs_never_show_the_token_or_the_secret(engine, fake, tmp_path, caplog):
    own: list[str] = []

    class Raw(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            own.append(record.getMessage())

    raw = Raw(logging.DEBUG)
    logging.getLogger("connectors").addHandler(raw)
    redacting = RedactingFilter(connector().secrets())  # what `bot serve` installs
    caplog.handler.addFilter(redacting)  # caplog's handler lives for the session: removed below
    caplog.set_level(logging.DEBUG)
    try:
        with serving(engine, fake, tmp_path) as (url, store):
            assert post(url, update("callback_query", 5550000005)) == 200
            assert post(url, update("text", 5550000005), secret="wrong") == 403
            finished(store, "sent")
    finally:
        logging.getLogger("connectors").removeHandler(raw)
        caplog.handler.removeFilter(redacting)
    secret_part = TOKEN.split(":", 1)[1]
    assert "[secret]" in caplog.text  # PTB and httpx did log the API URL, redacted
    for text in (caplog.text, "\n".join(own)):
        assert secret_part not in text and SECRET not in text
    assert own  # our own records were seen before any filter, and hold no secret either


def test_an_answer_comes_with_rating_buttons_and_a_tap_is_stored(engine, fake, tmp_path):
    from bot.serving.ratings import NOT_USEFUL, Ratings

    with serving(engine, fake, tmp_path) as (url, store):
        assert post(url, update("callback_query", 5550000009)) == 200  # the fee of khai sinh
        finished(store, "sent")
        keyboards = [c.params["reply_markup"]["inline_keyboard"] for c in fake.sent()
                     if c.params.get("reply_markup")]
        assert keyboards == [[[{"text": "Hữu ích", "callback_data": "/rating_useful"}],
                              [{"text": "Chưa đúng ý", "callback_data": "/rating_not_useful"}]]]
        before = len(fake.sent())
        tap = json.loads(update("callback_query", 5550000009))
        tap["update_id"] += 1
        tap["callback_query"].update(id="rating-tap-1", data="/rating_not_useful")
        assert post(url, json.dumps(tap).encode()) == 200
        wait_until(lambda: len(fake.sent()) > before, E2E_TIMEOUT)
    [rated] = Ratings(store).rated()
    assert (rated.channel, rated.sender, rated.procedure, rated.aspect, rated.score) == (
        "telegram", "5550000009", "khai_sinh", "fee", NOT_USEFUL)
    assert "Miễn phí nếu đăng ký đúng hạn" in rated.answer
    assert "GAP CAN BO" in fake.sent()[-1].params["text"]
