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

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rasa.core.channels.channel import InputChannel
from sqlalchemy.exc import SQLAlchemyError

from bot.contract.errors import Ignored, Rejected
from bot.contract.reply import Rendered

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024  # no citizen message or platform event comes near this
# The inbox drops a platform id it has seen within this window (nyaruka/courier keeps inbound ids
# 24-48 h for the same purpose): a connector may rely on it for replays younger than this.
DEDUP_WINDOW_SECONDS = 48 * 3600


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
        """The body as JSON, or ``Rejected(400)`` with a reason."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise Rejected(400, "body is not valid UTF-8") from exc
        except ValueError as exc:
            raise Rejected(400, "body is not valid JSON") from exc


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


Event = Inbound | Delivery


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison; a missing value never matches."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


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

    def handle(self, request: WebRequest) -> tuple[list[Event], tuple[int, str, str]]:
        """Verify then parse: the events to store and the answer to give. Never raises."""
        if len(request.body) > self.max_body_bytes:
            return [], _problem(413, "body too large")
        try:
            self.verify(request)
            events = self.parse(request)
        except Rejected as exc:
            logger.info("%s: refused %s: %s", self.channel, request.endpoint, exc.reason)
            return [], _problem(exc.status, exc.reason)
        except Ignored as exc:
            return [], (200, "application/json", json.dumps({"ok": True, "ignored": exc.reason}))
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


def _problem(status: int, reason: str) -> tuple[int, str, str]:
    return status, "application/json", json.dumps({"ok": False, "error": reason})
