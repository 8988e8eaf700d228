"""Deterministic entity extraction on canonical lemmas.

Procedure names are a closed list that staff keep in YAML, so a dictionary match on the
tokenizer's lemmas beats a statistical tagger: an alias learnt once from an accented example is
found typed without diacritics or abbreviated (``ks`` -> ``khai_sinh``). Digits typed to pick a
numbered option become the ``number`` entity.

A situation told instead of a name ("bố tôi mới mất") is annotated in training as the
``procedure_event`` entity. When the message names no procedure, it yields the ``procedure_told``
entity for each procedure it leads to (``|``-separated values): not ``procedure``, so it never
fills the procedure slot by itself; the dialogue uses it only when no procedure is under
discussion (a follow-up "con mới sinh thì hạn bao lâu" stays on the procedure talked about).
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_FILE = "entity_lemmas.json"
TOKENS = "text_tokens"
MAX_OPTION_NUMBER = 20
MAX_EVENT_GAP = 2  # words allowed between the words of an event phrase


def _in_order(words: list[str], lemmas: list[str], gap: int) -> tuple[int, int] | None:
    """First and last index of ``words`` found in ``lemmas`` in order, at most ``gap`` apart."""
    for first, lemma in enumerate(lemmas):
        if lemma != words[0]:
            continue
        last, position = first, first
        for word in words[1:]:
            window = lemmas[position + 1:position + 2 + gap]
            if word not in window:
                break
            position = position + 1 + window.index(word)
            last = position
        else:
            return first, last
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class LemmaEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Finds annotated entity values by longest match on token lemmas."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"number_entity": "number", "event_entity": "procedure_event",
                "event_target": "procedure_told", "name_entity": "procedure", "event_separator": "|"}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 patterns: dict[str, tuple[str, str]] | None = None) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self.patterns = patterns or {}
        self._longest = max((len(k.split()) for k in self.patterns), default=0)

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LemmaEntityExtractor:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        patterns: dict[str, tuple[str, str]] = {}
        for example in training_data.training_examples:
            tokens = example.get(TOKENS) or []
            for entity in example.get(ENTITIES) or []:
                inside = [t for t in tokens if t.start >= entity["start"] and t.end <= entity["end"]]
                # a word running over the edge of the span would leave a part of the name as
                # the pattern ("cho bé" from "khai sinh cho bé" inside "làm_khai_sinh cho bé")
                if inside and inside[0].start == entity["start"] and inside[-1].end == entity["end"]:
                    patterns[" ".join(t.lemma for t in inside)] = (entity["entity"],
                                                                   str(entity["value"]))
        self.patterns = patterns
        self._longest = max((len(k.split()) for k in patterns), default=0)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _FILE).write_text(json.dumps(patterns, ensure_ascii=False))
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> LemmaEntityExtractor:
        with model_storage.read_from(resource) as directory:
            raw = json.loads((directory / _FILE).read_text())
        return cls(config, model_storage, resource, {k: tuple(v) for k, v in raw.items()})

    def _find(self, message: Message) -> list[dict[str, Any]]:
        """Longest matches of names (not events) from left to right, and option numbers."""
        tokens = message.get(TOKENS) or []
        text = message.get(TEXT) or ""
        event = self._config["event_entity"]
        found = []
        i = 0
        while i < len(tokens):
            for size in range(min(self._longest, len(tokens) - i), 0, -1):
                key = " ".join(t.lemma for t in tokens[i:i + size])
                if key in self.patterns and self.patterns[key][0] != event:
                    entity, value = self.patterns[key]
                    start, end = tokens[i].start, tokens[i + size - 1].end
                    found.append({"entity": entity, "value": value, "start": start, "end": end,
                                  "confidence_entity": 1.0, "text": text[start:end]})
                    i += size
                    break
            else:
                lemma = tokens[i].lemma
                if lemma.isdigit() and 0 < int(lemma) <= MAX_OPTION_NUMBER:
                    found.append({"entity": self._config["number_entity"], "value": lemma,
                                  "start": tokens[i].start, "end": tokens[i].end,
                                  "confidence_entity": 1.0, "text": tokens[i].text})
                i += 1
        return found

    def _told(self, message: Message) -> list[dict[str, Any]]:
        """Event phrases whose words appear in order, a few words apart at most ("bố tôi mới
        mất" for "bố mất"), each as the procedure(s) it leads to."""
        tokens = message.get(TOKENS) or []
        text = message.get(TEXT) or ""
        # words, not tokens: the segmenter joins learnt phrases ("bố_mất") into one token
        words, owners = [], []
        for index, token in enumerate(tokens):
            for word in token.lemma.split("_"):
                words.append(word)
                owners.append(index)
        found: dict[str, dict[str, Any]] = {}
        for key, (entity, values) in self.patterns.items():
            if entity != self._config["event_entity"]:
                continue
            span = _in_order(key.replace("_", " ").split(), words, MAX_EVENT_GAP)
            if span is None:
                continue
            start, end = tokens[owners[span[0]]].start, tokens[owners[span[1]]].end
            for value in values.split(self._config["event_separator"]):
                found.setdefault(value, {"entity": self._config["event_target"], "value": value,
                                         "start": start, "end": end, "confidence_entity": 1.0,
                                         "text": text[start:end]})
        return sorted(found.values(), key=lambda e: (e["start"], e["value"]))

    def _entities(self, message: Message) -> list[dict[str, Any]]:
        """Names first; the procedures a told situation leads to only when none is named."""
        found = self._find(message)
        if any(e["entity"] == self._config["name_entity"] for e in found):
            return found
        return found + self._told(message)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = self.add_extractor_name(self._entities(message))
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
