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

``skops.io`` (Rasa's reader and writer of the logistic regression) walks ``sys.modules`` with
``getattr`` when it is imported, looking for each NumPy and SciPy ufunc's name (imported after
TensorFlow it also took seconds more, scanning TensorFlow's modules: docs/nlu.md, "runtime notes").
A stand-in answers such a look-up without importing its module when the module's source does not
bind the name, so the order of imports does not matter. Serving does not import ``skops.io`` at
all: ``predict_graph_only`` also has the classifier's file read by ``bot.serving.classifier_file``
(about 3 s of the start, docs/benchmarks.md, "Cold start, session 8").

``rasa.core.test`` (imported at the top of the RulePolicy's module, used only when a form's
unhappy path is emulated) imports matplotlib, and ``rasa.core.jobs`` (the scheduler of Rasa's own
reminders, which we do not use: ``bot/serving/reminders.py``) imports APScheduler; both are
deferred the same way.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.util
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from bot.contract.rasa_channels import use_channel_interface_only

# Modules imported by Rasa's serving path that import TensorFlow at their top, used only by
# components our pipeline does not have.
DEFERRED_MODULES = ("rasa.utils.train_utils", "rasa.core.test", "rasa.core.jobs")
# Module -> the module it must be imported before. skops.io (which writes the classifier when a
# model is trained) scans every loaded module at import: 1.8-2.0 s of CPU before TensorFlow is
# loaded, 5.3-6.1 s after. Serving imports neither.
IMPORT_FIRST = {"skops.io": "tensorflow"}
# The classifier Rasa's training stores, and ours that reads its file without skops.io.
RASA_CLASSIFIER = "rasa.nlu.classifiers.logistic_regression_classifier.LogisticRegressionClassifier"
FILE_CLASSIFIER = "bot.serving.classifier_file.LogisticRegressionFileClassifier"

_loading_model = threading.Lock()  # one model's metadata read at a time while it is patched


class DeferredModule(ModuleType):
    """Stands in ``sys.modules`` for a module not imported yet; the first attribute read from it
    imports the real module, puts it in its place, and answers from it."""

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") and attribute != "__all__":  # probes (__path__...), no use
            raise AttributeError(attribute)
        if "_names" not in self.__dict__:
            self._names = bound_names(self.__spec__)
        if self._names is not None and attribute not in self._names:  # a scan, e.g. skops.io's
            raise AttributeError(attribute)
        if sys.modules.get(self.__name__) is self:
            sys.modules.pop(self.__name__, None)
        return getattr(importlib.import_module(self.__name__), attribute)


def bound_names(spec: Any) -> frozenset[str] | None:
    """Every name the module's source binds anywhere (more than its globals: a look-up of a name
    it might define imports it); None when that cannot be known (``import *``, a module-level
    ``__getattr__``, ``globals()``, no source)."""
    try:
        tree = ast.parse(spec.loader.get_source(spec.name) or "")
    except (AttributeError, ImportError, OSError, SyntaxError, TypeError):
        return None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.partition(".")[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    if names & {"*", "__getattr__", "globals", "setattr", "vars", "__dict__"}:
        return None
    return frozenset(names)


class ImportFirst(importlib.abc.MetaPathFinder):
    """Imports module ``name`` just before module ``before`` is first imported, whichever path
    imports it; then leaves ``sys.meta_path``. It finds nothing itself."""

    def __init__(self, name: str, before: str) -> None:
        self.name, self.before = name, before

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == self.before:
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            importlib.import_module(self.name)


def defer_tensorflow() -> None:
    """Puts a ``DeferredModule`` in place of each of ``DEFERRED_MODULES`` not imported yet, and
    Rasa's channel package without its built-in channels (``bot.contract.rasa_channels``); has
    each module of ``IMPORT_FIRST`` imported before its pair (training). Idempotent; does nothing
    to a module already imported."""
    use_channel_interface_only()
    for first, before in IMPORT_FIRST.items():
        if first not in sys.modules and before not in sys.modules and not any(
                isinstance(finder, ImportFirst) and finder.name == first for finder in sys.meta_path):
            sys.meta_path.insert(0, ImportFirst(first, before))
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
    """Within the block, a model's metadata is read with an empty training graph and with the
    classifier read by ``bot.serving.classifier_file`` (see the module's docstring); the rest of the
    prediction graph, the domain and the rest as stored."""
    from rasa.engine.graph import GraphSchema
    from rasa.engine.storage.storage import ModelMetadata

    original = ModelMetadata.__dict__["from_dict"]

    def from_dict(cls: type, serialized: dict[str, Any]) -> Any:
        nodes = serialized["predict_schema"]["nodes"]
        predict = {"nodes": {name: {**node, "uses": FILE_CLASSIFIER} if node.get("uses") == RASA_CLASSIFIER
                             else node for name, node in nodes.items()}}
        metadata = original.__func__(cls, {**serialized, "train_schema": {"nodes": {}},
                                           "predict_schema": predict})
        metadata.train_schema = GraphSchema({})
        return metadata

    with _loading_model:
        ModelMetadata.from_dict = classmethod(from_dict)  # type: ignore[method-assign, assignment]
        try:
            yield
        finally:
            ModelMetadata.from_dict = original  # type: ignore[method-assign]
