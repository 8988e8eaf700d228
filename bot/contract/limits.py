"""Platform limits and the SMS alphabet, as named constants with their source.

The renderer (``bot.render``) shapes replies within these limits; connectors check them again
before a platform would refuse or cut a message. Sources are restated in ``docs/channels/`` and
``docs/sms-encoding.md``.
"""

from __future__ import annotations

# Telegram Bot API, sendMessage and InlineKeyboardButton (core.telegram.org/bots/api); the same
# values as python-telegram-bot's telegram.constants.MessageLimit.MAX_TEXT_LENGTH and
# InlineKeyboardButtonLimit.MAX_CALLBACK_DATA (a test checks them against PTB).
TELEGRAM_MAX_TEXT = 4096
TELEGRAM_MAX_CALLBACK_BYTES = 64

# Zalo OA API v3.0, /v3.0/oa/message/cs: text messages of at most 2000 characters (a third-party
# copy of Zalo's documentation, developers-zns.goby.vn; not verified on developers.zalo.me). The
# button template's maximum is not documented where we could read it; 5 is what the published
# examples use and what we treat as safe. Sources: docs/channels/zalo.md.
ZALO_MAX_TEXT = 2000
ZALO_MAX_BUTTONS = 5

# Zalo OA: a "tư vấn" (cs) message needs an interaction from the citizen; after 7 days without
# one the API answers -230 (zalooa.freshdesk.com, article 64000261136; docs/channels/zalo.md,
# "Proactive messages"). A reminder on Zalo is offered only when it falls within this window of
# the citizen's last message. Channels not named here have no such window.
ZALO_INTERACTION_WINDOW_SECONDS = 7 * 24 * 3600
PROACTIVE_WINDOW_SECONDS = {"zalo": ZALO_INTERACTION_WINDOW_SECONDS}

# 3GPP TS 23.038 (GSM 03.38): 160 septets in one SMS; 153 per part of a concatenated message,
# because the user data header takes 6 octets (7 septets) of each part (3GPP TS 23.040 9.2.3.24).
SMS_SINGLE_SEPTETS = 160
SMS_PART_SEPTETS = 153
SMS_MAX_PARTS = 3  # our budget, not the platform's: longer answers are paged with the MORE keyword
SMS_MORE_KEYWORD = "THEM"

# 3GPP TS 23.038 section 6.2.1: the GSM 7-bit default alphabet and its extension table, whose
# characters cost two septets (an escape, then the character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€")


def septets(text: str) -> int:
    """Length of ``text`` in GSM-7 septets."""
    return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM-7 alphabet or its extension."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def sms_parts(text: str) -> int:
    """How many SMS a GSM-7 text takes."""
    length = septets(text)
    if length <= SMS_SINGLE_SEPTETS:
        return 1
    return -(-length // SMS_PART_SEPTETS)


def fits_callback_data(payload: str) -> bool:
    """Telegram takes a button's payload only as ASCII ``callback_data`` of 1 to 64 bytes."""
    return bool(payload) and payload.isascii() and len(payload.encode()) <= TELEGRAM_MAX_CALLBACK_BYTES
