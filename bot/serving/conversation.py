"""One channel's conversation loop: opt-out keywords, ratings, engine replies, rendered, with SMS
paging; while a case is with staff (``bot.serving.handover``), the citizen's messages go to staff
instead, and a "not useful" rating hands the conversation over."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.contract import SMS_MORE_KEYWORD, Rendered, Reply
from bot.render import render
from bot.serving.engine import Engine
from bot.serving.handover import Handover
from bot.serving.ratings import LowRatingHook, Rated, Ratings, answer_rating, offer_rating
from bot.serving.store import Store
from bot.serving.subscriptions import answer_keyword, keyword
from bot.text import search_key


@dataclass
class Conversation:
    engine: Engine
    store: Store
    channel: str
    handover: Handover | None = None  # staff answer handed-over conversations; None: off
    on_low_rating: LowRatingHook | None = None  # default with a handover: hand over on "not useful"
    ratings: Ratings = field(init=False)

    def __post_init__(self) -> None:
        self.ratings = Ratings(self.store)
        if self.on_low_rating is None and self.handover is not None:
            self.on_low_rating = self._hand_over_on_low_rating

    async def _hand_over_on_low_rating(self, rated: Rated) -> list[Reply]:
        handover = self.handover
        assert handover is not None
        return [await handover.hand_over(getattr(self.engine, "agent", None), rated.channel, rated.sender)]

    async def handle(self, sender: str, text: str) -> list[Rendered]:
        prompt = self.ratings.take(self.channel, sender)  # whatever this message is, it ends the offer
        optout = answer_keyword(self.engine.reminders, self.engine.phrases, self.channel, sender, text)
        if optout is not None:  # before NLU: STOP never depends on the classifier
            if self.handover is not None and keyword(text) == "out":
                self.handover.stopped(self.channel, sender)
            return render(optout, self.channel)
        rated = await answer_rating(self.ratings, self.engine.phrases, self.channel, sender, text,
                                    prompt, self.on_low_rating)
        if rated is not None:  # before NLU: "1" rates the answer that asked, never picks an option
            return [message for reply in rated for message in render(reply, self.channel)]
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
        replies = offer_rating(self.ratings, self.engine.phrases, self.channel, sender, replies)
        rendered = [message for reply in replies for message in render(reply, self.channel)]
        if self.channel == "sms":
            self.store.set_pages(self.channel, sender, [p for r in rendered for p in r.more])
        return rendered
