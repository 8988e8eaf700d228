"""Training our pipeline imports no TensorFlow (bot/build/tensorflow_free.py): about 3 s of CPU
and skops' scan of TensorFlow's modules off every ``bot train``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.build.tensorflow_free import uses_only_tensorflow_free
from tests.paths import REPO

# In a child: Rasa's TensorFlow-only helper deferred as `bot train` does, then the training graph
# of config.yml built by Rasa's recipe inside `without_tensorflow`.
CHILD = """
import json, sys
from pathlib import Path
from bot.serving.lean import defer_tensorflow
defer_tensorflow()
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.data import TrainingType
from bot.build.tensorflow_free import RASA_COMPONENTS, VALIDATOR, component_names, without_tensorflow
config = Path("config.yml")
with without_tensorflow(config) as lean:
    import rasa.shared.utils.io
    graph = DefaultV1Recipe().graph_config_for_recipe(
        rasa.shared.utils.io.read_model_configuration(config), {}, TrainingType.BOTH)
    uses = sorted({node.uses.__name__ for node in graph.train_schema.nodes.values()})
    during = "tensorflow" in sys.modules
print(json.dumps({"lean": lean, "tensorflow": during or "tensorflow" in sys.modules,
                  "uses": uses, "validator_kept": VALIDATOR in sys.modules}))
"""


def test_the_training_graph_of_our_pipeline_is_built_without_tensorflow():
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", CHILD], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=300, check=True)
    state = json.loads(done.stdout.splitlines()[-1])
    assert state["lean"] is True
    assert state["tensorflow"] is False
    # every component of config.yml is in the graph, with Rasa's validator
    for name in ("VietnameseTokenizer", "SentenceCountsFeaturizer", "LogisticRegressionClassifier",
                 "RulePolicy", "DefaultV1RecipeValidator"):
        assert name in state["uses"]
    # imported against stand-ins, the validator is forgotten: a DIET pipeline gets Rasa's own
    assert state["validator_kept"] is False


@pytest.mark.parametrize(("names", "lean"), [
    (["bot.nlu.tokenizer.VietnameseTokenizer", "CountVectorsFeaturizer", "RulePolicy"], True),
    (["WhitespaceTokenizer", "DIETClassifier", "RulePolicy"], False),
    (["WhitespaceTokenizer", "TEDPolicy"], False),
    (["ResponseSelector"], False),
    ([], False),
])
def test_only_a_pipeline_without_tensorflow_components_is_trained_without_it(names, lean):
    assert uses_only_tensorflow_free(names) is lean
