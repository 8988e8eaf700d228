"""One channel's conversation loop: opt-out keywords, engine replies, rendered, with SMS paging;
while a case is with staff (``bot.serving.handover``), the citizen's messages go to staff instead."""

from __future__ import annotations

from dataclasses import dataclass

from bot.contract import SMS_MORE_KEYWORD, Rendered, Reply
from bot.render import render
from bot.serving.engine import Engine
from bot.serving.handover import Handover
from bot.serving.store import Store
from bot.serving.subscriptions import answer_keyword, keyword
from bot.text import search_key


@dataclass
class Conversation:
    engine: Engine
    store: Store
    channel: str
    handover: Handover | None = None

    async def handle(self, sender: str, text: str) -> list[Rendered]:
        optout = answer_keyword(self.engine.reminders, self.engine.phrases, self.channel, sender, text)
        if optout is not None:  # before NLU: STOP never depends on the classifier
            if self.handover is not None and keyword(text) == "out":
                self.handover.stopped(self.channel, sender)
            return render(optout, self.channel)
        if self.channel == "sms" and search_key(text).upper() == SMS_MORE_KEYWORD:
            page = self.store.pop_page(self.channel, sender)
            if page is None:
                return render(Reply(self.engine.phrases["more.none"]), self.channel)
            return [Rendered(page)]
        if self.handover is not None and self.handover.waiting(self.channel, sender):
            self.handover.append(self.channel, sender, text)  # staff answer: the bot stays quiet
            return []
        replies = await self.engine.handle(sender, text, self.channel)
        if self.handover is not None:
            handed = await self.handover.after_turn(getattr(self.engine, "agent", None), self.channel, sender)
            replies = replies if handed is None else [handed]
        rendered = [message for reply in replies for message in render(reply, self.channel)]
        if self.channel == "sms":
            self.store.set_pages(self.channel, sender, [p for r in rendered for p in r.more])
        return rendered
