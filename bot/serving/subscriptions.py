"""Opt-out: exact keywords that stop (or restart) every proactive message to a sender.

Handled before the assistant reads the message, on the folded, trimmed text, so it never depends
on the classifier. These are not the guided flow's cancel words (``THOI``, ``cancel``): cancelling
a questionnaire goes through NLU and leaves subscriptions alone; ``STOP`` leaves an open
questionnaire alone and stops reminders and any other proactive message.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.contract import Reply
from bot.serving.reminders import Reminders
from bot.text import search_key

OPT_OUT_KEYWORDS = frozenset({"STOP", "TU CHOI", "HUY DANG KY"})
OPT_IN_KEYWORDS = frozenset({"BAT DAU"})


def keyword(text: str) -> str | None:
    """``"out"`` or ``"in"`` when ``text`` is exactly an opt-out or opt-in keyword (any case, with
    or without diacritics, surrounding spaces and punctuation ignored), else None."""
    key = search_key(text).upper()
    if key in OPT_OUT_KEYWORDS:
        return "out"
    if key in OPT_IN_KEYWORDS:
        return "in"
    return None


def answer_keyword(reminders: Reminders | None, phrases: Mapping[str, str], channel: str,
                   sender: str, text: str) -> Reply | None:
    """Stores the opt-out or opt-in ``text`` asks for and says so once; None for other text."""
    wanted = keyword(text)
    if wanted is None or reminders is None:
        return None
    if wanted == "out":
        changed = reminders.opt_out(channel, sender)
        return Reply(phrases["optout.done" if changed else "optout.already"])
    changed = reminders.opt_in(channel, sender)
    return Reply(phrases["optin.done" if changed else "optin.already"])
