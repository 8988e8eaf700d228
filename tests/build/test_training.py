"""A model knows what it was trained from, so chat and serve never run on a stale one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.build.fingerprint import MODEL_INPUTS, fingerprint, is_current
from bot.build.training import stack_sentence_features, without_training_cache
from bot.project import Project
from tests.paths import PROJECT, REPO


def _copy_inputs(target: Path) -> None:
    for pattern in MODEL_INPUTS:
        for path in REPO.glob(pattern):
            destination = target / path.relative_to(REPO)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, destination)
    shutil.copy(REPO / "config.yml", target / "config.yml")
    shutil.copytree(REPO / "procedures", target / "procedures")


def test_fingerprint_is_the_same_from_any_working_directory(tmp_path, monkeypatch):
    absolute = fingerprint(PROJECT, REPO / "config.yml")
    monkeypatch.chdir(REPO)
    assert fingerprint(Project(Path("."), Path("procedures")), Path("config.yml")) == absolute


def test_a_staff_edit_makes_the_model_stale(tmp_path):
    _copy_inputs(tmp_path)
    project = Project.locate(tmp_path)
    before = fingerprint(project, tmp_path / "config.yml")
    yaml_file = tmp_path / "procedures" / "khai_sinh.yaml"
    yaml_file.write_text(yaml_file.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert fingerprint(project, tmp_path / "config.yml") != before


def test_the_session_model_is_current(full_model):
    assert is_current(full_model, PROJECT, REPO / "config.yml")
    assert not is_current(full_model.with_name("missing.tar.gz"), PROJECT, REPO / "config.yml")


def _message(intent: str, features: list[tuple[str, list[float]]], dense: bool = False):
    """A training example with one sentence row per featurizer, and a token sequence beside it."""
    import numpy as np
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message
    from scipy.sparse import coo_matrix

    message = Message(data={TEXT: f"cau hoi {intent}", "intent": intent})
    for origin, row in features:
        message.add_features(Features(coo_matrix([row, row]), FEATURE_TYPE_SEQUENCE, TEXT, origin))
        message.add_features(Features(coo_matrix([row]), FEATURE_TYPE_SENTENCE, TEXT, origin))
    if dense:
        message.add_features(Features(np.array([[0.5, 2.0]]), FEATURE_TYPE_SENTENCE, TEXT, "dense"))
    return message


@pytest.mark.parametrize("examples", [
    pytest.param([("hoi_giay_to", [("words", [1, 0, 2]), ("letters", [0, 3])], False),
                  ("hoi_le_phi", [("words", [0, 0, 0]), ("letters", [1, 1])], False),
                  ("chao", [("words", [0, 5, 0]), ("letters", [0, 0])], False)],
                 id="two sparse featurizers"),
    pytest.param([("hoi_giay_to", [("words", [1, 0]), ("letters", [0, 3]),
                                   ("focus", [0, 0, 0, 7])], False),
                  ("chao", [("words", [0, 4]), ("letters", [2, 0]), ("focus", [1, 0, 0, 0])],
                   False)],
                 id="three featurizers"),
    pytest.param([("hoi_giay_to", [("words", [1, 0])], True),
                  ("chao", [("words", [0, 4])], True)],
                 id="dense features: Rasa's own path"),
])
def test_the_classifier_trains_on_the_matrix_rasa_builds(examples):
    """The stacked matrix is Rasa's, entry for entry and in the same order, so the fit is too."""
    messages = [_message(*example) for example in examples]
    import numpy as np
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.training_data.training_data import TrainingData

    classifier = LogisticRegressionClassifier.__new__(LogisticRegressionClassifier)  # no fit
    expected = classifier._create_X(messages).tocsr()
    stack_sentence_features()
    matrix, intents = classifier._create_training_matrix(TrainingData(training_examples=messages))
    matrix = matrix.tocsr()
    assert intents == [m.get("intent") for m in messages]
    assert (matrix.shape, matrix.dtype) == (expected.shape, expected.dtype)
    for part in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(matrix, part), getattr(expected, part)), part


def test_a_forced_training_leaves_rasas_cache_hook_in_place_afterwards():
    from rasa.engine.training import graph_trainer
    from rasa.engine.training.hooks import TrainingHook

    with pytest.raises(RuntimeError), without_training_cache():
        assert graph_trainer.TrainingHook is not TrainingHook
        raise RuntimeError("training failed")
    assert graph_trainer.TrainingHook is TrainingHook


def test_the_training_graph_gets_the_nlu_data_rasa_read_for_its_checks(tmp_path):
    """Rasa reads the NLU data for its checks with ``get_nlu_data()`` and its graph's provider with
    ``get_nlu_data(language=...)``: within ``one_nlu_read`` both are one read, the same data."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.graph_components.providers.nlu_training_data_provider import (
        NLUTrainingDataProvider,
    )
    from rasa.shared.importers.importer import TrainingDataImporter

    from bot.build.training import one_nlu_read

    nlu = tmp_path / "nlu.yml"
    nlu.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - xin chao\n'
                   '- intent: fee\n  examples: |\n    - le phi [khai sinh]{"entity": "procedure"}\n',
                   encoding="utf-8")
    config = tmp_path / "config.yml"
    config.write_text("language: vi\npipeline: []\npolicies: []\n", encoding="utf-8")

    def provided() -> tuple[object, object]:
        importer = TrainingDataImporter.load_from_config(str(config), None, [str(nlu)])
        checked = importer.get_nlu_data()
        provider = NLUTrainingDataProvider.create(
            {**NLUTrainingDataProvider.get_default_config(), "language": "vi"},
            LocalModelStorage(tmp_path / "storage"), Resource("nlu"),
            ExecutionContext(GraphSchema({}), "test"))
        return checked, provider.provide(importer)

    checked, separate = provided()
    assert separate is not checked  # Rasa alone: a second read and merge
    with one_nlu_read():
        checked, shared = provided()
    assert shared is checked
    assert [m.get("text") for m in shared.training_examples] == \
        [m.get("text") for m in separate.training_examples]
    assert shared.entities == {"procedure"}
    assert provided()[1] is not provided()[0]  # Rasa's provider is back afterwards
