"""A thin httpx client for the two Zalo OA calls the bot makes: a reply and a token refresh.

No maintained Python SDK exists (docs/channels/zalo.md). Transport failures become ``SendError``
here; what a Zalo error code means is decided by the connector, because Zalo answers its own
errors with HTTP 200 and a non-zero ``error`` in the JSON.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.contract import SendError, SendFailure
from connectors.zalo.tokens import TokenPair

CS_PATH = "/v3.0/oa/message/cs"  # "tư vấn" reply (docs/channels/zalo.md; chatwoot message_sender.rb)
TOKEN_PATH = "/v4/oa/access_token"  # on the OAuth host (chatwoot client.rb, hexasync.vn guide)
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_REASON_CHARS = 200  # platform messages are quoted in reasons and logs, never whole bodies


@dataclass(frozen=True)
class ApiAnswer:
    """A Zalo JSON answer: ``error`` 0 is success."""

    error: int
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


class ZaloClient:
    """Posts to the OA API and the OAuth host; base URLs are settings so tests use a local fake."""

    def __init__(self, api_base: str, oauth_base: str, app_id: str, app_secret_key: str,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.api_base = api_base.rstrip("/")
        self.oauth_base = oauth_base.rstrip("/")
        self.app_id = app_id
        self._app_secret_key = app_secret_key
        self.timeout = timeout
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send_cs(self, access_token: str, body: Mapping[str, Any]) -> ApiAnswer:
        """Posts one reply; the caller interprets ``error``."""
        data = await self._post(f"{self.api_base}{CS_PATH}", headers={"access_token": access_token},
                                json=dict(body))
        code = data.get("error")
        if not isinstance(code, int) or isinstance(code, bool):
            raise SendError(f"zalo answer without an error code: {_short(data)}", SendFailure.SERVER)
        payload = data.get("data")
        return ApiAnswer(code, str(data.get("message") or ""), payload if isinstance(payload, dict) else {})

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Trades the refresh token (usable once) for a new pair.

        Raises ``SendError``: retryable, since the message can go out once an operator fixes the
        tokens (see docs/channels/zalo.md).
        """
        data = await self._post(
            f"{self.oauth_base}{TOKEN_PATH}", headers={"secret_key": self._app_secret_key},
            form={"refresh_token": refresh_token, "app_id": self.app_id, "grant_type": "refresh_token"})
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            detail = str(data.get("error_description") or data.get("error_name") or data.get("message") or "")
            raise SendError(f"token refresh refused: error {data.get('error')}: {detail[:MAX_REASON_CHARS]}",
                            SendFailure.AUTH, retryable=True)
        return TokenPair(access, refresh, _expires_at(data.get("expires_in")))

    async def _post(self, url: str, headers: Mapping[str, str], json: Mapping[str, Any] | None = None,
                    form: Mapping[str, str] | None = None) -> dict[str, Any]:
        try:
            answer = await self._client().post(url, headers=dict(headers), json=json, data=form)
        except httpx.TimeoutException as exc:
            raise SendError(f"zalo timed out: {type(exc).__name__}", SendFailure.CONNECTION) from exc
        except httpx.HTTPError as exc:
            raise SendError(f"zalo unreachable: {type(exc).__name__}", SendFailure.CONNECTION) from exc
        if answer.status_code == 429 or answer.status_code >= 500:
            kind = SendFailure.THROTTLED if answer.status_code == 429 else SendFailure.SERVER
            raise SendError(f"zalo HTTP {answer.status_code}", kind,
                            retry_after=_seconds(answer.headers.get("retry-after")))
        if answer.status_code != 200:
            raise SendError(f"zalo HTTP {answer.status_code}: {answer.text[:MAX_REASON_CHARS]}",
                            SendFailure.REJECTED)
        try:
            data = answer.json()
        except ValueError as exc:
            raise SendError("zalo answer is not JSON", SendFailure.SERVER) from exc
        if not isinstance(data, dict):
            raise SendError("zalo answer is not a JSON object", SendFailure.SERVER)
        return data


def _short(data: Mapping[str, Any]) -> str:
    return str(dict(data))[:MAX_REASON_CHARS]


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _expires_at(expires_in: object) -> float | None:
    """``expires_in`` comes as a string of seconds ("90000", i.e. 25 h)."""
    try:
        return time.time() + int(str(expires_in))
    except ValueError:
        return None
