"""One rule for every channel's settings, read from credentials.yml as ``bot serve`` reads them.

A required setting missing or blank keeps the channel off, the log naming the setting; a malformed
value or an unknown key stops the server, the message naming the entry and the setting and saying
what is expected. No secret ever appears in either.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.contract import ConfigError, NotConfigured, Settings, parse_settings
from bot.serving.channels import load_connectors
from connectors.kannel.settings import KannelSettings
from connectors.telegram.settings import TelegramSettings
from connectors.zalo.settings import ZaloSettings

TELEGRAM = "connectors.telegram.TelegramConnector"
ZALO = "connectors.zalo.ZaloConnector"
KANNEL = "connectors.kannel.KannelConnector"
MODELS: dict[str, type[Settings]] = {TELEGRAM: TelegramSettings, ZALO: ZaloSettings, KANNEL: KannelSettings}
CHANNELS = {TELEGRAM: "telegram", ZALO: "zalo", KANNEL: "sms"}

# Distinctive values, so that a leak is easy to see in any message.
SECRETS = {
    TELEGRAM: {"token": "123456:SECRET-telegram-token", "secret_token": "SECRET-telegram-webhook"},
    ZALO: {"oa_secret_key": "SECRET-zalo-oa-key", "app_secret_key": "SECRET-zalo-app-key",
           "access_token": "SECRET-zalo-access", "refresh_token": "SECRET-zalo-refresh"},
    KANNEL: {"password": "SECRET-kannel-password", "shared_secret": "SECRET-kannel-shared"},
}
ALL_SECRETS = [value for entry in SECRETS.values() for value in entry.values()] + [
    "SECRET leaked by a bad value", "SECRET-in-the-token-file"]

REQUIRED = {
    TELEGRAM: ["token", "secret_token"],
    ZALO: ["app_id", "oa_secret_key", "app_secret_key"],
    KANNEL: ["username", "password", "shared_secret"],
}

# entry, setting, a value that cannot be used, what the message says about it
MALFORMED = [
    (TELEGRAM, "secret_token", "SECRET leaked by a bad value", "setWebhook would refuse it"),
    (TELEGRAM, "base_url", "api.telegram.org/bot", "not an http(s) URL"),
    (ZALO, "max_clock_skew_seconds", "soon", "not a number"),
    (ZALO, "max_clock_skew_seconds", "-5", "must be more than 0"),
    (ZALO, "timeout_seconds", "61", "must be at most 60"),
    (ZALO, "api_base", "openapi.zalo.me", "not an http(s) URL"),
    (ZALO, "oauth_base", "ftp://oauth.zaloapp.com", "not an http(s) URL"),
    (ZALO, "token_file", ["a", "list"], "not a file path"),
    (KANNEL, "sendsms_url", "127.0.0.1:13013/cgi-bin/sendsms", "not an http(s) URL"),
    (KANNEL, "public_url", "bot.example.vn", "not an http(s) URL"),
    (KANNEL, "allowed_ips", "127.0.0.1, localhost", "item 2 is not an IP address or network"),
    (KANNEL, "dlr_mask", "all", "not a whole number"),
    (KANNEL, "dlr_mask", "-1", "must be at least 0"),
    (KANNEL, "timeout", "-1", "must be more than 0"),
] + [(entry, "tokne", "x", "unknown setting, expected one of") for entry in MODELS]


def entry_settings(entry: str, tmp_path: Path) -> dict[str, Any]:
    """A working entry: every required setting given."""
    values: dict[str, Any] = dict(SECRETS[entry])
    if entry == ZALO:
        values |= {"app_id": "1234567890", "token_file": str(tmp_path / "zalo_tokens.json")}
    if entry == KANNEL:
        values |= {"username": "bot"}
    return values


def load(tmp_path: Path, entry: str, settings: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "credentials.yml"
    path.write_text(yaml.safe_dump({entry: settings}), encoding="utf-8")
    return load_connectors(path, {})


def assert_no_secret(text: str) -> None:
    leaked = [secret for secret in ALL_SECRETS if secret in text]
    assert not leaked, f"secret in {text!r}"


@pytest.mark.parametrize("entry", list(MODELS))
def test_the_table_knows_every_required_setting(entry):
    model = MODELS[entry]
    assert [name for name, field in model.__fields__.items() if field.required] == REQUIRED[entry]


@pytest.mark.parametrize("entry", list(MODELS))
def test_a_complete_entry_switches_the_channel_on(tmp_path, entry):
    assert list(load(tmp_path, entry, entry_settings(entry, tmp_path))) == [CHANNELS[entry]]


@pytest.mark.parametrize("blank", [None, "", "   "])
@pytest.mark.parametrize("entry, setting", [(entry, name) for entry in MODELS for name in REQUIRED[entry]])
def test_a_missing_required_setting_keeps_the_channel_off_and_says_which(tmp_path, caplog, entry,
                                                                         setting, blank):
    settings = entry_settings(entry, tmp_path)
    settings[setting] = blank
    with pytest.raises(NotConfigured, match=f"^{setting} is empty"):
        parse_settings(MODELS[entry], settings)
    with caplog.at_level(logging.INFO, logger="bot.serving.channels"):
        assert load(tmp_path, entry, settings) == {}
    assert f"channel {CHANNELS[entry]} is off: {entry}: {setting} is empty" in caplog.text
    assert_no_secret(caplog.text)


@pytest.mark.parametrize("entry", list(MODELS))
def test_every_missing_setting_is_named(entry):
    with pytest.raises(NotConfigured) as raised:
        parse_settings(MODELS[entry], {})
    assert [part.split(" is empty")[0] for part in str(raised.value).split("; ")] == REQUIRED[entry]


@pytest.mark.parametrize("entry, setting, value, says", MALFORMED)
def test_a_malformed_value_stops_the_server_naming_entry_and_setting(tmp_path, entry, setting, value, says):
    settings = entry_settings(entry, tmp_path) | {setting: value}
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, entry, settings)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'credentials.yml'}: {entry}: {setting}: {says}"), message
    assert_no_secret(message)
    assert_no_secret(repr(raised.value))


@pytest.mark.parametrize("entry, setting, value, says", MALFORMED)
def test_a_malformed_value_wins_over_a_missing_secret(tmp_path, entry, setting, value, says):
    settings = {setting: value}  # no required setting at all: the entry is wrong all the same
    with pytest.raises(ConfigError, match=f"^{re.escape(f'{setting}: {says}')}"):
        parse_settings(MODELS[entry], settings)


@pytest.mark.parametrize("content", ["{", '{"access_token": "SECRET-in-the-token-file"}', "[]"])
def test_a_damaged_token_file_stops_the_server_naming_the_setting(tmp_path, content):
    settings = entry_settings(ZALO, tmp_path)
    Path(settings["token_file"]).write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, ZALO, settings)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'credentials.yml'}: {ZALO}: token_file: "), message
    assert_no_secret(message)


@pytest.mark.parametrize("entry", list(MODELS))
def test_parsed_settings_show_no_secret(tmp_path, entry):
    settings = parse_settings(MODELS[entry], entry_settings(entry, tmp_path))
    assert_no_secret(repr(settings))
    assert_no_secret(str(settings))


@pytest.mark.parametrize("entry", list(MODELS))
def test_blank_optional_settings_take_their_defaults(tmp_path, entry):
    model = MODELS[entry]
    optional = [name for name, field in model.__fields__.items() if not field.required]
    given = entry_settings(entry, tmp_path) | {name: "" for name in optional}
    defaults = model.parse_obj({name: value for name, value in given.items() if name not in optional})
    assert parse_settings(model, given) == defaults
