"""The classifier's row of n-gram counts is Rasa's, entry for entry, without the rows it never reads."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.counts import SentenceCountsFeaturizer

TRAINING = [("dang ky khai sinh can giay to gi", "ask_documents"),
            ("le phi lam so do bao nhieu", "ask_fee"),
            ("xin chao", "greet"),
            ("thu tuc tam tru o xa moi", "ask_documents")]

# messages after training: seen words, unseen ones, none at all, nothing
MESSAGES = ["khai sinh can gi", "le phi khai tu bao nhieu tien", "xin chao ad",
            "qwerty zxcv", "lam so do o dau", "", "dang ky khai sinh can giay to gi"]

CONFIGS = [
    pytest.param({"min_ngram": 1, "max_ngram": 3}, id="word n-grams"),
    pytest.param({"analyzer": "char_wb", "min_ngram": 3, "max_ngram": 4}, id="letter n-grams"),
]


def _featurized(cls: type[CountVectorsFeaturizer], config: dict, texts: list[str],
                storage: LocalModelStorage) -> list[Message]:
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    training = TrainingData(training_examples=[
        Message(data={TEXT: text, "intent": intent}) for text, intent in TRAINING])
    tokenizer.process_training_data(training)
    featurizer = cls.create({**cls.get_default_config(), **config}, storage,
                            Resource(cls.__name__), ExecutionContext(GraphSchema({}), "test"))
    featurizer.train(training)
    messages = [Message(data={TEXT: text}) for text in texts]
    tokenizer.process(messages)
    return featurizer.process(messages)


@pytest.mark.parametrize("config", CONFIGS)
def test_each_message_gets_rasas_sentence_row_and_nothing_else(config, tmp_path):
    storage = LocalModelStorage(tmp_path)
    rasas = _featurized(CountVectorsFeaturizer, config, MESSAGES, storage)
    ours = _featurized(SentenceCountsFeaturizer, config, MESSAGES, storage)
    for text, expected, got in zip(MESSAGES, rasas, ours, strict=True):
        sentences = [f for f in expected.features if f.type == "sentence"]
        assert [(f.type, f.attribute) for f in got.features] == \
            [(f.type, f.attribute) for f in sentences], text
        for a, b in zip(got.features, sentences, strict=True):
            assert a.features.shape == b.features.shape
            for part in ("row", "col", "data"):
                assert np.array_equal(getattr(a.features, part), getattr(b.features, part)), text
    assert ours[0].features[0].features.nnz > 0
    for nothing_known in ("qwerty zxcv", ""):
        assert all(f.features.nnz == 0 for f in ours[MESSAGES.index(nothing_known)].features)


def test_training_examples_get_their_rows_and_only_the_text_is_counted(tmp_path):
    """In training the intent gets no features: the classifier reads only the text's row."""
    storage = LocalModelStorage(tmp_path)
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    training = TrainingData(training_examples=[
        Message(data={TEXT: text, "intent": intent}) for text, intent in TRAINING])
    tokenizer.process_training_data(training)
    featurizer = SentenceCountsFeaturizer.create(
        SentenceCountsFeaturizer.get_default_config(), storage, Resource("words"),
        ExecutionContext(GraphSchema({}), "test"))
    featurizer.train(training)
    featurizer.process_training_data(training)
    for message in training.training_examples:
        assert [(f.type, f.attribute) for f in message.features] == [("sentence", TEXT)]
        assert message.features[0].features.shape == (1, len(featurizer.vectorizers[TEXT].vocabulary_))
    assert list(featurizer.vectorizers) == [TEXT]
