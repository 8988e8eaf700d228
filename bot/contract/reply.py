"""Replies: what the engine says (``Reply``), and what one channel sends for it (``Rendered``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    """An option the citizen can pick: a button on apps, a numbered line on SMS."""

    title: str
    payload: str


@dataclass(frozen=True)
class Topic:
    """What an answer was about: a procedure and one of its aspects (or ``faq:<id>``)."""

    procedure: str | None
    aspect: str | None


@dataclass(frozen=True)
class Reply:
    """One channel-neutral reply: text and the options offered with it.

    ``rate`` is set on an answer the citizen may rate (an aspect of a procedure, an FAQ entry):
    the serving layer offers the rating, the way the channel allows.
    """

    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    rate: Topic | None = None

    def numbered(self) -> str:
        """The text with the options as numbered lines, to be answered with a digit."""
        lines = [self.text.strip()]
        lines += [f"{index}. {button.title}" for index, button in enumerate(self.buttons, start=1)]
        return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class Rendered:
    """What one channel sends for one reply; ``more`` holds SMS pages not sent yet."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()
    more: tuple[str, ...] = ()
