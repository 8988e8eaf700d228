"""Intent re-ranking from the procedure entity: a message naming one of our procedures is in scope.

Citizens wrap their question in their story ("nhà bác nghèo lắm, giờ làm sổ đỏ phải nộp những
khoản tiền gì"); the story words pull a bag-of-words classifier towards ``out_of_scope``. When
the entity extractor found a procedure of the catalogue, ``out_of_scope`` is dropped from the
ranking and the other confidences are renormalised, so the fallback threshold still applies to
what is left. Procedures outside the catalogue (a driving licence) are not entities and are
unaffected.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

INTENT_RANKING = "intent_ranking"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ProcedureScopeRanker(GraphComponent):
    """Removes the out-of-scope intent from the ranking of messages that name a procedure."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"entity": "procedure", "out_of_scope_intent": "out_of_scope"}

    def __init__(self, config: dict[str, Any]) -> None:
        self._entity = config["entity"]
        self._out_of_scope = config["out_of_scope_intent"]

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> ProcedureScopeRanker:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) != self._out_of_scope:
                continue
            if not any(e.get("entity") == self._entity for e in message.get(ENTITIES) or []):
                continue
            ranking = [r for r in message.get(INTENT_RANKING) or []
                       if r.get(INTENT_NAME_KEY) != self._out_of_scope]
            total = sum(r[PREDICTED_CONFIDENCE_KEY] for r in ranking)
            if not ranking or total <= 0:
                continue
            ranking = [{**r, PREDICTED_CONFIDENCE_KEY: r[PREDICTED_CONFIDENCE_KEY] / total}
                       for r in ranking]
            message.set(INTENT_RANKING, ranking, add_to_output=True)
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
        return messages
