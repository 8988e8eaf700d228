"""Turns one Telegram ``Update`` (a webhook body) into the citizen message it carries.

What is answered (Bot API "Update" and "Message" objects, parsed with python-telegram-bot):

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
"""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, Message, Update

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
    try:
        update = Update.de_json(data, None)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
        # OverflowError, OSError: a date out of the platform's range (datetime.fromtimestamp)
        raise Rejected(400, f"malformed update: {type(exc).__name__}") from exc
    platform_id = str(update.update_id)
    if update.message is not None:
        if staff_chat is not None and _chat_id(update.message) == staff_chat:
            return _from_staff(platform_id, update.message)
        return _from_message(platform_id, update.message)
    if update.callback_query is not None:
        return _from_callback(platform_id, update.callback_query)
    kinds = [key for key in data if key != "update_id"]
    raise Ignored(f"update type {kinds[0] if kinds else '(none)'} is not answered")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _chat_id(message: Message) -> str:
    chat = getattr(message, "chat", None)
    if chat is None or not _is_int(chat.id):
        raise Rejected(400, "malformed update: message without a chat id")
    return str(chat.id)


def _from_message(platform_id: str, message: Message) -> Inbound:
    sender = _chat_id(message)
    if message.from_user is not None and message.from_user.is_bot:
        raise Ignored("message from a bot")
    if message.chat.type != PRIVATE:
        raise Ignored(f"a {message.chat.type} chat: neither a citizen's private chat nor the staff group")
    text = message.text if message.text is not None else message.caption
    if text is not None:
        if not isinstance(text, str):
            raise Rejected(400, "malformed update: text is not a string")
        return Inbound(CHANNEL, platform_id, sender, _command(text))
    kind = next((field for field in MEDIA_FIELDS if getattr(message, field, None)), None)
    if kind is None:
        raise Ignored("service message")
    # No words to understand: the engine answers an empty text with its help message.
    return Inbound(CHANNEL, platform_id, sender, "", {"kind": kind})


def _from_staff(platform_id: str, message: Message) -> StaffMessage:
    chat = _chat_id(message)
    if message.from_user is not None and message.from_user.is_bot:
        raise Ignored("message from a bot")
    if not isinstance(message.text, str) or not message.text.strip():
        raise Ignored("staff group message without text")
    reply = message.reply_to_message
    reply_to = str(reply.message_id) if reply is not None and _is_int(reply.message_id) else None
    if reply_to is None and not message.text.startswith("/"):
        raise Ignored("staff group talk: neither a reply to a case nor a command")
    author = message.from_user.full_name if message.from_user is not None else ""
    return StaffMessage(CHANNEL, platform_id, chat, message.text, reply_to, author)


def _from_callback(platform_id: str, query: CallbackQuery) -> Inbound:
    if not isinstance(query.data, str) or not query.data:
        raise Ignored("callback query without data (a game button)")
    if query.message is not None:
        if getattr(query.message.chat, "type", PRIVATE) != PRIVATE:
            raise Ignored("button tap outside a citizen's private chat")
        sender = _chat_id(query.message)
    elif query.from_user is not None and _is_int(query.from_user.id):
        sender = str(query.from_user.id)  # in a private chat the chat id is the user id
    else:
        raise Rejected(400, "malformed update: callback query without a chat or a user")
    return Inbound(CHANNEL, platform_id, sender, query.data, {"callback_query_id": str(query.id)})


def _command(text: str) -> str:
    """``/start``, ``/start@OurBot`` or ``/start deep-link`` -> the intent it stands for."""
    words = text[1:].split(maxsplit=1) if text.startswith("/") else []
    name = words[0].split("@", 1)[0].lower() if words else ""
    return COMMANDS.get(name, text)
