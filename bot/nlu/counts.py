"""N-gram counts of a message's text, as the intent classifier reads them: one row per message.

Rasa's ``CountVectorsFeaturizer`` gives every message two matrices per attribute: a row per token
(sequence features) and a row for the whole text (sentence features), and it featurizes the
intent and action names too. Our classifier, scikit-learn's logistic regression, reads only the
text's sentence row (``LogisticRegressionClassifier._create_X``), and no component of
``config.yml`` reads the rest. ``SentenceCountsFeaturizer`` makes that row alone: the same
vocabulary and the same counts for the text (``tests/nlu/test_counts.py`` compares them entry
for entry with Rasa's), in one ``transform`` for all the messages it is given. In a training that
was a third of the featurizing (a ``transform`` per token, thousands of small matrices) and the
row per token each parse.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message


def row_blocks(matrix: Any, bounds: Sequence[int]) -> list[Any]:
    """``matrix[bounds[k]:bounds[k + 1]]`` for each k, column indices sorted, as COO matrices:
    what ``sort_indices`` and ``tocoo`` give on each slice, read straight from the CSR arrays
    (slicing a scipy matrix thousands of times was 10 % of a retraining, py-spy)."""
    import numpy as np
    from scipy.sparse import coo_matrix

    matrix.sort_indices()
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    blocks = []
    for start, end in itertools.pairwise(bounds):
        first, last = indptr[start], indptr[end]
        rows = np.repeat(np.arange(end - start, dtype=indices.dtype), np.diff(indptr[start:end + 1]))
        blocks.append(coo_matrix((data[first:last].copy(), (rows, indices[first:last].copy())),
                                 shape=(end - start, matrix.shape[1])))
    return blocks


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceCountsFeaturizer(CountVectorsFeaturizer):
    """``CountVectorsFeaturizer`` for the text's sentence features alone; same configuration."""

    @staticmethod
    def _attributes_for(analyzer: str) -> list[str]:
        return [TEXT]

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds each message's sentence row of n-gram counts; one ``transform`` for them all."""
        if self.vectorizers is None:
            return super().process(messages)  # Rasa's: logs that nothing was trained
        if not self.vectorizers.get(TEXT) or self._get_attribute_vocabulary(TEXT) is None:
            return messages  # no text in the training data: no vocabulary to count
        present, texts = [], []
        for message in messages:
            tokens = self._get_processed_message_tokens_by_attribute(message, TEXT)
            if tokens:
                present.append(message)
                texts.append(" ".join(tokens))
        if not present:
            return messages
        counts = self.vectorizers[TEXT].transform(texts).tocsr()
        for message, row in zip(present, row_blocks(counts, range(len(present) + 1)),
                                strict=True):
            self.add_features_to_message(None, row, TEXT, message)
        return messages
