"""The root of every exception this project raises on purpose.

Callers that must never fail on our own errors (a CLI command, a webhook, the worker) catch
``BotError``; anything else is a bug and keeps its traceback in the log.
"""

from __future__ import annotations


class BotError(Exception):
    """Base of the project's own exceptions."""
