"""Validate, generate, train: nothing is trained from an invalid catalogue."""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.build.classifier_file import written_without_skops
from bot.build.fingerprint import fingerprint, stamp_file
from bot.build.generate import generate
from bot.build.heap import kept_heap
from bot.build.nlu_files import parsed_once
from bot.build.segmentation import remembered_segmentation
from bot.build.tensorflow_free import without_tensorflow
from bot.build.warm_start import Session, state_path, warm_started
from bot.catalogue import Catalogue, load_catalogue
from bot.errors import BotError
from bot.project import Project

SEGMENTATION_FILE = "segmentation.json"  # in the project's var/cache (bot.build.segmentation)
NLU_PARSES_FILE = "nlu_parses.pickle"  # in the project's var/cache (bot.build.nlu_files)


class TrainingFailed(BotError):
    """Rasa finished without producing a model."""


def memoize_entity_annotations() -> None:
    """Validates each distinct entity annotation of the training data once.

    Rasa 3.6 checks every ``[text]{"entity": "procedure", "value": "..."}`` annotation against a
    JSON schema, checking the schema itself each time: that was about 30 % of ``bot train``
    (profiled with py-spy), for a few hundred distinct annotations repeated over thousands of
    examples. The check depends on the annotation's text only, so its result is kept per text;
    an invalid annotation raises every time, as before. Idempotent.
    """
    from rasa.shared.nlu.training_data import entities_parser

    original = entities_parser.get_validated_dict
    if getattr(original, "memoized", False):
        return
    validated = functools.lru_cache(maxsize=None)(original)

    def get_validated_dict(json_str: str) -> dict[str, str]:
        return copy.deepcopy(validated(json_str))  # callers get their own dict, as before

    get_validated_dict.memoized = True  # type: ignore[attr-defined]
    entities_parser.get_validated_dict = get_validated_dict


def stack_sentence_features() -> None:
    """Builds the intent classifier's training matrix in one stack per featurizer.

    Rasa's ``LogisticRegressionClassifier`` combines every message's features one message at a
    time: a deep copy and a sparse ``hstack`` for the token sequence it then throws away, another
    for the sentence, a third with an empty dense part, then one ``vstack`` of thousands of 1-row
    matrices (8 % of ``bot train``, profiled with py-spy). The sentence rows of each featurizer
    are stacked once here and the featurizers side by side, in the same order: the same matrix,
    entry for entry, hence the same fit. Messages with dense features keep Rasa's path.
    Idempotent.
    """
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.constants import INTENT, TEXT

    original = LogisticRegressionClassifier._create_training_matrix
    if getattr(original, "stacked", False):
        return

    def create_training_matrix(self: Any, training_data: Any) -> tuple[Any, list[str]]:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        stacked = sentence_matrix(examples)
        if stacked is None:
            return original(self, training_data)
        return stacked[0], [e.get(INTENT) for e in examples]

    create_training_matrix.stacked = True  # type: ignore[attr-defined]
    LogisticRegressionClassifier._create_training_matrix = create_training_matrix


