"""Deterministic entity extraction on canonical lemmas.

Procedure names are a closed list that staff keep in YAML, so a dictionary match on the
tokenizer's lemmas beats a statistical tagger: an alias learnt once from an accented example is
found typed without diacritics or abbreviated (``ks`` -> ``khai_sinh``). Digits typed to pick a
numbered option become the ``number`` entity.

A situation told instead of a name ("bố tôi mới mất") is annotated in training as the
``procedure_event`` entity. When the message names no procedure, it yields the ``procedure_told``
entity for each procedure it leads to (``|``-separated values): not ``procedure``, so it never
fills the procedure slot by itself; the dialogue uses it only when no procedure is under
discussion (a follow-up "con mới sinh thì hạn bao lâu" stays on the procedure talked about).

Qualifiers (``qualifiers:`` in a procedure's YAML, handed over as lookup tables named
``qualifier <general> <specific>``): citizens name the famous procedure and say what makes their
case special ("sổ đỏ cũ bị rách", "kết hôn với người Lào ở vùng biên"). In order: a general
procedure named together with a specific one that refines it is the specific one; a general
procedure (named or told) with a qualifier of one specific procedure in the same message becomes
that one; with qualifiers of several, each is told (``procedure_told``), so the bot asks which;
without a qualifier it stays itself. A qualifier right after a negation ("không mất") does not
count, nor does a name right after "không phải", "chưa" or "không" when another name is left
("bố mẹ chưa đăng ký kết hôn thì làm khai sinh ..." asks about khai sinh), nor one named as a
paper, a status or a place ("có cần giấy xác nhận tình trạng hôn nhân", "nhà tôi hộ nghèo",
"nơi thường trú"). Of two specific procedures, one that refines the other by a qualifier found
in the message wins (a lost certificate is trích lục; with the register gone, đăng ký lại).

Details of a story are not the question (``story_details.yml``): a household status given as the
reason for an exemption ("nhà em hộ nghèo, ... có được miễn tiền không"), a name that is only a
paper ("sổ hộ khẩu giấy"), a background event or one already done beside another event ("con
cái đi làm xa", "cưới vợ xong"). A general name left beside the specific procedure another name
became is dropped (khai sinh, nhập khẩu, thẻ BHYT "cùng lúc": liên thông khai sinh). So are
a residence told with its place ("mà thường trú ở Hà Giang"), a paper not handed over and a
step done ("khai tử xong rồi", also as a qualifier: then mai táng asked is mai táng); a
qualifier shared by two specific procedures ("làm lại") decides only when neither has one of
its own. Session 10: "không ... nữa" around a general name means the procedure ending it; a name
after "nơi" or a residence "cũ" is a place; words folded onto a name ("báo từ chối") name
nothing; a denied event ("chưa làm đám cưới") gives way to another; of several specific
procedures, those refining another name of the message are kept; a step qualifier told as done
("đã làm khai tử rồi") and "làm lại" after a rejected application do not count. Session 11: a
name after "chỉ cần", "cần giấy", "khớp", "được cấp" or "bản sao" is a paper asked for, compared,
received or copied, and one after "có" with "rồi" close behind a paper held (``paper_before``,
``held``); a qualifier inside such a paper refines nothing ("giấy mua bán đất" asked for a first
sổ đỏ). A qualifier right after a paper that is no record ("giấy chứng sinh ghi sai") or told
as a purpose ("cần để làm thủ tục chia đất") refines nothing either; a household status named as
whom a policy is for ("vay vốn cho hộ nghèo") is no question; a marriage registered "again" after
a divorce is a new one (``new_marriage``). Session 12: a qualifier's words do not run over a
clause break ("đo đạc, sửa lại" is no "đo đạc lại"); "ở xã" before a name makes it a place
(``place_before``); an event starting with words that fold onto it is none ("để vợ con ở nhà" is
no "đẻ ở nhà", ``not_events``); a name differing between the birth certificate and the căn cước,
neither said wrong, tells both corrections so that the bot asks which (``compared_papers``).
Session 15: a procedure we do not cover (``other_procedure``) may be what a qualifier makes of a
name of ours ("thẻ BHYT" + "hộ gia đình"); beside one of ours, one that is not the question as a
name would not be ("không có lương hưu", "có phải có hộ chiếu không") is left out.
Session 17: a second name that is the setting of the question is left out: where a paper was
demanded (``demanded``), a goal before "thì" (``goal_then``), an errand after "ủy quyền"
(``delegated``), a paper copied (``copies``), a paper said right (``said_right``); a marriage
denied beside a birth is the birth with the father's recognition (``unmarried_birth``); a name
already specific is refined again by a qualifier inside a told event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.segmenter import Segmenter

STORY_DETAILS = Path(__file__).with_name("story_details.yml")
_FILE = "entity_lemmas.json"
_QUALIFIER_FILE = "qualifiers.json"
TOKENS = "text_tokens"
MAX_OPTION_NUMBER = 20
MAX_EVENT_GAP = 2  # words allowed between the words of an event phrase
# and of a qualifier, within one clause ("chưa rảnh. Hạn cuối" is not "chưa cưới", "đo đạc, sửa lại"
# is not "đo đạc lại")
QUALIFIER_GAP = 1
QUALIFIER_TABLE = "qualifier"
# Folded words that, one or two words before a qualifier, deny it ("sổ đỏ không bị mất").
NEGATIONS = frozenset({"khong", "chua", "chang"})
NEGATED_NAME = ("khong", "phai")  # "chứ không phải nhập khẩu": that name is not the question
# Folded words right before a name that make it a paper asked for or lacking, a status or a
# place rather than the procedure asked about ("kết hôn có cần giấy xác nhận tình trạng hôn
# nhân", "nhà tôi hộ nghèo, đăng ký thường trú...", "làm ở nơi thường trú"): dropped when
# another name is left.
NOT_THE_QUESTION = frozenset({("co", "can"), ("can", "mang"), ("mang", "theo"), ("khong", "co"),
                              ("chua", "co"), ("nha", "toi"), ("nha", "em"), ("nha", "e"),
                              ("thuoc", "dien"), ("phai", "noi"), ("tai", "noi"), ("o", "noi"),
                              ("theo", "noi"), ("ban", "photo"), ("ban", "goc"), ("cho", "muon"),
                              ("dang", "huong"), ("co", "huong"), ("duoc", "huong"), ("ten", "tren"),
                              ("ghi", "tren"), ("can", "dem"), ("phai", "dem"), ("dem", "theo"),
                              ("phai", "mang"), ("cam", "theo"), ("so", "voi")})
# Folded words right after a name that make it a step already done ("khai sinh làm rồi"): dropped
# the same way.
DONE_AFTER = frozenset({("lam", "roi"), ("xong", "roi"), ("co", "roi"), ("roi",), ("xong",)})
DONE = "xong"  # "khai tử cho ông xong rồi": done, a few words after the name
DONE_GAP = 2
# The same for a qualifier, without a bare "rồi": "cháy mất rồi" is a loss, not a step done
QUALIFIER_DONE_AFTER = frozenset({("lam", "roi"), ("xong",)})
# A name that is a paper held, lent or shown ("chủ nhà không cho mượn sổ đỏ", "bản photo cccd"),
# and nothing else: no procedure is asked about, and a story told beside it may say which one.
PAPER_ONLY = frozenset({("co", "can"), ("ban", "photo"), ("ban", "goc"), ("cho", "muon"),
                        ("ten", "tren"), ("ghi", "tren")})
# "mất" followed by these is what something costs ("mất bao lâu", "mất bn tiền"), not a loss
COST_AFTER_LOSS = frozenset({"bao", "may", "tien", "phi", "nhieu", "thoi", "khoang", "it"})
LOSS = "mat"
# Between a negation and the word it denies ("không bị mất", "chưa có khai sinh")
NEGATION_LINK = frozenset({"bi", "co", "phai", "lam", "duoc", "con", "chia"})
PAPER_WORD = "giay"  # a name beginning with it is a paper as much as a procedure
PURPOSE_WINDOW = 5  # words before a qualifier in which "để làm" makes it a purpose
CLAUSE_BREAK = re.compile(r"[,.!?;:\n]")
SENTENCE_BREAK = re.compile(r"[.!?\n]")


def _phrase_lists(raw: dict[str, Any]) -> dict[str, Any]:
    """A block of story_details.yml with every list of phrases as tuples of words."""
    return {key: [tuple(str(p).split()) for p in value] if isinstance(value, list) else value
            for key, value in raw.items()}


@cache
def story_details(path: Path = STORY_DETAILS) -> dict[str, Any]:
    """``bot/nlu/story_details.yml`` with every phrase as a tuple of folded words."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    status = raw["status"]
    return {"background_events": {tuple(p.split()) for p in raw["background_events"]},
            "status_procedures": frozenset(status["procedures"]),
            "exemption": frozenset(status["exemption"]), "cost": frozenset(status["cost"]),
            "request": [tuple(p.split()) for p in status["request"]],
            "beneficiary": [tuple(p.split()) for p in status["beneficiary"]],
            "papers": {tuple(p.split()) for p in raw["papers"]},
            "paper_verbs": [tuple(p.split()) for p in raw["paper_verbs"]],
            "paper_before": [tuple(p.split()) for p in raw["paper_before"]],
            "held": {"before": [tuple(p.split()) for p in raw["held"]["before"]],
                     "after": raw["held"]["after"], "window": int(raw["held"]["window"])},
            "not_qualifiers": [tuple(p.split()) for p in raw["not_qualifiers"]],
            "other_papers": {"phrases": [tuple(p.split()) for p in raw["other_papers"]["phrases"]],
                             "window": int(raw["other_papers"]["window"])},
            "residence": {"procedures": frozenset(raw["residence"]["procedures"]),
                          "at": frozenset(raw["residence"]["at"]),
                          "questions": frozenset(raw["residence"]["questions"]),
                          "former": frozenset(raw["residence"]["former"])},
            "place_before": [tuple(p.split()) for p in raw["place_before"]],
            "not_events": [tuple(p.split()) for p in raw["not_events"]],
            "compared_papers": {"papers": frozenset(raw["compared_papers"]["papers"]),
                                "corrections": list(raw["compared_papers"]["corrections"]),
                                "cues": [tuple(p.split()) for p in raw["compared_papers"]["cues"]],
                                "wrong": frozenset(raw["compared_papers"]["wrong"])},
            "not_names": [tuple(p.split()) for p in raw["not_names"]],
            "paper_needed": [tuple(p.split()) for p in raw["paper_needed"]],
            "paper_whether": {"words": frozenset(raw["paper_whether"]["words"]),
                              "window": int(raw["paper_whether"]["window"])},
            "no_longer": {"negations": frozenset(raw["no_longer"]["negations"]),
                          "window": int(raw["no_longer"]["window"]),
                          "after": frozenset(raw["no_longer"]["after"]),
                          "means": tuple(raw["no_longer"]["means"].split())},
            "steps_done": {"steps": {tuple(p.split()) for p in raw["steps_done"]["steps"]},
                           "before": [tuple(p.split()) for p in raw["steps_done"]["before"]],
                           "after": [tuple(p.split()) for p in raw["steps_done"]["after"]]},
            "purpose": [tuple(p.split()) for p in raw["purpose"]],
            "time_before": [tuple(p.split()) for p in raw["time_before"]],
            "purpose_before": [tuple(p.split()) for p in raw["purpose_before"]],
            "copies": frozenset(raw["copies"]),
            "goal_then": {"wants": frozenset(raw["goal_then"]["wants"]),
                          "then": frozenset(raw["goal_then"]["then"]),
                          "window": int(raw["goal_then"]["window"])},
            **{key: _phrase_lists(raw[key])
               for key in ("delegated", "unmarried_birth", "demanded", "said_right", *TOLD_PATTERNS)},
            "time_cost": {"amounts": frozenset(raw["time_cost"]["amounts"]),
                          "units": frozenset(raw["time_cost"]["units"])},
            "contrast": frozenset(raw["contrast"]),
            "field_places": {"before": frozenset(raw["field_places"]["before"]),
                             "fields": {(w,) for w in raw["field_places"]["fields"]}},
            "new_marriage": {"cues": [tuple(p.split()) for p in raw["new_marriage"]["cues"]],
                             "from": raw["new_marriage"]["from"], "means": raw["new_marriage"]["means"]},
            "rejected": {"rejected": [tuple(p.split()) for p in raw["rejected"]["rejected"]],
                         "redo": {tuple(p.split()) for p in raw["rejected"]["redo"]}}}


