"""Features of the question a message ends with, apart from the story told before it.

Citizens tell their situation first and ask last: "chào ad, em ở xã Ia Grai, vợ em mới sinh
bé được 3 tuần, giờ muốn làm giấy khai sinh thì cần mang theo những gì ạ". In a bag of words
over the whole message the story outweighs the question, and stories sound like the
situational questions of the FAQ. This featurizer counts n-grams of the final question only:
the last clause (after the last comma, full stop or line break that leaves at least
``min_clause`` words), cut to its last ``window`` words. The classifier sees these features
beside those of the whole message, so a short message is unaffected in kind.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.counts import SentenceCountsFeaturizer

CLAUSE_BREAK = re.compile(r"[,.;:!?\n…]")


def focus_start(text: str, tokens: list[Token], window: int, min_clause: int) -> int:
    """Index of the first token of the question at the end of ``text``."""
    start = 0
    for index in range(len(tokens) - min_clause, 0, -1):
        if CLAUSE_BREAK.search(text[tokens[index - 1].end:tokens[index].start]):
            start = index
            break
    return max(start, len(tokens) - window)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class QuestionFocusFeaturizer(SentenceCountsFeaturizer):
    """Word n-gram counts over the final question of a message only."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**SentenceCountsFeaturizer.get_default_config(), "window": 6, "min_clause": 3}

    def _get_message_tokens_by_attribute(self, message: Message, attribute: str) -> list[str]:
        words = super()._get_message_tokens_by_attribute(message, attribute)
        if attribute != TEXT or not words:
            return words
        start = focus_start(message.get(TEXT) or "", message.get(TOKENS_NAMES[TEXT]),
                            self._config["window"], self._config["min_clause"])
        return words[start:]
