"""Training our pipeline without importing TensorFlow.

``config.yml`` has no TensorFlow component, yet a training imported TensorFlow (about 3 s of CPU,
and ``skops.io`` scanning its modules, docs/benchmarks.md "Training, session 8") through two
modules of Rasa 3.6.21's recipe:

- ``DefaultV1Recipe._from_registry`` imports ``rasa.engine.recipes.default_components`` to find
  a component by name, and that module imports every built-in component, DIET, TED and the
  response selector included. ``RASA_COMPONENTS`` names the built-in components whose modules do
  not import TensorFlow; a name found there is resolved from its own module, any other name by
  Rasa's own lookup (which then imports them all, TensorFlow with them).
- The recipe validator (``rasa.graph_components.validators.default_recipe_validator``, a node of
  every training graph) imports ``DIETClassifier``, ``ResponseSelector`` and ``TEDPolicy`` only to
  check whether the graph uses them. When the pipeline names only components of
  ``RASA_COMPONENTS`` and our own, none of the three can be in the graph, so the validator is
  imported against stand-in classes of the same names, and forgotten after the training: the
  next import of it, for a pipeline that does use them, gets Rasa's classes.

Nothing changes when TensorFlow is already imported (the test session, ``bot evaluate --stock``)
or when Rasa's TensorFlow-only helper module was imported before ``bot.serving.lean`` deferred it.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

# Built-in components whose modules import no TensorFlow (tests/build/test_tensorflow_free.py).
RASA_COMPONENTS = {
    "CountVectorsFeaturizer": "rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer",
    "RegexFeaturizer": "rasa.nlu.featurizers.sparse_featurizer.regex_featurizer",
    "LogisticRegressionClassifier": "rasa.nlu.classifiers.logistic_regression_classifier",
    "KeywordIntentClassifier": "rasa.nlu.classifiers.keyword_intent_classifier",
    "FallbackClassifier": "rasa.nlu.classifiers.fallback_classifier",
    "EntitySynonymMapper": "rasa.nlu.extractors.entity_synonyms",
    "RegexEntityExtractor": "rasa.nlu.extractors.regex_entity_extractor",
    "WhitespaceTokenizer": "rasa.nlu.tokenizers.whitespace_tokenizer",
    "RulePolicy": "rasa.core.policies.rule_policy",
    "MemoizationPolicy": "rasa.core.policies.memoization",
    "AugmentedMemoizationPolicy": "rasa.core.policies.memoization",
}
# The TensorFlow components the recipe validator imports, by module.
VALIDATOR = "rasa.graph_components.validators.default_recipe_validator"
VALIDATOR_IMPORTS = {
    "rasa.nlu.classifiers.diet_classifier": "DIETClassifier",
    "rasa.nlu.selectors.response_selector": "ResponseSelector",
    "rasa.core.policies.ted_policy": "TEDPolicy",
}


def component_names(config: Path) -> list[str]:
    """The names of the pipeline's components and of the policies in ``config``."""
    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    return [str(item.get("name")) for key in ("pipeline", "policies")
            for item in data.get(key) or [] if isinstance(item, dict)]


def uses_only_tensorflow_free(names: list[str]) -> bool:
    """Whether each name is one of ``RASA_COMPONENTS`` or a module path (our components)."""
    return bool(names) and all(name in RASA_COMPONENTS or "." in name for name in names)


def _lookup(original: Any) -> Any:
    """``DefaultV1Recipe._from_registry`` that tries ``RASA_COMPONENTS`` before Rasa's lookup."""

    def from_registry(cls: Any, name: str) -> Any:
        if name not in cls._registered_components:
            if name in RASA_COMPONENTS:
                importlib.import_module(RASA_COMPONENTS[name])  # registers the component
            elif "." in name:
                module, _, _ = name.rpartition(".")
                importlib.import_module(module)
        registered = cls._registered_components.get(name)
        if registered is None and "." in name:
            registered = cls._registered_components.get(name.rpartition(".")[2])
        return registered if registered is not None else original.__func__(cls, name)

    return classmethod(from_registry)


def _import_validator_with_stand_ins() -> None:
    """Imports the recipe validator with stand-in classes for its TensorFlow imports."""
    for module_name, class_name in VALIDATOR_IMPORTS.items():
        stand_in = ModuleType(module_name)
        setattr(stand_in, class_name, type(class_name, (), {
            "__doc__": "Stands in for Rasa's TensorFlow component in the recipe validator.",
            "__module__": module_name}))
        sys.modules[module_name] = stand_in
    try:
        importlib.import_module(VALIDATOR)
    finally:
        for module_name in VALIDATOR_IMPORTS:
            sys.modules.pop(module_name, None)


def _forget_validator() -> None:
    """Drops the validator imported against stand-ins: the next import gets Rasa's classes."""
    sys.modules.pop(VALIDATOR, None)
    package_name, _, child = VALIDATOR.rpartition(".")
    package = sys.modules.get(package_name)
    if package is not None and child in vars(package):
        delattr(package, child)


@contextlib.contextmanager
def without_tensorflow(config: Path) -> Iterator[bool]:
    """Within, a training of ``config`` imports no TensorFlow when its pipeline allows it;
    yields whether it does (see the module's docstring)."""
    if ("tensorflow" in sys.modules or VALIDATOR in sys.modules
            or any(name in sys.modules for name in VALIDATOR_IMPORTS)
            or not uses_only_tensorflow_free(component_names(config))):
        yield False
        return
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe

    original = DefaultV1Recipe.__dict__["_from_registry"]
    DefaultV1Recipe._from_registry = _lookup(original)
    try:
        _import_validator_with_stand_ins()
        yield True
    finally:
        DefaultV1Recipe._from_registry = original
        _forget_validator()
