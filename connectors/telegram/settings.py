"""The Telegram entry of ``credentials.yml``: read by ``bot.contract.parse_settings``."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, validator

from bot.contract import HttpUrl, Settings

DEFAULT_BASE_URL = "https://api.telegram.org/bot"  # PTB appends the token: .../bot<token>/<method>
# setWebhook secret_token: 1-256 characters, only A-Z, a-z, 0-9, _ and - (Bot API setWebhook).
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# A group's or supergroup's chat id is negative (Bot API Chat.id; supergroups start with -100).
GROUP_CHAT_ID = re.compile(r"-[1-9][0-9]{0,18}")


class TelegramSettings(Settings):
    token: SecretStr = Field(..., description="the bot token from @BotFather")
    secret_token: SecretStr = Field(
        ..., description="the secret given to setWebhook: 1-256 characters of A-Z, a-z, 0-9, _ and -")
    base_url: HttpUrl = Field(DEFAULT_BASE_URL, description="the Bot API's http(s) URL, before the token")
    staff_group_id: str | None = Field(
        None, description="the staff group's chat id, a negative number such as -1001234567890; "
                          "empty: conversations are not handed over to staff")

    @validator("secret_token")
    def _setwebhook_accepts_it(cls, value: SecretStr) -> SecretStr:
        if not SECRET_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("setWebhook would refuse it")
        return value

    @validator("staff_group_id")
    def _is_a_group(cls, value: str | None) -> str | None:
        if value is not None and not GROUP_CHAT_ID.fullmatch(value):
            raise ValueError("not a group's chat id")
        return value
