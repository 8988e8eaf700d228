"""The intent classifier's fit started from the previous model's coefficients.

Rasa's ``LogisticRegressionClassifier`` (lbfgs) was about 43 % of ``bot train``: some 180
iterations over 1.5 million coefficients, even when staff added one alias. Its loss (multinomial,
L2-regularised) is strictly convex, so it has one optimum and every starting point reaches it;
from the previous model's coefficients, on data that changed a little, lbfgs stops after far
fewer iterations, and Newton steps (``WARM_SOLVER``) after fewer still. Columns are matched by
feature name (the featurizer and its n-gram), so a vocabulary that gained or lost n-grams still
maps; a new n-gram starts at zero. Nothing is reused
when the intents differ, the classifier's settings differ or there is no previous state: that is
a cold fit, as Rasa's own.

The state (intents, feature names, coefficients, settings) is kept beside the model archive,
``<name>.warm.npz``, written only once the archive exists.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

_SEPARATOR = "\x00"  # between two feature names in the saved state; in no n-gram
# The solver of a warm fit configured as lbfgs: the same L2-regularised multinomial loss and the
# same stopping test (largest gradient entry under ``tol``), in Newton steps, which converge in few
# iterations from near the optimum where lbfgs has no curvature to start from. On the alias edit's
# data: 12 iterations and 17.9 s of CPU against lbfgs's 79 and 25.3 s, the same intent for every
# training example, probabilities within 1.7e-4 (docs/benchmarks.md "Training, session 9").
WARM_SOLVER = "newton-cg"


@dataclass
class FitState:
    """One fit of the classifier: enough to start the next one from where it ended."""

    classes: np.ndarray
    names: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    settings: str
    iterations: int = 0
    warm: bool = False  # whether this fit started from a previous one

    def save(self, path: Path) -> None:
        temporary = path.with_name(path.name + ".tmp.npz")
        # the names as one UTF-8 text: a fixed-width unicode array would be 4 bytes per
        # character of the longest name, for each of some 60,000 names
        names = np.frombuffer(_SEPARATOR.join(self.names.tolist()).encode(), dtype=np.uint8)
        np.savez(temporary, classes=self.classes, names=names, coef=self.coef,
                 intercept=self.intercept, settings=np.array(self.settings),
                 iterations=np.array(self.iterations), warm=np.array(self.warm))
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> FitState | None:
        """The saved state, or None when there is none or it cannot be read (a cold fit)."""
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as saved:
                names = np.array(saved["names"].tobytes().decode().split(_SEPARATOR))
                return cls(saved["classes"], names, saved["coef"], saved["intercept"],
                           str(saved["settings"]), int(saved["iterations"]), bool(saved["warm"]))
        except (OSError, ValueError, KeyError, UnicodeDecodeError) as error:
            logger.warning("ignoring the classifier's previous state %s: %s", path, error)
            return None


@dataclass
class Session:
    """What one training reads and leaves: the previous fit, the vocabularies seen, this fit."""

    previous: FitState | None
    vocabularies: dict[str, dict[str, int]] = field(default_factory=dict)
    fit: FitState | None = None


_session: Session | None = None


def state_path(model: Path) -> Path:
    """Where the classifier's state of ``model`` (``<name>.tar.gz``) is kept."""
    return model.with_name(model.name.removesuffix(".tar.gz") + ".warm.npz")


@contextlib.contextmanager
def warm_started(previous: Path | None) -> Iterator[Session]:
    """Within, the classifier starts from the state in ``previous`` when it fits; the session
    holds this training's state afterwards (``session.fit``), for the caller to save once the
    model exists."""
    global _session
    _install()
    session = Session(FitState.load(previous) if previous is not None else None)
    _session = session
    try:
        yield session
    finally:
        _session = None


def _install() -> None:
    """Wraps the featurizers (to learn their vocabularies) and the classifier's training. Outside
    ``warm_started`` both behave exactly as Rasa's. Idempotent."""
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
        CountVectorsFeaturizer,
    )

    featurize = CountVectorsFeaturizer.process_training_data
    if not getattr(featurize, "warm_start", False):
        # wraps: Rasa checks the signature and return type of a graph component's methods
        @functools.wraps(featurize)
        def process_training_data(self: Any, training_data: Any) -> Any:
            from rasa.shared.nlu.constants import TEXT

            if _session is not None:
                vocabulary = self._get_attribute_vocabulary(TEXT)
                if vocabulary:
                    _session.vocabularies[self._identifier] = dict(vocabulary)
            return featurize(self, training_data)

        process_training_data.warm_start = True  # type: ignore[attr-defined]
        CountVectorsFeaturizer.process_training_data = process_training_data

    fit = LogisticRegressionClassifier.train
    if not getattr(fit, "warm_start", False):
        @functools.wraps(fit)
        def train(self: Any, training_data: Any) -> Any:
            if _session is None:
                return fit(self, training_data)
            return _train(self, training_data, _session)

        train.warm_start = True  # type: ignore[attr-defined]
        LogisticRegressionClassifier.train = train


