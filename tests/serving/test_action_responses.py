"""Rasa checks every custom action's response against its schema; ours run in process and are
checked with validators built once (``bot.serving.engine.ResponseValidator``): the same verdicts,
and a malformed answer is still refused."""

from __future__ import annotations

import asyncio

import jsonschema
import pytest

from bot.serving.engine import InProcessActionEndpoint, ResponseValidator

SLOT = {"event": "slot", "name": "procedure", "value": "khai_sinh"}
VALID, MALFORMED = True, False
RESPONSES = [  # (case, response, what Rasa's own check says)
    ("slots and a reply", {"events": [SLOT, {**SLOT, "value": None, "timestamp": None}],
                           "responses": [{"text": "Hồ sơ gồm tờ khai."}]}, VALID),
    ("no events", {"events": [], "responses": []}, VALID),
    ("nothing at all", {}, VALID),
    ("bot, followup and active loop", {"events": [{"event": "bot", "text": "x"},
                                                  {"event": "followup", "name": "action_listen"},
                                                  {"event": "active_loop", "name": None}]}, VALID),
    ("a slot named by a number", {"events": [{**SLOT, "name": 7}]}, MALFORMED),
    ("a slot without a value", {"events": [{"event": "slot", "name": "procedure"}]}, MALFORMED),
    ("an unknown event", {"events": [{"event": "slot_set", "name": "procedure", "value": 1}]}, MALFORMED),
    ("an event without its name", {"events": [{"name": "procedure", "value": 1}]}, MALFORMED),
    ("an event that is text", {"events": ["slot"]}, MALFORMED),
    ("events that are no list", {"events": SLOT}, MALFORMED),
    ("responses that are no list", {"events": [], "responses": {"text": "x"}}, MALFORMED),
    ("a bad timestamp", {"events": [{**SLOT, "timestamp": "yesterday"}]}, MALFORMED),
    ("entities without a value", {"events": [{"event": "entities", "entities": [{"entity": "x"}]}]},
     MALFORMED),
    ("a response that is no object", ["events"], MALFORMED),
]


def _rasa_accepts(response: object) -> bool:
    from rasa.core.actions.action import RemoteAction

    try:
        jsonschema.validate(response, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError:
        return False
    return True


@pytest.mark.parametrize(("response", "valid"), [r[1:] for r in RESPONSES], ids=[r[0] for r in RESPONSES])
def test_the_prebuilt_validator_accepts_exactly_what_rasa_accepts(response, valid):
    assert _rasa_accepts(response) is valid
    if valid:
        ResponseValidator().validate(response)
    else:
        with pytest.raises(jsonschema.ValidationError):
            ResponseValidator().validate(response)


def _run(action_name: str) -> list:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    endpoint = InProcessActionEndpoint(module="tests.serving.malformed_actions")
    action = RemoteAction(action_name, endpoint)
    return asyncio.run(action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}),
                                  DialogueStateTracker("84912345678", []), Domain.empty()))


def test_an_in_process_action_with_a_malformed_answer_is_refused():
    from rasa.shared.core.events import BotUttered, SlotSet

    events = _run("action_test_well_formed")
    assert [type(e) for e in events] == [BotUttered, SlotSet]
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        _run("action_test_malformed")
