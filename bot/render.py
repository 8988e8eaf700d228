"""Shapes channel-neutral replies for each channel.

SMS facts (../shared/reference/channels.md section 4): GSM-7 holds 160 characters in one SMS and
153 per part of a concatenated message; Vietnamese letters are outside GSM-7, so SMS text is sent
without diacritics.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.reply import Reply
from bot.text import fold

TELEGRAM_MAX_TEXT = 4096  # telegram.constants.MessageLimit.MAX_TEXT_LENGTH
TELEGRAM_MAX_CALLBACK_BYTES = 64  # telegram.constants.InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
ZALO_MAX_TEXT = 2000  # /v3.0/oa/message/cs text limit (channels.md section 1)
ZALO_MAX_BUTTONS = 5  # button template; the platform maximum is unverified, 5 is safe

SMS_SINGLE_SEPTETS = 160  # GSM 03.38, one SMS without a user data header
SMS_PART_SEPTETS = 153  # one part of a concatenated SMS (the UDH takes 7 septets)
SMS_MAX_PARTS = 3  # our budget: longer answers are paged with the MORE keyword
SMS_MORE_KEYWORD = "THEM"
SMS_MORE_HINT = f"(Nhan {SMS_MORE_KEYWORD} de xem tiep)"

# GSM 03.38 basic character set and the extension table (extension characters cost 2 septets).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€")


def septets(text: str) -> int:
    """Length of ``text`` in GSM-7 septets."""
    return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)


def sms_parts(text: str) -> int:
    """How many SMS a GSM-7 text takes."""
    length = septets(text)
    if length <= SMS_SINGLE_SEPTETS:
        return 1
    return -(-length // SMS_PART_SEPTETS)


def to_gsm7(text: str) -> str:
    """Vietnamese without diacritics, restricted to GSM-7 (anything else becomes '?')."""
    return "".join(ch if ch in GSM7_BASIC or ch in GSM7_EXTENSION else "?"
                   for ch in fold(text).replace("\t", " "))


def _cut(text: str, budget: int) -> tuple[str, str]:
    """Splits ``text`` so the head fits ``budget`` septets, at a line, then a word, boundary."""
    if septets(text) <= budget:
        return text, ""
    head = text[:budget]
    while septets(head) > budget:
        head = head[:-1]
    for boundary in ("\n", " "):
        position = head.rfind(boundary)
        if position > budget // 2:
            head = head[:position]
            break
    return head.rstrip(), text[len(head):].strip()


def paginate_sms(text: str, max_parts: int = SMS_MAX_PARTS) -> list[str]:
    """Splits a GSM-7 text into pages of at most ``max_parts`` SMS each.

    Every page but the last ends with a hint to send the MORE keyword.
    """
    budget = max_parts * SMS_PART_SEPTETS
    pages = []
    rest = text.strip()
    while rest:
        if septets(rest) <= budget:
            pages.append(rest)
            break
        head, rest = _cut(rest, budget - septets(SMS_MORE_HINT) - 1)
        pages.append(f"{head}\n{SMS_MORE_HINT}")
    return pages or [""]


def numbered(reply: Reply) -> str:
    """The reply with its options as numbered lines, to be answered with a digit."""
    lines = [reply.text.strip()]
    lines += [f"{index}. {button.title}" for index, button in enumerate(reply.buttons, start=1)]
    return "\n".join(line for line in lines if line)


def sms_text(reply: Reply) -> str:
    """A reply as plain SMS text: options become numbered lines to answer with a digit."""
    return to_gsm7(numbered(reply))


def split_text(text: str, limit: int) -> list[str]:
    """Splits ``text`` into messages of at most ``limit`` characters, at line or word breaks."""
    parts = []
    rest = text.strip()
    while len(rest) > limit:
        cut = max(rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].strip()
    return parts + [rest]


@dataclass(frozen=True)
class Rendered:
    """What one channel sends for one reply; ``more`` holds SMS pages not sent yet."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()
    more: tuple[str, ...] = ()


def fits_callback_data(payload: str) -> bool:
    """Telegram takes a button's payload only as ASCII ``callback_data`` of 1 to 64 bytes."""
    return bool(payload) and payload.isascii() and len(payload.encode()) <= TELEGRAM_MAX_CALLBACK_BYTES


def _fits_telegram(reply: Reply) -> bool:
    return all(fits_callback_data(b.payload) for b in reply.buttons)


def _app_messages(reply: Reply, with_buttons: bool, limit: int) -> list[Rendered]:
    """Messages for an app: split at ``limit``; buttons on the last, or numbered lines instead."""
    parts = split_text(reply.text if with_buttons else numbered(reply), limit)
    buttons = tuple((b.title, b.payload) for b in reply.buttons) if with_buttons else ()
    return [Rendered(p) for p in parts[:-1]] + [Rendered(parts[-1], buttons)]


def render(reply: Reply, channel: str) -> list[Rendered]:
    """Renders ``reply`` as the messages ``channel`` (cli, telegram, zalo or sms) sends."""
    if channel == "sms":
        pages = paginate_sms(sms_text(reply))
        return [Rendered(pages[0], (), tuple(pages[1:]))]
    if channel == "cli":
        lines = [reply.text] + [f"  {i}. {b.title}" for i, b in enumerate(reply.buttons, 1)]
        return [Rendered("\n".join(lines))]
    if channel == "telegram":
        return _app_messages(reply, _fits_telegram(reply), TELEGRAM_MAX_TEXT)
    if channel == "zalo":
        return _app_messages(reply, len(reply.buttons) <= ZALO_MAX_BUTTONS, ZALO_MAX_TEXT)
    raise ValueError(f"unknown channel {channel!r}; expected cli, telegram, zalo or sms")
