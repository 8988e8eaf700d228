"""Zalo OA webhook events: signature, replay window and the events the bot answers.

Facts, with their sources, in docs/channels/zalo.md (chatwoot ``zalo_oa_controller.rb``,
``incoming_message_service.rb``; hainh.me):

- ``X-ZEvent-Signature: mac=<hex>``, hex = SHA-256 (a plain hash, not HMAC) of
  ``app_id + raw body + timestamp + OA secret key``, ``app_id`` and ``timestamp`` read from the body.
- Ids and ``timestamp`` (epoch milliseconds) are strings; ids are ~19-digit numbers, so a number
  is only accepted as an exact integer, never as a float.
- A button of type ``oa.query.hide`` sends its payload back as an ordinary ``user_send_text``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from bot.contract import Ignored, Inbound, Rejected, WebRequest, same_secret, stored_int

SIGNATURE_HEADER = "x-zevent-signature"
SIGNATURE_PREFIX = "mac="

TEXT_EVENTS = frozenset({"user_send_text"})
# A citizen sent something other than text. The caption is answered when there is one; otherwise
# the assistant's help message asks them to type the question (an empty text means "not
# understood" to the engine). Stickers are left out: they are mostly thanks and greetings.
MEDIA_EVENTS = frozenset({"user_send_image", "user_send_gif", "user_send_file", "user_send_audio",
                          "user_send_video", "user_send_location", "user_send_link"})
IGNORED_EVENTS: Mapping[str, str] = {
    "user_send_sticker": "sticker",
    "user_seen_message": "read receipt",
    "user_received_message": "delivery receipt",
    "oa_send_text": "echo of our own message",
    "oa_send_image": "echo of our own message",
    "oa_send_file": "echo of our own message",
    "oa_send_list": "echo of our own message",
    "follow": "follow",
    "unfollow": "unfollow",
    "anonymous_send_text": "anonymous users cannot be answered with a cs reply",
}


def expected_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The lowercase hex SHA-256 Zalo puts after ``mac=``. A lone surrogate in a forged body's
    ``app_id`` or ``timestamp`` is hashed as it is (``surrogatepass``): it just never matches."""
    return hashlib.sha256(app_id.encode("utf-8", "surrogatepass") + body
                          + timestamp.encode("utf-8", "surrogatepass") + oa_secret_key.encode()).hexdigest()


def is_empty_probe(request: WebRequest) -> bool:
    """An unsigned ``{}``, which one source says Zalo posts when the webhook URL is saved.

    It carries no event, so answering 200 is harmless; anything else unsigned is refused.
    """
    return request.body.strip() == b"{}"


def verify(request: WebRequest, app_id: str, oa_secret_key: str, now: float, max_skew_seconds: float) -> None:
    """Raises ``Rejected`` unless the event is signed with our OA secret, for our app, and recent."""
    if request.method != "POST":
        raise Rejected(405, "Zalo posts events: use POST")
    header = request.header(SIGNATURE_HEADER)
    if not header:
        if is_empty_probe(request):
            raise Ignored("empty event (sent when the webhook URL is saved)")
        raise Rejected(401, "missing X-ZEvent-Signature")
    event = _object(request.json(), "event")
    body_app_id = _id(event.get("app_id"), "app_id")
    timestamp = _id(event.get("timestamp"), "timestamp")
    given = header.strip()
    given = given[len(SIGNATURE_PREFIX):] if given.lower().startswith(SIGNATURE_PREFIX) else given
    expected = expected_signature(body_app_id, request.body, timestamp, oa_secret_key)
    if not same_secret(given.lower(), expected):
        raise Rejected(401, "wrong X-ZEvent-Signature")
    if not same_secret(body_app_id, app_id):
        raise Rejected(403, "event for another app_id")
    skew = abs(now - stored_int(timestamp, "timestamp (epoch milliseconds)") / 1000)
    if skew > max_skew_seconds:
        raise Rejected(403, f"stale timestamp: {skew:.0f} s from now (limit {max_skew_seconds:.0f} s)")


def parse(request: WebRequest, channel: str) -> list[Inbound]:
    """The citizen message in a verified event; ``Ignored`` for events with nothing to answer."""
    event = _object(request.json(), "event")
    name = event.get("event_name")
    if not isinstance(name, str) or not name:
        raise Rejected(400, "missing event_name")
    if name in IGNORED_EVENTS:
        raise Ignored(f"{name}: {IGNORED_EVENTS[name]}")
    if name not in TEXT_EVENTS and name not in MEDIA_EVENTS:
        raise Ignored(f"{name}: not handled")
    sender = _id(_object(event.get("sender"), "sender").get("id"), "sender.id")
    message = _object(event.get("message"), "message")
    msg_id = _id(message.get("msg_id"), "message.msg_id")
    text = message.get("text", "")
    if not isinstance(text, str):
        raise Rejected(400, "message.text is not a string")
    if name in TEXT_EVENTS and not text.strip():
        raise Ignored(f"{name}: empty text")
    return [Inbound(channel, msg_id, sender, text, {"event": name})]


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Rejected(400, f"{what} is not a JSON object")
    return value


def _id(value: Any, what: str) -> str:
    """A string id; an exact JSON integer is accepted, a float (rounded by JSON tools) is not."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise Rejected(400, f"{what} missing or not a string")
