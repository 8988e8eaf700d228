"""Intent re-ranking after the classifier, from what is known for certain about a message.

``ProcedureScopeRanker``: a message naming one of our procedures is in scope, and not a
greeting. Citizens wrap their question in their story ("nhà bác nghèo lắm, giờ làm sổ đỏ phải
nộp những khoản tiền gì"); the story words pull a bag-of-words classifier towards
``out_of_scope``. When the entity extractor found a procedure of the catalogue, ``out_of_scope``
is dropped from the ranking and the other confidences are renormalised, so the fallback
threshold still applies to what is left; ``greet`` and ``choose_option`` are dropped too, also
for a story told (a number beside a procedure's name counts something: "làm 1 lần được cả 3
thứ"; "Chảo", a Dao family name, folds onto "chào"). A message naming
or telling a procedure that the classifier still cannot place is taken as telling the procedure.
Procedures outside the catalogue (a driving licence) are not entities and are unaffected.

``PlaceScopeRanker``: so is a message naming a commune or a district.

``QuestionCueRanker``: a message read as ``faq`` whose last clause is a plain aspect question
("..., giờ làm sổ đỏ thì hết bao nhiêu tiền") gets that aspect; one naming or telling a procedure
and asking nothing is telling it.

``KnownTextRanker``: a message that is one of the training examples gets that example's intent;
a message with no word of the training data is not understood.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.focus import CLAUSE_BREAK, focus_start
from bot.nlu.segmenter import Segmenter

INTENT_RANKING = "intent_ranking"
QUESTION_CUES = Path(__file__).with_name("question_cues.yml")
_KNOWN_FILE = "known_text.json"
CONDITION = "thi"  # "[a situation] thì [an action] thế nào"
PURPOSE = "de"  # "thế nào để [a goal]"


class _ScopeRanker(GraphComponent):
    """Drops ``out_of_scope`` from the ranking of a message shown to be about something we handle."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"out_of_scope_intent": "out_of_scope"}

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        self._out_of_scope = config["out_of_scope_intent"]

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> _ScopeRanker:
        return cls(config)

    def in_scope(self, message: Message) -> bool:
        raise NotImplementedError

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) != self._out_of_scope or not self.in_scope(message):
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


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ProcedureScopeRanker(_ScopeRanker):
    """A message that names a procedure of the catalogue is not out of scope; one that names or
    tells one is no greeting nor a pick.

    And a message that names one, or tells a story leading to one ("ông nội mất để lại mảnh
    ruộng"), which the classifier reads with less confidence than the fallback threshold, is
    taken as telling the procedure (``inform_procedure``): the overview of that procedure, or the
    question which one, helps the citizen more than the help line. ``uncertain_below`` is the
    fallback threshold of ``config.yml``.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**_ScopeRanker.get_default_config(), "entity": "procedure",
                "told_entity": "procedure_told", "also_dropped": ["greet", "choose_option"],
                "uncertain_below": 0.4, "uncertain_intent": "inform_procedure"}

    def in_scope(self, message: Message) -> bool:
        return any(e.get("entity") == self._config["entity"] for e in message.get(ENTITIES) or [])

    def process(self, messages: list[Message]) -> list[Message]:
        super().process(messages)
        dropped = set(self._config["also_dropped"])
        wanted = self._config["uncertain_intent"]
        for message in messages:
            found = {e.get("entity") for e in message.get(ENTITIES) or []}
            if not found & {self._config["entity"], self._config["told_entity"]}:
                continue
            # a story told is no greeting either: "Chảo" (a Dao family name) folds onto "chào"
            ranking = [r for r in message.get(INTENT_RANKING) or []
                       if r.get(INTENT_NAME_KEY) not in dropped] or message.get(INTENT_RANKING) or []
            if ranking and ranking[0][PREDICTED_CONFIDENCE_KEY] < self._config["uncertain_below"]:
                chosen = next((r for r in ranking if r.get(INTENT_NAME_KEY) == wanted),
                              {INTENT_NAME_KEY: wanted, PREDICTED_CONFIDENCE_KEY: 0.0})
                chosen = {**chosen, PREDICTED_CONFIDENCE_KEY: self._config["uncertain_below"]}
                ranking = [chosen] + [r for r in ranking if r.get(INTENT_NAME_KEY) != wanted]
            if ranking and ranking != message.get(INTENT_RANKING):
                message.set(INTENT_RANKING, ranking, add_to_output=True)
                message.set(INTENT, dict(ranking[0]), add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class PlaceScopeRanker(_ScopeRanker):
    """A message that names a commune or a district, old or new, is about an address.

    "nhà mình ở xã Hiếu Tử, huyện Tiểu Cần" has no word the classifier knows from our examples,
    yet the assistant can say what that commune is now and where its offices are. A province
    alone does not count: "thời tiết Gia Lai mai thế nào" is still out of scope. The address book
    is the one the dialogue uses, loaded once per process.
    """

    def in_scope(self, message: Message) -> bool:
        from bot.address import SPLIT_KIND, WARD_KIND, AddressBook

        found = AddressBook.shared().find(message.get(TEXT) or "")
        return found is not None and (found.kind in (WARD_KIND, SPLIT_KIND) or bool(found.old_district))


def _phrase(text: str) -> tuple[str, ...]:
    """A cue phrase as the words the tokenizer reads (folded, chat spellings expanded)."""
    return tuple(s for word in Segmenter((), phrases=True).segment(text) for s in word.syllables)


def _by_first_word(phrases: Any) -> dict[str, list[tuple[str, ...]]]:
    """Phrases by their first word: a message is scanned once, not once per phrase."""
    found: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        found.setdefault(phrase[0], []).append(phrase)
    return found


def _tells_special_case(words: list[str], cues: dict[str, Any]) -> bool:
    """``words`` hold a phrase of ``special_case`` (late, a penalty, a complaint, an error)."""
    return any(tuple(words[i:i + len(phrase)]) == phrase for i, word in enumerate(words)
               for phrase in cues["special_case_by_first_word"].get(word, ()))


@cache
def question_cues(path: Path = QUESTION_CUES) -> dict[str, Any]:
    """``bot/nlu/question_cues.yml`` with every phrase as a tuple of words."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    aspects = {intent: [_phrase(p) for p in phrases] for intent, phrases in raw["aspects"].items()}
    by_first_word: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for intent, phrases in aspects.items():
        for phrase in phrases:
            by_first_word.setdefault(phrase[0], []).append((intent, phrase))
    return {"aspects": aspects, "aspects_by_first_word": by_first_word,
            "special_case": [_phrase(p) for p in raw["special_case"]],
            "special_case_by_first_word": _by_first_word(_phrase(p) for p in raw["special_case"]),
            "penalty": [_phrase(p) for p in raw["penalty"]],
            "amount": [_phrase(p) for p in raw["amount"]],
            "nothing": {"words": frozenset(raw["nothing"]["words"]), "within": raw["nothing"]["within"],
                        "negations": frozenset(raw["nothing"]["negations"])},
            "overrides": {read: list(cued) for read, cued in raw["overrides"].items()},
            "not_where": [_phrase(p) for p in raw["not_where"]],
            "how": [_phrase(p) for p in raw["how"]],
            "steps_goal": [_phrase(p) for p in raw["steps_goal"]],
            "steps_action": [_phrase(p) for p in raw["steps_action"]],
            "steps_problem": [_phrase(p) for p in raw["steps_problem"]],
            "question_words": frozenset(raw["question_words"]),
            "closing_question_words": frozenset(raw["closing_question_words"]),
            "question_phrases": [_phrase(p) for p in raw["question_phrases"]],
            "able": raw["able"], "negation": raw["negation"],
            "closing_particles": frozenset(raw["closing_particles"]),
            "reminder_words": frozenset(raw["reminder_words"]),
            "follow_up": frozenset(raw["follow_up"]),
            "indefinite": frozenset(raw["indefinite"]), "mishap": frozenset(raw["mishap"]),
            "apart_from_how": frozenset(raw["apart_from_how"]),
            "guide": [_phrase(p) for p in raw["guide"]]}


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(tuple(words[i:i + size]) == phrase for i in range(len(words) - size + 1))