def qualifier_table(general: str, specific: str) -> str:
    """The lookup table carrying the qualifiers by which ``specific`` refines ``general``."""
    return f"{QUALIFIER_TABLE} {general} {specific}"


def qualifier_element(phrase: str) -> str:
    """A qualifier as a lookup element: its words as the tokenizer reads them (folded, chat
    abbreviations expanded) joined like a lemma ("bi_rach"), so that the tokenizer does not take
    it for a compound word."""
    return "_".join(s for word in Segmenter((), phrases=True).segment(phrase) for s in word.syllables)


def _all_in_order(words: list[str], lemmas: list[str], gap: int) -> list[tuple[int, int]]:
    """First and last index of every match of ``words`` in ``lemmas`` in order, each at most
    ``gap`` apart."""
    found = []
    for first, lemma in enumerate(lemmas):
        if lemma != words[0]:
            continue
        last, position = first, first
        for word in words[1:]:
            window = lemmas[position + 1:position + 2 + gap]
            if word not in window:
                break
            position = position + 1 + window.index(word)
            last = position
        else:
            found.append((first, last))
    return found


def _words(tokens: list[Any]) -> tuple[list[str], list[int], list[bool], list[bool]]:
    """The words of the tokens' lemmas (the segmenter joins learnt phrases: "bố_mất"), the token
    each belongs to, and whether it starts or ends that token."""
    words, owners, starts, ends = [], [], [], []
    for index, token in enumerate(tokens):
        parts = token.lemma.split("_")
        for position, word in enumerate(parts):
            words.append(word)
            owners.append(index)
            starts.append(position == 0)
            ends.append(position == len(parts) - 1)
    return words, owners, starts, ends


