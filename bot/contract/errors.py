"""What can go wrong at the channel boundary, typed so that the caller knows what to do.

- ``Rejected``: refuse the request with a 4xx status.
- ``Ignored``: acknowledge with 200 and the reason (the platform would redeliver a non-2xx).
- ``NotConfigured``: a channel's secrets are not set; the channel stays off, with the reason logged.
- ``ConfigError``: a setting is malformed; ``bot serve`` stops and names it.
- ``SendError``: sending failed; its ``kind`` says why, and ``retryable`` whether to try again.
"""

from __future__ import annotations

from enum import Enum

from bot.errors import BotError


class Rejected(BotError):
    """The request is refused with a 4xx status: bad signature, malformed body, too large."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Ignored(BotError):
    """The request is valid but carries nothing to answer: acknowledged with 200 and the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotConfigured(BotError):
    """A channel's credentials entry lacks a required value: the channel stays off."""


class ConfigError(BotError):
    """The credentials cannot be used (a malformed value, an unknown class): ``bot serve`` stops
    with this message, which names the entry and says why."""


class SendFailure(str, Enum):
    """Why a send failed: a fixed vocabulary the outbox stores and ``bot outbox`` groups by."""

    THROTTLED = "throttled"  # the platform asks us to slow down
    CONNECTION = "connection"  # unreachable, timed out, cut
    SERVER = "server"  # the platform failed or answered something we cannot read
    AUTH = "auth"  # our credentials were refused: staff must fix them
    CONTACT_STOPPED = "contact_stopped"  # the citizen blocked or unfollowed us, or the window closed
    REJECTED = "rejected"  # the platform refused this message as it is (too long, malformed)

    @property
    def retryable(self) -> bool:
        """Whether trying the same message again later can succeed."""
        return self in (SendFailure.THROTTLED, SendFailure.CONNECTION, SendFailure.SERVER)


class SendError(BotError):
    """Sending failed. ``kind`` says why; ``retryable`` (the kind's default unless given) tells the
    outbox whether to try again, and not before ``retry_after`` seconds when the platform said so."""

    def __init__(self, reason: str, kind: SendFailure, *, retryable: bool | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = SendFailure(kind)
        self.retryable = self.kind.retryable if retryable is None else retryable
        self.retry_after = retry_after
