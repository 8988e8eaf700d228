"""Rasa's turn without its per-call rebuilding gives what Rasa's own machinery gives: the graph's
outputs node for node, and every event name read back as the same class."""

from __future__ import annotations

from typing import Any

import pytest


def _graph(tmp_path):
    """A small graph shaped like the predict graph: two inputs, a chain, a fork joining again,
    and a node the targets do not need."""
    from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    class Step(GraphComponent):
        calls: list[str] = []

        def __init__(self, config: dict[str, Any], name: str) -> None:
            self.config, self.name = config, name

        @classmethod
        def create(cls, config, model_storage, resource, execution_context) -> Step:
            return cls(config, execution_context.node_name)

        def run(self, first: Any, second: Any = None) -> Any:
            Step.calls.append(self.name)
            return [self.config["tag"], first, second]

    def node(tag: str, **needs: str) -> SchemaNode:
        return SchemaNode(needs=needs, uses=Step, constructor_name="create", fn="run",
                          config={"tag": tag}, eager=True)

    schema = GraphSchema({
        "tokens": node("t", first="__message__"),
        "words": node("w", first="tokens"),
        "letters": node("l", first="tokens", second="__tracker__"),
        "classify": node("c", first="words", second="letters"),
        "unused": node("u", first="__message__"),
        "policy": node("p", first="__tracker__", second="classify"),
    })
    runner = DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "m"))
    return runner, Step


@pytest.mark.parametrize("targets", [["classify"], ["policy"], ["classify", "policy"], ["words"]])
def test_the_sequential_runner_gives_what_dask_gives(tmp_path, targets):
    from bot.serving.turn_path import sequential_runner

    dask, step = _graph(tmp_path)
    ours = sequential_runner(dask)
    inputs = {"__message__": ["khai sinh can gi"], "__tracker__": ("tracker", 7)}
    step.calls.clear()
    expected = dask.run(inputs=inputs, targets=targets)
    rasas_calls = sorted(step.calls)
    step.calls.clear()
    for _ in range(2):  # the second run takes the order computed by the first
        assert ours.run(inputs=inputs, targets=targets) == expected
    assert sorted(step.calls) == sorted(rasas_calls * 2)  # the same nodes, each once per run
    assert "unused" not in step.calls


def test_the_sequential_runner_refuses_an_input_named_like_a_node(tmp_path):
    from rasa.engine.exceptions import GraphRunError

    from bot.serving.turn_path import sequential_runner

    dask, _ = _graph(tmp_path)
    for runner in (dask, sequential_runner(dask)):
        with pytest.raises(GraphRunError):
            runner.run(inputs={"__message__": "tokens", "__tracker__": None}, targets=["words"])


def test_every_event_name_resolves_to_rasas_class():
    from rasa.shared.core import events
    from rasa.shared.utils.common import all_subclasses

    from bot.serving.turn_path import fast_event_types

    names = {cls.type_name for cls in all_subclasses(events.Event)}
    rasas = {name: events.Event.resolve_by_type(name) for name in names}
    fast_event_types()
    assert {name: events.Event.resolve_by_type(name) for name in names} == rasas
    assert events.Event.resolve_by_type("no such event", events.UserUttered) is events.UserUttered
    assert events.Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name"):
        events.Event.resolve_by_type("no such event")
    event = events.Event.from_parameters({"event": "slot", "name": "procedure", "value": "khai_sinh"})
    assert event == events.SlotSet("procedure", "khai_sinh")


def test_the_classifier_gets_the_same_matrix_from_the_sentence_features_alone():
    import numpy as np
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message
    from scipy.sparse import coo_matrix

    from bot.serving.turn_path import sentence_features_only

    def message(seed: int) -> Message:
        rng = np.random.default_rng(seed)
        features = []
        for origin, width in (("words", 7), ("letters", 11), ("focus", 5)):
            for kind, rows in (("sequence", 4), ("sentence", 1)):
                dense = rng.integers(0, 3, (rows, width)) * (rng.random((rows, width)) < 0.4)
                features.append(Features(coo_matrix(dense.astype(float)), kind, TEXT, origin))
        return Message(data={TEXT: "khai sinh can gi"}, features=features)

    sentence_features_only()
    ours = LogisticRegressionClassifier._create_X
    rasas = ours._rasas
    messages = [message(seed) for seed in range(3)]
    expected, got = rasas(None, messages), ours(None, messages)
    assert got.shape == expected.shape == (3, 23)
    assert got.format == expected.format and got.dtype == expected.dtype
    assert (got != expected).nnz == 0
    assert got.nnz > 0
