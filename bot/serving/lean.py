"""Rasa for answering without TensorFlow: our pipeline (``config.yml``: a logistic regression and
the RulePolicy) never calls it, yet importing it cost about 360 MB and a sixth of the cold start
(``docs/benchmarks.md``, "Cold start and memory").

Two paths imported it in Rasa 3.6.21:

- ``rasa.core.agent`` → ... → ``rasa.nlu.extractors.extractor``, whose module does ``import
  rasa.utils.train_utils``, which imports ``tensorflow`` at its top although the extractor uses it
  only in functions our pipeline never calls. ``defer_tensorflow`` puts a stand-in module for
  ``rasa.utils.train_utils`` into ``sys.modules``: the first attribute read from it imports the
  real module (and TensorFlow) then, so DIET, TED or a training still get it when they need it.
- ``Agent.load`` reads the model's metadata, which holds the *training* graph as well as the
  prediction graph, and imports the class of every node of both; among the training nodes
  ``DefaultV1RecipeValidator``, whose module imports ``DIETClassifier``. ``predict_graph_only``
  leaves the training graph unread while a model is loaded to answer: it is used only to train or
  fine-tune (``rasa.engine.training.graph_trainer``), never by an agent.

``skops.io`` (which loads the logistic regression) walks ``sys.modules`` with ``getattr`` when it is
imported, which would resolve the stand-in: it is imported first. Imported after TensorFlow it
also took seconds more, scanning TensorFlow's modules (docs/nlu.md, "runtime notes").
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

# Modules imported by Rasa's serving path that import TensorFlow at their top, used only by
# components our pipeline does not have.
DEFERRED_MODULES = ("rasa.utils.train_utils",)

_loading_model = threading.Lock()  # one model's metadata read at a time while it is patched


class DeferredModule(ModuleType):
    """Stands in ``sys.modules`` for a module not imported yet; the first attribute read from it
    imports the real module, puts it in its place, and answers from it."""

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") and attribute != "__all__":  # probes (__path__...), no use
            raise AttributeError(attribute)
        if sys.modules.get(self.__name__) is self:
            sys.modules.pop(self.__name__, None)
        return getattr(importlib.import_module(self.__name__), attribute)


def defer_tensorflow() -> None:
    """Imports ``skops.io``, then puts a ``DeferredModule`` in place of each of
    ``DEFERRED_MODULES`` not imported yet. Idempotent; does nothing to a module already imported."""
    import skops.io  # noqa: F401  - before the stand-ins: it reads every module at import

    for name in DEFERRED_MODULES:
        if name in sys.modules:
            continue
        parent_name, _, child = name.rpartition(".")
        parent = importlib.import_module(parent_name)
        stand_in = DeferredModule(name)
        spec = importlib.util.find_spec(name)
        stand_in.__spec__, stand_in.__file__, stand_in.__loader__ = spec, spec.origin, spec.loader
        stand_in.__package__ = parent_name
        sys.modules[name] = stand_in
        setattr(parent, child, stand_in)


@contextmanager
def predict_graph_only() -> Iterator[None]:
    """Within the block, a model's metadata is read with an empty training graph (see the module's
    docstring); the prediction graph, the domain and the rest as stored."""
    from rasa.engine.graph import GraphSchema
    from rasa.engine.storage.storage import ModelMetadata

    original = ModelMetadata.__dict__["from_dict"]

    def from_dict(cls: type, serialized: dict[str, Any]) -> Any:
        metadata = original.__func__(cls, {**serialized, "train_schema": {"nodes": {}}})
        metadata.train_schema = GraphSchema({})
        return metadata

    with _loading_model:
        ModelMetadata.from_dict = classmethod(from_dict)  # type: ignore[method-assign, assignment]
        try:
            yield
        finally:
            ModelMetadata.from_dict = original  # type: ignore[method-assign]