def cued_aspects(clause: list[str], cues: dict[str, Any]) -> list[str]:
    """The aspects ``clause`` has a cue of (``cues``: ``question_cues()``). A cue inside a longer
    cue of another aspect does not count: "thời hạn" (deadline) within "thời hạn giải quyết"
    (processing time), "mất bao nhiêu" (fee) within "mất bao nhiêu ngày" (processing time). Nor
    does a cue followed by "cũng" or "cả" ("làm giấy tờ gì cũng bị hỏi": whatever paper)."""
    matches = [(intent, (i, i + len(phrase))) for i, word in enumerate(clause)
               for intent, phrase in cues["aspects_by_first_word"].get(word, ())
               if tuple(clause[i:i + len(phrase)]) == phrase
               and not set(clause[i + len(phrase):i + len(phrase) + 1]) & cues["indefinite"]]
    kept = {intent for intent, (start, end) in matches
            if not any(other != intent and s <= start and end <= e and e - s > end - start
                       for other, (s, e) in matches)}
    return [intent for intent in cues["aspects"] if intent in kept]


def _ends_asking(words: list[str], cues: dict[str, Any], particles: bool = True,
                 strict: bool = False) -> bool:
    """ "... được không ad ạ": a closing question word at the end, particles aside
    (``particles``). ``strict``: "không đi xa được" (cannot) is no question; a whole message
    ending so ("em không kích hoạt mức 2 được") still tells a problem to answer."""
    closing = list(words)
    while particles and closing and closing[-1] in cues["closing_particles"]:
        closing.pop()
    if not closing or closing[-1] not in cues["closing_question_words"]:
        return False
    return not (strict and closing[-1] == cues["able"] and cues["negation"] in closing[:-1])


