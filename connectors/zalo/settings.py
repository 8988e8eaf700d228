"""The Zalo entry of ``credentials.yml``: read by ``bot.contract.parse_settings``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from bot.contract import DEDUP_WINDOW_SECONDS, HttpUrl, Settings
from connectors.zalo.client import DEFAULT_TIMEOUT_SECONDS

DEFAULT_API_BASE = "https://openapi.zalo.me"
DEFAULT_OAUTH_BASE = "https://oauth.zaloapp.com"
DEFAULT_TOKEN_FILE = "var/zalo_tokens.json"
# How far an event's timestamp may be from now. Zalo redelivers an event it could not deliver
# for about 12 h (hainh.me; another guide says 5 tries over 1.8 h), with the original timestamp
# and signature, so a shorter window would refuse real messages after an outage. Replays inside
# the window are dropped by the inbox's dedup on msg_id, which lasts longer (48 h), and older
# ones are refused here: together they leave no gap.
DEFAULT_MAX_CLOCK_SKEW_SECONDS = 12 * 3600
MAX_TIMEOUT_SECONDS = 60  # a Zalo call slower than this is a failure to retry, not a wait


class ZaloSettings(Settings):
    app_id: str = Field(..., description="the App ID of the Zalo app behind the OA")
    oa_secret_key: SecretStr = Field(..., description="the OA Secret Key, which signs webhook events")
    app_secret_key: SecretStr = Field(..., description="the App Secret Key, for token refreshes")
    token_file: Path = Field(Path(DEFAULT_TOKEN_FILE), description="the path of the token pair's JSON file")
    # The first pair, read only while the token file does not exist (docs/channels/zalo.md).
    access_token: SecretStr | None = Field(None, description="the first access token")
    refresh_token: SecretStr | None = Field(None, description="the first refresh token")
    api_base: HttpUrl = Field(DEFAULT_API_BASE, description="the OpenAPI's http(s) URL")
    oauth_base: HttpUrl = Field(DEFAULT_OAUTH_BASE, description="the OAuth server's http(s) URL")
    max_clock_skew_seconds: float = Field(
        DEFAULT_MAX_CLOCK_SKEW_SECONDS, gt=0, le=DEDUP_WINDOW_SECONDS,
        description=f"a number of seconds, more than 0 and at most {DEDUP_WINDOW_SECONDS} "
                    "(the inbox's dedup window)")
    timeout_seconds: float = Field(
        DEFAULT_TIMEOUT_SECONDS, gt=0, le=MAX_TIMEOUT_SECONDS,
        description=f"a number of seconds, more than 0 and at most {MAX_TIMEOUT_SECONDS}")
