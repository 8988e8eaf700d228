"""Telegram: updates arrive at our own webhook route, replies go out through python-telegram-bot.

Telegram POSTs every Update as JSON to ``/webhooks/telegram/webhook`` with the secret given to
``setWebhook`` in ``X-Telegram-Bot-Api-Secret-Token`` and retries any non-2xx answer, so the
webhook only checks and stores; the outbox sends replies later with ``sendMessage``
(Bot API setWebhook; sources in docs/channels/telegram.md).

Send errors, as nyaruka/courier treats them: flood control (429 with ``retry_after``), time-outs,
connection failures and 5xx are retried; a blocked bot (403), a bad request (400), a refused
token (401/404) and a chat migrated to a supergroup are final.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.contract import (
    REPLY_TO_META,
    TELEGRAM_MAX_CALLBACK_BYTES,
    TELEGRAM_MAX_TEXT,
    Button,
    Connector,
    Event,
    Inbound,
    Rejected,
    Rendered,
    Reply,
    SendError,
    SendFailure,
    WebRequest,
    fits_callback_data,
    parse_settings,
    same_secret,
)
from bot.contract.redact import hide_secrets
from connectors.telegram.settings import DEFAULT_BASE_URL, TelegramSettings
from connectors.telegram.updates import parse_update

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_CALLBACK_BYTES = TELEGRAM_MAX_CALLBACK_BYTES  # Bot API InlineKeyboardButton.callback_data
MAX_TEXT = TELEGRAM_MAX_TEXT  # Bot API sendMessage
# An Update holding a 4,096-character text plus the message it replies to stays far below this.
MAX_BODY_BYTES = 256 * 1024
# Bot API calls are small: a slow answer is a network problem, and a time-out is retried.
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 10.0
POOL_TIMEOUT_SECONDS = 5.0


class TelegramConnector(Connector):
    """A Telegram bot: webhook secret checked in constant time, inline keyboards, callbacks answered."""

    channel = "telegram"
    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, token: str, secret_token: str, base_url: str = DEFAULT_BASE_URL,
                 staff_group_id: str | None = None) -> None:
        self.token = token
        self.secret_token = secret_token
        self.base_url = base_url
        self.staff_group_id = staff_group_id
        self._bot: Bot | None = None

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> TelegramConnector:
        """Reads a ``credentials.yml`` entry (``TelegramSettings``); raises ``NotConfigured`` or
        ``ConfigError`` as ``bot.contract.parse_settings`` does."""
        settings = parse_settings(TelegramSettings, credentials)
        return cls(settings.token.get_secret_value(), settings.secret_token.get_secret_value(),
                   settings.base_url, settings.staff_group_id)

    def secrets(self) -> tuple[str, ...]:
        return (self.token, self.secret_token)

    def staff_chat(self) -> str | None:
        return self.staff_group_id

    def verify(self, request: WebRequest) -> None:
        if request.method != "POST":
            raise Rejected(405, "Telegram posts updates: use POST")
        if not same_secret(request.header(SECRET_HEADER), self.secret_token):
            raise Rejected(403, f"missing or wrong {SECRET_HEADER}")
        content_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
        if content_type != "application/json":
            raise Rejected(400, "Content-Type must be application/json")

    def parse(self, request: WebRequest) -> list[Event]:
        return [parse_update(request.json(), self.staff_group_id)]

    async def start(self) -> None:
        """Creates the Bot API client and checks the token with ``getMe``.

        A refused token or an unreachable API is logged, not fatal: the other channels keep
        running and every reply still tries (and fails visibly in the outbox).
        """
        request = HTTPXRequest(connect_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=READ_TIMEOUT_SECONDS,
                               write_timeout=READ_TIMEOUT_SECONDS, pool_timeout=POOL_TIMEOUT_SECONDS)
        self._bot = Bot(self.token, base_url=self.base_url, request=request)
        try:
            await self._bot.initialize()
        except InvalidToken:
            # PTB's message for this error quotes the token: never log it.
            logger.error("telegram: the Bot API refused the token (getMe); replies fail until it is fixed")
            return
        except TelegramError as exc:
            logger.warning("telegram: getMe failed (%s); replies will still be tried",
                           self._scrub(exc.message))
            return
        logger.info("telegram: connected as @%s", self._bot.username)

    async def close(self) -> None:
        if self._bot is not None:
            await self._bot.shutdown()
            self._bot = None

    async def before_reply(self, inbound: Inbound) -> None:
        """Answers the button tap, so the citizen's app stops showing it as loading."""
        query_id = inbound.meta.get("callback_query_id")
        if not query_id:
            return
        try:
            await self._client().answer_callback_query(str(query_id))
        except TelegramError as exc:
            raise send_error(exc, self._scrub) from exc

    async def send(self, recipient: str, message: Rendered, meta: Mapping[str, Any]) -> str | None:
        text, markup = self._shape(message)
        if not text.strip():
            raise SendError("empty text: Telegram refuses empty messages", SendFailure.REJECTED)
        thread = meta.get(REPLY_TO_META)  # Bot API sendMessage reply_parameters
        reply = ReplyParameters(int(thread), allow_sending_without_reply=True) if thread else None
        try:
            sent = await self._client().send_message(chat_id=recipient, text=text, reply_markup=markup,
                                                     reply_parameters=reply)
        except TelegramError as exc:
            raise send_error(exc, self._scrub) from exc
        return str(sent.message_id)

    def _client(self) -> Bot:
        if self._bot is None:
            raise SendError("telegram connector not started", SendFailure.CONNECTION)
        return self._bot

    def _shape(self, message: Rendered) -> tuple[str, InlineKeyboardMarkup | None]:
        """The text and inline keyboard; buttons Telegram would refuse become numbered lines."""
        markup = keyboard(message.buttons)
        if markup is not None or not message.buttons:
            return message.text, markup
        logger.warning("telegram: a button payload is not %d ASCII bytes at most: numbered lines instead",
                       MAX_CALLBACK_BYTES)
        buttons = tuple(Button(title, payload) for title, payload in message.buttons)
        lines = Reply(message.text, buttons).numbered()
        return (lines if len(lines) <= MAX_TEXT else message.text), None

    def _scrub(self, text: str) -> str:
        return hide_secrets(text, self.secrets())


def keyboard(buttons: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup | None:
    """One button per row; None when there are no buttons or one would be refused by Telegram."""
    if not buttons or not all(title and fits_callback_data(payload) for title, payload in buttons):
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(title, callback_data=payload)]
                                 for title, payload in buttons])


def send_error(exc: TelegramError, scrub: Callable[[str], str] = str) -> SendError:
    """The outbox's view of a Bot API failure: retry or not, and not before when."""
    reason = scrub(f"{type(exc).__name__}: {exc.message}")
    if isinstance(exc, RetryAfter):
        return SendError(reason, SendFailure.THROTTLED, retry_after=_retry_after_seconds(exc))
    if isinstance(exc, Forbidden):  # "bot was blocked by the user", kicked from the group
        return SendError(reason, SendFailure.CONTACT_STOPPED)
    if isinstance(exc, InvalidToken):
        return SendError(reason, SendFailure.AUTH)
    if isinstance(exc, (BadRequest, ChatMigrated, Conflict)):
        return SendError(reason, SendFailure.REJECTED)
    if isinstance(exc, NetworkError):  # TimedOut, connection refused, 5xx such as 502 Bad Gateway
        return SendError(reason, SendFailure.CONNECTION)
    return SendError(reason, SendFailure.SERVER)  # an answer PTB could not read


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # the int form is deprecated since PTB 22.2 unless PTB_TIMEDELTA is set
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
