"""Keeps secrets out of the logs, and citizens' phone and ID numbers out of logs and storage."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator

# What a citizen's number looks like, masked the same way in logs and in storage (the inbox, the
# outbox, the conversation tracker). Numbers that help a reader stay: fees ("1.500.000 đồng"),
# procedure codes ("1.004194"), dates ("20/11/2026"), form names ("CT01"), menu choices ("2").
#
# Any run of 8 digits or more: CCCD (12), old CMND (9), BHXH code (10), a phone written without
# separators (10-12 with 84), a bank account (8-19).
_RUN = re.compile(r"(?<!\d)\d{8,}(?!\d)")
# A phone or ID card written in groups: 0, 84 or +84, then 8-11 digits with single spaces, dots or
# hyphens between them, the area code maybe in brackets ("0912 345 678", "+84 912.345.678",
# "(024) 3825 6789", "001 099 012 345"). After 84 a
# Vietnamese number never starts with 0, which keeps "84.000.000.000 đồng" readable.
_GROUPED_PHONE = re.compile(r"(?<![\d.,])\(?(?:(?:\+84|84)\)?[ .-]?[1-9]|0)(?:[ .)-]{0,2}\d){8,11}(?!\d)")
# Other digit groups with spaces or hyphens, 9 digits or more in all ("1234 5678 9012"). Dots
# are left out: they write fees and procedure codes.
_GROUPED = re.compile(r"(?<![\d.,])\d{2,}(?:[ -]\d{2,}){2,}(?![\d.,])")
_MIN_GROUPED_DIGITS = 9
_KEEP_LAST = 3  # enough to tell two citizens apart in a log, not to call one


def _masked(match: re.Match[str]) -> str:
    """Every digit but the last three becomes ``*``; separators and ``+`` stay."""
    text = match.group()
    digits = sum(ch.isdigit() for ch in text)
    if digits < _MIN_GROUPED_DIGITS and not _RUN.fullmatch(text):
        return text
    hide, out = digits - _KEEP_LAST, []
    for ch in text:
        if ch.isdigit() and hide > 0:
            out.append("*")
            hide -= 1
        else:
            out.append(ch)
    return "".join(out)


def hide_secrets(text: str, secrets: Iterable[str]) -> str:
    """Each of ``secrets`` (longest first, so no part of one is left) becomes ``[secret]``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "[secret]")
    return text


def mask_numbers(text: str) -> str:
    """Citizens' numbers, all but their last three digits: ``0912 345 678`` -> ``**** *** 678``,
    ``001099012345`` -> ``*********345``. Used for logs and for every text that is stored."""
    for pattern in (_GROUPED_PHONE, _GROUPED, _RUN):
        text = pattern.sub(_masked, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record: registered secrets become ``[secret]``, long numbers are masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Registers more values, e.g. a rotated access token."""
        self.secrets |= {s for s in secrets if s}

    def redact(self, text: str) -> str:
        return mask_numbers(hide_secrets(text, self.secrets))

    def filter(self, record: logging.LogRecord) -> bool:
        message = self.redact(record.getMessage())
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.msg, record.args = message, None
        return True


_LOGGERS = ("", "sanic.root", "sanic.error", "sanic.access")


def _handlers() -> Iterator[logging.Handler]:
    """The handlers of the root logger and of Sanic's loggers."""
    for name in _LOGGERS:
        yield from logging.getLogger(name).handlers


def install(secrets: Iterable[str]) -> RedactingFilter:
    """Adds the filter to every handler of the root logger and of Sanic's loggers."""
    redacting = RedactingFilter(secrets)
    for handler in _handlers():
        handler.addFilter(redacting)
    return redacting


def add_secrets(*secrets: str) -> None:
    """Adds values to every installed filter: for secrets that appear after start-up."""
    for handler in _handlers():
        for installed in handler.filters:
            if isinstance(installed, RedactingFilter):
                installed.add(*secrets)
