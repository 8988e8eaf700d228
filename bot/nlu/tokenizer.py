"""Rasa tokenizer for Vietnamese as typed in chat and SMS.

Training runs underthesea's word segmentation on every accented example and keeps the
multi-syllable words it finds (folded), together with every annotated entity span. At run time
text is segmented by longest match over that dictionary, after folding and abbreviation
expansion, so ``"dk ks can j"`` and ``"Đăng ký khai sinh cần gì"`` give the same lemmas. Token
texts and offsets stay those of the original message, so entities keep their spans.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.segmenter import Segmenter, compounds_from_words
from bot.text import has_diacritics

_FILE = "compounds.json"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class VietnameseTokenizer(Tokenizer):
    """Folds diacritics, expands chat abbreviations and joins compound words."""

    @staticmethod
    def supported_languages() -> list[str] | None:
        return ["vi"]

    @staticmethod
    def required_packages() -> list[str]:
        return ["underthesea"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 compounds: set[tuple[str, ...]] | None = None,
                 fixed: set[tuple[str, ...]] | None = None) -> None:
        super().__init__(config)
        self._model_storage = model_storage
        self._resource = resource
        self.segmenter = Segmenter(compounds or (), fixed=fixed or ())

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> VietnameseTokenizer:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        from underthesea import word_tokenize  # lazy: only training needs the segmenter model

        words: list[str] = []
        names: list[str] = []
        for example in training_data.training_examples:
            text = example.get(TEXT)
            if not text:
                continue
            if has_diacritics(text):
                words.extend(word_tokenize(text))
            names.extend(text[e["start"]:e["end"]] for e in example.get(ENTITIES) or [])
        for table in training_data.lookup_tables:
            elements = table.get("elements")
            if isinstance(elements, list):
                names.extend(elements)
        compounds, fixed = compounds_from_words(words), compounds_from_words(names)
        self.segmenter = Segmenter(compounds, fixed=fixed)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _FILE).write_text(json.dumps(
                {"compounds": sorted(compounds), "fixed": sorted(fixed)}, ensure_ascii=False))
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> VietnameseTokenizer:
        with model_storage.read_from(resource) as directory:
            data = json.loads((directory / _FILE).read_text())
        return cls(config, model_storage, resource, {tuple(c) for c in data["compounds"]},
                   {tuple(c) for c in data["fixed"]})

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        tokens = [Token(text[w.start:w.end], w.start, w.end, lemma=w.lemma)
                  for w in self.segmenter.segment(text)]
        return self._apply_token_pattern(tokens)
