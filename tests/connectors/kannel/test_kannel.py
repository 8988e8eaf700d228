"""SMS through Kannel: webhook tables (no server), sendsms answers, then end to end through
``bot serve``'s app and a fake smsbox. The real Kannel runs in ``test_kannel_real.py``."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.contract import (
    ConfigError,
    Delivery,
    Inbound,
    NotConfigured,
    Rendered,
    SendError,
    WebRequest,
    is_gsm7,
    septets,
)
from bot.contract.redact import RedactingFilter
from bot.render import SMS_MORE_HINT
from bot.serving.channels import load_connectors
from bot.serving.store import OutboundRow, Store
from connectors.kannel import KannelConnector
from connectors.kannel.protocol import DEFAULT_DLR_MASK, MAX_SEPTETS
from tests.connectors.harness import ServerThread, free_port, request, wait_until
from tests.connectors.kannel.fake_kannel import FakeKannel, mo_query
from tests.paths import REPO

HERE = Path(__file__).parent
SECRET = "kannel-shared-secret"  # the secret in testdata/*.json


def _cases(name: str) -> list[dict[str, Any]]:
    return json.loads((HERE / "testdata" / name).read_text(encoding="utf-8"))


def _web_request(case: dict[str, Any]) -> WebRequest:
    """The request as the Sanic blueprint builds it: query values decoded as UTF-8, errors replaced."""
    query: dict[str, str] = {}
    for key, value in parse_qsl(case["query_string"], encoding="utf-8", errors="replace"):
        query.setdefault(key, value)
    if "body_hex" in case:
        body = bytes.fromhex(case["body_hex"])
    elif "body_repeat" in case:
        body = case["body_repeat"][0].encode() * case["body_repeat"][1]
    else:
        body = case["body"].encode("utf-8")
    return WebRequest(method=case["method"], endpoint=case["endpoint"], headers=case["headers"],
                      query=query, body=body, remote=case["remote"])


def _table_connector() -> KannelConnector:
    return KannelConnector(username="bot", password="botpw", shared_secret=SECRET,
                           public_url="http://127.0.0.1:5005", allowed_ips="127.0.0.1, ::1, 10.8.0.0/24")


def _described(event: Inbound | Delivery) -> dict[str, Any]:
    if isinstance(event, Delivery):
        return {"outbound_id": event.outbound_id, "delivery": event.status}
    return {"sender": event.sender, "text": event.text, "platform_id": event.platform_id,
            "meta": dict(event.meta)}


@pytest.mark.parametrize("case", _cases("mo_requests.json") + _cases("dlr_requests.json"),
                         ids=lambda case: case["name"])
def test_webhook_table(case):
    events, (status, _content_type, body) = _table_connector().handle(_web_request(case))
    expect = case["expect"]
    assert status == expect["status"]
    if status == 200:
        assert body == expect["body"]  # an sms-service with max-messages > 0 would send a body as SMS
    else:
        assert expect["error_contains"] in json.loads(body)["error"]
    got = [_described(event) for event in events]
    assert len(got) == len(expect["events"])
    for actual, wanted in zip(got, expect["events"], strict=True):
        prefix = wanted.pop("platform_id_prefix", None)
        if prefix:
            assert actual["platform_id"].startswith(prefix)
        assert {key: actual[key] for key in wanted} == wanted


def test_a_request_kannel_retries_without_its_id_is_recognised():
    connector = _table_connector()

    def platform_id(ts: str | None, text: str = "THEM") -> str:
        query = dict(parse_qsl(mo_query(SECRET, "84912345678", text, ts=ts)))
        events, _ = connector.handle(WebRequest("GET", "mo", {}, query, b""))
        return events[0].platform_id

    assert platform_id("1795551107") == platform_id("1795551107")  # smsbox's http-request-retry
    assert platform_id("1795551107") != platform_id("1795551190")  # THEM again, later
    assert platform_id(None) != platform_id(None)  # no way to tell: answer twice rather than drop


@pytest.mark.parametrize("missing", ["username", "password", "shared_secret"])
def test_channel_stays_off_without_its_credentials(missing):
    credentials = {"username": "bot", "password": "botpw", "shared_secret": SECRET}
    credentials[missing] = ""
    with pytest.raises(NotConfigured, match=missing):
        KannelConnector.from_credentials(credentials)


@pytest.mark.parametrize("setting, value, message", [
    ("dlr_mask", "40", "dlr_mask: must be at most 31"),
    ("dlr_mask", "all", "dlr_mask: not a whole number"),
    ("allowed_ips", "localhost", "allowed_ips: item 1 is not an IP address"),
    ("allowed_ips", " , ", "allowed_ips: no address"),
    ("sendsms_url", "127.0.0.1:13013/cgi-bin/sendsms", "sendsms_url: not an http"),
    ("public_url", "bot.example.vn", "public_url: not an http"),
    ("timeout", "soon", "timeout: not a number"),
    ("timeout", "-1", "timeout: must be more than 0"),
])
def test_unusable_settings_are_reported_by_name(setting, value, message):
    credentials = {"username": "bot", "password": "botpw", "shared_secret": SECRET, setting: value}
    with pytest.raises(ConfigError, match=message):
        KannelConnector.from_credentials(credentials)


def test_settings_keep_yaml_types():
    connector = KannelConnector.from_credentials({
        "username": "bot", "password": "botpw", "shared_secret": SECRET, "dlr_mask": 0,
        "allowed_ips": ["127.0.0.1", "10.8.0.0/24"], "sender": None})
    assert (connector.dlr_mask, connector.sender) == (0, "")
    assert [str(network) for network in connector.allowed] == ["127.0.0.1/32", "10.8.0.0/24"]


def _documented_entry() -> str:
    """The credentials.yml entry shown in docs/channels/sms.md."""
    text = (REPO / "docs" / "channels" / "sms.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    return next(block for block in blocks if "KannelConnector" in block)


def test_documented_credentials_entry_switches_the_channel_on_from_the_environment(tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text(_documented_entry(), encoding="utf-8")
    env = {"KANNEL_USERNAME": "bot", "KANNEL_PASSWORD": "botpw", "KANNEL_SHARED_SECRET": SECRET,
           "KANNEL_SENDER": "8088"}
    connector = load_connectors(path, env)["sms"]
    assert isinstance(connector, KannelConnector)
    assert (connector.sendsms_url, connector.public_url, connector.sender, connector.dlr_mask) == (
        "http://127.0.0.1:13013/cgi-bin/sendsms", "http://127.0.0.1:5005", "8088", DEFAULT_DLR_MASK)
    assert load_connectors(path, {"KANNEL_USERNAME": "bot"}) == {}


# --- sendsms ---------------------------------------------------------------------------------


def _send(connector: KannelConnector, text: str, meta: dict[str, Any] | None = None,
          recipient: str = "84912345678") -> str | None:
    async def go() -> str | None:
        await connector.start()
        try:
            return await connector.send(recipient, Rendered(text), meta or {"outbound_id": 41, "to": "8088"})
        finally:
            await connector.close()

    return asyncio.run(go())


def _connector(url: str, **settings: Any) -> KannelConnector:
    values = {"username": "bot", "password": "botpw", "shared_secret": SECRET,
              "public_url": "http://127.0.0.1:5005", "sendsms_url": url, **settings}
    return KannelConnector(**values)


def test_sendsms_call_carries_text_route_and_delivery_report_url():
    with FakeKannel() as kannel:
        assert _send(_connector(kannel.url), "Khai sinh - Giay to can mang: ...") is None
        own_sender = _connector(kannel.url, sender="VNGOV")
        assert _send(own_sender, "Le phi: mien phi", recipient="84987654321") is None
        for without_reports in (_connector(kannel.url, dlr_mask=0), _connector(kannel.url, public_url="")):
            assert _send(without_reports, "Le phi: mien phi") is None
    first, second, *no_reports = (call.params for call in kannel.calls)
    assert first == {
        "username": "bot", "password": "botpw", "to": "84912345678", "from": "8088",
        "text": "Khai sinh - Giay to can mang: ...", "coding": "0", "charset": "UTF-8",
        "dlr-mask": str(DEFAULT_DLR_MASK),
        "dlr-url": f"http://127.0.0.1:5005/webhooks/sms/dlr?secret={SECRET}&id=41&status=%d&answer=%A"}
    assert (second["to"], second["from"]) == ("84987654321", "VNGOV")
    assert [("dlr-url" in params, "dlr-mask" in params) for params in no_reports] == [(False, False)] * 2


@pytest.mark.parametrize("status, body, retryable", [
    (202, "0: Accepted for delivery", None),
    (202, "3: Queued for later delivery", None),
    (503, "Temporal failure, try again later.", True),
    (500, "Internal server error", True),
    (403, "Authorization failed for sendsms", False),
    (403, "Number(s) has/have been denied by white- and/or black-lists.", False),
    (400, "Empty receiver number not allowed, rejected", False),
])
def test_sendsms_answers(status, body, retryable):
    with FakeKannel() as kannel:
        kannel.answer_next(status, body)
        if retryable is None:
            assert _send(_connector(kannel.url), "Le phi: mien phi") is None
            return
        with pytest.raises(SendError) as caught:
            _send(_connector(kannel.url), "Le phi: mien phi")
    assert caught.value.retryable is retryable
    assert str(status) in caught.value.reason


def test_wrong_sendsms_password_is_final():
    with FakeKannel(password="right") as kannel, pytest.raises(SendError) as caught:
        _send(_connector(kannel.url, password="wrong"), "Le phi: mien phi")
    assert (caught.value.retryable, "Authorization failed" in caught.value.reason) == (False, True)


def test_kannel_down_or_slow_is_retried():
    down = f"http://127.0.0.1:{free_port()}/cgi-bin/sendsms"
    with pytest.raises(SendError) as refused:
        _send(_connector(down), "Le phi: mien phi")
    with FakeKannel(delay=1.0) as kannel, pytest.raises(SendError) as slow:
        _send(_connector(kannel.url, timeout=0.2), "Le phi: mien phi")
    assert (refused.value.retryable, slow.value.retryable) == (True, True)
    assert "timed out" in slow.value.reason


@pytest.mark.parametrize("text", [
    "Đăng ký khai sinh",
    "x" * (MAX_SEPTETS + 1),
    "{}" * (MAX_SEPTETS // 2 + 1),  # extension characters take two septets each
])
def test_text_kannel_would_mangle_is_refused_before_sending(text):
    with FakeKannel() as kannel:
        with pytest.raises(SendError) as caught:
            _send(_connector(kannel.url), text)
        assert kannel.calls == []
    assert caught.value.retryable is False


# --- end to end: bot serve's app, the fake smsbox ----------------------------------------------


@dataclass(frozen=True)
class Row:
    id: int
    recipient: str
    state: str
    delivery: str | None
    text: str
    last_error: str | None


def _outbound(store: Store, recipient: str | None = None) -> list[Row]:
    with Session(store.engine) as session:
        rows = session.execute(select(OutboundRow).order_by(OutboundRow.id)).scalars()
        return [Row(r.id, r.recipient, r.state, r.delivery, json.loads(r.payload)["text"], r.last_error)
                for r in rows if recipient in (None, r.recipient)]


def _settled(store: Store, recipient: str, count: int = 1) -> list[Row]:
    """The recipient's outbound rows once at least ``count`` exist and none is pending.

    The replies to one message are queued together, so the rows of an answer appear at once.
    """
    rows = _outbound(store, recipient)
    return rows if len(rows) >= count and all(row.state != "pending" for row in rows) else []


def _mo(server: ServerThread, sender: str, text: str, message_id: str, secret: str = SECRET) -> Any:
    query = mo_query(secret, sender, text, message_id=message_id, ts=str(int(time.time())))
    return request(f"{server.url}/webhooks/sms/mo?{query}")


def test_question_by_sms_gets_the_documents_once_with_paging_and_delivery_report(engine, tmp_path):
    store = Store.sqlite(tmp_path / "x.db")
    phone = "84912000001"
    with FakeKannel() as kannel:
        connector = _connector(kannel.url)
        with ServerThread(engine, store, {"sms": connector}) as server:
            connector.public_url = server.url
            # a documents list still longer than 3 SMS (4): paged, the rest sent on THEM
            first = _mo(server, "0912000001", "lam so do lan dau can giay to gi", "6c0e7a10-0001")
            retried = _mo(server, "+84912000001", "lam so do lan dau can giay to gi", "6c0e7a10-0001")
            assert (first.status, first.body, retried.status, retried.body) == (200, b"", 200, b"")
            answered = wait_until(lambda: _settled(store, phone), timeout=30)
            wait_until(lambda: len(kannel.dlrs) >= len(answered), timeout=30)
            assert _mo(server, phone, "THEM", "6c0e7a10-0002").status == 200
            wait_until(lambda: _settled(store, phone, len(answered) + 1), timeout=30)
            time.sleep(0.6)  # a wrongly stored duplicate would be answered by now
            rows = _outbound(store, phone)
    *answer, page = kannel.calls
    assert [call.text for call in kannel.calls] == [row.text for row in rows]  # the duplicate: no call
    assert [row.state for row in rows] == ["sent"] * len(rows)
    assert {call.to for call in kannel.calls} == {phone} and page.params["from"] == "8088"
    documents = [call for call in answer if "Giay to" in call.text]
    assert documents and documents[-1].text.endswith(SMS_MORE_HINT)
    assert all(is_gsm7(call.text) and septets(call.text) <= MAX_SEPTETS for call in kannel.calls)
    assert page.text not in [call.text for call in answer]
    dlr_url = f"{server.url}/webhooks/sms/dlr?secret={SECRET}&id={rows[0].id}&status=%d&answer=%A"
    assert answer[0].params["dlr-url"] == dlr_url
    assert (1, 200) in kannel.dlrs and (8, 200) not in kannel.dlrs  # dlr-mask 23 leaves out 8
    assert rows[0].delivery == "delivered"


def test_hostile_or_broken_requests_are_refused_and_nothing_is_sent(engine, tmp_path):
    store = Store.sqlite(tmp_path / "x.db")
    with FakeKannel() as kannel:
        connector = _connector(kannel.url)
        with ServerThread(engine, store, {"sms": connector}) as server:
            answers = [
                _mo(server, "84912000002", "khai sinh", "6c0e7a10-0003", secret="guessed").status,
                request(f"{server.url}/webhooks/sms/mo?"
                        + urlencode({"from": "84912000002", "text": "khai sinh"})).status,
                request(f"{server.url}/webhooks/sms/mo?secret={SECRET}&from=84912000002&to=8088"
                        "&text=kh%C3%28i+sinh&id=6c0e7a10-0004").status,
                request(f"{server.url}/webhooks/sms/dlr?secret=guessed&id=1&status=1").status,
                request(f"{server.url}/webhooks/sms/other?secret={SECRET}").status,
            ]
            time.sleep(0.6)  # several inbox polls
            assert store.pending_inbound() == []
    assert answers == [403, 403, 400, 403, 404]
    assert kannel.calls == [] and store.outbound_counts() == {}


def test_kannel_busy_is_retried_and_refused_sendsms_is_marked_failed(engine, tmp_path):
    store = Store.sqlite(tmp_path / "x.db")
    busy, refused = "84912000004", "84912000005"
    with FakeKannel() as kannel:
        connector = _connector(kannel.url)
        with ServerThread(engine, store, {"sms": connector}) as server:
            connector.public_url = server.url
            kannel.answer_next(503, "Temporal failure, try again later.")
            assert _mo(server, busy, "le phi dang ky khai sinh", "6c0e7a10-0005").status == 200
            sent = wait_until(lambda: _settled(store, busy), timeout=30)  # retried after the first backoff
            kannel.answer_next(403, "Authorization failed for sendsms")
            assert _mo(server, refused, "le phi dang ky khai sinh", "6c0e7a10-0006").status == 200
            failed = wait_until(lambda: _settled(store, refused), timeout=30)
    to_busy = [call for call in kannel.calls if call.to == busy]
    assert [row.state for row in sent] == ["sent"] * len(sent)
    assert [call.text for call in to_busy] == [sent[0].text] + [row.text for row in sent]  # tried again
    assert (failed[0].state, "403" in (failed[0].last_error or "")) == ("failed", True)
    assert len([call for call in kannel.calls if call.text == failed[0].text and call.to == refused]) == 1


def test_logs_hold_no_secret_and_no_full_phone_number(engine, tmp_path, caplog):
    password, secret = "pw&x/y=z@1 ok", "s3cr/et+1%"
    phone = "84912000006"
    own: list[str] = []

    class Raw(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            own.append(record.getMessage())

    raw = Raw()
    logging.getLogger("connectors.kannel").addHandler(raw)
    store = Store.sqlite(tmp_path / "x.db")
    connector = _connector("http://127.0.0.1:9/cgi-bin/sendsms", password=password, shared_secret=secret)
    redacting = RedactingFilter(connector.secrets())  # what `bot serve` installs
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(redacting)  # pytest's caplog handler lives for the whole session
    try:
        with FakeKannel(password=password, dlr_statuses=(2,)) as kannel:
            connector.sendsms_url = kannel.url
            with ServerThread(engine, store, {"sms": connector}) as server:
                connector.public_url = server.url
                query = mo_query(secret, phone, "khai sinh can giay to gi", message_id="6c0e7a10-0007")
                assert request(f"{server.url}/webhooks/sms/mo?{query}").status == 200
                wait_until(lambda: kannel.dlrs, timeout=30)
                wait_until(lambda: any(row.delivery == "failed" for row in _outbound(store)))
    finally:
        logging.getLogger("connectors.kannel").removeHandler(raw)
        caplog.handler.removeFilter(redacting)
    assert kannel.dlrs and all(report == (2, 200) for report in kannel.dlrs)
    assert "sendsms" in caplog.text and any("failed" in line for line in own)  # there was something to see
    forbidden = {password, secret, quote(password, safe=""), quote(secret, safe=""), phone}
    assert [word for word in forbidden if word in caplog.text] == []
    assert [word for word in forbidden if any(word in line for line in own)] == []
