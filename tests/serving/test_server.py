"""Channels switched on by credentials.yml and environment variables."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.contract import ConfigError, Connector, NotConfigured
from bot.serving.channels import expand, load_connectors


class Recording(Connector):
    channel = "telegram"

    def __init__(self, token: str, base_url: str) -> None:
        self.token, self.base_url = token, base_url

    @classmethod
    def from_credentials(cls, credentials: dict) -> Recording:
        if not credentials.get("token"):
            raise NotConfigured("token is empty")
        if credentials.get("base_url") == "bad":
            raise ConfigError("base_url: not an http(s) URL")
        return cls(credentials["token"], credentials.get("base_url", ""))


@pytest.mark.parametrize("value, env, expected", [
    ("${TOKEN}", {"TOKEN": "abc"}, "abc"),
    ("${TOKEN}", {}, ""),
    ("${URL:-https://api.telegram.org/bot}", {}, "https://api.telegram.org/bot"),
    ("${URL:-https://api.telegram.org/bot}", {"URL": "http://127.0.0.1:9/bot"}, "http://127.0.0.1:9/bot"),
    ({"a": ["x${N}y"]}, {"N": "1"}, {"a": ["x1y"]}),
    (5, {}, 5),
])
def test_expand(value, env, expected):
    assert expand(value, env) == expected


def _credentials(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "credentials.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_configured_channel_is_on(tmp_path):
    path = _credentials(tmp_path,
                        "tests.serving.test_server.Recording:\n  token: ${T}\n  base_url: ${B:-x}\n")
    connectors = load_connectors(path, {"T": "secret"})
    assert list(connectors) == ["telegram"]
    assert (connectors["telegram"].token, connectors["telegram"].base_url) == ("secret", "x")


def test_channel_without_its_secret_stays_off(tmp_path, caplog):
    path = _credentials(tmp_path, "tests.serving.test_server.Recording:\n  token: ${T}\n")
    with caplog.at_level(logging.INFO, logger="bot.serving.channels"):
        assert load_connectors(path, {}) == {}
    assert "channel telegram is off: tests.serving.test_server.Recording: token is empty" in caplog.text


def test_a_setting_the_connector_refuses_is_reported_with_file_and_entry(tmp_path):
    path = _credentials(tmp_path, "tests.serving.test_server.Recording:\n  token: x\n  base_url: bad\n")
    with pytest.raises(ConfigError) as raised:
        load_connectors(path, {})
    assert str(raised.value) == f"{path}: tests.serving.test_server.Recording: base_url: not an http(s) URL"


@pytest.mark.parametrize("text, message", [
    ("connectors.nowhere.Missing:\n  token: x\n", "no such connector class"),
    ("bot.serving.store.Store:\n  token: x\n", "not a bot.contract.Connector"),
    ("- a list\n", "expected a mapping"),
    ("a: [unclosed\n", "cannot read"),
])
def test_bad_credentials_say_which_entry(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_connectors(_credentials(tmp_path, text), {})
