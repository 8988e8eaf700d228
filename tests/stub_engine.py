"""An engine without a model, for tests and benchmarks of the serving path: it echoes each text.

It has what the server and the worker use of ``bot.serving.engine.Engine``: ``agent``, ``phrases``,
``reminders`` and ``handle``. An empty text gets the help line, as the real engine's ``/nlu_fallback`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.contract import Reply, clean

HELP = "Tôi chưa hiểu ý bạn. Gõ tên thủ tục, ví dụ: khai sinh."
PHRASES = {"error.internal": "Xin lỗi, hệ thống đang bận.", "more.none": "Không còn trang nào."}


@dataclass
class StubEngine:
    agent: Any = None
    reminders: Any = None  # no reminders or opt-outs: the conversation skips them
    phrases: dict[str, str] = field(default_factory=lambda: dict(PHRASES))
    seen: list[tuple[str, str]] = field(default_factory=list)

    async def handle(self, sender: str, text: str, channel: str | None = None) -> list[Reply]:
        self.seen.append((sender, text))
        text = clean(text)
        if not any(ch.isalnum() for ch in text):
            return [Reply(HELP)]
        return [Reply(f"Bạn hỏi: {text}"[:400])]