def _settings(classifier: Any) -> str:
    import sklearn

    params = {k: v for k, v in classifier.get_params().items() if k != "warm_start"}
    return json.dumps({"sklearn": sklearn.__version__, **params}, sort_keys=True, default=str)


def column_names(origins: list[str], vocabularies: dict[str, dict[str, int]],
                 width: int) -> np.ndarray | None:
    """The training matrix's column names, ``origin|n-gram``, in column order; None when a
    featurizer's vocabulary is unknown or the widths do not add up."""
    names: list[str] = []
    for origin in origins:
        vocabulary = vocabularies.get(origin)
        if vocabulary is None:
            return None
        part = [""] * len(vocabulary)
        for term, index in vocabulary.items():
            if index >= len(part):
                return None
            part[index] = f"{origin}|{term}"
        names.extend(part)
    return np.array(names) if len(names) == width else None


def starting_point(previous: FitState, classes: np.ndarray, names: np.ndarray,
                   settings: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The previous coefficients laid out on this matrix's columns (zero for a new feature), or
    None when the intents or the classifier's settings changed."""
    if previous.settings != settings or not np.array_equal(previous.classes, classes):
        return None
    if previous.coef.shape != (len(classes), len(previous.names)):
        return None
    before = {name: index for index, name in enumerate(previous.names.tolist())}
    now, then = [], []
    for index, name in enumerate(names.tolist()):
        old = before.get(name)
        if old is not None:
            now.append(index)
            then.append(old)
    coef = np.zeros((len(classes), len(names)))
    coef[:, now] = previous.coef[:, then]
    return coef, previous.intercept.copy()


def _unbounded(bounds: Any, original: Any) -> tuple[np.ndarray, np.ndarray]:
    """``old_bound_to_new`` with a fast path for no bounds at all (-inf, inf everywhere)."""
    if isinstance(bounds, list) and bounds.count((None, None)) == len(bounds):
        return np.full(len(bounds), -np.inf), np.full(len(bounds), np.inf)
    return original(bounds)


@contextlib.contextmanager
def unbounded_lbfgs_fast() -> Iterator[None]:
    """Within, scipy's L-BFGS-B turns "no bounds" into its bound arrays without a Python loop.

    scikit-learn's fit calls it without bounds; scipy 1.10 then builds a ``(None, None)`` pair
    per coefficient and converts the 1.5 million pairs back one by one (``old_bound_to_new``):
    about 6 % of a warm retraining (py-spy), for arrays of -inf and inf. The same arrays, made
    at once; any other bounds go through scipy's own function.
    """
    from scipy.optimize import _lbfgsb_py

    original = getattr(_lbfgsb_py, "old_bound_to_new", None)
    if original is None:  # another scipy: nothing to speed up
        yield
        return
    _lbfgsb_py.old_bound_to_new = functools.partial(_unbounded, original=original)
    try:
        yield
    finally:
        _lbfgsb_py.old_bound_to_new = original


def _train(self: Any, training_data: Any, session: Session) -> Any:
    """Rasa's ``LogisticRegressionClassifier.train``, the fit started from the previous state
    when it fits this data."""
    from bot.build.training import sentence_matrix

    examples = [e for e in training_data.intent_examples if e.get("intent") and e.get("text")]
    stacked = sentence_matrix(examples)
    if stacked is None:  # dense features: Rasa's own matrix, and its own cold fit
        X, y = self._create_training_matrix(training_data)
        names = None
    else:
        X, origins = stacked
        y = [e.get("intent") for e in examples]
        names = column_names(origins, session.vocabularies, X.shape[1])
    if X.shape[0] == 0:
        return self._resource
    classes = np.unique(np.asarray(y))
    settings = _settings(self.clf)
    start = None
    if names is not None and session.previous is not None:
        start = starting_point(session.previous, classes, names, settings)
    solver = self.clf.solver
    if start is not None:
        self.clf.coef_, self.clf.intercept_ = start
        self.clf.warm_start = True
        if solver == "lbfgs":
            self.clf.solver = WARM_SOLVER
    try:
        with unbounded_lbfgs_fast():
            self.clf.fit(X, y)
    finally:
        self.clf.warm_start = False
        self.clf.solver = solver  # the model keeps its configured settings
    iterations = int(np.max(self.clf.n_iter_))
    logger.info("intent classifier: %s fit, %d %s iterations",
                "warm" if start is not None else "cold", iterations,
                WARM_SOLVER if start is not None and solver == "lbfgs" else solver)
    if names is not None:
        session.fit = FitState(self.clf.classes_, names, self.clf.coef_, self.clf.intercept_,
                               settings, iterations, warm=start is not None)
    self.persist()
    return self._resource
