"""Custom actions for ``test_turn_cost``: one answers as the action server should, one does not."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class ActionWellFormed(Action):
    def name(self) -> str:
        return "action_test_well_formed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(text="Hồ sơ gồm tờ khai.")
        return [{"event": "slot", "name": "procedure", "value": "khai_sinh"}]


class ActionMalformed(Action):
    def name(self) -> str:
        return "action_test_malformed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(text="Hồ sơ gồm tờ khai.")
        return [{"event": "slot", "name": 7, "value": "khai_sinh"}]  # a slot's name must be text