@dataclass(frozen=True)
class _Read:
    """A message's tokens and the words of their lemmas, computed once per message."""

    tokens: list[Any]
    text: str
    words: list[str]
    owners: list[int]
    starts: list[bool]
    ends: list[bool]
    first_word: dict[int, int]  # a token's start offset -> index of its first word
    last_word: dict[int, int]  # a token's end offset -> index of its last word
    # character spans of names left out as papers or details: a qualifier inside one ("giấy mua
    # bán đất" asked for) does not refine the question
    ignored: tuple[tuple[int, int], ...] = ()

    @classmethod
    def of(cls, message: Message) -> _Read:
        tokens = message.get(TOKENS) or []
        words, owners, starts, ends = _words(tokens)
        return cls(tokens, message.get(TEXT) or "", words, owners, starts, ends,
                   {tokens[o].start: i for i, o in reversed(list(enumerate(owners)))},
                   {tokens[o].end: i for i, o in enumerate(owners)})


def _costs(words: list[str], last: int) -> bool:
    """A match ending in "mất" that says what something costs ("mất bao lâu", "mới mất bn"), or
    how long it takes (``time_cost`` in story_details.yml: "đi bộ xuống xã mất nửa ngày")."""
    if words[last] != LOSS or last + 1 >= len(words):
        return False
    if words[last + 1] in COST_AFTER_LOSS:
        return True
    time_cost = story_details()["time_cost"]
    return (words[last + 1] in time_cost["amounts"] and last + 2 < len(words)
            and words[last + 2] in time_cost["units"])


def _done_after(words: list[str], last: int, done_after: frozenset[tuple[str, ...]] = DONE_AFTER) -> bool:
    """The words after index ``last`` say it is a step already done ("khai tử xong rồi", "làm
    khai tử cho ông xong")."""
    after = tuple(words[last + 1:last + 3])
    return (any(after[:len(done)] == done for done in done_after)
            or DONE in words[last + 1:last + 2 + DONE_GAP])


def _step_done(phrase: tuple[str, ...], words: list[str], first: int, last: int) -> bool:
    """A qualifier that is a step told as done ("đã làm khai tử", "có giấy chứng tử rồi"):
    ``steps_done`` in story_details.yml."""
    details = story_details()["steps_done"]
    if not any(phrase[len(phrase) - len(step):] == step for step in details["steps"]
               if len(step) <= len(phrase)):
        return False
    before = tuple(words[max(0, first - 3):first])
    after = tuple(words[last + 1:last + 3])
    return _ends_with(before, details["before"]) or any(after[:len(a)] == a for a in details["after"])


def _no_longer(mention: dict[str, Any], read: _Read) -> int | None:
    """The index of the word that says ``mention`` is no longer wanted ("không cần làm giám hộ
    cho cháu nữa"): ``no_longer`` in story_details.yml, all in one clause."""
    details = story_details()["no_longer"]
    first, last = read.first_word.get(mention["start"]), read.last_word.get(mention["end"])
    if first is None or last is None:
        return None

    def same_clause(a: int, b: int) -> bool:
        return not CLAUSE_BREAK.search(read.text, read.tokens[read.owners[a]].end,
                                       read.tokens[read.owners[b]].start)

    window = details["window"]
    after = [i for i in range(last + 1, min(last + 1 + window, len(read.words)))
             if read.words[i] in details["after"] and same_clause(last, i)]
    negated = any(read.words[i] in details["negations"] and same_clause(i, first)
                  for i in range(max(0, first - window), first))
    return after[0] if after and negated else None


def _negated_name(name: dict[str, Any], read: _Read) -> bool:
    """A negation right before a name, in its clause ("chưa đăng ký kết hôn")."""
    index = read.first_word.get(name["start"], 0)
    return (index > 0 and read.words[index - 1] in NEGATIONS
            and not _clause_broken(read, index - 1, index))


def _goal_then(name: dict[str, Any], names: list[dict[str, Any]], read: _Read) -> bool:
    """A name told as a goal, its need named after "thì" ("muốn nhập khẩu thì xin xác nhận diện
    tích nhà"): ``goal_then`` in story_details.yml."""
    details = story_details()["goal_then"]
    first, last = read.first_word.get(name["start"]), read.last_word.get(name["end"])
    if first is None or last is None:
        return False
    if not any(read.words[i] in details["wants"] and not _clause_broken(read, i, first)
               for i in range(max(0, first - details["window"] - 1), first)):
        return False
    then = next((i for i in range(last + 1, len(read.words))
                 if read.words[i] in details["then"]), None)
    if then is None or _clause_broken(read, last, then):
        return False
    after = read.tokens[read.owners[then]].end
    return any(other["start"] >= after for other in names if other is not name)


def _delegated(name: dict[str, Any], read: _Read) -> bool:
    """A name told as an errand delegated ("ủy quyền cho em đi làm sổ đỏ"): ``delegated`` in
    story_details.yml."""
    details = story_details()["delegated"]
    first = read.first_word.get(name["start"])
    if first is None:
        return False
    return any(last < first <= last + details["window"] and not _clause_broken(read, last, first)
               for cue in details["cues"] for _, last in _all_in_order(list(cue), read.words, 0))


def _followed_by(name: dict[str, Any], read: _Read, phrases: list[tuple[str, ...]], window: int,
                 breaks: re.Pattern[str] = CLAUSE_BREAK) -> bool:
    """One of ``phrases`` begins in the name's clause (or the stretch ``breaks`` ends) at most
    ``window`` words after it: who demanded a paper for it ("làm căn cước họ đòi", ``demanded``
    in story_details.yml), the paper said to be right ("giấy khai sinh cũ ghi đúng",
    ``said_right``), whether a paper demanded is required (``_required_paper``)."""
    last = read.last_word.get(name["end"])
    if last is None:
        return False
    for index in range(last + 1, min(len(read.words), last + 1 + window)):
        if _clause_broken(read, last, index, breaks):
            return False
        if _phrase_at(read.words, index, phrases):
            return True
    return False


def _required_paper(name: dict[str, Any], read: _Read) -> bool:
    """A paper demanded, its sentence asking whether it is required ("xã đòi giấy kết hôn của bố
    mẹ, có bắt buộc không"): ``demanded.required`` in story_details.yml."""
    demanded = story_details()["demanded"]
    first = read.first_word.get(name["start"])
    return (first is not None
            and _ends_with(tuple(read.words[max(0, first - 3):first]), demanded["demands"])
            and _followed_by(name, read, demanded["required"], len(read.words), SENTENCE_BREAK))


def _ends_with(words: tuple[str, ...], phrases: list[tuple[str, ...]]) -> bool:
    return any(words[len(words) - len(p):] == p for p in phrases if len(p) <= len(words))


def _clause_broken(read: _Read, first: int, last: int, breaks: re.Pattern[str] = CLAUSE_BREAK) -> bool:
    """A clause break (or one of ``breaks``) between the tokens of words ``first`` to ``last``:
    the segmenter may glue a word across a comma ("hồi đó, làm lại" as "đó_làm"), so only gaps
    between tokens count."""
    owners, tokens = read.owners, read.tokens
    return any(breaks.search(read.text, tokens[a].end, tokens[b].start)
               for a, b in zip(owners[first:last], owners[first + 1:last + 1], strict=True) if a != b)


