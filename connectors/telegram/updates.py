"""Turns one Telegram ``Update`` (a webhook body) into the citizen message it carries.

What is answered (Bot API "Update" and "Message" objects, read from the JSON as it is):

- ``message`` with ``text``, or with a ``caption`` (a photo or file sent with words): the words.
- ``message`` with only a sticker, voice note, photo, file, location...: an empty text, which the
  engine answers with its help message ("Tôi chưa hiểu ý bạn...") instead of leaving the citizen
  without a word.
- ``callback_query`` (a tap on an inline button): the button's ``callback_data`` as text, with the
  query id in ``meta`` so the query can be answered (``answerCallbackQuery``).
- ``/start`` and ``/help``, which Telegram clients send by themselves, become a greeting and the
  menu.

Citizens write in private chats. A message in the configured staff group (``staff_chat``) is a
staff member's, for a handed-over conversation: a reply to one of the bot's posts there (which
threads it to a case) or a command (``/dong 12``) becomes a ``StaffMessage``; other talk in the
group is not for the bot. A message in any other group, supergroup or channel is ignored.

Everything else is acknowledged and ignored: edits (the original was answered), service messages
(members joining, pinned messages), channel posts, messages from other bots, and update types we
do not subscribe to.

The update is read field by field from the decoded JSON, not built into python-telegram-bot's
objects (``Update.de_json``): that was a fifth of the web process's time per webhook, on the path
the platform waits for (docs/benchmarks.md, "Acknowledgement, session 8"). The fields read are
checked as the Bot API defines them (the required ones present, each of its type); a field we do
not read is not looked at.
"""

from __future__ import annotations

from typing import Any

from bot.contract import Ignored, Inbound, Rejected, StaffMessage

CHANNEL = "telegram"

# Message fields holding content a citizen sent on purpose without any words (Bot API Message).
MEDIA_FIELDS = ("sticker", "voice", "audio", "photo", "video", "video_note", "animation", "document",
                "location", "venue", "contact", "poll", "dice")

# Commands Telegram clients send by themselves, as the intents our assistant understands.
COMMANDS = {"start": "/greet", "help": "/menu"}


PRIVATE = "private"  # Bot API Chat.type of a one-to-one chat with the bot


def parse_update(data: Any, staff_chat: str | None = None) -> Inbound | StaffMessage:
    """The message in one webhook body; ``Rejected(400)`` if malformed, ``Ignored`` if nothing to do.

    ``staff_chat``: the staff group's chat id, whose messages are staff messages."""
    if not isinstance(data, dict) or not _is_int(data.get("update_id")):
        raise Rejected(400, "not a Telegram update: an object with an integer update_id is expected")
    platform_id = str(data["update_id"])
    message = _object(data, "message", "update")
    if message is not None:
        _check_message(message)
        if staff_chat is not None and _chat_id(message) == staff_chat:
            return _from_staff(platform_id, message)
        return _from_message(platform_id, message)
    query = _object(data, "callback_query", "update")
    if query is not None:
        return _from_callback(platform_id, query)
    kinds = [key for key in data if key != "update_id"]
    raise Ignored(f"update type {kinds[0] if kinds else '(none)'} is not answered")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _malformed(what: str) -> Rejected:
    return Rejected(400, f"malformed update: {what}")


def _object(parent: dict, key: str, where: str) -> dict | None:
    """``parent[key]`` when it is an object, None when absent or null; ``Rejected`` otherwise."""
    value = parent.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise _malformed(f"{where}.{key} is not an object")


def _check_message(message: dict) -> None:
    """The Bot API's required Message fields, and the types of those we read."""
    if not _is_int(message.get("message_id")) or not _is_int(message.get("date")):
        raise _malformed("message without an integer message_id and date")
    chat = _object(message, "chat", "message")
    if chat is None or not _is_int(chat.get("id")) or not isinstance(chat.get("type"), str):
        raise _malformed("message without a chat id and type")
    _user(message, "from", "message")
    for field in ("text", "caption"):
        if field in message and not isinstance(message[field], (str, type(None))):
            raise _malformed(f"message {field} is not a string")
    reply = _object(message, "reply_to_message", "message")
    if reply is not None:
        _check_message(reply)


def _user(parent: dict, key: str, where: str) -> dict | None:
    """A Bot API User, checked: an integer id, ``is_bot`` and a ``first_name``."""
    user = _object(parent, key, where)
    if user is not None and not (_is_int(user.get("id")) and isinstance(user.get("is_bot"), bool)
                                 and isinstance(user.get("first_name"), str)):
        raise _malformed(f"{where}.{key} is not a user")
    return user


def _chat_id(message: dict) -> str:
    return str(message["chat"]["id"])


def _from_bot(message: dict) -> bool:
    sender = message.get("from")
    return sender is not None and sender["is_bot"]


def _from_message(platform_id: str, message: dict) -> Inbound:
    sender = _chat_id(message)
    if _from_bot(message):
        raise Ignored("message from a bot")
    kind = message["chat"]["type"]
    if kind != PRIVATE:
        raise Ignored(f"a {kind} chat: neither a citizen's private chat nor the staff group")
    text = message.get("text")
    if text is None:
        text = message.get("caption")
    if text is not None:
        return Inbound(CHANNEL, platform_id, sender, _command(text))
    media = next((field for field in MEDIA_FIELDS if message.get(field)), None)
    if media is None:
        raise Ignored("service message")
    # No words to understand: the engine answers an empty text with its help message.
    return Inbound(CHANNEL, platform_id, sender, "", {"kind": media})


def _from_staff(platform_id: str, message: dict) -> StaffMessage:
    chat = _chat_id(message)
    if _from_bot(message):
        raise Ignored("message from a bot")
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Ignored("staff group message without text")
    reply = message.get("reply_to_message")
    reply_to = str(reply["message_id"]) if reply is not None else None
    if reply_to is None and not text.startswith("/"):
        raise Ignored("staff group talk: neither a reply to a case nor a command")
    return StaffMessage(CHANNEL, platform_id, chat, text, reply_to, _full_name(message.get("from")))


def _full_name(user: dict | None) -> str:
    """Bot API User's first and last name, as python-telegram-bot's ``User.full_name``."""
    if user is None:
        return ""
    last = user.get("last_name")
    return f"{user['first_name']} {last}" if isinstance(last, str) and last else user["first_name"]


def _from_callback(platform_id: str, query: dict) -> Inbound:
    if not isinstance(query.get("id"), str):
        raise _malformed("callback query without an id")
    user = _user(query, "from", "callback_query")
    message = _object(query, "message", "callback_query")
    if message is not None:
        _check_message(message)
    data = query.get("data")
    if not isinstance(data, str) or not data:
        raise Ignored("callback query without data (a game button)")
    if message is not None:
        if message["chat"]["type"] != PRIVATE:
            raise Ignored("button tap outside a citizen's private chat")
        sender = _chat_id(message)
    elif user is not None:
        sender = str(user["id"])  # in a private chat the chat id is the user id
    else:
        raise Rejected(400, "malformed update: callback query without a chat or a user")
    return Inbound(CHANNEL, platform_id, sender, data, {"callback_query_id": query["id"]})


def _command(text: str) -> str:
    """``/start``, ``/start@OurBot`` or ``/start deep-link`` -> the intent it stands for."""
    words = text[1:].split(maxsplit=1) if text.startswith("/") else []
    name = words[0].split("@", 1)[0].lower() if words else ""
    return COMMANDS.get(name, text)