def _clauses(message: Message, tokens: list[Any]) -> list[list[str]]:
    """The words of each clause of ``tokens``, split at commas, full stops and line breaks."""
    text = message.get(TEXT) or ""
    clauses: list[list[str]] = [[]]
    for index, token in enumerate(tokens):
        if index and CLAUSE_BREAK.search(text[tokens[index - 1].end:token.start]):
            clauses.append([])
        clauses[-1].extend(_words([token]))
    return clauses


def _put_on_top(message: Message, intent: str, least: float = 0.0) -> None:
    """Makes ``intent`` the message's intent, first in its ranking with the confidence the first
    one had, or ``least`` if that is more."""
    ranking = message.get(INTENT_RANKING) or []
    top = max(ranking[0][PREDICTED_CONFIDENCE_KEY] if ranking else 1.0, least)
    chosen = next((r for r in ranking if r.get(INTENT_NAME_KEY) == intent),
                  {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 0.0})
    rest = [r for r in ranking if r.get(INTENT_NAME_KEY) != intent]
    ranking = [{**chosen, PREDICTED_CONFIDENCE_KEY: top}] + rest
    message.set(INTENT_RANKING, ranking, add_to_output=True)
    message.set(INTENT, dict(ranking[0]), add_to_output=True)


def _words(tokens: list[Any]) -> list[str]:
    """The tokens' lemmas split into words ("khai_sinh" is "khai", "sinh")."""
    return [w for t in tokens for w in t.lemma.split("_")]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class QuestionCueRanker(GraphComponent):
    """What the shape of a message read as ``faq`` says about it (``bot/nlu/question_cues.yml``).

    - Its last clause is a plain aspect question of exactly one aspect ("... gio dang ky lai khai
      tu thi lam o dau"), and nothing in it tells a special case (a penalty, being late, a
      rejection): that aspect. Citizens tell their story first; a story full of lost papers and
      deaths sounds like the FAQ's situations, while the question asked is the fee or the office.
      With no such phrase, "how" with a goal ("muon xoa thuong tru cho no thi lam sao") is steps.
    - It names or tells a procedure and asks nothing (no question word, no question mark:
      "tui mua mieng dat cua ong hang xom"): ``inform_procedure``; so is such a statement read as
      ``out_of_scope``, ``thank``, ``greet`` or, asking for no reminder, ``remind_event``
      ("bo e vua mat sang nay": the dialogue still offers the reminder when it reads a date).
    - Read as ``remind_event`` without asking for a reminder, a plain aspect question at the end
      ("... khai sinh thi phai lam truoc ngay nao") is that aspect.
    - Read as an aspect, a last clause that asks only another one is that one where
      ``overrides`` allows it (processing time and deadline, documents and steps...); a penalty
      asked about is a FAQ.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"faq_intent": "faq", "inform_intent": "inform_procedure", "window": 12, "min_clause": 3,
                "entities": ["procedure", "procedure_told"], "where_intent": "ask_where",
                "steps_intent": "ask_steps", "other_entity": "other_procedure",
                "reminder_intent": "remind_event", "guide_intent": "guide",
                # the fallback threshold of config.yml: a reading this unsure gives way to a cue
                "uncertain_below": 0.4,
                # a statement naming or telling a procedure read as one of these tells it
                "statement_intents": ["faq", "out_of_scope", "thank", "greet", "remind_event"]}

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> QuestionCueRanker:
        return cls(config)

    def _aspect(self, message: Message, words: list[str]) -> str | None:
        cues = question_cues()
        if _tells_special_case(words, cues):
            return None
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        start, clause = self._last_clause(message, tokens)
        found = cued_aspects(clause, cues)
        if not found and start > 0 and not set(clause) & (cues["question_words"] | cues["mishap"]) \
                and not _ends_asking(clause, cues, strict=True):
            # "..., giờ xin đính chính thì có phải mất phí không, lỗi đâu phải của dân": a remark
            # after the question; the clause before it asks. A mishap told last ("..., bị kẹt ạ")
            # is the matter itself: the clause before tells the story, it asks nothing
            _, previous = self._last_clause(message, tokens[:start])
            found = cued_aspects(previous, cues)
        if not found and self._asks_how_to(clause, self._names_in(message, tokens[start:])):
            found = [self._config["steps_intent"]]
        if found == [self._config["where_intent"]] and any(
                _contains(clause, phrase) for phrase in cues["not_where"]):
            return None
        if len(found) == 1 and found[0] in cues["apart_from_how"] and any(
                _contains(clause, phrase) for phrase in cues["how"]):
            return None  # "khai tử ở đâu ra sao": where and how, two questions
        return found[0] if len(found) == 1 else None

    def _last_clause(self, message: Message, tokens: list[Any]) -> tuple[int, list[str]]:
        """Where the question at the end of ``tokens`` starts, and its words."""
        text = (message.get(TEXT) or "")[:tokens[-1].end] if tokens else ""
        start = focus_start(text, tokens, self._config["window"], self._config["min_clause"])
        return start, _words(tokens[start:])

    def _names_in(self, message: Message, clause_tokens: list[Any]) -> bool:
        """A procedure named or told inside the last clause."""
        if not clause_tokens:
            return False
        start = clause_tokens[0].start
        return any(e.get("entity") in self._config["entities"] and e.get("start", -1) >= start
                   for e in message.get(ENTITIES) or [])

    @staticmethod
    def _asks_how_to(clause: list[str], names_procedure: bool) -> bool:
        """ "muốn xóa thường trú cho nó thì làm sao", "nhập hộ khẩu cho con thì làm sao": how to
        get something done, not a problem ("mất căn cước thì phải làm sao")."""
        cues = question_cues()
        how = [phrase for phrase in cues["how"] if _contains(clause, phrase)]
        if not how:
            return False
        if any(_contains(clause, phrase) for phrase in cues["steps_goal"]):
            return True
        rest = list(clause)
        for phrase in sorted(how, key=len, reverse=True):  # "làm" of "làm sao" is no action
            for i in range(len(rest) - len(phrase) + 1):
                if tuple(rest[i:i + len(phrase)]) == phrase:
                    rest[i:i + len(phrase)] = ["", ] * len(phrase)
        acts = names_procedure or any(_contains(rest, phrase) for phrase in cues["steps_action"])
        # "[a situation] thì làm khai sinh ntn" asks how in that special case: a FAQ; but what
        # follows "để" after the "how" is its goal ("thì làm thế nào để sang tên")
        then = len(rest) - rest[::-1].index(CONDITION) if CONDITION in rest else 0
        after = rest[then:]
        blank = max((i for i, w in enumerate(after) if w == ""), default=-1)
        if PURPOSE in after[blank + 1:] and blank >= 0:
            after = after[:blank + 1 + after[blank + 1:].index(PURPOSE)]
        if after[:2] == ["lam", ""]:
            after = after[1:]  # "thì làm ntn": the "làm" of the how
        in_case = 0 < then and any(_contains(after, phrase) for phrase in cues["steps_action"])
        return acts and not in_case and not any(_contains(clause, phrase) for phrase in cues["steps_problem"])

    def _statement(self, message: Message, words: list[str]) -> bool:
        found = {e.get("entity") for e in message.get(ENTITIES) or []}
        if self._config["other_entity"] in found:  # "xin lý lịch tư pháp để đi xuất khẩu lao động"
            return False
        named = bool(found & set(self._config["entities"]))
        cues = question_cues()
        # "không ai nuôi" (nobody), "chưa có giấy tờ gì hết" (nothing) ask nothing; "có gia hạn
        # không hay phải mua" still asks
        nothing = cues["nothing"]
        asking = {w for i, w in enumerate(words)
                  if w not in nothing["words"]
                  or not set(words[max(0, i - nothing["within"]):i]) & nothing["negations"]}
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        return (named and "?" not in (message.get(TEXT) or "")
                # a special case told (late, stuck, rejected) asks for help with it: a FAQ
                and not _tells_special_case(words, cues)
                and not asking & cues["question_words"]
                and not any(_contains(words, phrase) for phrase in cues["question_phrases"])
                and not _ends_asking(words, cues)
                # a question before a remark: "... có được không, cháu 12 tuổi rồi"; a particle
                # inside the story tells it ("ruộng không có")
                and not any(_ends_asking(clause, cues, particles=False, strict=True)
                            for clause in _clauses(message, tokens)[:-1]))

    def _follow_up(self, message: Message) -> bool:
        """A procedure's name with only "(còn) ... thì sao" around it ("thẻ căn cước thì sao")
        asks the question just asked about another procedure: ``inform_procedure``, which keeps
        the aspect under discussion; a situation told with it ("mất thẻ thì sao") is not this."""
        names = [e for e in message.get(ENTITIES) or [] if e.get("entity") in self._config["entities"]]
        if not names:
            return False
        rest = [w for t in message.get(TOKENS_NAMES[TEXT]) or []
                if not any(e.get("start", -1) <= t.start and t.end <= e.get("end", -1) for e in names)
                for w in t.lemma.split("_")]
        cues = question_cues()
        return bool(rest) and set(rest) <= cues["follow_up"] | cues["closing_particles"]

    def _reread_aspect(self, message: Message, read: str) -> str | None:
        """Read as an aspect, the last clause may say another one (``overrides`` of
        ``question_cues.yml``): "bao nhiêu ngày phải nhập khẩu" is a deadline, "mấy ngày thì có
        kết quả" a processing time, "làm giấy cho cháu ntn" the steps. A penalty asked about
        ("trễ hạn có bị phạt không") is a FAQ, unless the clause also asks the aspect read."""
        cues = question_cues()
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        _, clause = self._last_clause(message, tokens)
        if read not in cued_aspects(clause, cues):
            if any(_contains(clause, phrase) for phrase in cues["penalty"]):
                return self._config["faq_intent"]
            if not any(_contains(clause, phrase) for phrase in cues["amount"]) and \
                    _tells_special_case(_words(tokens), cues):
                return self._config["faq_intent"]
        if read not in cues["overrides"]:
            return None
        words = _words(tokens)
        intent = self._aspect(message, words)
        return intent if intent in cues["overrides"][read] else None

    def _asked_aspect(self, message: Message) -> None:
        """Read as telling a procedure, a question whose last clause asks one aspect ("photo
        công chứng ở xã mấy ngàn 1 tờ") is that aspect."""
        words = _words(message.get(TOKENS_NAMES[TEXT]) or [])
        if self._statement(message, words):
            return
        intent = self._aspect(message, words)
        if intent is not None:
            _put_on_top(message, intent)

    def _guide_asks(self, message: Message) -> str | None:
        """Read as asking to be guided, a message saying nothing of guiding whose last clause asks
        one aspect plainly ("muốn làm sổ hộ nghèo thì cần giấy tờ chi vậy": "chi" is "gì" in the
        centre, but "chỉ" (show) to the classifier) is that aspect."""
        cues = question_cues()
        words = _words(message.get(TOKENS_NAMES[TEXT]) or [])
        if _tells_special_case(words, cues) or any(_contains(words, phrase) for phrase in cues["guide"]):
            return None
        _, clause = self._last_clause(message, message.get(TOKENS_NAMES[TEXT]) or [])
        found = cued_aspects(clause, cues)
        return found[0] if len(found) == 1 else None

    @staticmethod
    def _bare_aspect(words: list[str]) -> str | None:
        """A message that is one aspect's cue and closing words only ("miễn phí hả ad", "hết bao
        nhiêu vậy") asks it of the procedure under discussion, whatever the classifier read: it
        names nothing else to be out of scope."""
        cues = question_cues()
        found = cued_aspects(words, cues)
        if len(found) != 1:
            return None
        closing = cues["closing_particles"] | cues["closing_question_words"]
        rest = list(words)
        for phrase in cues["aspects"][found[0]]:
            for i in range(len(rest) - len(phrase) + 1):
                if tuple(rest[i:i + len(phrase)]) == phrase:
                    rest[i:i + len(phrase)] = [""] * len(phrase)
        return found[0] if set(rest) - {""} <= closing else None

    def _unsure(self, message: Message) -> bool:
        """A reading under the fallback threshold ("trả kết quả khi nào": processing time 0.38,
        cancel 0.26) would get the help line; a last clause asking one aspect plainly is that
        aspect, at the threshold. Whether a procedure is named makes no difference here."""
        ranking = message.get(INTENT_RANKING) or []
        if not ranking or ranking[0][PREDICTED_CONFIDENCE_KEY] >= self._config["uncertain_below"]:
            return False
        intent = self._aspect(message, _words(message.get(TOKENS_NAMES[TEXT]) or []))
        if intent is None:
            return False
        _put_on_top(message, intent, self._config["uncertain_below"])
        return True

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            read = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if self._unsure(message):
                continue
            if read in question_cues()["aspects"]:
                swapped = self._reread_aspect(message, read)
                if swapped is not None:
                    _put_on_top(message, swapped)
                continue
            if read == self._config["inform_intent"]:
                self._asked_aspect(message)
                continue
            if read == self._config["guide_intent"]:
                asked = self._guide_asks(message)
                if asked is not None:
                    _put_on_top(message, asked)
                continue
            if read not in self._config["statement_intents"]:
                continue
            words = _words(message.get(TOKENS_NAMES[TEXT]) or [])
            bare = self._bare_aspect(words)
            if bare is not None:
                _put_on_top(message, bare)
                continue
            if read == self._config["reminder_intent"] and set(words) & question_cues()["reminder_words"]:
                continue  # "nhắc tôi hạn khai sinh" asks for the reminder
            asks_aspect = read in (self._config["faq_intent"], self._config["reminder_intent"])
            intent = self._config["inform_intent"] if self._follow_up(message) else None
            if intent is None and asks_aspect:
                intent = self._aspect(message, words)
            if intent is None and self._statement(message, words):
                intent = self._config["inform_intent"]
            if intent is None:
                continue
            _put_on_top(message, intent)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class KnownTextRanker(GraphComponent):
    """What the training data already settles about a message, folded and expanded.

    - A message that is one of the training examples, under one intent only, gets that intent
      with full confidence. A statistical classifier can overrule its own training data where
      features merge: every digit becomes one number feature, so the menu's ``0`` reads as
      picking an option like ``2``, and a one-word example ("hồ sơ") may stay under the fallback
      threshold.
    - A message none of whose words occurs in the training data ("hjkl uiop", "kkkkk") is not
      understood: its confidences drop to zero, so the fallback classifier answers with the help
      line instead of the classifier's guess from letter n-grams. Numbers always count as known:
      "12" picks option 12 of a menu longer than the examples.
    """

    def __init__(self, model_storage: ModelStorage, resource: Resource,
                 examples: dict[str, str] | None = None, words: set[str] | None = None) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self.examples = examples or {}
        self.words = words or set()

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> KnownTextRanker:
        return cls(model_storage, resource)

    @staticmethod
    def _lemmas(message: Message) -> list[str]:
        return [t.lemma for t in message.get(TOKENS_NAMES[TEXT]) or []]

    def train(self, training_data: TrainingData) -> Resource:
        intents: dict[str, set[str]] = {}
        for example in training_data.intent_examples:
            lemmas = self._lemmas(example)
            self.words.update(lemmas)
            if lemmas:
                intents.setdefault(" ".join(lemmas), set()).add(example.get(INTENT))
        self.examples = {key: next(iter(found)) for key, found in intents.items() if len(found) == 1}
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _KNOWN_FILE).write_text(json.dumps(
                {"examples": self.examples, "words": sorted(self.words)}, ensure_ascii=False))
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> KnownTextRanker:
        with model_storage.read_from(resource) as directory:
            known = json.loads((directory / _KNOWN_FILE).read_text(encoding="utf-8"))
        return cls(model_storage, resource, known["examples"], set(known["words"]))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            lemmas = self._lemmas(message)
            intent = self.examples.get(" ".join(lemmas))
            ranking = message.get(INTENT_RANKING) or []
            if intent is not None:
                top = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
                ranking = [top] + [{**r, PREDICTED_CONFIDENCE_KEY: 0.0} for r in ranking
                                   if r.get(INTENT_NAME_KEY) != intent]
            elif lemmas and not any(w in self.words or w.isdigit() for w in lemmas):
                ranking = [{**r, PREDICTED_CONFIDENCE_KEY: 0.0} for r in ranking]
            else:
                continue
            message.set(INTENT_RANKING, ranking, add_to_output=True)
            if ranking:
                message.set(INTENT, dict(ranking[0]), add_to_output=True)
        return messages
