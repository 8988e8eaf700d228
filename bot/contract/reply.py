"""Replies: what the engine says (``Reply``), and what one channel sends for it (``Rendered``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    """An option the citizen can pick: a button on apps, a numbered line on SMS."""

    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One channel-neutral reply: text and the options offered with it."""

    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)

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
