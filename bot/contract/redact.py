"""Keeps secrets, phone numbers and ID numbers out of the logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator

# Vietnamese mobile numbers (0xxxxxxxxx or 84xxxxxxxxx) and 9/12-digit ID card numbers.
_NUMBER = re.compile(r"(?<!\d)(?:\+?84|0)?\d{8,11}(?!\d)")


def hide_secrets(text: str, secrets: Iterable[str]) -> str:
    """Each of ``secrets`` (longest first, so no part of one is left) becomes ``[secret]``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "[secret]")
    return text


def mask_numbers(text: str) -> str:
    """``84912345678`` -> ``********678``: enough to tell two citizens apart, not to call one."""
    return _NUMBER.sub(lambda m: "*" * (len(m.group()) - 3) + m.group()[-3:], text)


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
