"""The classifier's file written without skops.io reads back as skops' own."""

import json
import zipfile

import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

from bot.build.classifier_file import write_logistic_regression
from bot.serving.classifier_file import read_logistic_regression


def fitted() -> LogisticRegression:
    rng = np.random.default_rng(0)
    features = rng.random((60, 8))
    intents = np.array(["hoi_giay_to", "hoi_le_phi", "chao"] * 20)
    return LogisticRegression(max_iter=300).fit(features, intents)


def schema(path) -> dict:
    """The archive's schema with skops' object ids (memory addresses) taken out."""
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("__id__", "file")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node
    with zipfile.ZipFile(path) as archive:
        return strip(json.loads(archive.read("schema.json")))


def test_the_file_is_what_skops_writes_and_answers_the_same(tmp_path):
    estimator = fitted()
    ours, theirs = tmp_path / "ours.skops", tmp_path / "theirs.skops"
    write_logistic_regression(estimator, ours)
    skops.io.dump(estimator, theirs)
    assert schema(ours) == schema(theirs)
    probe = np.random.default_rng(1).random((20, 8))
    for loaded in (skops.io.load(ours, trusted=True), read_logistic_regression(ours)):
        np.testing.assert_array_equal(loaded.coef_, estimator.coef_)
        np.testing.assert_array_equal(loaded.predict_proba(probe), estimator.predict_proba(probe))
        assert list(loaded.classes_) == list(estimator.classes_)
        # multiplied as coef_.T without a copy of every weight per message
        assert loaded.coef_.T.flags.c_contiguous


@pytest.mark.parametrize("attribute", [[1, 2], np.float64(0.5), np.array(["a", None], dtype=object)])
def test_a_state_it_does_not_know_is_written_by_skops(tmp_path, attribute):
    estimator = fitted()
    estimator.extra_ = attribute
    path = tmp_path / "model.skops"
    write_logistic_regression(estimator, path)
    loaded = skops.io.load(path, trusted=True)
    assert type(loaded.extra_) is type(attribute)
    assert np.array_equal(np.asarray(loaded.extra_, dtype=object), np.asarray(attribute, dtype=object))
    np.testing.assert_array_equal(loaded.coef_, estimator.coef_)