def sentence_matrix(examples: list[Any]) -> tuple[Any, list[str]] | None:
    """The examples' sparse sentence features, one row each, featurizers in the order they ran,
    and those featurizers (the features' origins); None when some example has dense features or
    the featurizers differ between examples."""
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
    from scipy.sparse import csr_matrix, hstack, vstack

    columns: list[list[Any]] = []
    origins: list[str] | None = None
    for example in examples:
        features = [f for f in example.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
        if not features or any(not f.is_sparse() for f in features):
            return None
        if origins is None:
            origins = [f.origin for f in features]
            columns = [[] for _ in features]
        elif [f.origin for f in features] != origins:
            return None
        for column, feature in zip(columns, features, strict=True):
            column.append(feature.features)
    if not columns or origins is None:
        return None
    matrix = csr_matrix(hstack([vstack(column) for column in columns], format="csr"), dtype=float)
    return matrix, origins


@contextlib.contextmanager
def one_nlu_read() -> Iterator[None]:
    """Within, the training graph gets the NLU data Rasa has already read for its own checks.

    ``rasa.model_training.train`` reads the data with ``importer.get_nlu_data()``, its recipe
    validator the same (cached per argument), and the graph's ``NLUTrainingDataProvider`` reads it
    again with ``get_nlu_data(language="vi")``: another key, so the files were parsed and merged
    twice, deep copies and a hash of every example each time (about 9 % of a retraining, py-spy).
    The language only reaches the file readers, and only Dialogflow's reads it; ours are Rasa
    YAML, so the provider is handed the data already read.
    """
    from rasa.graph_components.providers.nlu_training_data_provider import (
        NLUTrainingDataProvider,
    )

    original = NLUTrainingDataProvider.provide

    @functools.wraps(original)  # Rasa checks a graph component's method signatures
    def provide(self: Any, importer: Any) -> Any:
        if "language" not in self._config:
            return original(self, importer)
        config = self._config
        self._config = {k: v for k, v in config.items() if k != "language"}
        try:
            return original(self, importer)
        finally:
            self._config = config

    NLUTrainingDataProvider.provide = provide
    try:
        yield
    finally:
        NLUTrainingDataProvider.provide = original


@contextlib.contextmanager
def without_training_cache() -> Iterator[None]:
    """Runs a forced training without filling Rasa's training cache.

    With ``force_training`` Rasa reads nothing from its cache, yet its training hook still
    fingerprints every node's inputs and outputs (the whole training data, several times) and
    copies each output into ``.rasa/cache``: 8-10 % of ``bot train`` (py-spy), for entries we never
    read, since every training here is forced. The hook is replaced by one that does nothing for
    the duration.
    """
    from rasa.engine.graph import GraphNodeHook
    from rasa.engine.training import graph_trainer

    class NoCacheHook(GraphNodeHook):
        def __init__(self, **_: Any) -> None:
            pass

        def on_before_node(self, *_: Any, **__: Any) -> dict:
            return {}

        def on_after_node(self, *_: Any, **__: Any) -> None:
            return None

    original = graph_trainer.TrainingHook
    graph_trainer.TrainingHook = NoCacheHook
    try:
        yield
    finally:
        graph_trainer.TrainingHook = original


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Within, OpenBLAS (the classifier's L-BFGS-B and NumPy) runs on one thread.

    With its default of one thread per core, L-BFGS-B's vector operations over 1.5 million
    coefficients are split over both cores and the threads wait for each other: the warm fit of
    the alias edit's data alone took 34.7 s of CPU on two threads and 25.3 s on one, in the same
    wall time (90.1 and 87.7 s at load average 9; docs/benchmarks.md "Training, session 9"). The
    sums' order may differ in the last bits (coefficients within 1e-9); the fit stops at the same
    tolerance.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _prepare(project: Project, catalogue: Catalogue | None) -> None:
    """Writes the generated files; the catalogue is loaded here unless the caller has it already
    (``load_catalogue`` raises ``CatalogueInvalid``)."""
    generate(catalogue or load_catalogue(project.procedures), project)


def _checked(model: str | None) -> Path:
    if model is None:
        raise TrainingFailed("Rasa produced no model; see the messages above")
    return Path(model)


def _previous_state(output: Path, fixed_name: str | None, warm: bool) -> Path | None:
    """The classifier's state of the model this training replaces, if it is to be reused."""
    return state_path(output / f"{fixed_name}.tar.gz") if warm and fixed_name else None


def _keep_state(model: Path, session: Session) -> None:
    """Saves this training's classifier state beside the model, or drops an outdated one."""
    path = state_path(model)
    if session.fit is None:
        path.unlink(missing_ok=True)
    else:
        session.fit.save(path)


@contextlib.contextmanager
def _training_run(project: Project, catalogue: Catalogue | None, config: Path, output: Path,
                  fixed_name: str | None, warm: bool) -> Iterator[Session]:
    """What both trainings do around Rasa's: our patches of its components, the generated data
    (``_prepare``), the output folder, then within: freed memory kept (``kept_heap``), BLAS on
    one thread (``one_blas_thread``), no TensorFlow, no training cache, the NLU data read once
    and each file's parse kept (``bot.build.nlu_files``), underthesea's segmentation kept, the
    classifier warm-started and written without ``skops.io``; yields the warm start's session."""
    memoize_entity_annotations()
    stack_sentence_features()
    _prepare(project, catalogue)
    output.mkdir(parents=True, exist_ok=True)
    with kept_heap(), one_blas_thread(), without_tensorflow(config), without_training_cache(), \
            one_nlu_read(), parsed_once(project.cache / NLU_PARSES_FILE), \
            remembered_segmentation(project.cache / SEGMENTATION_FILE), \
            warm_started(_previous_state(output, fixed_name, warm)) as session, \
            written_without_skops():
        yield session


def train_nlu(project: Project, config: Path, output: Path, fixed_name: str | None = None,
              *, warm: bool = True) -> Path:
    """Trains only the NLU part (for evaluation), forced as ``train``; returns the archive.

    With ``warm`` the classifier starts from the state the previous ``fixed_name`` model left
    (``bot.build.warm_start``); without it, or without such a model, it fits from scratch.
    """
    from rasa.model_training import train_nlu as rasa_train_nlu

    with _training_run(project, None, config, output, fixed_name, warm) as session:
        model = _checked(rasa_train_nlu(config=str(config), nlu_data=str(project.nlu_data),
                                        output=str(output), fixed_model_name=fixed_name,
                                        domain=str(project.domain),
                                        additional_arguments={"force_full_training": True}))
    _keep_state(model, session)
    return model


def train(project: Project, config: Path, output: Path, fixed_name: str | None = None,
          catalogue: Catalogue | None = None, *, warm: bool = True) -> Path:
    """Trains the whole assistant (NLU and dialogue rules); returns the model archive.

    Every node is trained (forced): Rasa's cache is keyed on config and data, not on our
    components' code, so it could reuse a resource of an older tokenizer; skipping it also skips
    the fingerprint run over the whole training data (about 15 % of the training time). What is
    reused instead is the classifier's previous optimum as the fit's starting point (``warm``,
    ``bot.build.warm_start``): the same convex loss, so the same model, in fewer iterations.
    """
    from rasa.model_training import train as rasa_train

    with _training_run(project, catalogue, config, output, fixed_name, warm) as session:
        stamp = fingerprint(project, config)  # the inputs as this training reads them
        result = rasa_train(domain=str(project.flows), config=str(config),
                            training_files=[str(project.nlu_data), str(project.rules)],
                            output=str(output), fixed_model_name=fixed_name, force_training=True)
    model = _checked(result.model)
    _keep_state(model, session)
    stamp_file(model).write_text(stamp + "\n")
    return model
