"""Zalo OA sending, token refresh and configuration, against the fake Zalo (no engine, no server)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.contract import ConfigError, NotConfigured, Rendered, SendError
from bot.contract.redact import RedactingFilter
from bot.serving.channels import load_connectors
from connectors.zalo import ZaloConnector
from connectors.zalo.tokens import TokenFile, TokenFileError, TokenPair
from tests.connectors.harness import free_port
from tests.connectors.zalo.fake_zalo import APP_ID, APP_SECRET_KEY, OA_SECRET_KEY, USER_ID, FakeZalo

# The entry the lead adds to credentials.yml (the report quotes it); loaded here as bot serve does.
CREDENTIALS_ENTRY = """\
connectors.zalo.ZaloConnector:
  app_id: ${ZALO_APP_ID}
  oa_secret_key: ${ZALO_OA_SECRET_KEY}
  app_secret_key: ${ZALO_APP_SECRET_KEY}
  token_file: ${ZALO_TOKEN_FILE:-var/zalo_tokens.json}
  access_token: ${ZALO_ACCESS_TOKEN}
  refresh_token: ${ZALO_REFRESH_TOKEN}
  api_base: ${ZALO_API_BASE:-https://openapi.zalo.me}
  oauth_base: ${ZALO_OAUTH_BASE:-https://oauth.zaloapp.com}
  max_clock_skew_seconds: ${ZALO_MAX_CLOCK_SKEW_SECONDS:-43200}
"""
QUESTION = Rendered("Bé sinh ở đâu?",
                    (("Sinh ở bệnh viện, trạm y tế", "co_so_y_te"), ("Sinh ở nhà", "o_nha")))


@pytest.fixture
def fake() -> Iterator[FakeZalo]:
    with FakeZalo() as server:
        yield server


def settings(fake: FakeZalo, tmp_path: Path, **overrides: str) -> dict[str, str]:
    values = {"app_id": APP_ID, "oa_secret_key": OA_SECRET_KEY, "app_secret_key": APP_SECRET_KEY,
              "token_file": str(tmp_path / "zalo_tokens.json"), "access_token": fake.access_token,
              "refresh_token": fake.refresh_token, "api_base": fake.url, "oauth_base": fake.url}
    values.update(overrides)
    return values


def connector_for(fake: FakeZalo, tmp_path: Path, **overrides: str) -> ZaloConnector:
    return ZaloConnector.from_credentials(settings(fake, tmp_path, **overrides))


def send(connector: ZaloConnector, *messages: Rendered) -> list[str | None | SendError]:
    """Sends one after the other on a fresh event loop; a ``SendError`` is returned, not raised."""
    async def go() -> list[str | None | SendError]:
        results: list[str | None | SendError] = []
        try:
            for message in messages:
                try:
                    results.append(await connector.send(USER_ID, message, {"outbound_id": 1}))
                except SendError as exc:
                    results.append(exc)
        finally:
            await connector.close()
        return results

    return asyncio.run(asyncio.wait_for(go(), 20))


def saved_pair(path: Path) -> tuple[str, str]:
    data = json.loads(path.read_text())
    return data["access_token"], data["refresh_token"]


# ---------------------------------------------------------------------- what goes out


def test_text_goes_out_as_a_cs_message(fake, tmp_path):
    (result,) = send(connector_for(fake, tmp_path), Rendered("Khai sinh – Lệ phí: miễn phí."))
    (call,) = fake.cs_calls
    assert result == call.answer["data"]["message_id"]
    assert call.headers["access_token"] == fake.access_token
    assert call.headers["content-type"] == "application/json"
    assert call.body == {"recipient": {"user_id": USER_ID},
                         "message": {"text": "Khai sinh – Lệ phí: miễn phí."}}


def test_buttons_go_out_as_a_button_template_with_hidden_query_payloads(fake, tmp_path):
    send(connector_for(fake, tmp_path), QUESTION)
    (call,) = fake.delivered
    assert call.body == {"recipient": {"user_id": USER_ID}, "message": {"attachment": {
        "type": "template", "payload": {"template_type": "button", "text": "Bé sinh ở đâu?", "buttons": [
            {"title": "Sinh ở bệnh viện, trạm y tế", "type": "oa.query.hide", "payload": "co_so_y_te"},
            {"title": "Sinh ở nhà", "type": "oa.query.hide", "payload": "o_nha"}]}}}}


def test_text_over_the_limit_is_refused_before_any_call_and_the_fake_enforces_it_too(fake, tmp_path):
    connector = connector_for(fake, tmp_path)
    (error,) = send(connector, Rendered("a" * 2001))
    assert isinstance(error, SendError) and not error.retryable and "2001" in error.reason
    assert fake.calls == []
    body = {"recipient": {"user_id": USER_ID}, "message": {"text": "a" * 2001}}
    answer = asyncio.run(connector.client.send_cs(fake.access_token, body))
    assert answer.error == -201 and "2000" in answer.message


# ---------------------------------------------------------------------- errors with HTTP 200


@pytest.mark.parametrize("code,retryable,says", [
    (-32, True, "rate limited"),
    (-100, True, "busy"),
    (-213, False, "window closed"),
    (-217, False, "window closed"),
    (-227, False, "window closed"),
    (-230, False, "window closed"),
    (-232, False, "window closed"),
    (-234, False, "window closed"),
    (-244, False, "window closed"),
    (-201, False, "refused"),
    (-211, False, "refused"),
])
def test_zalo_error_codes(fake, tmp_path, code, retryable, says):
    fake.fail_next(code)
    (error,) = send(connector_for(fake, tmp_path), Rendered("Xin chào"))
    assert isinstance(error, SendError)
    assert error.retryable is retryable
    assert f"zalo error {code}" in error.reason and says in error.reason
    assert len(fake.cs_calls) == 1 and fake.refresh_calls == []


@pytest.mark.parametrize("status,retryable", [
    (500, True), (502, True), (503, True), (429, True), (400, False),
])
def test_http_errors(fake, tmp_path, status, retryable):
    fake.fail_next_http(status)
    (error,) = send(connector_for(fake, tmp_path), Rendered("Xin chào"))
    assert isinstance(error, SendError) and error.retryable is retryable
    assert f"HTTP {status}" in error.reason and len(fake.cs_calls) == 1


def test_timeout_is_retryable(fake, tmp_path):
    fake.delay_seconds = 1.0
    (error,) = send(connector_for(fake, tmp_path, timeout_seconds="0.2"), Rendered("Xin chào"))
    assert isinstance(error, SendError) and error.retryable and "timed out" in error.reason


def test_unreachable_api_is_retryable(fake, tmp_path):
    (error,) = send(connector_for(fake, tmp_path, api_base=f"http://127.0.0.1:{free_port()}"), Rendered("x"))
    assert isinstance(error, SendError) and error.retryable and "unreachable" in error.reason


# ---------------------------------------------------------------------- tokens


@pytest.mark.parametrize("trouble", ["expired", "invalid"])
def test_refused_token_is_refreshed_once_saved_then_the_message_sent(fake, tmp_path, trouble):
    overrides = {"access_token": "AT-revoked-long-ago"} if trouble == "invalid" else {}
    if trouble == "expired":
        fake.expire_access_token()
    connector = connector_for(fake, tmp_path, **overrides)
    first_refresh = fake.refresh_token
    (result,) = send(connector, Rendered("Xin chào"))
    assert isinstance(result, str)
    assert [c.answer["error"] for c in fake.cs_calls] == [-220 if trouble == "expired" else -216, 0]
    (refresh,) = fake.refresh_calls
    assert refresh.headers["secret_key"] == APP_SECRET_KEY
    assert refresh.body == {"refresh_token": first_refresh, "app_id": APP_ID, "grant_type": "refresh_token"}
    token_file = tmp_path / "zalo_tokens.json"
    assert saved_pair(token_file) == (fake.access_token, fake.refresh_token)
    assert (connector.tokens.access_token, connector.tokens.refresh_token) == saved_pair(token_file)
    assert connector.tokens.expires_at is not None  # from expires_in "90000"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zalo_tokens.json"]
    assert fake.access_token in connector.secrets() and fake.refresh_token in connector.secrets()


def test_token_refused_again_after_the_refresh_is_retryable_and_refreshes_only_once(fake, tmp_path):
    fake.fail_next(-220, -220)
    (error,) = send(connector_for(fake, tmp_path), Rendered("Xin chào"))
    assert isinstance(error, SendError) and error.retryable and "after a token refresh" in error.reason
    assert len(fake.cs_calls) == 2 and len(fake.refresh_calls) == 1


def test_refused_refresh_is_retryable_and_keeps_the_old_pair(fake, tmp_path, caplog):
    fake.expire_access_token()
    connector = connector_for(fake, tmp_path, app_secret_key="not-the-app-secret")
    before = connector.tokens
    (error,) = send(connector, Rendered("Xin chào"))
    assert isinstance(error, SendError) and error.retryable and "token refresh refused" in error.reason
    assert len(fake.cs_calls) == 1 and len(fake.refresh_calls) == 1
    assert connector.tokens == before and not (tmp_path / "zalo_tokens.json").exists()
    assert "redo the OA consent" in caplog.text


def test_concurrent_sends_share_one_refresh(fake, tmp_path):
    fake.expire_access_token()
    connector = connector_for(fake, tmp_path)

    async def go() -> list[str | None]:
        try:
            return await asyncio.gather(*(connector.send(USER_ID, Rendered(f"tin {i}"), {})
                                          for i in range(5)))
        finally:
            await connector.close()

    results = asyncio.run(asyncio.wait_for(go(), 20))
    assert all(isinstance(r, str) for r in results)
    assert len(fake.refresh_calls) == 1
    assert sorted(c.text for c in fake.delivered) == [f"tin {i}" for i in range(5)]


def test_stopping_during_a_refresh_still_saves_the_new_pair(fake, tmp_path):
    fake.expire_access_token()
    fake.refresh_delay_seconds = 0.3
    connector = connector_for(fake, tmp_path)

    async def go() -> None:
        sending = asyncio.ensure_future(connector.send(USER_ID, Rendered("Xin chào"), {}))
        while not fake.refresh_started.is_set():
            await asyncio.sleep(0.01)
        sending.cancel()  # what bot serve's worker does when it stops, then it closes the connector
        with pytest.raises(asyncio.CancelledError):
            await sending
        await connector.close()

    asyncio.run(asyncio.wait_for(go(), 10))
    assert saved_pair(tmp_path / "zalo_tokens.json") == (fake.access_token, fake.refresh_token)
    assert connector.tokens.access_token == fake.access_token


def test_a_pair_refreshed_elsewhere_is_read_from_the_file_not_refreshed_again(fake, tmp_path):
    first = connector_for(fake, tmp_path)
    second = connector_for(fake, tmp_path)  # same file, same old pair in memory (e.g. another process)
    old_refresh = fake.refresh_token
    fake.expire_access_token()
    send(first, Rendered("một"))
    (result,) = send(second, Rendered("hai"))
    assert isinstance(result, str)
    assert len(fake.refresh_calls) == 1
    assert [c.answer["error"] for c in fake.cs_calls] == [-220, 0, -216, 0]
    with pytest.raises(SendError, match="token refresh refused"):  # the fake refuses a used refresh token
        asyncio.run(second.client.refresh(old_refresh))


def test_a_pair_that_cannot_be_saved_is_still_used_and_the_operator_told(fake, tmp_path, caplog, monkeypatch):
    def disk_full(self: TokenFile, pair: TokenPair) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(TokenFile, "save", disk_full)
    fake.expire_access_token()
    connector = connector_for(fake, tmp_path)
    (result,) = send(connector, Rendered("Xin chào"))
    assert isinstance(result, str) and connector.tokens.access_token == fake.access_token
    assert "memory only" in caplog.text


def test_rotated_tokens_are_added_to_the_redacting_filter(fake, tmp_path):
    handler = logging.StreamHandler()
    redacting = RedactingFilter(("unrelated",))
    handler.addFilter(redacting)
    logging.getLogger().addHandler(handler)
    try:
        fake.expire_access_token()
        send(connector_for(fake, tmp_path), Rendered("Xin chào"))
        assert redacting.redact(f"a {fake.access_token} b {fake.refresh_token}") == "a [secret] b [secret]"
    finally:
        logging.getLogger().removeHandler(handler)


# ---------------------------------------------------------------------- token file


def test_token_file_round_trip_is_private(tmp_path):
    tokens = TokenFile(tmp_path / "var" / "zalo_tokens.json")
    assert tokens.load() is None
    tokens.save(TokenPair("AT-1", "RT-1", 1234.5))
    assert tokens.load() == TokenPair("AT-1", "RT-1", 1234.5)
    assert tokens.path.stat().st_mode & 0o777 == 0o600


def test_a_failed_save_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    tokens = TokenFile(tmp_path / "zalo_tokens.json")
    tokens.save(TokenPair("AT-1", "RT-1"))

    def failing_fsync(descriptor: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        tokens.save(TokenPair("AT-2", "RT-2"))
    assert tokens.load() == TokenPair("AT-1", "RT-1")
    assert [p.name for p in tmp_path.iterdir()] == ["zalo_tokens.json"]


@pytest.mark.parametrize("content", ["not json", "[]", '{"access_token": "AT"}', '{"access_token": 1, '
                                     '"refresh_token": "RT"}'])
def test_a_damaged_token_file_is_reported(tmp_path, content):
    path = tmp_path / "zalo_tokens.json"
    path.write_text(content)
    with pytest.raises(TokenFileError, match=str(path)):
        TokenFile(path).load()


# ---------------------------------------------------------------------- configuration


@pytest.mark.parametrize("empty", ["app_id", "oa_secret_key", "app_secret_key"])
def test_missing_secret_keeps_the_channel_off(fake, tmp_path, empty):
    with pytest.raises(NotConfigured, match=empty):
        connector_for(fake, tmp_path, **{empty: ""})


def test_no_tokens_anywhere_keeps_the_channel_off(fake, tmp_path):
    with pytest.raises(NotConfigured, match="no token file"):
        connector_for(fake, tmp_path, refresh_token="")


def test_the_token_file_wins_over_the_environment(fake, tmp_path):
    TokenFile(tmp_path / "zalo_tokens.json").save(TokenPair("AT-from-file", "RT-from-file"))
    connector = connector_for(fake, tmp_path)
    assert connector.tokens.access_token == "AT-from-file"


@pytest.mark.parametrize("overrides,says", [
    ({"max_clock_skew_seconds": "soon"}, "not a number"),
    ({"max_clock_skew_seconds": "0"}, "must be more than 0"),
    ({"max_clock_skew_seconds": str(3 * 86400)}, "must be at most 172800"),
    ({"timeout_seconds": "-1"}, "must be more than 0"),
])
def test_bad_numbers_stop_the_server_with_the_setting_named(fake, tmp_path, overrides, says):
    with pytest.raises(ConfigError, match=f"^{next(iter(overrides))}: {says}"):
        connector_for(fake, tmp_path, **overrides)


def test_a_damaged_token_file_stops_the_server_with_its_path(fake, tmp_path):
    (tmp_path / "zalo_tokens.json").write_text("{")
    with pytest.raises(ConfigError, match="^token_file: .*zalo_tokens.json: not JSON"):
        connector_for(fake, tmp_path)


def test_the_credentials_entry_loads_from_the_environment(fake, tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text(CREDENTIALS_ENTRY)
    env = {"ZALO_APP_ID": APP_ID, "ZALO_OA_SECRET_KEY": OA_SECRET_KEY, "ZALO_APP_SECRET_KEY": APP_SECRET_KEY,
           "ZALO_ACCESS_TOKEN": fake.access_token, "ZALO_REFRESH_TOKEN": fake.refresh_token,
           "ZALO_TOKEN_FILE": str(tmp_path / "tokens.json"), "ZALO_API_BASE": fake.url}
    connector = load_connectors(path, env)["zalo"]
    assert isinstance(connector, ZaloConnector)
    assert connector.client.api_base == fake.url
    assert connector.client.oauth_base == "https://oauth.zaloapp.com"
    assert connector.max_clock_skew_seconds == 43200
    assert set(connector.secrets()) == {OA_SECRET_KEY, APP_SECRET_KEY, fake.access_token, fake.refresh_token}
    assert load_connectors(path, {}) == {}  # nothing set: the channel is off
