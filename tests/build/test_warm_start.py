"""A retraining starts the classifier's fit from the previous model and ends where a fit from
scratch ends."""

from __future__ import annotations

import numpy as np
import pytest

from bot.build.warm_start import FitState, column_names, starting_point, state_path, warm_started

SETTINGS = '{"C": 1.0}'


@pytest.mark.parametrize(("origins", "vocabularies", "width", "expected"), [
    pytest.param(["words", "letters"], {"words": {"xin": 1, "chao": 0}, "letters": {"abc": 0}}, 3,
                 ["words|chao", "words|xin", "letters|abc"], id="featurizers side by side"),
    pytest.param(["words"], {"letters": {"abc": 0}}, 1, None, id="a featurizer's vocabulary unknown"),
    pytest.param(["words"], {"words": {"xin": 0, "chao": 1}}, 3, None, id="widths differ"),
    pytest.param(["words"], {"words": {"xin": 0, "chao": 5}}, 2, None, id="an index out of range"),
])
def test_columns_are_named_by_featurizer_and_ngram(origins, vocabularies, width, expected):
    names = column_names(origins, vocabularies, width)
    assert (names if names is None else names.tolist()) == expected


def _state(classes, names, coef, settings=SETTINGS):
    return FitState(np.array(classes), np.array(names), np.array(coef, dtype=float),
                    np.array([0.5] * len(classes)), settings)


def test_coefficients_follow_their_feature_and_a_new_feature_starts_at_zero():
    previous = _state(["a", "b"], ["w|khai", "w|sinh", "w|cu"], [[1, 2, 3], [4, 5, 6]])
    coef, intercept = starting_point(previous, np.array(["a", "b"]),
                                     np.array(["w|sinh", "w|moi", "w|khai"]), SETTINGS)
    assert coef.tolist() == [[2, 0, 1], [5, 0, 4]]
    assert intercept.tolist() == [0.5, 0.5]


@pytest.mark.parametrize(("classes", "settings"), [
    pytest.param(["a", "b", "c"], SETTINGS, id="an intent added"),
    pytest.param(["a", "c"], SETTINGS, id="an intent renamed"),
    pytest.param(["a", "b"], '{"C": 2.0}', id="the classifier's settings changed"),
])
def test_a_change_of_intents_or_settings_means_a_fit_from_scratch(classes, settings):
    previous = _state(["a", "b"], ["w|khai"], [[1], [2]])
    assert starting_point(previous, np.array(classes), np.array(["w|khai"]), settings) is None


def test_the_state_survives_a_save_and_a_broken_file_is_ignored(tmp_path):
    state = _state(["a", "b"], ["w|khai sinh", "w|xin chào"], [[1, 2], [3, 4]])
    path = state_path(tmp_path / "current.tar.gz")
    assert path.name == "current.warm.npz"
    state.save(path)
    loaded = FitState.load(path)
    assert (loaded.names.tolist(), loaded.coef.tolist()) == (state.names.tolist(), state.coef.tolist())
    assert loaded.settings == SETTINGS
    path.write_bytes(b"not a state")
    assert FitState.load(path) is None


def _messages(rows: list[tuple[str, list[int]]]):
    """Training examples with one sparse sentence row of the featurizer ``words`` each."""
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message
    from scipy.sparse import coo_matrix

    messages = []
    for intent, row in rows:
        message = Message(data={TEXT: f"{intent} {row}", "intent": intent})
        message.add_features(Features(coo_matrix([row]), FEATURE_TYPE_SENTENCE, TEXT, "words"))
        messages.append(message)
    return messages


def _fit(rows, vocabulary, previous):
    """Rasa's classifier trained on ``rows`` within a training session; (classifier, session)."""
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.training_data.training_data import TrainingData

    classifier = LogisticRegressionClassifier.__new__(LogisticRegressionClassifier)
    classifier.__init__({"max_iter": 500}, "classifier", None, None)
    classifier.persist = lambda: None  # no model storage in this test: only the fit is compared
    with warm_started(previous) as session:
        session.vocabularies["words"] = vocabulary
        classifier.train(TrainingData(training_examples=_messages(rows)))
    return classifier, session


def test_a_warm_fit_on_edited_data_answers_like_a_fit_from_scratch(tmp_path):
    rng = np.random.default_rng(7)
    intents = ["hoi_giay_to", "hoi_le_phi", "hoi_thoi_gian"]
    rows = [(intents[i % 3], [int(v) for v in rng.poisson(0.3, 40) + (np.arange(40) % 3 == i % 3)])
            for i in range(300)]
    vocabulary = {f"ngram{i}": i for i in range(40)}
    _, first = _fit(rows, vocabulary, None)
    assert not first.fit.warm
    path = tmp_path / "current.warm.npz"
    first.fit.save(path)
    # the edit: new examples with a new n-gram (column 40), and the columns in another order
    order = list(reversed(range(41)))
    edited = [(intent, [(row + [0])[c] for c in order]) for intent, row in rows]
    edited += [(intents[0], [1 if c == 0 else 0 for c in range(41)])] * 5
    vocabulary = {f"ngram{c}": index for index, c in enumerate(order)}
    warm, session = _fit(edited, vocabulary, path)
    cold, _ = _fit(edited, vocabulary, None)
    assert session.fit.warm
    assert session.fit.iterations < int(cold.clf.n_iter_.max())
    assert warm.clf.solver == cold.clf.solver == "lbfgs"  # the model keeps its settings
    probe = np.asarray(rng.poisson(0.5, (200, 41)), dtype=float)
    assert (warm.clf.predict(probe) == cold.clf.predict(probe)).all()
    assert np.abs(warm.clf.predict_proba(probe) - cold.clf.predict_proba(probe)).max() < 1e-3
