"""The contract every connector keeps: verify, parse, send.

A connector is a Rasa ``InputChannel`` (loaded from ``credentials.yml`` by dotted path) whose
webhook never talks to the engine directly: it checks the request, turns it into ``Inbound``
messages and hands them to the inbox, which stores them (deduplicated on the platform's id)
before the platform gets its answer. The worker answers them later and the outbox sends the
replies through ``Connector.send``. A connector knows nothing of procedures or of Rasa's NLU.

The webhook logic works on a framework-neutral ``WebRequest`` so that connector tests are tables
of requests and expected outcomes, with no server at all.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, ClassVar

from sqlalchemy.exc import SQLAlchemyError

from bot.contract.cleaning import clean
from bot.contract.errors import Ignored, Rejected
from bot.contract.rasa_channels import use_channel_interface_only
from bot.contract.reply import Rendered

use_channel_interface_only()  # Rasa's InputChannel without its built-in channels (aiogram, Slack...)
from rasa.core.channels.channel import InputChannel  # noqa: E402

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024  # no citizen message or platform event comes near this
# The inbox drops a platform id it has seen within this window (nyaruka/courier keeps inbound ids
# 24-48 h for the same purpose): a connector may rely on it for replays younger than this.
DEDUP_WINDOW_SECONDS = 48 * 3600
# How deep a webhook body's arrays and objects may nest. Python's json module and the connectors'
# checks (Telegram's of nested replies) recurse once per level, so a body of 60,000 brackets,
# well under the size limit, ends in a RecursionError. Telegram's deepest update (a reply to a
# message with an inline keyboard) nests under 10 levels and a Zalo event 4: 32 leaves room.
MAX_JSON_DEPTH = 32
# Integers a platform sends that we store: SQLite's INTEGER is a signed 64-bit number.
MAX_STORED_INT = 2**63 - 1

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[^\[\]{}]+")
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = _DEPTH_STEP[ord("{")] = 1
_DEPTH_STEP[ord("]")] = _DEPTH_STEP[ord("}")] = -1


@dataclass(frozen=True)
class WebRequest:
    """An HTTP request as a connector sees it: headers are keyed in lower case."""

    method: str
    endpoint: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    remote: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body as JSON, or ``Rejected(400)`` with a reason.

        Nesting is checked before parsing (``MAX_JSON_DEPTH``), so nothing downstream recurses deeply.
        """
        if json_depth(self.body) > MAX_JSON_DEPTH:
            raise Rejected(400, f"body nests deeper than {MAX_JSON_DEPTH} levels")
        try:
            return json.loads(self.body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise Rejected(400, "body is not valid UTF-8") from exc
        except (ValueError, RecursionError) as exc:  # ValueError: also ints of over 4,300 digits
            raise Rejected(400, "body is not valid JSON") from exc


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest, brackets inside strings not counted.

    A cheap scan (regular expressions and C-level iteration) run before ``json.loads``; for
    malformed JSON it may be off, and the parser refuses that text anyway.
    """
    brackets = _BRACKETS.sub(b"", _JSON_STRING.sub(b"", body))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def stored_int(value: str | None, what: str) -> int:
    """A platform's number as we store it: ASCII digits only (``str.isdigit`` also takes "٣" and
    "²"), at most ``MAX_STORED_INT``; else ``Rejected(400)``."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 19:
        raise Rejected(400, f"{what} missing or not a number")
    number = int(value)
    if number > MAX_STORED_INT:
        raise Rejected(400, f"{what} out of range")
    return number


def encodable(value: str) -> str:
    """``value`` with each lone surrogate (Sanic's ``surrogateescape`` for a non-UTF-8 header byte,
    or JSON's ``"\\ud800"``) replaced by U+FFFD, so it can be encoded, logged and stored."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


@dataclass(frozen=True)
class Inbound:
    """One citizen message, deduplicated on ``(channel, platform_id)``."""

    channel: str
    platform_id: str
    sender: str
    text: str
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """A delivery report for one of our outbound messages (outbox id), e.g. Kannel's DLR."""

    outbound_id: int
    status: str


# An outbox message's meta key: the platform's id of the message it answers in the same chat (a
# case's thread in the staff group). Connectors whose platform cannot thread ignore it.
REPLY_TO_META = "reply_to"


@dataclass(frozen=True)
class StaffMessage:
    """A staff member's message in the staff group, for a handed-over conversation.

    ``chat`` is the staff group; ``reply_to`` the platform's id of the group message it replies to
    (which threads it to a case), None when it replies to nothing (a command such as ``/dong 12``).
    Stored through the inbox like a citizen's message, deduplicated on ``(channel, platform_id)``.
    """

    channel: str
    platform_id: str
    chat: str
    text: str
    reply_to: str | None = None
    author: str = ""


Event = Inbound | Delivery | StaffMessage


def same_secret(given: str | bytes | None, expected: str) -> bool:
    """Constant-time comparison of the bytes; a missing value never matches.

    Sanic gives header bytes that are not UTF-8 as lone surrogates (``surrogateescape``): they
    are compared as the bytes they stand for, and never match a secret, which is valid text.
    """
    if given is None:
        return False
    if isinstance(given, str):
        given = given.encode("utf-8", "surrogateescape" if _escaped_only(given) else "surrogatepass")
    return hmac.compare_digest(given, expected.encode("utf-8"))


