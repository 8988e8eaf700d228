"""The intent classifier's file read with a fixed list of trusted types, without ``skops.io``.

Rasa's ``LogisticRegressionClassifier`` stores its scikit-learn ``LogisticRegression`` in a
``.skops`` archive (a zip: ``schema.json`` describing the object tree, one ``.npy`` file per
array) and reads it back with ``skops.io``. Importing ``skops.io`` computes its tables of trusted
types: scikit-learn's ``all_estimators()`` imports every scikit-learn module, then every NumPy
and SciPy ufunc is looked up across ``sys.modules``: about 3 s of a 7 s cold start
(``docs/benchmarks.md``, "Cold start, session 8").

``read_logistic_regression`` reads the same archive knowing exactly what our classifier holds: one
``sklearn.linear_model.LogisticRegression`` whose state is a dict of JSON scalars and plain NumPy
arrays (read with ``allow_pickle=False``). Any other node, type or array kind raises
``UntrustedClassifierFile``: nothing else is ever constructed, so a crafted file cannot run code.
``LogisticRegressionFileClassifier.load`` uses it and, for a file it refuses, falls back to Rasa's
own loading through ``skops.io`` (which in turn refuses types it does not trust). Serving swaps it
in for Rasa's class when a model is loaded (``bot/serving/lean.py``); training is unchanged.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

from bot.errors import BotError

logger = logging.getLogger(__name__)

# skops' file protocol this reader knows (skops 0.9: ``skops.io._protocol.PROTOCOL``).
SKOPS_PROTOCOL = 1
# The one object the archive may hold, as skops names it.
TRUSTED_ESTIMATOR = ("sklearn.linear_model._logistic", "LogisticRegression")
# What a JSON node may decode to: the estimator's parameters and scalar attributes.
JSON_SCALARS = (str, int, float, bool, type(None))


class UntrustedClassifierFile(BotError):
    """The archive holds something other than a logistic regression of JSON scalars and plain
    arrays: read it with ``skops.io`` (which checks its own trusted types) or retrain."""


def read_logistic_regression(path: Path) -> Any:
    """The ``LogisticRegression`` stored in the ``.skops`` archive at ``path``, built as
    ``skops.io.load`` builds it (``__new__`` then ``__setstate__``) from trusted parts only."""
    with zipfile.ZipFile(path) as archive:
        try:
            attributes = _attributes(archive, json.loads(archive.read("schema.json")))
        except (KeyError, TypeError, AttributeError, ValueError) as malformed:  # ValueError: a pickle
            raise UntrustedClassifierFile(f"{path.name}: {malformed!r}") from malformed
    from sklearn.linear_model import LogisticRegression

    estimator = LogisticRegression.__new__(LogisticRegression)
    estimator.__setstate__(attributes)
    return estimator


def _attributes(archive: zipfile.ZipFile, schema: dict[str, Any]) -> dict[str, Any]:
    """The estimator's state from the archive's schema, refusing any node not listed above."""
    import numpy as np

    if schema.get("protocol") != SKOPS_PROTOCOL:
        raise UntrustedClassifierFile(f"skops protocol {schema.get('protocol')!r}, "
                                      f"this reader knows {SKOPS_PROTOCOL}")
    _expect(schema, "ObjectNode", *TRUSTED_ESTIMATOR)
    state = schema.get("content")
    _expect(state, "DictNode", "builtins", "dict")
    keys, values = state["key_types"], state["content"]
    _expect(keys, "ListNode", "builtins", "list")
    if len(keys["content"]) != len(values):
        raise UntrustedClassifierFile(f"{len(values)} attributes, "
                                      f"{len(keys['content'])} key types")
    for key_type in keys["content"]:
        _expect(key_type, "TypeNode", "builtins", "str")
    attributes: dict[str, Any] = {}
    for name, node in values.items():
        if node.get("__loader__") == "JsonNode":
            value = json.loads(node["content"])
            if not isinstance(value, JSON_SCALARS):
                raise UntrustedClassifierFile(f"{name} is a {type(value).__name__}")
            attributes[name] = value
        elif node.get("__loader__") == "NdArrayNode" and node.get("type") == "numpy":
            _expect(node, "NdArrayNode", "numpy", "ndarray")
            attributes[name] = np.load(io.BytesIO(archive.read(node["file"])), allow_pickle=False)
        else:
            raise UntrustedClassifierFile(f"{name} is a {node.get('__loader__')} "
                                          f"of {node.get('__module__')}.{node.get('__class__')}")
    return attributes


def _expect(node: Any, loader: str, module: str, name: str) -> None:
    found = (node.get("__loader__"), node.get("__module__"), node.get("__class__")) \
        if isinstance(node, dict) else type(node).__name__
    if found != (loader, module, name):
        raise UntrustedClassifierFile(f"expected a {loader} of {module}.{name}, found {found}")


class LogisticRegressionFileClassifier(LogisticRegressionClassifier):
    """Rasa's classifier, its file read by ``read_logistic_regression`` (see the module)."""

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: Any, resource: Any, execution_context: Any,
             **kwargs: Any) -> LogisticRegressionClassifier:
        try:
            with model_storage.read_from(resource) as model_dir:
                estimator = read_logistic_regression(model_dir / f"{resource.name}.skops")
        except UntrustedClassifierFile as refused:
            logger.warning("Intent classifier read with skops.io: %s", refused)
            return super().load(config, model_storage, resource, execution_context, **kwargs)
        except ValueError:  # no stored resource: Rasa's own load returns an untrained classifier
            return super().load(config, model_storage, resource, execution_context, **kwargs)
        component = cls(config, execution_context.node_name, model_storage, resource)
        component.clf = estimator
        return component
