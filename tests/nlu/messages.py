"""Our entity extractor outside a trained pipeline: messages as the pipeline hands them to it (text,
annotated entities, the tokens of a given segmenter with their lemmas), and a new extractor."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.entities import TOKENS, LemmaEntityExtractor
from bot.nlu.segmenter import Segmenter

RESOURCE = Resource("entities")


def tokenized(segmenter: Segmenter, text: str, entities: Sequence[tuple[str, str]] = (),
              entity: str = "procedure") -> Message:
    """``text`` segmented by ``segmenter``; ``entities``: (span in the text, value) pairs, each
    annotated as ``entity``."""
    message = Message(data={"text": text, "entities": [
        {"entity": entity, "value": value, "start": text.index(span),
         "end": text.index(span) + len(span)} for span, value in entities]})
    message.set(TOKENS, [Token(text[w.start:w.end], w.start, w.end, lemma=w.lemma)
                         for w in segmenter.segment(text)])
    return message


def new_extractor(folder: Path) -> tuple[LemmaEntityExtractor, LocalModelStorage]:
    """An untrained extractor with the default configuration, storing what it learns in
    ``folder``; ``LemmaEntityExtractor.load`` with that storage and ``RESOURCE`` reads it back."""
    storage = LocalModelStorage(folder)
    return LemmaEntityExtractor(LemmaEntityExtractor.get_default_config(), storage, RESOURCE), storage