def _land_gifts(read: _Read) -> list[tuple[int, int]]:
    """Spans (first and last word) of a parent giving land, told rather than named ("ba má cho
    tui cái nền nhà", "bố mẹ chia đất cho 3 anh em"): ``land_gift`` in story_details.yml."""
    gift = story_details()["land_gift"]
    words, spans = read.words, []
    for give, word in enumerate(words):
        if (word,) not in gift["pivots"] or not give:
            continue
        wanted = 0  # "muốn", "tính" before "cho"
        while wanted < 2 and (words[give - wanted - 1],) in gift["intent"] and give - wanted > 1:
            wanted += 1
        before = tuple(words[max(0, give - wanted - 4):give - wanted])
        owner = next((len(g) for g in gift["givers"] if before[-len(g):] == g), 0)
        if not owner:
            own = next((len(p) for p in gift["possessives"] if before[-len(p):] == p), 0)
            single = next((len(g) for g in gift["single_givers"]
                           if before[:len(before) - own][-len(g):] == g), 0)
            first = give - wanted - own - single
            if single and (own or first == 0 or _clause_broken(read, first - 1, first)):
                owner = own + single
        if not owner or _clause_broken(read, give - wanted - owner, give):
            continue
        after = tuple(words[give + 1:give + 1 + gift["window"]])
        for index in range(len(after)):
            if _phrase_at(after, index, gift["not_between"]):
                break
            land = _phrase_at(after, index, gift["land"])
            if land:
                last = give + index + land
                if not _clause_broken(read, give, last):
                    spans.append((give - wanted - owner, last))
                break
    return spans


def _adoptions(read: _Read) -> list[tuple[int, int]]:
    """Spans (first and last word) of a child taken in to raise ("nhận một cháu về nuôi"):
    ``adoption`` in story_details.yml."""
    adoption = story_details()["adoption"]
    words, spans = read.words, []
    for at in range(len(words)):
        raised = _phrase_at(words, at, adoption["raise"])
        if not raised:
            continue
        child = None
        for first in range(at - 1, max(-1, at - 1 - adoption["window"]), -1):
            if _clause_broken(read, first, at):
                break
            if (words[first],) in adoption["children"]:
                child = first
            elif child is not None and (words[first],) in adoption["takes"]:
                spans.append((first, at + raised - 1))
                break
    return spans


def _deaths(read: _Read) -> list[tuple[int, int]]:
    """Spans (first and last word) of a death told with words between the person and "mất"
    ("ông nội em mới mất đêm qua"): ``death`` in story_details.yml."""
    death = story_details()["death"]
    words, spans = read.words, []
    for verb_at in range(1, len(words)):
        verb = _phrase_at(words, verb_at, death["verbs"])
        if not verb or (words[verb_at - 1],) in death["lost_before"] + death["not_before"]:
            continue
        end = verb_at + verb - 1
        following = tuple(words[end + 1:end + 2])
        if following and not _clause_broken(read, end, end + 1) and following not in death["after"]:
            continue
        if _contains_any(tuple(words[end + 1:end + 1 + death["left_window"]]), death["left_behind"]):
            continue
        for first in range(verb_at - 1, max(-1, verb_at - 2 - death["window"]), -1):
            if _clause_broken(read, first, verb_at):
                break
            if _phrase_at(words, first, death["people"]):
                spans.append((first, end))
                break
    return spans


# Situations told with words between their own, found by a pattern of story_details.yml rather
# than by the catalogue's events (which allow two words between theirs): its key and its finder.
TOLD_PATTERNS = {"land_gift": _land_gifts, "adoption": _adoptions, "death": _deaths}


def _phrase_at(words: Sequence[str], first: int, phrases: list[tuple[str, ...]]) -> int:
    """The length of the first of ``phrases`` that begins at ``words[first]``, else 0."""
    return next((len(p) for p in phrases if tuple(words[first:first + len(p)]) == p), 0)


def _begins_any(words: list[str], first: int, phrases: list[tuple[str, ...]]) -> bool:
    """One of ``phrases`` begins at ``words[first]``."""
    return _phrase_at(words, first, phrases) > 0


def _contains_any(words: tuple[str, ...], phrases: list[tuple[str, ...]]) -> bool:
    return any(words[i:i + len(p)] == p for p in phrases for i in range(len(words) - len(p) + 1))


def _not_shared(hits: list[tuple[str, int, int]], chosen: list[str]) -> list[str]:
    """The ``chosen`` specific procedures without one whose every qualifier found also points
    to another one that has a qualifier of its own: "làm lại" fits cấp đổi and cấp lại, "bị
    rách" beside it only cấp đổi."""
    spans: dict[str, set[tuple[int, int]]] = {}
    for specific, start, end in hits:
        if specific in chosen:
            spans.setdefault(specific, set()).add((start, end))
    return sorted(s for s, found in spans.items()
                  if not any(o != s and found < other for o, other in spans.items()))


