"""The intent classifier written in skops' format without importing ``skops.io``.

Rasa's ``LogisticRegressionClassifier.persist`` imports ``skops.io`` to write its scikit-learn
``LogisticRegression``; that import computes skops' trusted-type tables (scikit-learn's
``all_estimators()`` imports every scikit-learn module, every NumPy and SciPy ufunc is looked up):
5.8 % of a warm retraining's samples (py-spy, docs/benchmarks.md "Training, session 9"), for a file
of one estimator whose state is JSON scalars and plain arrays.

``write_logistic_regression`` writes that file as ``skops.io.dump`` (skops 0.9, protocol 1) does:
a zip, stored, with ``schema.json`` (an ``ObjectNode`` holding a ``DictNode`` of the estimator's
``__getstate__``: a ``JsonNode`` per JSON scalar, an ``NdArrayNode`` per array, saved as ``.npy``
without pickle) and one ``.npy`` file per array. ``skops.io.load`` and
``bot.serving.classifier_file`` read it back (tests/build/test_classifier_file.py). A state with
anything else (a list, a NumPy scalar, an object array) is written by ``skops.io.dump`` itself.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

# What skops 0.9 writes (``skops.io._protocol.PROTOCOL``, ``skops.__version__``); the reader in
# bot/serving/classifier_file.py checks the same protocol.
SKOPS_PROTOCOL = 1
SKOPS_VERSION = "0.9.0"
# Attribute values written as a JsonNode, by exact type: skops dispatches subclasses (NumPy
# scalars, bool of int) to other nodes.
JSON_SCALAR_TYPES = (str, int, float, bool, type(None))


def _json_node(value: Any) -> dict[str, Any]:
    return {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(value), "is_json": True, "__id__": id(value)}


def _array_node(array: np.ndarray, archive: zipfile.ZipFile) -> dict[str, Any]:
    name = f"{id(array)}.npy"
    if name not in archive.namelist():
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        archive.writestr(name, buffer.getbuffer())
    return {"__class__": "ndarray", "__module__": "numpy", "__loader__": "NdArrayNode",
            "type": "numpy", "file": name, "__id__": id(array)}


def writable(state: dict[str, Any]) -> bool:
    """Whether every attribute of ``state`` is a JSON scalar or a plain (non-object) array."""
    return all(isinstance(key, str) and (
        type(value) in JSON_SCALAR_TYPES
        or (type(value) is np.ndarray and value.dtype != object)) for key, value in state.items())


def write_logistic_regression(estimator: Any, path: Path) -> None:
    """Writes ``estimator`` to ``path`` as ``skops.io.dump(estimator, path)`` would, but for the
    weights' order in memory: column-major. A prediction multiplies a message's sparse features
    by ``coef_.T``, and SciPy copies a transposed row-major matrix whole for each product (every
    intent by every n-gram: most of a parse's time, ``docs/benchmarks.md``); ``.npy`` keeps the
    order, so every reader gets weights it multiplies in place."""
    state = estimator.__getstate__()
    if type(state.get("coef_")) is np.ndarray:
        state = {**state, "coef_": np.asfortranarray(state["coef_"])}
    if not writable(state):
        import skops.io

        skops.io.dump(estimator, path)
        return
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        content = {key: (_json_node(value) if type(value) in JSON_SCALAR_TYPES
                         else _array_node(value, archive)) for key, value in state.items()}
        key_types = {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
                     "content": [{"__class__": "str", "__module__": "builtins",
                                  "__loader__": "TypeNode", "__id__": id(str)} for _ in state],
                     "__id__": id(content)}
        schema = {"__class__": type(estimator).__name__, "__module__": type(estimator).__module__,
                  "__loader__": "ObjectNode",
                  "content": {"__class__": "dict", "__module__": "builtins",
                              "__loader__": "DictNode", "content": content,
                              "key_types": key_types, "__id__": id(state)},
                  "__id__": id(estimator), "protocol": SKOPS_PROTOCOL,
                  "_skops_version": SKOPS_VERSION}
        archive.writestr("schema.json", json.dumps(schema, indent=2))
    Path(path).write_bytes(buffer.getbuffer())


def _persist(self: Any) -> None:
    """``LogisticRegressionClassifier.persist`` with ``write_logistic_regression``."""
    with self._model_storage.write_to(self._resource) as model_dir:
        write_logistic_regression(self.clf, model_dir / f"{self._resource.name}.skops")


@contextlib.contextmanager
def written_without_skops() -> Iterator[None]:
    """Within, Rasa's logistic regression classifier persists itself without ``skops.io``."""
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

    original = LogisticRegressionClassifier.persist
    LogisticRegressionClassifier.persist = functools.wraps(original)(_persist)
    try:
        yield
    finally:
        LogisticRegressionClassifier.persist = original