def _escaped_only(text: str) -> bool:
    """True unless ``text`` holds a surrogate ``surrogateescape`` cannot encode (outside U+DC80-DCFF)."""
    return not any("\ud800" <= ch <= "\udc7f" or "\udd00" <= ch <= "\udfff" for ch in text)


class Connector(InputChannel):
    """Base of every channel. Subclasses set ``channel`` and implement the four steps."""

    channel: ClassVar[str]  # the rendering channel: "telegram", "zalo" or "sms"
    endpoints: ClassVar[tuple[str, ...]] = ("webhook",)
    max_body_bytes: ClassVar[int] = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def name(cls) -> str:
        return cls.channel

    def verify(self, request: WebRequest) -> None:
        """Raises ``Rejected`` (401/403) unless the request really comes from the platform."""
        raise NotImplementedError

    def parse(self, request: WebRequest) -> list[Event]:
        """The events in a verified request; ``Rejected(400)`` if malformed, ``Ignored`` if
        there is nothing to answer."""
        raise NotImplementedError

    def acknowledge(self, request: WebRequest) -> tuple[int, str, str]:
        """Status, content type and body the platform gets once the events are stored."""
        return 200, "application/json", '{"ok":true}'

    async def send(self, recipient: str, message: Rendered, meta: Mapping[str, Any]) -> str | None:
        """Delivers one rendered message; returns the platform's message id if it gives one.

        Raises ``SendError`` saying whether a retry can succeed.
        """
        raise NotImplementedError

    async def before_reply(self, inbound: Inbound) -> None:
        """Called once per inbound message before its replies are queued (e.g. Telegram's
        answerCallbackQuery). Failures are logged, never fatal."""

    async def start(self) -> None:
        """Opens clients; called once when the server starts."""

    async def close(self) -> None:
        """Closes clients; called once when the server stops."""

    def secrets(self) -> tuple[str, ...]:
        """Values that must never reach a log."""
        return ()

    def staff_chat(self) -> str | None:
        """The staff group's chat on this channel, where handed-over conversations go; None when
        the channel has none configured."""
        return None

    def handle(self, request: WebRequest) -> tuple[list[Event], tuple[int, str, str]]:
        """Verify then parse: the events to store and the answer to give. Never raises.

        Header and query values reach the connector encodable (``encodable``); the events leave
        with their text cleaned as on every channel (``cleaning.clean``: control, zero-width and
        invisible characters, BOMs and lone surrogates) and their ids checked to be storable.
        """
        if len(request.body) > self.max_body_bytes:
            logger.info("%s: refused %s: body too large", self.channel, request.endpoint)
            return [], _problem(413, "body too large")
        request = dataclasses.replace(
            request, headers={k: encodable(v) for k, v in request.headers.items()},
            query={k: encodable(v) for k, v in request.query.items()})
        try:
            self.verify(request)
            events = [_storable(event) for event in self.parse(request)]
        except Rejected as exc:
            logger.info("%s: refused %s: %s", self.channel, request.endpoint, exc.reason)
            return [], _problem(exc.status, exc.reason)
        except Ignored as exc:
            return [], (200, "application/json", json.dumps({"ok": True, "ignored": exc.reason}))
        except Exception as exc:  # noqa: BLE001 - a request must never cost a 500; tests keep this unused
            logger.error("%s: request to %s not understood (%s); refused with 400", self.channel,
                         request.endpoint, type(exc).__name__)
            return [], _problem(400, "request not understood")
        return events, self.acknowledge(request)

    def blueprint(self, on_new_message: Callable[..., Awaitable[Any]]) -> Any:
        """Sanic routes ``/webhooks/<channel>/<endpoint>``; events go to ``app.ctx.accept``."""
        from sanic import Blueprint, response

        blueprint = Blueprint(f"{self.channel}_webhook", __name__)

        async def receive(request: Any, endpoint: str) -> Any:
            if endpoint not in self.endpoints:
                return response.json({"error": "unknown endpoint"}, status=404)
            web = WebRequest(
                method=request.method, endpoint=endpoint,
                headers={k.lower(): v for k, v in request.headers.items()},
                query={k: v[0] for k, v in request.args.items()},
                body=request.body or b"", remote=request.ip or "")
            events, (status, content_type, body) = self.handle(web)
            if events:
                try:
                    await request.app.ctx.accept(events)
                except SQLAlchemyError:
                    logger.exception("%s: could not store events; the platform will retry", self.channel)
                    return response.json({"ok": False, "error": "busy, retry"}, status=503)
            return response.raw(body.encode(), status=status, content_type=content_type)

        blueprint.add_route(receive, "/<endpoint>", methods=["GET", "POST"])
        return blueprint


def _storable(event: Event) -> Event:
    """An inbound or staff message with its text cleaned; ``Rejected(400)`` if its ids cannot be
    stored."""
    if isinstance(event, Delivery):
        return event
    sender = event.sender if isinstance(event, Inbound) else event.chat
    if encodable(sender) != sender or encodable(event.platform_id) != event.platform_id:
        raise Rejected(400, "sender or message id is not valid text")
    if not sender.strip() or not event.platform_id.strip():
        raise Rejected(400, "sender or message id is empty")
    return dataclasses.replace(event, text=clean(event.text))


def _problem(status: int, reason: str) -> tuple[int, str, str]:
    return status, "application/json", json.dumps({"ok": False, "error": reason})