def _on_edges(first: int, last: int, starts: list[bool], ends: list[bool], owners: list[int]) -> bool:
    """A phrase of several words ends where a token ends and begins on the edge of one, or is the
    end of one token: "người lào" is not inside "người lao_động", while "làm mất" in "e_làm mất"
    (a loose compound) and "người lào" in "mẹ_người_lào" count."""
    return (starts[first] or ends[first] or owners[first] == owners[last]) and ends[last]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class LemmaEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Finds annotated entity values by longest match on token lemmas."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"number_entity": "number", "event_entity": "procedure_event",
                "event_target": "procedure_told", "name_entity": "procedure", "event_separator": "|",
                "other_entity": "other_procedure"}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 patterns: dict[str, tuple[str, str]] | None = None,
                 qualifiers: dict[str, list[tuple[str, tuple[str, ...]]]] | None = None) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._learnt(patterns or {})
        # general procedure -> (specific procedure, folded words of one qualifier)
        self.qualifiers = qualifiers or {}

    def _learnt(self, patterns: dict[str, tuple[str, str]]) -> None:
        self.patterns = patterns
        self._longest = max((len(k.split()) for k in patterns), default=0)
        # the procedures we do not cover, by the names learnt for them
        self._outside_values = {value for kind, value in patterns.values()
                                if kind == self._config["other_entity"]}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LemmaEntityExtractor:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        patterns: dict[str, tuple[str, str]] = {}
        for example in training_data.training_examples:
            tokens = example.get(TOKENS) or []
            for entity in example.get(ENTITIES) or []:
                inside = [t for t in tokens if t.start >= entity["start"] and t.end <= entity["end"]]
                # a word running over the edge of the span would leave a part of the name as
                # the pattern ("cho bé" from "khai sinh cho bé" inside "làm_khai_sinh cho bé")
                if inside and inside[0].start == entity["start"] and inside[-1].end == entity["end"]:
                    key = " ".join(t.lemma for t in inside)
                    # words annotated both as a name and as a situation are the name: an event
                    # pattern is not looked for among names ("tài khoản định danh mức 2")
                    if entity["entity"] == self._config["event_entity"] and key in patterns:
                        continue
                    patterns[key] = (entity["entity"], str(entity["value"]))
        self._learnt(patterns)
        qualifiers: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for table in training_data.lookup_tables:
            kind, *ids = str(table.get("name", "")).split()
            if kind != QUALIFIER_TABLE or len(ids) != 2 or not isinstance(table.get("elements"), list):
                continue
            qualifiers.setdefault(ids[0], []).extend(
                (ids[1], tuple(element.split("_"))) for element in table["elements"])
        self.qualifiers = qualifiers
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _FILE).write_text(json.dumps(patterns, ensure_ascii=False))
            (directory / _QUALIFIER_FILE).write_text(json.dumps(qualifiers, ensure_ascii=False))
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> LemmaEntityExtractor:
        with model_storage.read_from(resource) as directory:
            raw = json.loads((directory / _FILE).read_text())
            qualifiers = json.loads((directory / _QUALIFIER_FILE).read_text())
        return cls(config, model_storage, resource, {k: tuple(v) for k, v in raw.items()},
                   {general: [(specific, tuple(words)) for specific, words in rows]
                    for general, rows in qualifiers.items()})

    def _find(self, message: Message) -> list[dict[str, Any]]:
        """Longest matches of names (not events) from left to right, and option numbers."""
        tokens = message.get(TOKENS) or []
        text = message.get(TEXT) or ""
        event = self._config["event_entity"]
        found = []
        i = 0
        while i < len(tokens):
            for size in range(min(self._longest, len(tokens) - i), 0, -1):
                key = " ".join(t.lemma for t in tokens[i:i + size])
                if key in self.patterns and self.patterns[key][0] != event:
                    entity, value = self.patterns[key]
                    start, end = tokens[i].start, tokens[i + size - 1].end
                    found.append({"entity": entity, "value": value, "start": start, "end": end,
                                  "confidence_entity": 1.0, "text": text[start:end]})
                    i += size
                    break
            else:
                lemma = tokens[i].lemma
                if lemma.isdigit() and 0 < int(lemma) <= MAX_OPTION_NUMBER:
                    found.append({"entity": self._config["number_entity"], "value": lemma,
                                  "start": tokens[i].start, "end": tokens[i].end,
                                  "confidence_entity": 1.0, "text": tokens[i].text})
                i += 1
        return found

    def _told(self, read: _Read) -> list[dict[str, Any]]:
        """Event phrases whose words appear in order, a few words apart at most ("bố tôi mới
        mất" for "bố mất"), each as the procedure(s) it leads to. A longer phrase hides a shorter
        one matched over the same words ("đi làm ăn xa" is tạm vắng, not "đi làm xa")."""
        tokens, text, words, owners = read.tokens, read.text, read.words, read.owners
        not_events = story_details()["not_events"]
        matches = []
        for key, (entity, values) in self.patterns.items():
            if entity != self._config["event_entity"]:
                continue
            phrase = key.replace("_", " ").split()
            span = next((found_span for found_span in _all_in_order(phrase, words, MAX_EVENT_GAP)
                         if not _costs(words, found_span[1]) and not self._names_between(
                             tokens, owners, found_span, text)
                         and not _begins_any(words, found_span[0], not_events)), None)
            if span is not None:
                matches.append((len(phrase), span, values, tuple(phrase)))
        for story, find in TOLD_PATTERNS.items():
            matches += [(last - first + 1, (first, last), story_details()[story]["procedure"],
                         tuple(words[first:last + 1]))
                        for first, last in find(read) if not _begins_any(words, first, not_events)]
        matches = [(size, span, values, phrase) for size, span, values, phrase in matches
                   if not any(other > size and first <= span[0] and span[1] <= last
                              for other, (first, last), _, _ in matches)]
        matches = self._in_the_foreground(matches, words)
        # "bố mẹ chưa làm đám cưới" beside a birth: the wedding not held is no question
        matches = [m for m in matches if not self._negated(read, m[1][0])] or matches
        found: dict[str, dict[str, Any]] = {}
        for _, span, values, _ in matches:
            start, end = tokens[owners[span[0]]].start, tokens[owners[span[1]]].end
            for value in values.split(self._config["event_separator"]):
                found.setdefault(value, {"entity": self._config["event_target"], "value": value,
                                         "start": start, "end": end, "confidence_entity": 1.0,
                                         "text": text[start:end]})
        return sorted(found.values(), key=lambda e: (e["start"], e["value"]))

    @staticmethod
    def _in_the_foreground(matches: list[tuple[int, tuple[int, int], str, tuple[str, ...]]],
                           words: list[str]) -> list[tuple[int, tuple[int, int], str, tuple[str, ...]]]:
        """Of several events, those that are not a detail of the story: a step already done
        ("cưới vợ xong ra ở riêng" asks about tách hộ) or a background situation
        (``background_events``: "con cái đi làm xa hết" beside the allowance asked for)."""
        background = story_details()["background_events"]

        def detail(span: tuple[int, int], phrase: tuple[str, ...]) -> bool:
            return phrase in background or _done_after(words, span[1])

        return [m for m in matches if not detail(m[1], m[3])] or matches

    @staticmethod
    def _names_between(tokens: list[Any], owners: list[int], span: tuple[int, int], text: str) -> bool:
        """A proper name between the words of an event ("ở ấp Sóc Trò" is no "ở trọ")."""
        if text.isupper():
            return False
        inner = {owners[i] for i in range(span[0] + 1, span[1])} - {owners[span[0]], owners[span[1]]}
        # the last word's own token, unless the event begins in it: "Bố mẹ cho đất" made one
        # token is a capital of the sentence, no name
        last = owners[span[1]]
        return (any(tokens[i].text[:1].isupper() for i in inner)
                or (last != owners[span[0]] and tokens[last].text[:1].isupper()))

    def _qualifier_hits(self, options: list[tuple[str, tuple[str, ...]]], mention: dict[str, Any],
                        read: _Read) -> list[tuple[str, int, int]]:
        """The qualifiers of ``options`` found in the message outside ``mention``'s own words,
        not negated, not a step already done ("khai tử xong rồi, giờ xin mai táng") and not
        inside a story's background (``not_qualifiers``: "hồi chiến tranh biên giới"), as
        (specific procedure, start, end); a match inside a longer one is left out."""
        tokens, words, owners = read.tokens, read.words, read.owners
        background = [span for phrase in story_details()["not_qualifiers"]
                      for span in _all_in_order(list(phrase), words, 0)]
        papers = story_details()["other_papers"]
        purposes = story_details()["purpose"]
        contrast = story_details()["contrast"]
        places = story_details()["field_places"]
        described = [(last, last + papers["window"]) for phrase in papers["phrases"]
                     for _, last in _all_in_order(list(phrase), words, 0)]
        rejected = story_details()["rejected"]
        first_rejection = min((span[0] for phrase in rejected["rejected"]
                               for span in _all_in_order(list(phrase), words, 0)), default=None)
        hits = []
        for specific, phrase in options:
            for first, last in _all_in_order(list(phrase), words, QUALIFIER_GAP):
                # a phrase is whole words: "người lào" is not inside "người_lao_động"
                if len(phrase) > 1 and not _on_edges(first, last, read.starts, read.ends, owners):
                    continue
                if _costs(words, last) or _done_after(words, last, QUALIFIER_DONE_AFTER):
                    continue
                # "chết ngoài rẫy": the field is where it happened, not land of the question
                if tuple(phrase) in places["fields"] and first > 0 and words[first - 1] in places["before"]:
                    continue
                # "giấy bị mất, mà sổ ở xã vẫn còn" is no "mất sổ": "mà" starts another statement
                if any(word in contrast for word in words[first + 1:last]):
                    continue
                if _step_done(tuple(phrase), words, first, last):
                    continue
                # "bị báo từ chối, phải làm lại": the application again, not a re-registration
                if (tuple(phrase) in rejected["redo"] and first_rejection is not None
                        and first_rejection < first):
                    continue
                if any(b_first <= first and last <= b_last for b_first, b_last in background):
                    continue
                if any(p_last < first <= p_end for p_last, p_end in described):
                    continue
                if _contains_any(tuple(words[max(0, first - PURPOSE_WINDOW):first]), purposes):
                    continue
                start, end = tokens[owners[first]].start, tokens[owners[last]].end
                if any(i_start <= start and end <= i_end for i_start, i_end in read.ignored):
                    continue
                inside = start < mention["end"] and mention["start"] < end
                if inside or _clause_broken(read, first, last):
                    continue
                if self._negated(read, first):
                    continue
                hits.append((specific, len(phrase), first, last, start, end))
        ended = _no_longer(mention, read)
        if ended is not None:
            means = story_details()["no_longer"]["means"]
            start, end = tokens[owners[ended]].start, tokens[owners[ended]].end
            hits += [(specific, len(means), ended, ended, start, end)
                     for specific, phrase in options if phrase == means]
        return [(specific, start, end) for specific, size, first, last, start, end in hits
                if not any(o[1] > size and o[2] <= first and last <= o[3] for o in hits)]

    @staticmethod
    def _negated(read: _Read, first: int) -> bool:
        """A negation right before the word at ``first``, or one linking word before it ("không
        bị mất"), in the same clause ("giấy tờ không còn, đăng ký lại" denies nothing)."""
        words, owners, tokens = read.words, read.owners, read.tokens
        for back in (1, 2):
            index = first - back
            if index < 0 or (back == 2 and words[first - 1] not in NEGATION_LINK):
                break
            if words[index] in NEGATIONS:
                gap = read.text[tokens[owners[index]].end:tokens[owners[first]].start]
                return owners[index] == owners[first] or not CLAUSE_BREAK.search(gap)
        return False

    @staticmethod
    def _collides(mention: dict[str, Any], read: _Read) -> bool:
        """A name whose first word lies inside a longer phrase of other words folded alike
        (``not_names`` in story_details.yml: "báo từ chối" is no "báo tử", "mai táng cho" no
        "tặng cho")."""
        index = read.first_word.get(mention["start"])
        return index is not None and any(
            len(phrase) > back and tuple(read.words[index - back:index - back + len(phrase)]) == phrase
            for phrase in story_details()["not_names"] for back in range(min(index, len(phrase) - 1) + 1))

    def _qualified(self, mentions: list[dict[str, Any]], read: _Read) -> list[dict[str, Any]]:
        """Each general procedure replaced by the specific one its qualifiers point to (see the
        module's docstring); names that lie inside a qualifier used are dropped."""
        named = {m["value"] for m in mentions}
        result: list[dict[str, Any]] = []
        used: list[tuple[int, int]] = []
        for mention in mentions:
            options = self.qualifiers.get(mention["value"])
            if not options:
                result.append(mention)
                continue
            if any(specific in named for specific, _ in options):
                continue  # "mất sổ đỏ" beside "sổ đỏ": the specific one is named already
            hits = self._qualifier_hits(options, mention, read)
            chosen = _not_shared(hits, self._most_specific(
                sorted({specific for specific, _, _ in hits}), mention, read))
            used += [(start, end) for _, start, end in hits]
            if len(chosen) > 1:
                chosen = self._of_the_kind_named(chosen, mention, mentions)
            if not chosen:
                result.append(mention)
            elif len(chosen) == 1:
                result.append({**mention, "value": chosen[0]})
            else:
                result += [{**mention, "entity": self._config["event_target"], "value": value}
                           for value in chosen]
        # a general name left beside a specific procedure another name became ("1 lần ra cả khai
        # sinh, nhập khẩu, thẻ bhyt": liên thông khai sinh refines all three)
        resolved = {m["value"] for m in result if not any(m is original for original in mentions)}
        result = [m for m in result if not (any(m is original for original in mentions) and any(
            specific in resolved for specific, _ in self.qualifiers.get(m["value"], [])))]
        kept = [m for m in result if not (any(m is original for original in mentions) and any(
            start <= m["start"] and m["end"] <= end for start, end in used))]
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for mention in kept:
            unique.setdefault((mention["entity"], mention["value"]), mention)
        return list(unique.values())

    def _of_the_kind_named(self, chosen: list[str], mention: dict[str, Any],
                           mentions: list[dict[str, Any]]) -> list[str]:
        """Of several specific procedures, those that also refine another name of the message:
        "giấy kết hôn mất ... xin trích lục hay đăng ký lại" weighs two procedures of marriage,
        never the re-registration of a birth that "đăng ký lại" alone would fit."""
        kind = {specific for other in mentions if other is not mention
                for specific, _ in self.qualifiers.get(other["value"], [])}
        return [specific for specific in chosen if specific in kind] or chosen

    def _most_specific(self, chosen: list[str], mention: dict[str, Any], read: _Read) -> list[str]:
        """Of several specific procedures, those no other one refines by its qualifiers found in
        the message: a lost marriage certificate is trích lục, unless the register is gone too
        ("sổ ở xã cũng cháy"), which makes it đăng ký lại."""
        if len(chosen) < 2:
            return chosen
        beaten = {specific for specific in chosen if self._qualifier_hits(
            [o for o in self.qualifiers.get(specific, []) if o[0] in chosen and o[0] != specific],
            mention, read)}
        return [specific for specific in chosen if specific not in beaten] or chosen

    def _denied(self, names: list[dict[str, Any]], read: _Read) -> list[dict[str, Any]]:
        """Names that are not the question (``_not_the_question``): left out when another name
        remains."""
        denied = [n for n in names if self._not_the_question(n, names, read)]
        if len(denied) < len(names):
            return [n for n in names if n not in denied]
        # every name denied: a paper asked for or compared ("tên trên sổ đỏ không khớp căn cước")
        # is less the question than a name denied otherwise
        asked = [n for n in names if self._asked_paper(n, read) or _required_paper(n, read)]
        if len(asked) < len(names):
            return [n for n in names if n not in asked]
        # a paper to bring, alone, asks about the procedure under discussion; beside a story it is
        # the paper that story needs ("thuê nhà ..., phải có xác nhận diện tích nhà")
        needed = all(self._asked_paper(n, read, "paper_needed") and self._whether(n, read)
                     for n in names)
        return [] if needed and not self._told(read) else names

    @staticmethod
    def _whether(name: dict[str, Any], read: _Read) -> bool:
        """The clause of a name asks whether ("phải có căn cước của cả hai vợ chồng không", "cần
        mang cccd bản gốc hay photo"), rather than about the paper ("phải có giấy độc thân, cần
        nộp kèm gì"): ``paper_whether`` in story_details.yml."""
        last = read.last_word.get(name["end"], len(read.words) - 1)
        whether = story_details()["paper_whether"]
        for index in range(last + 1, min(len(read.words), last + 1 + whether["window"])):
            if _clause_broken(read, last, index):
                return False
            if read.words[index] in whether["words"]:
                return True
        return False

    def _not_the_question(self, name: dict[str, Any], names: list[dict[str, Any]], read: _Read
                          ) -> bool:
        """A name right after "không phải" or a negation ("chưa kết hôn"), named as a paper, a
        status, a place or a step done, or telling where the citizen lives ("thường trú ở Hà
        Giang"), beside the other ``names`` of the message."""
        words = read.words
        details = story_details()
        index = read.first_word.get(name["start"], 0)
        words_before = tuple(words[max(0, index - len(NEGATED_NAME)):index])
        if (words_before in (NEGATED_NAME, *NOT_THE_QUESTION)
                or _negated_name(name, read)
                or _ends_with(words_before, details["place_before"])
                or _ends_with(words_before, details["paper_verbs"])
                or _ends_with(words_before, details["time_before"])
                or _ends_with(words_before, details["purpose_before"])
                and any(other["start"] < name["start"] for other in names if other is not name)
                or self._asked_paper(name, read) or self._within_qualifier(name, names, read)
                or self._copied(name, names, read)
                or _followed_by(name, read, details["demanded"]["demands"], details["demanded"]["window"])
                or _followed_by(name, read, details["said_right"]["words"], details["said_right"]["window"])
                or _required_paper(name, read)
                or _goal_then(name, names, read) or _delegated(name, read)):
            return True
        last = read.last_word.get(name["end"], len(words))
        # a paper told as held: "có cccd gắn chip rồi" (``held`` in story_details.yml)
        held = details["held"]
        if (_ends_with(tuple(words[max(0, index - 3):index]), held["before"])
                and held["after"] in words[last + 1:last + 1 + held["window"]]):
            return True
        # "liên thông khai tử xong rồi, có phải xóa thường trú nữa không": the linked procedure
        # done is still the one asked about, as it covers the other
        if _done_after(words, last) and not any(
                name["value"] == specific for other in names if other is not name
                for specific, _ in self.qualifiers.get(other["value"], [])):
            return True
        return self._residence(name, read)

    def _copied(self, name: dict[str, Any], names: list[dict[str, Any]], read: _Read) -> bool:
        """A paper named in the same sentence as a procedure copying papers, that procedure being
        asked about (``copies`` in story_details.yml): "photo công chứng sổ đỏ với căn cước",
        "nộp bản sao cccd, giấy khai sinh có chứng thực, photo công chứng ở phường" ask about the
        copy; "đăng ký kết hôn có cần bản photo công chứng căn cước không" does not."""
        copies = story_details()["copies"]
        if name["value"] in copies:
            return False
        for other in names:
            if other["value"] not in copies or self._not_the_question(other, [other], read):
                continue
            between = min(other["end"], name["end"]), max(other["start"], name["start"])
            if not SENTENCE_BREAK.search(read.text, *between):
                return True
        return False

    def _within_qualifier(self, name: dict[str, Any], names: list[dict[str, Any]], read: _Read) -> bool:
        """A name inside a longer qualifier of another name of the message: in "sổ đỏ ghi Huỳnh
        Văn Tư mà căn cước là Huỳnh Văn Tưu", "mà căn cước" says what is wrong with the sổ đỏ
        (its correction), and căn cước is not asked about."""
        first, last = read.first_word.get(name["start"]), read.last_word.get(name["end"])
        if first is None or last is None:
            return False
        others = {o["value"] for o in names if o is not name}
        if not others:
            return False
        for general, options in self.qualifiers.items():
            for specific, phrase in options:
                if len(phrase) <= last - first + 1 or not {general, specific} & others:
                    continue
                if any(p_first <= first and last <= p_last
                       for p_first, p_last in _all_in_order(list(phrase), read.words, 0)):
                    return True
        return False

    @staticmethod
    def _asked_paper(name: dict[str, Any], read: _Read, phrases_key: str = "paper_before") -> bool:
        """A name that is a paper asked for, compared or received (``paper_before``, or the list
        ``phrases_key`` names, in story_details.yml), the name's own "giấy" counting as a word
        before it ("cần giấy khai sinh" as "cần giấy" + "khai sinh"); the words before are those
        of its clause ("họ đòi. khai sinh cho người già" asks about khai sinh)."""
        words = read.words
        index = read.first_word.get(name["start"], 0)
        start = index
        while start > max(0, index - 3) and not _clause_broken(read, start - 1, start):
            start -= 1
        before = tuple(words[start:index])
        own = (PAPER_WORD,) if words[index:index + 1] == [PAPER_WORD] else ()
        phrases = story_details()[phrases_key]
        return _ends_with(before, phrases) or bool(own) and _ends_with((*before, *own), phrases)

    def _residence(self, name: dict[str, Any], read: _Read) -> bool:
        """A residence named with where it is and not asked for ("mà thường trú ở Hà Giang"):
        where the citizen lives, not the procedure asked about (``residence`` in
        story_details.yml)."""
        details = story_details()["residence"]
        if name["value"] not in details["procedures"] or self._requested(name, read):
            return False
        index = read.last_word.get(name["end"], len(read.words)) + 1
        following = read.words[index:index + 2]
        if following[:1] and following[0] in details["former"]:
            return True
        return (len(following) == 2 and following[0] in details["at"]
                and following[1] not in details["questions"])

    @staticmethod
    def _papers_only(names: list[dict[str, Any]], read: _Read) -> bool:
        """Every name is a paper held, lent or shown ("chủ nhà không cho mượn sổ đỏ")."""
        words = read.words
        verbs = story_details()["paper_verbs"]

        def paper(name: dict[str, Any]) -> bool:
            index = read.first_word.get(name["start"], 0)
            before = tuple(words[max(0, index - 2):index])
            return before in PAPER_ONLY or _ends_with(before, verbs)

        return bool(names) and all(paper(n) for n in names)

    def _not_status(self, mentions: list[dict[str, Any]], read: _Read) -> list[dict[str, Any]]:
        """``mentions`` without a household status told as the reason for an exemption ("nhà em
        hộ nghèo, làm sổ đỏ có được miễn tiền không") or as whom a policy is for ("vay vốn cho hộ
        nghèo"): see ``status`` in story_details.yml."""
        details = story_details()
        present = set(read.words)

        def status(mention: dict[str, Any]) -> bool:
            if mention["value"] not in details["status_procedures"]:
                return False
            if mention["entity"] == self._config["name_entity"]:
                index = read.first_word.get(mention["start"], 0)
                for_whom = _ends_with(tuple(read.words[max(0, index - 2):index]), details["beneficiary"])
                return ((bool(present & details["exemption"]) or for_whom)
                        and not self._requested(mention, read))
            return bool(present & details["cost"])

        return [m for m in mentions if not status(m)]

    @staticmethod
    def _requested(mention: dict[str, Any], read: _Read) -> bool:
        """A request word (``request`` in story_details.yml) in the name or at most three words
        before it: "xin hộ nghèo", "làm sổ hộ khẩu"."""
        tokens, words = read.tokens, read.words
        inside = [i for i, owner in enumerate(read.owners)
                  if mention["start"] <= tokens[owner].start and tokens[owner].end <= mention["end"]]
        if not inside:
            return False
        before = words[max(0, inside[0] - 3):inside[-1] + 1]
        return any(tuple(before[i:i + len(p)]) == p for p in story_details()["request"]
                   for i in range(len(before) - len(p) + 1))

    def _paper(self, mention: dict[str, Any], read: _Read) -> bool:
        """A name that is only a paper (``papers`` in story_details.yml), left as it was found and
        not asked for ("làm sổ hộ khẩu" still asks about thường trú)."""
        words = tuple(w for t in read.tokens
                      if t.start >= mention["start"] and t.end <= mention["end"]
                      for w in t.lemma.split("_"))
        return words in story_details()["papers"] and not self._requested(mention, read)

    def _entities(self, message: Message) -> list[dict[str, Any]]:
        """Names first, refined by their qualifiers; the procedures a told situation leads to
        (refined the same way) only when none is named. A household status given as the reason
        for an exemption is neither."""
        read = _Read.of(message)
        found = [e for e in self._find(message) if not self._collides(e, read)]
        name = self._config["name_entity"]
        names = self._not_status([e for e in found if e["entity"] == name], read)
        others = [e for e in found if e["entity"] != name]
        if names and not self._papers_only(names, read):
            kept = self._unmarried_birth(self._denied(names, read), read)
            ignored = tuple((n["start"], n["end"]) for n in names
                            if not any(n is k for k in kept) and self._asked_paper(n, read))
            result = self._qualified(kept, replace(read, ignored=ignored))
            result = [m for m in result if not (any(m is n for n in names) and self._paper(m, read))]
            if result:
                return others + self._compared(
                    self._remarried(self._refined_by_story(result, read), read), names, read)
        return others + self._remarried(
            self._qualified(self._not_status(self._told(read), read), read), read)

    def _refined_by_story(self, result: list[dict[str, Any]], read: _Read) -> list[dict[str, Any]]:
        """A name, as it was or as its qualifiers made it, beside a told situation holding a
        qualifier of it that the qualifier search could not see, becomes the specific procedure
        both point to: in "sổ đỏ bị mủn, đổi sổ mới" the segmenter reads "đổi sổ mới" as one
        word, and "đổi sổ" does not end where a word ends; in "chuyển sổ đỏ sang tên con khi bố
        mẹ cho đất" the transfer ("sang tên") is a gift ("bố mẹ cho", inside the event "bố mẹ
        cho đất")."""
        general = [m for m in result if self.qualifiers.get(m["value"])]
        if not general:
            return result
        tokens, owners = read.tokens, read.owners

        def hidden(entity: dict[str, Any], phrase: tuple[str, ...]) -> bool:
            inside = [i for i, owner in enumerate(owners)
                      if entity["start"] <= tokens[owner].start and tokens[owner].end <= entity["end"]]
            return any(not _on_edges(first, last, read.starts, read.ends, owners)
                       and not self._negated(read, first)
                       for first, last in _all_in_order(list(phrase), read.words, 0)
                       if inside and inside[0] <= first and last <= inside[-1])

        told = [t for t in self._told(read)
                if not any(t["start"] < m["end"] and m["start"] < t["end"] for m in result)]
        refined: list[dict[str, Any]] = []
        for mention in result:
            values = sorted({t["value"] for t in told
                             for specific, phrase in self.qualifiers.get(mention["value"], [])
                             if specific == t["value"] and hidden(t, phrase)})
            if any(mention is m for m in general) and len(values) == 1:
                mention = {**mention, "value": values[0]}
            refined.append(mention)
        return refined

    def _compared(self, result: list[dict[str, Any]], names: list[dict[str, Any]],
                  read: _Read) -> list[dict[str, Any]]:
        """A name differing between two papers ("giấy khai sinh ghi Bhling, mà cccd ghi Bh'ling")
        with neither said to be wrong: the correction of either may be meant, so each is told
        and the bot asks which (``compared_papers`` in story_details.yml)."""
        details = story_details()["compared_papers"]
        if not details["papers"] <= {n["value"] for n in names}:
            return result
        if not {m["value"] for m in result} <= details["papers"] | set(details["corrections"]):
            return result
        words = read.words
        if (set(words) & details["wrong"]
                or not _contains_any(tuple(words), details["cues"])):
            return result
        first = min(result, key=lambda m: m["start"])
        return [{**first, "entity": self._config["event_target"], "value": value}
                for value in details["corrections"]]

    @staticmethod
    def _unmarried_birth(names: list[dict[str, Any]], read: _Read) -> list[dict[str, Any]]:
        """A marriage denied beside a birth, when no other name is left ("nhà bên cạnh sinh em
        bé mà hai đứa chưa đăng ký kết hôn"): ``unmarried_birth`` in story_details.yml."""
        details = story_details()["unmarried_birth"]
        if not names or not all(n["value"] == details["from"] and _negated_name(n, read)
                                for n in names):
            return names
        words = tuple(read.words)
        if not _contains_any(words, details["births"]) or _contains_any(words, details["marry"]):
            return names
        return [{**n, "value": details["means"]} for n in names[:1]]

    @staticmethod
    def _remarried(entities: list[dict[str, Any]], read: _Read) -> list[dict[str, Any]]:
        """A marriage registered "again" after a divorce is a new one (``new_marriage`` in
        story_details.yml)."""
        details = story_details()["new_marriage"]
        if not any(e["value"] == details["from"] for e in entities):
            return entities
        if not _contains_any(tuple(read.words), details["cues"]):
            return entities
        result: list[dict[str, Any]] = []
        for entity in entities:
            entity = {**entity, "value": details["means"]} if entity["value"] == details["from"] else entity
            if not any(e["entity"] == entity["entity"] and e["value"] == entity["value"] for e in result):
                result.append(entity)
        return result

    def _outside(self, entities: list[dict[str, Any]], message: Message) -> list[dict[str, Any]]:
        """A procedure we do not cover (``other_entity``) as such, also when a qualifier made a
        name of ours into one ("thẻ BHYT" + "hộ gia đình"); left out when it is not the question
        ("ông không có lương hưu", "có phải có hộ chiếu không") beside one of ours."""
        other = self._config["other_entity"]
        entities = [{**e, "entity": other} if e["value"] in self._outside_values else e
                     for e in entities]
        ours = [e for e in entities if e["entity"] in (self._config["name_entity"],
                                                        self._config["event_target"])]
        if not ours or not any(e["entity"] == other for e in entities):
            return entities
        read = _Read.of(message)
        return [e for e in entities
                if e["entity"] != other or not self._not_the_question(e, ours + [e], read)]

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = self.add_extractor_name(self._outside(self._entities(message), message))
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
