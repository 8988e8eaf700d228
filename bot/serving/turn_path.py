"""Rasa's per-turn machinery without its overhead: what a turn runs is unchanged, not how often
Rasa rebuilds what it needs to run it (``docs/benchmarks.md``, "Turn cost, session 8").

- ``SequentialGraphRunner``: Rasa 3.6 runs its model graph three times a turn (the NLU parse and
  two policy predictions) through ``dask.get``, which rebuilds the graph, orders its tasks and
  walks dask's scheduler state at every call. The same nodes called in a topological order
  computed once per set of targets give the same outputs: each node is a pure function of its
  parents' outputs, and dask runs them one after another in this process too (``get_sync``).
- ``sentence_features_only``: the intent classifier's input built without the sequence features
  it throws away.
- ``fast_event_types``: ``Event.resolve_by_type`` walks every subclass of ``Event``, checking
  each for abstractness, for every event it reads: about 30 events to rebuild a tracker from the
  database at every turn. The classes do not change once imported; a table by type name, kept
  until a name is not found in it, resolves the same class (the first in Rasa's order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# GraphNode.__call__ takes each parent's output as (node name, output), or the bare name of a
# parent that produced nothing (rasa/engine/graph.py, Rasa 3.6.21)
NodeOutput = Any


def sequential_runner(runner: Any) -> Any:
    """A ``SequentialGraphRunner`` on the nodes ``runner`` (Rasa's ``DaskGraphRunner``) loaded."""
    from rasa.engine.runner.dask import DaskGraphRunner

    class SequentialGraphRunner(DaskGraphRunner):
        """``DaskGraphRunner.run`` without dask: the same nodes, in an order computed once per
        set of targets; inputs and outputs exactly as dask passes them."""

        def __init__(self, loaded: DaskGraphRunner) -> None:  # noqa: D107 - the loaded runner's nodes
            self._graph_schema = loaded._graph_schema
            self._instantiated_nodes = loaded._instantiated_nodes
            self._execution_context = loaded._execution_context
            self._orders: dict[tuple[str, ...], list[tuple[str, Any, tuple[str, ...]]]] = {}

        def _order(self, targets: tuple[str, ...]) -> list[tuple[str, Any, tuple[str, ...]]]:
            order = self._orders.get(targets)
            if order is None:
                schema = self._graph_schema.minimal_graph_schema(list(targets))
                order, seen = [], set()

                def visit(name: str) -> None:
                    if name in seen or name not in schema.nodes:
                        return
                    seen.add(name)
                    needs = tuple(schema.nodes[name].needs.values())
                    for need in needs:
                        visit(need)
                    order.append((name, self._instantiated_nodes[name], needs))

                for target in targets:
                    visit(target)
                self._orders[targets] = order
            return order

        def run(self, inputs: dict[str, Any] | None = None,
                targets: Sequence[str] | None = None) -> dict[str, Any]:
            from rasa.engine.exceptions import GraphRunError

            run_targets = tuple(targets if targets else self._graph_schema.target_names)
            order = self._order(run_targets)
            values: dict[str, NodeOutput] = {}
            nodes = {name for name, _, _ in order}
            for name, value in (inputs or {}).items():
                if isinstance(value, str) and (value in nodes or value in values):
                    raise GraphRunError(
                        f"Input value '{value}' clashes with a node name. Make sure that none of the "
                        f"input names passed to the `run` method are the same as node names in the "
                        f"graph schema.")
                values[name] = (name, value)
            try:
                for name, node, needs in order:
                    values[name] = node(*(values.get(need, need) for need in needs))
            except RuntimeError as e:
                raise GraphRunError("Error running runner.") from e
            return dict(values.get(target, target) for target in run_targets)

    return SequentialGraphRunner(runner)


def run_graph_sequentially(agent: Any) -> bool:
    """Puts a ``SequentialGraphRunner`` in place of the agent's dask runner; whether it did."""
    from rasa.engine.runner.dask import DaskGraphRunner

    processor = getattr(agent, "processor", None)
    runner = getattr(processor, "graph_runner", None)
    if type(runner) is not DaskGraphRunner:
        return False
    processor.graph_runner = sequential_runner(runner)
    return True


def fast_event_types() -> None:
    """Makes ``Event.resolve_by_type`` read a table by type name (the first class of each name in
    Rasa's order); a name not in the table goes through Rasa's own walk, after which the table is
    built again (a class imported since)."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    if getattr(Event.resolve_by_type, "_table", None) is not None:
        return
    rasas = Event.resolve_by_type
    table: dict[str, type] = {}

    def build() -> None:
        table.clear()
        for cls in all_subclasses(Event):
            table.setdefault(cls.type_name, cls)

    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        found = table.get(type_name)
        if found is not None:
            return found
        build()
        found = table.get(type_name)
        return found if found is not None else rasas(type_name, default)

    resolve_by_type._table = table  # type: ignore[attr-defined]
    build()
    Event.resolve_by_type = staticmethod(resolve_by_type)


def sentence_features_only() -> None:
    """Makes ``LogisticRegressionClassifier._create_X`` combine only the sentence features it
    uses: Rasa's (3.6.21) asks the message for its sequence and sentence features, each combined
    over the featurizers (a deep copy and a sparse ``hstack`` per featurizer), then drops the
    sequence ones. The sentence features are combined exactly as ``Message.get_sparse_features``
    combines them, so the classifier sees the same matrix."""
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message
    from scipy.sparse import csr_matrix, hstack, vstack

    if getattr(LogisticRegressionClassifier._create_X, "_sentence_only", False):
        return

    def _create_X(self: Any, messages: list[Any]) -> Any:  # noqa: N802 - Rasa's name
        rows = []
        for message in messages:
            sentence = message._filter_sparse_features(TEXT, [])[1]
            sparse_feats = Message._combine_features(sentence, [])
            dense_feats = message.get_dense_features(attribute=TEXT)[1]
            rows.append(hstack([csr_matrix(sparse_feats.features if sparse_feats else []),
                                csr_matrix(dense_feats.features if dense_feats else [])]))
        return vstack(rows)

    _create_X._sentence_only = True  # type: ignore[attr-defined]
    _create_X._rasas = LogisticRegressionClassifier._create_X  # type: ignore[attr-defined]
    LogisticRegressionClassifier._create_X = _create_X
