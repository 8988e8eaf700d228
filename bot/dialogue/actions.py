"""Custom actions: read the tracker, ask :mod:`bot.dialogue.answers` for the reply, set slots.

They run in the Rasa process through :mod:`bot.serving.engine`'s in-process endpoint; a separate
``rasa run actions`` server can load this module unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.catalogue import Catalogue, Procedure, load_catalogue
from bot.contract.reply import Reply
from bot.dialogue import reminding
from bot.dialogue.answers import (
    ASPECT_INTENTS,
    CASE_ENTITY,
    CASE_SEPARATOR,
    CHOOSE_WARD_INTENT,
    FAQ_ASPECT_MATCH,
    GROUP_ENTITY,
    INTENT_OF_ASPECT,
    OTHER_ENTITY,
    TOLD_ENTITY,
    WARD_CODE_ENTITY,
    Answers,
)
from bot.dialogue.directions import Directions, unit_from_slot, unit_slot
from bot.dialogue.phrases import load_phrases
from bot.project import Project
from bot.text import search_key

_PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?$")
GUIDE_CANCELLED = "cancel"
GUIDE_DONE = "done"
GUIDE_LEAVE_CONFIDENCE = 0.5  # an answer that matches no option leaves the guide only if clearly meant


_loaded: dict[str, Any] = {}
# The replies of the engine answering the current turn: set by ``using`` around each turn, so two
# engines in one process (the running one and a candidate being checked before a reload) never
# answer from each other's catalogue.
_current: ContextVar[dict[str, Any] | None] = ContextVar("bot_dialogue_loaded", default=None)


def load(project: Project) -> dict[str, Any]:
    """The catalogue, the phrases and the address book for ``project``, ready to answer (the
    address book takes about a second the first time; see docs/address.md)."""
    from bot.address import AddressBook

    catalogue, faq_index = checked_catalogue(project)
    AddressBook.keep_in(project.cache)
    book = Answers(catalogue, load_phrases(project.phrases), faq_index)
    return {"answers": book, "directions": Directions(AddressBook.shared(), book.catalogue, book.phrases)}


def checked_catalogue(project: Project) -> tuple[Catalogue, list[Any]]:
    """The published catalogue and its FAQ index, read and checked once per day and catalogue:
    kept in ``project.cache`` under a fingerprint of the procedure files, our code and the day
    (``bot.cache``), since reading and checking them took a quarter of the start. Invalid files
    are never kept: they raise ``CatalogueInvalid`` at every start, as ``bot validate`` does."""
    import datetime as dt

    from bot.cache import cached, fingerprint

    files = [p for p in project.procedures.glob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
    key = fingerprint(files, libraries=("PyYAML", "underthesea"),
                      extra=(str(project.procedures), dt.date.today().isoformat()))  # paths in errors

    def build() -> tuple[Catalogue, list[Any]]:
        catalogue = load_catalogue(project.procedures)
        return catalogue, Answers.faq_index(catalogue)

    return cached(project.cache, "catalogue", key, build)


def install(project: Project, loaded: dict[str, Any] | None = None) -> dict[str, Any]:
    """Makes ``loaded`` (by default, ``project`` loaded now) what actions answer from when no
    engine set its own with ``using``; loads before the first citizen waits for it."""
    loaded = load(project) if loaded is None else loaded
    _loaded.clear()
    _loaded.update(loaded)
    return loaded


@contextmanager
def using(loaded: dict[str, Any] | None) -> Iterator[None]:
    """Actions run inside this block answer from ``loaded`` (one engine's catalogue)."""
    token = _current.set(loaded)
    try:
        yield
    finally:
        _current.reset(token)


def _part(name: str) -> Any:
    current = _current.get()
    if current is not None:
        return current[name]
    if name not in _loaded:  # a separate ``rasa run actions`` server installs on first use
        install(Project.locate())
    return _loaded[name]


def answers() -> Answers:
    """The replies of the engine answering this turn, else the installed ones."""
    return _part("answers")


def directions() -> Directions:
    return _part("directions")


ADDRESS_INTENTS = ("inform_address", "ask_new_unit", "ask_unit_sources", CHOOSE_WARD_INTENT)


RATE_KEY = "rate"  # the custom message saying an answer may be rated (read by bot.serving.engine)


def say(dispatcher: CollectingDispatcher, reply: Reply) -> list[EventType]:
    """Sends ``reply``; remembers its options so a typed digit can pick one (SMS has no buttons).
    An answer the citizen may rate is followed by a custom message naming what it answered."""
    dispatcher.utter_message(
        text=reply.text, buttons=[{"title": b.title, "payload": b.payload} for b in reply.buttons])
    if reply.rate is not None:
        dispatcher.utter_message(json_message={RATE_KEY: {
            "procedure": reply.rate.procedure, "aspect": reply.rate.aspect}})
    return [SlotSet("options", [b.payload for b in reply.buttons])] if reply.buttons else []


def _mentions(tracker: Tracker) -> tuple[set[str], set[str], str | None]:
    """Procedures the latest message names, those its story leads to (see bot.nlu.entities), and
    the procedure we do not cover that it names, if any."""
    named, told, other = set(), set(), None
    for entity in tracker.latest_message.get("entities") or []:
        kind, value = entity.get("entity"), str(entity.get("value"))
        if kind == "procedure":
            named.add(value)
        elif kind == TOLD_ENTITY:
            told.add(value)
        elif kind == OTHER_ENTITY:
            other = value
    return named, told, other


def route(intent: str, tracker: Tracker, dispatcher: CollectingDispatcher
          ) -> tuple[list[EventType] | None, Procedure | None]:
    """Before a typed message is answered: a procedure we do not cover gets the honest reply
    (never the facts of the procedure talked about before); with no procedure named, a story
    leads to its procedure, or to the question which one when it fits several or when it leads
    away from the procedure under discussion. Returns the reply already given, or the procedure
    to answer about."""
    book = answers()
    named, told, other = _mentions(tracker)
    entry = book.catalogue.not_covered_entry(other)
    if entry is not None and not named:
        return say(dispatcher, book.not_covered(entry)) + [SlotSet("procedure", None),
                                                           SlotSet("aspect", None)], None
    current = _procedure_of(tracker)
    candidates = [p for p in book.catalogue if p.id in told]
    if named or not candidates or current in candidates:
        return None, current
    if current is not None:  # a new story mid-conversation ("bố tôi mới mất" after khai sinh):
        candidates = [current, *candidates]  # ask, rather than answer with the earlier topic's facts
    if len(candidates) > 1:
        return say(dispatcher, book.which_of(intent, candidates)), None
    return None, candidates[0]


def respond(intent: str, procedure: Procedure | None, tracker: Tracker,
            dispatcher: CollectingDispatcher, entities: dict[str, Any] | None = None) -> list[EventType]:
    """The reply to ``intent`` about ``procedure``: shared by typed messages and picked options.
    ``entities`` come with a picked option; a ``group`` one narrows a list of procedures."""
    book = answers()
    group = (entities or {}).get("group")
    if group:
        chooser = book.menu(group) if intent in ("menu", "inform_procedure") else book.which_procedure(
            intent, group)
        return say(dispatcher, chooser)
    events: list[EventType] = [SlotSet("procedure", procedure.id)] if procedure else []
    if intent in ADDRESS_INTENTS:
        return events + respond_address(intent, procedure, tracker, dispatcher, entities or {})
    # before the aspects and the overview: a birth or death told with its date gets the reminder offer
    if intent in reminding.INTENTS or reminding.asks_deadline_of_a_date(intent, tracker):
        replies, slots = reminding.handle(intent, procedure, tracker, book)
        events = [SlotSet(name, value) for name, value in slots.items()]
        for reply in replies:
            dispatcher.utter_message(text=reply.text, buttons=[
                {"title": b.title, "payload": b.payload} for b in reply.buttons])
        return events
    case = book.documents_case(str((entities or {}).get(CASE_ENTITY) or "") or _case_told(procedure, tracker))
    if case is not None and intent in (INTENT_OF_ASPECT["documents"], "inform_procedure"):
        # a case picked, or told in words, after a documents list that asked which case applies
        procedure, reply = case
        return [SlotSet("procedure", procedure.id), SlotSet("options", None), *say(dispatcher, reply),
                SlotSet("aspect", "documents")]
    if intent in ASPECT_INTENTS:
        if procedure is None:
            return say(dispatcher, book.which_procedure(intent))
        asked = tracker.latest_message.get("text") or ""
        reply = book.answer_aspect(procedure, ASPECT_INTENTS[intent], asked)
        if intent == "ask_where":
            return events + where(procedure, reply, asked, tracker, dispatcher)
        # the options go before the reply's own: a documents list may end with cases to pick
        return events + [SlotSet("options", None)] + say(dispatcher, reply) + [
            SlotSet("aspect", ASPECT_INTENTS[intent])]
    if intent == "inform_procedure":
        if procedure is None:
            return say(dispatcher, book.menu())
        named, told, _ = _mentions(tracker)
        if procedure.id in told and procedure.id not in named:
            # a situation told ("con sinh ở nhà, không có giấy chứng sinh"), not "and for X?":
            # its FAQ entry when one fits closely, else the overview; never the previous aspect
            found = book.best_faq(tracker.latest_message.get("text") or "", procedure.id,
                                  named={procedure.id})
            if found is not None and found[2] >= FAQ_ASPECT_MATCH:
                return events + say(dispatcher, book.faq(found[0], found[1]))
            return events + say(dispatcher, book.overview(procedure))
        last_aspect = tracker.get_slot("aspect")  # "còn kết hôn thì sao?" after a fee question
        if last_aspect == "where":
            asked = tracker.latest_message.get("text") or ""
            return events + where(procedure, book.aspect(procedure, "where"), asked, tracker, dispatcher)
        if last_aspect:
            return events + [SlotSet("options", None)] + say(dispatcher, book.aspect(procedure, last_aspect))
        return events + say(dispatcher, book.overview(procedure))
    if intent == "faq":  # a procedure picked for a situation asked about before
        return events + faq_reply(procedure, {procedure.id} if procedure else set(), tracker, dispatcher)
    if intent == "guide":
        if procedure is None:
            return say(dispatcher, book.which_procedure("guide"))
        return events + [SlotSet("guide", {"procedure": procedure.id, "answers": {}}),
                         SlotSet("guide_answer", None), FollowupAction("guide_form")]
    return say(dispatcher, book.menu())


def where(procedure: Procedure, reply: Reply, asked: str, tracker: Tracker,
          dispatcher: CollectingDispatcher) -> list[EventType]:
    """The office of ``procedure``, named for the citizen's current commune when it is known."""
    guide = directions()
    found = guide.read(asked)
    events: list[EventType] = [SlotSet("aspect", "where"), SlotSet("options", None)]
    unit = unit_from_slot(tracker.get_slot("address"))
    question: list[Reply] = []
    intro = None
    if found is not None:
        replies, resolved = guide.explain(found)
        if resolved is not None:
            unit, intro = resolved, replies[0].text
            events.append(SlotSet("address", unit_slot(unit)))
        else:
            question = replies
    if unit is not None and not question:
        reply = guide.locate(reply, procedure, unit, intro)
    events += say(dispatcher, reply)
    for extra in question:
        events += say(dispatcher, extra)
    return events


def respond_address(intent: str, procedure: Procedure | None, tracker: Tracker,
                    dispatcher: CollectingDispatcher, entities: dict[str, Any]) -> list[EventType]:
    """Old and new addresses: explain, ask when a commune was split, remember the answer."""
    guide = directions()
    text = tracker.latest_message.get("text") or ""
    if intent == "ask_unit_sources":
        return say(dispatcher, guide.sources(text))
    if intent == CHOOSE_WARD_INTENT:
        code = entities.get(WARD_CODE_ENTITY) or next(
            tracker.get_latest_entity_values(WARD_CODE_ENTITY), None)
        replies, unit = guide.chosen(str(code or ""))
    else:
        found = guide.read(text)
        if found is None:
            return say(dispatcher, Reply(answers().phrases["address.unknown"]))
        replies, unit = guide.explain(found, ask_commune=intent == "inform_address")
    events: list[EventType] = [SlotSet("options", None)]
    if unit is None:
        for reply in replies:
            events += say(dispatcher, reply)
        return events
    events.append(SlotSet("address", unit_slot(unit)))
    if procedure is not None and intent != "ask_new_unit":
        reply = guide.locate(answers().aspect(procedure, "where"), procedure, unit, replies[0].text)
        return events + say(dispatcher, reply) + [SlotSet("aspect", "where")]
    if intent == "ask_new_unit":
        return events + say(dispatcher, replies[0])
    book = answers()
    menu = book.menu()
    return events + say(dispatcher, Reply(f"{replies[0].text}\n{book.phrases['address.which_procedure']}",
                                          menu.buttons))


def _case_told(procedure: Procedure | None, tracker: Tracker) -> str:
    """The case the message names, when the last reply asked which case applies for ``procedure``."""
    if procedure is None:
        return ""
    prefix = f'"{CASE_ENTITY}":"{procedure.id}{CASE_SEPARATOR}'
    if not any(prefix in option for option in tracker.get_slot("options") or []):
        return ""
    return answers().told_case(procedure, tracker.latest_message.get("text") or "") or ""


def _procedure_of(tracker: Tracker) -> Procedure | None:
    return answers().catalogue.get(tracker.get_slot("procedure"))


class ActionAnswer(Action):
    """Aspect questions, a bare procedure name, and requests for guidance."""

    def name(self) -> str:
        return "action_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        intent = tracker.latest_message["intent"]["name"]
        if intent in ADDRESS_INTENTS:
            return respond(intent, _procedure_of(tracker), tracker, dispatcher)
        replied, procedure = route(intent, tracker, dispatcher)
        if replied is not None:
            return replied
        picked = {name: value for name in (GROUP_ENTITY, CASE_ENTITY)
                  if (value := next(tracker.get_latest_entity_values(name), None))}
        return respond(intent, procedure, tracker, dispatcher, picked or None)


class ActionReminder(Action):
    """Deadline reminders: a date of birth or death, the yes to an offer, listing, cancelling."""

    def name(self) -> str:
        return reminding.ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        intent = tracker.latest_message["intent"]["name"]
        named = next(tracker.get_latest_entity_values("procedure"), None)
        procedure = answers().catalogue.get(named) or _procedure_of(tracker)
        return respond(intent, procedure, tracker, dispatcher)


class ActionFaq(Action):
    def name(self) -> str:
        return "action_faq"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        replied, procedure = route("faq", tracker, dispatcher)
        if replied is not None:
            return replied
        named, told, _ = _mentions(tracker)
        return faq_reply(procedure, named | told, tracker, dispatcher)


def faq_reply(procedure: Procedure | None, read: set[str], tracker: Tracker,
              dispatcher: CollectingDispatcher) -> list[EventType]:
    """The answer to the situation the citizen asked about (``Answers.answer_faq``)."""
    book = answers()
    reply, answered = book.answer_faq(_question_asked(tracker), procedure,
                                      {p for p in read if book.catalogue.get(p)})
    return say(dispatcher, reply) + ([SlotSet("procedure", answered.id)] if answered else [])


def _question_asked(tracker: Tracker) -> str:
    """The citizen's last typed question: not a button's payload nor a digit picking an option
    (after "which procedure?" the situation asked about is the message before the pick)."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        text = event.get("text") or ""
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if text and not text.startswith("/") and intent != "choose_option":
            return text
    return tracker.latest_message.get("text") or ""


class ActionMenu(Action):
    def name(self) -> str:
        return "action_menu"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        group = next(tracker.get_latest_entity_values(GROUP_ENTITY), None)
        return say(dispatcher, answers().menu(group)) + [SlotSet("aspect", None)]


class ActionOutOfScope(Action):
    """Not something we answer: a procedure we do not cover gets where to ask; anything else the
    apology and the menu."""

    def name(self) -> str:
        return "action_out_of_scope"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        book = answers()
        _, _, other = _mentions(tracker)
        entry = book.catalogue.not_covered_entry(other)
        if entry is not None:
            return say(dispatcher, book.not_covered(entry)) + [SlotSet("procedure", None),
                                                               SlotSet("aspect", None)]
        dispatcher.utter_message(response="utter_out_of_scope")
        return say(dispatcher, book.menu()) + [SlotSet("aspect", None)]


class ActionChooseOption(Action):
    """A digit typed to pick one of the options the bot offered last."""

    def name(self) -> str:
        return "action_choose_option"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        options = tracker.get_slot("options") or []
        number = next(tracker.get_latest_entity_values("number"), None)
        if not options or number is None or not 1 <= int(number) <= len(options):
            return say(dispatcher, answers().menu())
        match = _PAYLOAD.match(options[int(number) - 1])
        if match is None:
            return say(dispatcher, answers().menu())
        entities = json.loads(match.group(2) or "{}")
        procedure = answers().catalogue.get(entities.get("procedure")) or _procedure_of(tracker)
        return respond(match.group(1), procedure, tracker, dispatcher, entities)


def _guide_state(tracker: Tracker) -> tuple[Procedure | None, dict[str, str]]:
    state = tracker.get_slot("guide") or {}
    return answers().catalogue.get(state.get("procedure")), dict(state.get("answers") or {})


def _next_question(proc: Procedure, chosen: dict[str, str]):
    return next((q for q in proc.guide if q.id not in chosen), None)


class ActionAskGuideAnswer(Action):
    def name(self) -> str:
        return "action_ask_guide_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        proc, chosen = _guide_state(tracker)
        question = _next_question(proc, chosen) if proc else None
        if question is not None:
            say(dispatcher, answers().guide_question(proc, question))
        return []


class ValidateGuideForm(FormValidationAction):
    """Matches the citizen's answer (a digit, an option's words or its label) to an option."""

    def name(self) -> str:
        return "validate_guide_form"

    def validate_guide_answer(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: dict[str, Any]) -> dict[str, Any]:
        proc, chosen = _guide_state(tracker)
        if proc is None:
            return {"guide_answer": GUIDE_CANCELLED}
        question = _next_question(proc, chosen)
        typed = search_key(str(value or "")).replace("_", " ")  # a tapped button sends the option id
        option = None
        if typed.isdigit() and 1 <= int(typed) <= len(question.options):
            option = question.options[int(typed) - 1]
        else:
            for candidate in question.options:
                keys = {candidate.id.replace("_", " "), search_key(candidate.label),
                        *(search_key(w) for w in candidate.words)}
                if any(key and re.search(rf"\b{re.escape(key)}\b", typed) for key in keys):
                    option = candidate
                    break
        if option is None:
            intent = tracker.latest_message["intent"]
            if intent["name"] in ("cancel", "menu") and intent["confidence"] >= GUIDE_LEAVE_CONFIDENCE:
                return {"guide_answer": GUIDE_CANCELLED}
            dispatcher.utter_message(response="utter_guide_retry", count=len(question.options))
            return {"guide_answer": None}
        chosen[question.id] = option.id
        state = {"procedure": proc.id, "answers": chosen}
        done = _next_question(proc, chosen) is None
        return {"guide": state, "guide_answer": GUIDE_DONE if done else None}


class ActionGuideChecklist(Action):
    def name(self) -> str:
        return "action_guide_checklist"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        proc, chosen = _guide_state(tracker)
        reset = [SlotSet("guide", None), SlotSet("guide_answer", None)]
        if proc is None or tracker.get_slot("guide_answer") != GUIDE_DONE:
            dispatcher.utter_message(response="utter_guide_cancelled")
            return reset + say(dispatcher, answers().menu())
        return reset + say(dispatcher, answers().checklist(proc, chosen))
