"""Zalo OA: webhook table (no server), then end to end through ``bot serve`` and the fake Zalo."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.contract import WebRequest
from bot.serving.store import Store
from bot.text import fold
from connectors.zalo import ZaloConnector
from connectors.zalo.tokens import TokenPair
from tests.connectors.harness import BACKOFF_SECONDS, POLL_SECONDS, ServerThread, wait_until
from tests.connectors.zalo.fake_zalo import (
    APP_ID,
    APP_SECRET_KEY,
    OA_SECRET_KEY,
    USER_ID,
    EventSender,
    FakeZalo,
    signature,
    signed,
    text_event,
)

TESTDATA = Path(__file__).parent / "testdata"
RECORDED_AT = 1699003881.354  # the timestamp in every recorded payload, in seconds
HOURS = 3600



def recorded(name: str) -> bytes:
    return (TESTDATA / f"{name}.json").read_bytes()


def table_connector(tmp_path: Path, now: float) -> ZaloConnector:
    return ZaloConnector(app_id=APP_ID, oa_secret_key=OA_SECRET_KEY, app_secret_key=APP_SECRET_KEY,
                         token_file=tmp_path / "tokens.json", tokens=TokenPair("AT-test", "RT-test"),
                         clock=lambda: now)


def headers_for(body: bytes, how: str) -> dict[str, str]:
    """Headers as Zalo sends them, or spoiled in one way."""
    headers = {"content-type": "application/json"}
    if how == "none":
        return headers
    try:
        fields = json.loads(body)
        app_id, timestamp = str(fields["app_id"]), str(fields["timestamp"])
    except (ValueError, KeyError, TypeError):
        app_id, timestamp = APP_ID, "0"
    mac = signature(body, app_id, timestamp, "not-our-secret" if how == "wrong_secret" else OA_SECRET_KEY)
    spoiled = {"no_prefix": mac, "uppercase": f"mac={mac.upper()}"}
    headers["x-zevent-signature"] = spoiled.get(how, f"mac={mac}")
    return headers


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    sign: str = "signed"
    status: int = 200
    events: tuple[tuple[str, str, str], ...] = ()  # (sender, text, platform_id)
    says: str = ""  # in the answer: the reason given
    now: float = RECORDED_AT + 1


BUTTON = '/ask_fee{"procedure":"khai_sinh"}'
CASES = [
    Case("text", recorded("user_send_text"),
         events=((USER_ID, "Tôi cần làm khai sinh cho con", "This is message id 0001"),)),
    Case("button payload comes back as text", recorded("user_send_text_button_payload"),
         events=((USER_ID, BUTTON, "This is message id 0002"),)),
    Case("integer ids kept exact", recorded("user_send_text_integer_ids"),
         events=(("2512523625412515", "le phi bao nhieu", "9187246120003"),)),
    Case("image without caption gets the help reply", recorded("user_send_image"),
         events=((USER_ID, "", "This is message id 0005"),)),
    Case("image caption is answered", recorded("user_send_image_caption"),
         events=((USER_ID, "giấy này có dùng được không", "This is message id 0006"),)),
    Case("location gets the help reply", recorded("user_send_location"),
         events=((USER_ID, "", "This is message id 0007"),)),
    Case("uppercase hex accepted", recorded("user_send_text"), sign="uppercase",
         events=((USER_ID, "Tôi cần làm khai sinh cho con", "This is message id 0001"),)),
    Case("signature without mac= accepted", recorded("user_send_text"), sign="no_prefix",
         events=((USER_ID, "Tôi cần làm khai sinh cho con", "This is message id 0001"),)),
    Case("sticker", recorded("user_send_sticker"), says="sticker"),
    Case("seen", recorded("user_seen_message"), says="read receipt"),
    Case("received", recorded("user_received_message"), says="delivery receipt"),
    Case("echo of our reply", recorded("oa_send_text"), says="echo"),
    Case("follow", recorded("follow"), says="follow"),
    Case("unfollow", recorded("unfollow"), says="unfollow"),
    Case("anonymous", recorded("anonymous_send_text"), says="anonymous"),
    Case("unknown event", recorded("user_reacted_message"), says="not handled"),
    Case("blank text", recorded("user_send_text_empty"), says="empty text"),
    Case("unsigned {} when the URL is saved", b"{}", sign="none", says="webhook URL is saved"),
    Case("missing signature", recorded("user_send_text"), sign="none", status=401, says="missing"),
    Case("unsigned non-empty body", b'{"app_id":"1"}', sign="none", status=401, says="missing"),
    Case("wrong secret", recorded("user_send_text"), sign="wrong_secret", status=401, says="wrong"),
    Case("tampered body", recorded("user_send_text").replace(b"khai sinh", b"khai tu"), sign="tampered",
         status=401, says="wrong"),
    Case("other app", recorded("user_send_text_other_app"), status=403, says="another app_id"),
    Case("stale", recorded("user_send_text"), status=403, says="stale", now=RECORDED_AT + 13 * HOURS),
    Case("from the future", recorded("user_send_text"), status=403, says="stale",
         now=RECORDED_AT - 13 * HOURS),
    Case("missing msg_id", recorded("user_send_text_missing_msg_id"), status=400, says="msg_id"),
    Case("float id", recorded("user_send_text_float_sender"), status=400, says="sender.id"),
    Case("malformed JSON", b'{"app_id": "2954787539497488888", "event_', status=400, says="not valid JSON"),
    Case("invalid UTF-8", b'{"app_id": "\xff\xfe"}', status=400, says="UTF-8"),
    Case("not an object", b'["user_send_text"]', status=400, says="not a JSON object"),
    Case("oversized", b'{"pad": "' + b"x" * 70_000 + b'"}', status=413, says="too large"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_webhook_table(case: Case, tmp_path: Path):
    connector = table_connector(tmp_path, case.now)
    signed_body = recorded("user_send_text") if case.sign == "tampered" else case.body
    headers = headers_for(signed_body, "signed" if case.sign == "tampered" else case.sign)
    events, (status, _, answer) = connector.handle(WebRequest("POST", "webhook", headers, {}, case.body))
    assert status == case.status, answer
    assert [(e.sender, e.text, e.platform_id) for e in events] == list(case.events)
    assert all(e.channel == "zalo" for e in events)
    assert case.says in answer


# ---------------------------------------------------------------------- end to end


@dataclass
class Running:
    server: ServerThread
    store: Store
    connector: ZaloConnector
    zalo: EventSender
    fake: FakeZalo
    token_file: Path


@contextmanager
def running(engine, tmp_path: Path) -> Iterator[Running]:
    with FakeZalo() as fake:
        token_file = tmp_path / "var" / "zalo_tokens.json"
        connector = ZaloConnector.from_credentials({
            "app_id": APP_ID, "oa_secret_key": OA_SECRET_KEY, "app_secret_key": APP_SECRET_KEY,
            "token_file": str(token_file), "access_token": fake.access_token,
            "refresh_token": fake.refresh_token, "api_base": fake.url, "oauth_base": fake.url})
        store = Store.sqlite(tmp_path / "bot.db")
        with ServerThread(engine, store, {"zalo": connector}) as server:
            yield Running(server, store, connector, EventSender(f"{server.url}/webhooks/zalo/webhook"),
                          fake, token_file)


def settled(store: Store, seconds: float = 1.2) -> dict[str, int]:
    """Outbound counts once nothing is pending and a few outbox polls have passed."""
    wait_until(lambda: store.outbound_counts() and not store.outbound_counts().get("pending"), 15)
    time.sleep(seconds)
    return store.outbound_counts()


def test_question_answered_once_in_vietnamese_even_when_delivered_twice(engine, tmp_path):
    with running(engine, tmp_path) as run:
        answers = run.zalo.send(text_event("khai sinh can giay to gi"), times=2)
        assert [a.status for a in answers] == [200, 200]
        counts = settled(run.store)
    calls = run.fake.cs_calls
    assert counts == {"sent": len(calls)} and all(c.ok for c in calls)
    assert {c.user_id for c in calls} == {USER_ID}
    said = "\n".join(c.text or "" for c in calls)
    assert "Khai sinh – Giấy tờ cần mang" in said
    assert "Giấy tờ thêm theo trường hợp" in said  # the cases (buttons) are asked after the list
    assert fold(said).count("Giay to can mang") == 1  # answered once
    assert all(c.headers["access_token"] == run.fake.access_token for c in calls)


def test_bad_missing_or_stale_signatures_are_refused_and_nothing_is_sent(engine, tmp_path):
    with running(engine, tmp_path) as run:
        body, headers = signed(text_event("khai sinh can giay to gi"))
        wrong = dict(headers, **{"X-ZEvent-Signature": "mac=" + "0" * 64})
        missing = {"Content-Type": "application/json"}
        two_days_ago = str(int((time.time() - 48 * HOURS) * 1000))
        stale_body, stale_headers = signed(text_event("khai sinh", timestamp=two_days_ago))
        statuses = [run.zalo.post(body, wrong)[0].status, run.zalo.post(body, missing)[0].status,
                    run.zalo.post(stale_body, stale_headers)[0].status]
        time.sleep(1.2)  # a few inbox and outbox polls
        assert statuses == [401, 401, 403]
        assert run.store.pending_inbound() == [] and run.store.outbound_counts() == {}
    assert run.fake.calls == []


def test_expired_token_is_refreshed_once_saved_atomically_and_the_reply_sent(engine, tmp_path):
    with running(engine, tmp_path) as run:
        old = (run.fake.access_token, run.fake.refresh_token)
        run.fake.expire_access_token()
        run.zalo.send(text_event("khai sinh can giay to gi"))
        counts = settled(run.store)
    assert counts == {"sent": len(run.fake.delivered)}
    assert len(run.fake.refresh_calls) == 1
    assert [c.answer["error"] for c in run.fake.cs_calls][:2] == [-220, 0]
    saved = json.loads(run.token_file.read_text())
    assert (saved["access_token"], saved["refresh_token"]) == (run.fake.access_token, run.fake.refresh_token)
    assert (saved["access_token"], saved["refresh_token"]) != old
    assert run.token_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in run.token_file.parent.iterdir()] == [run.token_file.name]  # no temp file left


def test_closed_window_is_recorded_failed_and_not_retried(engine, tmp_path):
    with running(engine, tmp_path) as run:
        run.fake.fail_next(-230)
        run.zalo.send(text_event("khai sinh can giay to gi"))
        wait_until(lambda: run.store.outbound_counts().get("failed"), 15)
        time.sleep(BACKOFF_SECONDS[0] + 5 * POLL_SECONDS)  # past the first backoff: a retry would show
        counts = run.store.outbound_counts()
    assert counts.get("failed") == 1
    assert [c.answer["error"] for c in run.fake.cs_calls].count(-230) == 1
    assert len(run.fake.cs_calls) == counts.get("failed", 0) + counts.get("sent", 0)


def test_rate_limit_is_retried_and_then_delivered(engine, tmp_path):
    with running(engine, tmp_path) as run:
        run.fake.fail_next(-32)
        started = time.monotonic()
        run.zalo.send(text_event("khai sinh can giay to gi"))
        counts = settled(run.store, seconds=0.5)
        elapsed = time.monotonic() - started
    assert counts == {"sent": len(run.fake.delivered)}
    assert [c.answer["error"] for c in run.fake.cs_calls][:2] == [-32, 0]
    assert run.fake.cs_calls[0].body == run.fake.cs_calls[1].body
    assert BACKOFF_SECONDS[0] <= elapsed < 15  # not before the outbox's first backoff


def test_choices_go_out_as_a_button_template(engine, tmp_path):
    with running(engine, tmp_path) as run:
        run.zalo.send(text_event("huong dan toi lam khai sinh"))
        settled(run.store, seconds=0.6)
    question = next(c for c in run.fake.delivered if c.buttons)
    attachment = question.body["message"]["attachment"]
    assert attachment["type"] == "template"
    assert attachment["payload"]["template_type"] == "button"
    assert "Bé sinh ở đâu?" in attachment["payload"]["text"]
    buttons = attachment["payload"]["buttons"]
    assert [(b["type"], b["payload"]) for b in buttons] == [("oa.query.hide", "co_so_y_te"),
                                                          ("oa.query.hide", "o_nha")]
    assert buttons[1]["title"].startswith("Sinh ở nhà")


def test_a_tapped_button_continues_the_guide(engine, tmp_path):
    with running(engine, tmp_path) as run:
        run.zalo.send(text_event("huong dan toi lam khai sinh"))
        wait_until(lambda: run.fake.delivered, 15)
        settled(run.store, seconds=0.6)  # the first turn may send more than one message
        before = len(run.fake.delivered)
        run.zalo.send(text_event("o_nha"))  # what Zalo posts when the oa.query.hide button is tapped
        wait_until(lambda: len(run.fake.delivered) > before, 15)
        settled(run.store, seconds=0.6)
    assert "Bé sinh được bao lâu rồi?" in (run.fake.delivered[before].text or "")


def test_logs_never_show_secrets_or_tokens(engine, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    for name in ("connectors", "bot", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    with running(engine, tmp_path) as run:
        run.fake.expire_access_token()
        run.zalo.send(text_event("khai sinh can giay to gi"))
        settled(run.store, seconds=0.2)
        run.zalo.post(*signed(text_event("khai sinh"), secret="not-our-secret"))
    logged = caplog.text
    assert "tokens refreshed" in logged and "refused" in logged  # the exchange was logged
    for secret in (OA_SECRET_KEY, APP_SECRET_KEY, *run.fake.all_tokens()):
        assert secret not in logged


RATER = "8839204412003387001"  # a citizen of their own: the other tests leave USER_ID in a guide


def test_an_answer_comes_with_rating_buttons_and_a_tap_is_stored(engine, tmp_path):
    from bot.serving.ratings import USEFUL, Ratings

    with running(engine, tmp_path) as run:
        run.zalo.send(text_event("le phi lam giay khai sinh bao nhieu", sender=RATER))
        settled(run.store, seconds=0.6)
        [answer] = [c for c in run.fake.delivered if c.buttons]
        assert [(b["title"], b["type"], b["payload"]) for b in answer.buttons] == [
            ("Hữu ích", "oa.query.hide", "/rating_useful"),
            ("Chưa đúng ý", "oa.query.hide", "/rating_not_useful")]
        before = len(run.fake.delivered)
        run.zalo.send(text_event("/rating_useful", sender=RATER))  # what Zalo posts for a tap
        wait_until(lambda: len(run.fake.delivered) > before, 15)
    [rated] = Ratings(run.store).rated()
    assert (rated.channel, rated.sender, rated.score) == ("zalo", RATER, USEFUL)
    assert rated.procedure == "khai_sinh" and "Miễn phí" in rated.answer
    assert "Cảm ơn bạn" in (run.fake.delivered[before].text or "")
