"""The Zalo Official Account channel: signed webhook events in, ``/v3.0/oa/message/cs`` replies out.

Errors arrive with HTTP 200 and a non-zero ``error`` (docs/channels/zalo.md): the rate limit is
retried by the outbox; an invalid or expired access token is refreshed once and the reply sent
again in the same call; a closed interaction window is final. Refreshes are serialised by a lock
and the new pair is written to the token file before it is used, because a refresh token works
only once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.contract import (
    ZALO_MAX_BUTTONS,
    ZALO_MAX_TEXT,
    ConfigError,
    Connector,
    Event,
    NotConfigured,
    Rendered,
    SendError,
    SendFailure,
    WebRequest,
    parse_settings,
    redact,
)
from connectors.zalo import webhook
from connectors.zalo.client import DEFAULT_TIMEOUT_SECONDS, ApiAnswer, ZaloClient
from connectors.zalo.settings import (
    DEFAULT_API_BASE,
    DEFAULT_MAX_CLOCK_SKEW_SECONDS,
    DEFAULT_OAUTH_BASE,
    ZaloSettings,
)
from connectors.zalo.tokens import TokenFile, TokenFileError, TokenPair

logger = logging.getLogger(__name__)

ERROR_OK = 0
ERROR_RATE_LIMITED = -32  # chatwoot retries it
ERROR_RETRYABLE = frozenset({ERROR_RATE_LIMITED, -100})  # chatwoot retries -100 too (meaning undocumented)
ERROR_TOKEN_INVALID = -216  # hoangnd25 guide
ERROR_TOKEN_EXPIRED = -220  # hoangnd25 guide
TOKEN_ERRORS = frozenset({ERROR_TOKEN_INVALID, ERROR_TOKEN_EXPIRED})
# Not following, blocked, banned or inactive, no or expired interaction (-230 after 7 days),
# 22h-6h curfew, message type refused by the user (chatwoot zalo_oa; khoicodedao FIX_ERROR_230).
WINDOW_CLOSED = frozenset({-213, -217, -227, -230, -232, -234, -244})
BUTTON_TYPE = "oa.query.hide"  # the payload comes back as a hidden user_send_text


class ZaloConnector(Connector):
    channel = "zalo"

    def __init__(self, *, app_id: str, oa_secret_key: str, app_secret_key: str, token_file: Path,
                 tokens: TokenPair, api_base: str = DEFAULT_API_BASE, oauth_base: str = DEFAULT_OAUTH_BASE,
                 max_clock_skew_seconds: float = DEFAULT_MAX_CLOCK_SKEW_SECONDS,
                 timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.app_id = app_id
        self._oa_secret_key = oa_secret_key
        self._app_secret_key = app_secret_key
        self.token_file = TokenFile(token_file)
        self._tokens = tokens
        self.max_clock_skew_seconds = max_clock_skew_seconds
        self.clock = clock
        self.client = ZaloClient(api_base, oauth_base, app_id, app_secret_key, timeout_seconds)
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._refreshing: asyncio.Future[None] | None = None

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> ZaloConnector:
        """Reads a ``credentials.yml`` entry.

        Raises:
            NotConfigured: a secret is empty, so the channel stays off.
            ConfigError: a value cannot be used (a malformed number, a damaged token file), so
                ``bot serve`` stops and says which.
        """
        settings = parse_settings(ZaloSettings, credentials)
        try:
            tokens = TokenFile(settings.token_file).load()
        except TokenFileError as exc:
            raise ConfigError(f"token_file: {exc}") from exc
        if tokens is None:
            if settings.access_token is None or settings.refresh_token is None:
                raise NotConfigured(f"no token file at {settings.token_file} and access_token or "
                                    "refresh_token empty (see docs/channels/zalo.md)")
            tokens = TokenPair(settings.access_token.get_secret_value(),
                               settings.refresh_token.get_secret_value())
        return cls(app_id=settings.app_id, oa_secret_key=settings.oa_secret_key.get_secret_value(),
                   app_secret_key=settings.app_secret_key.get_secret_value(),
                   token_file=settings.token_file, tokens=tokens, api_base=settings.api_base,
                   oauth_base=settings.oauth_base, max_clock_skew_seconds=settings.max_clock_skew_seconds,
                   timeout_seconds=settings.timeout_seconds)

    # ------------------------------------------------------------------ webhook

    def verify(self, request: WebRequest) -> None:
        webhook.verify(request, self.app_id, self._oa_secret_key, self.clock(), self.max_clock_skew_seconds)

    def parse(self, request: WebRequest) -> list[Event]:
        return list(webhook.parse(request, self.channel))

    # ------------------------------------------------------------------ sending

    @property
    def tokens(self) -> TokenPair:
        return self._tokens

    async def send(self, recipient: str, message: Rendered, meta: Mapping[str, Any]) -> str | None:
        body = message_body(recipient, message)
        used = self._tokens
        answer = await self.client.send_cs(used.access_token, body)
        if answer.error in TOKEN_ERRORS:
            logger.info("zalo: access token refused (error %s): refreshing", answer.error)
            await self._refresh(used)
            answer = await self.client.send_cs(self._tokens.access_token, body)
            if answer.error in TOKEN_ERRORS:
                raise SendError(_reason(answer, "refused again after a token refresh"), SendFailure.AUTH,
                                retryable=True)
        return _outcome(answer)

    async def _refresh(self, used: TokenPair) -> None:
        """Refreshes once for every send that met the same stale token."""
        async with self._refresh_lock():
            if self._tokens.access_token != used.access_token:
                return  # another send refreshed while this one waited
            stored = self._stored_tokens()
            if stored is not None and stored.access_token != used.access_token:
                logger.info("zalo: using the token pair found in %s", self.token_file.path)
                self._use(stored)
                return
            # Shielded, and awaited by close(): once Zalo has rotated the pair the old one is dead,
            # so stopping the server must not cut the call and drop the new pair before it is saved.
            self._refreshing = asyncio.ensure_future(self._refresh_and_save())
            await asyncio.shield(self._refreshing)

    async def _refresh_and_save(self) -> None:
        try:
            fresh = await self.client.refresh(self._tokens.refresh_token)
        except SendError as exc:
            logger.error("zalo: token refresh failed (%s); if it persists, redo the OA consent and "
                         "write the new pair to %s (docs/channels/zalo.md)", exc.reason, self.token_file.path)
            raise
        try:
            await asyncio.to_thread(self.token_file.save, fresh)
        except OSError as exc:
            logger.error("zalo: could not save the new tokens to %s (%s): they live in memory only, "
                         "and a restart will need a new OA consent", self.token_file.path, exc.strerror)
        else:
            logger.info("zalo: tokens refreshed and saved to %s", self.token_file.path)
        self._use(fresh)

    def _stored_tokens(self) -> TokenPair | None:
        """The pair on disk, which an operator may have replaced after a new consent."""
        try:
            return self.token_file.load()
        except TokenFileError as exc:
            logger.warning("zalo: ignoring the token file: %s", exc)
            return None

    def _use(self, pair: TokenPair) -> None:
        self._tokens = pair
        redact.add_secrets(pair.access_token, pair.refresh_token)

    def _refresh_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def close(self) -> None:
        """Lets a refresh under way finish (its new pair must reach the file), then closes."""
        if self._refreshing is not None and not self._refreshing.done():
            await asyncio.wait({self._refreshing}, timeout=self.client.timeout * 2)
        await self.client.close()

    def secrets(self) -> tuple[str, ...]:
        return (self._oa_secret_key, self._app_secret_key, self._tokens.access_token,
                self._tokens.refresh_token)


def message_body(recipient: str, message: Rendered) -> dict[str, Any]:
    """The ``/v3.0/oa/message/cs`` body: plain text, or a button template when there are buttons."""
    if len(message.text) > ZALO_MAX_TEXT or len(message.buttons) > ZALO_MAX_BUTTONS:
        raise SendError(f"message over Zalo's limits ({len(message.text)} characters, "
                        f"{len(message.buttons)} buttons)", SendFailure.REJECTED)
    if not message.buttons:
        return {"recipient": {"user_id": recipient}, "message": {"text": message.text}}
    buttons = [{"title": title, "type": BUTTON_TYPE, "payload": payload}
               for title, payload in message.buttons]
    return {"recipient": {"user_id": recipient}, "message": {"attachment": {
        "type": "template",
        "payload": {"template_type": "button", "text": message.text, "buttons": buttons}}}}


def classify(code: int) -> tuple[str, SendFailure, bool]:
    """What a non-zero Zalo error code means: in words, its kind, and whether sending again can
    succeed (a refused token can, once refreshed or fixed by an operator)."""
    if code in ERROR_RETRYABLE:
        return "rate limited or busy", SendFailure.THROTTLED, True
    if code in WINDOW_CLOSED:
        return "interaction window closed", SendFailure.CONTACT_STOPPED, False
    if code in TOKEN_ERRORS:
        return "token refused", SendFailure.AUTH, True
    return "refused", SendFailure.REJECTED, False


def _outcome(answer: ApiAnswer) -> str | None:
    """The platform's message id on success, else the ``SendError`` the error code calls for."""
    if answer.error == ERROR_OK:
        message_id = answer.data.get("message_id")
        return None if message_id is None else str(message_id)
    what, kind, retryable = classify(answer.error)
    raise SendError(_reason(answer, what), kind, retryable=retryable)


def _reason(answer: ApiAnswer, what: str) -> str:
    return f"zalo error {answer.error} ({what}): {answer.message[:200]}"
