"""Shapes channel-neutral replies for each channel.

SMS facts (docs/sms-encoding.md): GSM-7 holds 160 characters in one SMS and
153 per part of a concatenated message; Vietnamese letters are outside GSM-7, so SMS text is sent
without diacritics.
"""

from __future__ import annotations

import re

from bot.contract import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SMS_MAX_PARTS,
    SMS_MORE_KEYWORD,
    SMS_PART_SEPTETS,
    TELEGRAM_MAX_TEXT,
    ZALO_MAX_BUTTONS,
    ZALO_MAX_TEXT,
    Rendered,
    Reply,
    fits_callback_data,
    septets,
    sms_parts,
)
from bot.text import fold

SMS_MORE_HINT = f"(Nhan {SMS_MORE_KEYWORD} de xem tiep)"


# one character outside GSM-7 and its extension: a single regex pass instead of a test per
# character (every SMS answer is folded two or three times a turn: rendered, and offered a rating)
_NOT_GSM7 = re.compile("[^" + re.escape("".join(sorted(GSM7_BASIC | GSM7_EXTENSION))) + "]")


def to_gsm7(text: str) -> str:
    """Vietnamese without diacritics, restricted to GSM-7 (anything else becomes '?')."""
    return _NOT_GSM7.sub("?", fold(text).replace("\t", " "))


def _cut(text: str, budget: int, boundaries: tuple[str, ...]) -> tuple[str, str]:
    """Splits ``text`` so the head fits ``budget`` septets, at the first of ``boundaries`` found."""
    if septets(text) <= budget:
        return text, ""
    head = text[:budget]
    while septets(head) > budget:
        head = head[:-1]
    for boundary in boundaries:
        position = head.rfind(boundary)
        if position > budget // 2:
            head = head[:position]
            break
    return head.rstrip(), text[len(head):].strip()


def _pages(text: str, max_parts: int, boundaries: tuple[str, ...]) -> list[str]:
    budget = max_parts * SMS_PART_SEPTETS
    pages = []
    rest = text.strip()
    while rest:
        if septets(rest) <= budget:
            pages.append(rest)
            break
        head, rest = _cut(rest, budget - septets(SMS_MORE_HINT) - 1, boundaries)
        pages.append(f"{head}\n{SMS_MORE_HINT}")
    return pages or [""]


def paginate_sms(text: str, max_parts: int = SMS_MAX_PARTS) -> list[str]:
    """Splits a GSM-7 text into pages of at most ``max_parts`` SMS each.

    Every page but the last ends with a hint to send the MORE keyword. A page ends at a line
    break, unless ending it at a word costs the citizen fewer SMS: a line carried over whole can
    push the next page one part over.
    """
    by_line = _pages(text, max_parts, ("\n", " "))
    by_word = _pages(text, max_parts, (" ",))
    cost = [sum(sms_parts(page) for page in pages) for pages in (by_line, by_word)]
    return by_word if cost[1] < cost[0] else by_line


def sms_text(reply: Reply) -> str:
    """A reply as plain SMS text: options become numbered lines to answer with a digit."""
    return to_gsm7(reply.numbered())


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


def _fits_telegram(reply: Reply) -> bool:
    return all(fits_callback_data(b.payload) for b in reply.buttons)


def _app_messages(reply: Reply, with_buttons: bool, limit: int) -> list[Rendered]:
    """Messages for an app: split at ``limit``; buttons on the last, or numbered lines instead."""
    parts = split_text(reply.text if with_buttons else reply.numbered(), limit)
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
