"""Builds channel-neutral replies from the catalogue.

Facts come from ``procedures/*.yaml``; fixed phrases from ``flows/phrases.yml``. Nothing here
knows Rasa or any channel. Button payloads use Rasa's ``/intent{"entity": "value"}`` form, which
is ASCII and well under Telegram's 64-byte ``callback_data`` limit.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping

from bot.catalogue import (
    ASPECTS,
    GROUPS,
    OTHER_GROUP,
    Catalogue,
    Document,
    Fact,
    Faq,
    NotCovered,
    Option,
    Procedure,
    Question,
)
from bot.contract import SMS_MAX_PARTS, sms_parts
from bot.contract.reply import Button, Reply, Topic
from bot.nlu.segmenter import Segmenter
from bot.render import sms_text
from bot.text import search_key

ASPECT_INTENTS = {
    "ask_documents": "documents", "ask_fee": "fee", "ask_where": "where",
    "ask_time": "processing_time", "ask_deadline": "deadline", "ask_online": "online",
    "ask_steps": "steps",
}
INTENT_OF_ASPECT = {aspect: intent for intent, aspect in ASPECT_INTENTS.items()}
CHOOSE_WARD_INTENT = "choose_ward"  # a button (or a digit) picking one commune of a split one
WARD_CODE_ENTITY = "ward_code"
# A situation told instead of a procedure's name ("bố tôi mới mất"), annotated in training; the
# extractor turns it into the procedure(s) it leads to (joined by "|") when none is named.
EVENT_ENTITY = "procedure_event"
EVENT_SEPARATOR = "|"
# A procedure the assistant does not cover (procedures/_chua_ho_tro.yaml), named by the citizen.
OTHER_ENTITY = "other_procedure"
TOLD_ENTITY = "procedure_told"  # what the extractor makes of an event when no procedure is named
GROUP_ENTITY = "group"  # a menu group, sent by a button (or a digit picking one)
# A guide option (``guide`` in the YAML) picked after a documents list too long for SMS: only the
# papers that option adds, sent by a button (or a digit picking one). Its value names the procedure
# too ("khai_sinh.o_nha"), so an old button still answers for its own procedure, within 64 bytes.
CASE_ENTITY = "case"
CASE_SEPARATOR = "."
MENU_FLAT_MAX = 9  # up to this many procedures a menu lists them all; more: groups first
FAQ_TOPIC = "faq:"  # a rated FAQ answer's aspect: this prefix and the entry's id
FAQ_ASPECT_MATCH = 0.6  # cosine on lemmas above which an aspect FAQ beats the generic answer
# A situation asked about with no procedure read and none under discussion gets an entry only from
# this close a match: below it the words shared may be the common ones ("bị từ chối thì làm sao"),
# and no score told those from good matches (docs/evaluation.md, session 16).
FAQ_UNPLACED_MATCH = FAQ_ASPECT_MATCH
# A situation asked about after another procedure, naming none, is a follow-up of it from this
# match with that procedure's entries (its 1.25 boost included): on the held-out faq messages that
# read no procedure, an entry of the annotated procedure scored 0.42 or more in 26 of 29, the
# best entry of another procedure picked at random under 0.4 in 27 of 29. Below it the citizen
# has moved on ("sổ hộ khẩu bị thu rồi, lấy gì chứng minh nơi ở" after khai tử).
FAQ_FOLLOW_UP_MATCH = 0.4
FAQ_CHOICES = 3  # procedures offered when a situation's procedure is unclear


def payload(intent: str, **entities: str) -> str:
    return f"/{intent}{json.dumps(entities, separators=(',', ':'))}" if entities else f"/{intent}"


def _best_faq(scores: Iterable[tuple[Procedure, Faq, float]], procedure_id: str | None,
              aspect: str | None = None, named: Collection[str] = ()) -> tuple[Procedure, Faq, float] | None:
    """Of FAQ ``scores`` (``Answers._faq_scores``), the best as ``Answers.best_faq`` picks it."""
    best, best_score = None, 0.0
    for proc, faq, score in scores:
        if aspect is not None and (faq.aspect != aspect or proc.id != procedure_id):
            continue
        if named and proc.id not in named:
            continue
        if proc.id == procedure_id:
            score *= 1.25
        if score > best_score:
            best, best_score = (proc, faq, score), score
    return best


def _nearest_procedures(scores: Iterable[tuple[Procedure, Faq, float]], limit: int = FAQ_CHOICES
                        ) -> list[Procedure]:
    """The procedures whose FAQ entries score best in ``scores``, best first."""
    best: dict[str, tuple[float, Procedure]] = {}
    for proc, _, score in scores:
        if score > best.get(proc.id, (0.0, proc))[0]:
            best[proc.id] = (score, proc)
    return [proc for _, proc in sorted(best.values(), key=lambda item: -item[0])[:limit]]


class Answers:
    """Replies for one catalogue and one phrase book."""

    def __init__(self, catalogue: Catalogue, phrases: Mapping[str, str],
                 faq_index: list[tuple[Procedure, Faq, Counter]] | None = None) -> None:
        """``faq_index``: ``faq_index(catalogue)`` when it was kept from an earlier start."""
        self.catalogue = catalogue
        self.phrases = phrases
        self._segmenter = Segmenter()
        self._faq_index = faq_index if faq_index is not None else self.faq_index(catalogue)

    @staticmethod
    def faq_index(catalogue: Catalogue) -> list[tuple[Procedure, Faq, Counter]]:
        """Each FAQ phrasing of ``catalogue`` as the lemmas it holds (about 2 s: segmentation)."""
        segmenter = Segmenter()
        return [(proc, faq, Counter(w.lemma for w in segmenter.segment(q))) for proc in catalogue
                for faq in proc.faq for q in faq.questions]

    # ----------------------------------------------------------------- facts

    def _fact(self, fact: Fact, verified: bool = True) -> str:
        if not (fact.verified and verified):
            # the note of an unverified fact is the reason, for staff: citizens get the warning
            return "\n".join([fact.text, self.phrases["unverified"]])
        return "\n".join([fact.text] + ([fact.note] if fact.note else []))

    def _condition(self, proc: Procedure, doc: Document) -> str:
        """"Nếu sinh ở nhà: " before a paper needed in some cases only, from the guide's labels."""
        condition = ""
        for qid, options in doc.when.items():
            labels = [self._lower(o.label) for o in proc.question(qid).options if o.id in options]
            condition = self.phrases["when"].format(label=" / ".join(labels)) + " "
        return condition

    @staticmethod
    def _lower(label: str) -> str:
        return label[:1].lower() + label[1:]

    def _documents(self, proc: Procedure, items: list[Document] | None = None,
                   conditions: bool = True, note: bool = True) -> str:
        """The papers as lines ("- " bullets: a digit on SMS picks an option, never a paper)."""
        lines = [f"- {self._condition(proc, d) if conditions else ''}{d.text}"
                 for d in (proc.documents if items is None else items)]
        if note and proc.documents_note:
            lines.append(proc.documents_note)
        if not proc.documents_verified:
            lines.append(self.phrases["unverified"])
        return "\n".join(lines)

    @staticmethod
    def cases(proc: Procedure) -> list[tuple[Question, Option]]:
        """The guide options that add at least one paper, in the guide's order."""
        return [(q, o) for q in proc.guide for o in q.options
                if any(o.id in d.when.get(q.id, ()) for d in proc.documents)]

    def documents(self, proc: Procedure) -> Reply:
        """The papers to bring. A list longer than ``SMS_MAX_PARTS`` SMS that differs by case
        gives the papers every case needs, then asks which case applies (``documents_case``)."""
        title = f"{proc.short_name} – {self.phrases['aspect.documents']}:"
        whole = Reply(f"{title}\n{self._documents(proc)}", rate=Topic(proc.id, "documents"))
        cases = self.cases(proc)
        if sms_parts(sms_text(whole)) <= SMS_MAX_PARTS or not cases:
            return whole
        common = [d for d in proc.documents if not d.when]
        lines = [title, self._documents(proc, common), self.phrases["documents.cases"]]
        buttons = tuple(Button(o.label, payload(INTENT_OF_ASPECT["documents"], **{
            CASE_ENTITY: f"{proc.id}{CASE_SEPARATOR}{o.id}"})) for _, o in cases)
        return Reply("\n".join(lines), buttons)

    def documents_case(self, case: str) -> tuple[Procedure, Reply] | None:
        """The papers one guide option adds (``case``: "<procedure>.<option>"); None when unknown."""
        proc_id, _, option_id = case.partition(CASE_SEPARATOR)
        proc = self.catalogue.get(proc_id)
        found = next(((q, o) for q, o in self.cases(proc) if o.id == option_id), None) if proc else None
        if proc is None or found is None:
            return None
        question, option = found
        items = [d for d in proc.documents if option.id in d.when.get(question.id, ())]
        title = self.phrases["documents.case"].format(name=proc.short_name, label=self._lower(option.label))
        return proc, Reply(f"{title}\n{self._documents(proc, items, conditions=False, note=False)}",
                           rate=Topic(proc.id, "documents"))

    def told_case(self, proc: Procedure, text: str) -> str | None:
        """The case ("<procedure>.<option>") ``text`` names by one option's label or words, if one:
        a citizen asked which case applies may answer in words ("đẻ ở nhà") instead of a digit."""
        typed = search_key(text)
        named = [o for _, o in self.cases(proc)
                 if any(key and re.search(rf"\b{re.escape(key)}\b", typed)
                        for key in {search_key(o.label), *(search_key(w) for w in o.words)})]
        return f"{proc.id}{CASE_SEPARATOR}{named[0].id}" if len(named) == 1 else None

    def aspect_text(self, proc: Procedure, aspect: str) -> str:
        if aspect == "documents":
            return self._documents(proc)
        if aspect == "steps":
            steps = "\n".join(f"{i}. {s}" for i, s in enumerate(proc.steps, start=1))
            return steps + ("" if proc.steps_verified else "\n" + self.phrases["unverified"])
        text = self._fact(getattr(proc, aspect))
        if aspect == "fee" and proc.exemptions:
            text += f"\n{self.phrases['exemptions']} " + "; ".join(proc.exemptions) + "."
        return text

    def aspect(self, proc: Procedure, aspect: str) -> Reply:
        """One aspect of one procedure: short, plain, from the YAML."""
        if aspect == "documents":
            return self.documents(proc)
        title = f"{proc.short_name} – {self.phrases['aspect.' + aspect]}:"
        return Reply(f"{title}\n{self.aspect_text(proc, aspect)}", rate=Topic(proc.id, aspect))

    def overview(self, proc: Procedure) -> Reply:
        buttons = [Button(self.phrases["aspect." + a], payload(INTENT_OF_ASPECT[a], procedure=proc.id))
                   for a in ASPECTS]
        buttons.append(Button(self.phrases["guide.start"], payload("guide", procedure=proc.id)))
        return Reply(f"{proc.name}: {proc.summary}\n{self.phrases['overview.more']}", tuple(buttons))

    def _groups(self) -> list[str]:
        """The menu groups in use, in their fixed order, when the catalogue is too long to list."""
        if len(self.catalogue) <= MENU_FLAT_MAX:
            return []
        used = {p.group for p in self.catalogue}
        return [g for g in (*GROUPS, OTHER_GROUP) if g in used]

    def _choices(self, intent: str, title: str, group: str | None,
                 procedures: Collection[Procedure] | None = None) -> Reply:
        """Procedures to pick for ``intent``: all of them when few, else groups first."""
        groups = self._groups() if procedures is None else []
        if groups and group not in groups:
            buttons = tuple(Button(self.phrases[f"group.{g}"], payload(intent, group=g)) for g in groups)
            return Reply(self.phrases["menu.groups"], buttons)
        chosen = procedures if procedures is not None else [
            p for p in self.catalogue if not groups or p.group == group]
        buttons = tuple(Button(p.short_name, payload(intent, procedure=p.id)) for p in chosen)
        heading = f"{self.phrases[f'group.{group}']}. {title}" if groups else title
        return Reply(heading, buttons)

    def which_procedure(self, intent: str, group: str | None = None) -> Reply:
        return self._choices(intent, self.phrases["which_procedure"], group)

    def menu(self, group: str | None = None) -> Reply:
        return self._choices("inform_procedure", self.phrases["menu.title"], group)

    def which_of(self, intent: str, procedures: Collection[Procedure]) -> Reply:
        """A situation that leads to several procedures: the citizen picks one."""
        return self._choices(intent, self.phrases["event.which"], None, procedures)

    def not_covered(self, entry: NotCovered) -> Reply:
        """The honest reply for a procedure we do not cover: where to ask, never another's facts."""
        key = "not_covered" if entry.url else "not_covered.no_page"
        return Reply(self.phrases[key].format(name=entry.name, url=entry.url))

    # ----------------------------------------------------------------- FAQ

    def _bag(self, text: str) -> Counter:
        return Counter(w.lemma for w in self._segmenter.segment(text))

    def answer_aspect(self, proc: Procedure, aspect: str, text: str) -> Reply:
        """The aspect, or the procedure's FAQ on that aspect when it matches the question closely."""
        found = self.best_faq(text, proc.id, aspect=aspect)
        if found is not None and found[2] >= FAQ_ASPECT_MATCH:
            return self.faq(found[0], found[1])
        return self.aspect(proc, aspect)

    def best_faq(self, text: str, procedure_id: str | None, aspect: str | None = None,
                 named: Collection[str] = ()) -> tuple[Procedure, Faq, float] | None:
        """The FAQ entry whose phrasings share most words with ``text`` (cosine on lemmas).

        Entries of the procedure under discussion win ties, so a bare follow-up question
        ("sinh ở nhà thì sao") is answered for the procedure the citizen is asking about. When
        ``text`` itself ``named`` procedures, only their entries count: "quá 60 ngày mới đi khai
        sinh có bị phạt không" must not get the khai tử answer about 15 days.
        """
        return _best_faq(self._faq_scores(text), procedure_id, aspect, named)

    def _faq_scores(self, text: str) -> list[tuple[Procedure, Faq, float]]:
        """Each FAQ phrasing sharing a word with ``text``, with its cosine on lemmas (``text`` is
        segmented once: a question may be looked up several ways)."""
        bag = self._bag(text)
        size = sum(bag.values())
        scores = []
        for proc, faq, other in self._faq_index:
            shared = sum(min(bag[w], other[w]) for w in bag)
            if shared:
                scores.append((proc, faq, shared / math.sqrt(size * sum(other.values()))))
        return scores

    def answer_faq(self, text: str, procedure: Procedure | None, read: Collection[str] = ()
                   ) -> tuple[Reply, Procedure | None]:
        """The FAQ answer to a situation asked about, and the procedure it is of.

        ``read``: the procedures the message names or its story leads to; only their entries
        count. With none read, those of ``procedure``, the one under discussion, when one matches
        as a follow-up ("thế thì hai vợ chồng có phải cùng đi không"). Otherwise a close match of
        any procedure, else the question which procedure, among the one discussed and those whose
        entries come nearest: never an entry that merely shares a question's common words.
        """
        scores = self._faq_scores(text)
        if read:
            found = _best_faq(scores, procedure.id if procedure else None, named=read)
        else:
            found = _best_faq(scores, procedure.id, named={procedure.id}) if procedure else None
            if found is None or found[2] < FAQ_FOLLOW_UP_MATCH:
                found = _best_faq(scores, None)
                if found is None or found[2] < FAQ_UNPLACED_MATCH:
                    nearest = _nearest_procedures(scores)
                    if procedure is not None:  # the one discussed stays on offer, last
                        nearest = [*[p for p in nearest if p != procedure][:FAQ_CHOICES - 1], procedure]
                    return (self.which_of("faq", nearest) if nearest else self.menu()), None
        if found is None:
            return (self.overview(procedure), procedure) if procedure else (self.menu(), None)
        return self.faq(found[0], found[1]), found[0]

    def faq(self, proc: Procedure, entry: Faq) -> Reply:
        text = entry.answer + ("" if entry.verified else "\n" + self.phrases["unverified"])
        return Reply(f"{proc.short_name}: {text}", rate=Topic(proc.id, f"{FAQ_TOPIC}{entry.id}"))

    # ----------------------------------------------------------------- guided mode

    def guide_question(self, proc: Procedure, question: Question) -> Reply:
        buttons = tuple(Button(o.label, o.id) for o in question.options)
        return Reply(question.ask, buttons)

    def checklist(self, proc: Procedure, chosen: Mapping[str, str]) -> Reply:
        """A personalised checklist: only the papers and notes that apply to the answers given."""
        bring = [d.text for d in proc.documents
                 if all(chosen.get(q) in options for q, options in d.when.items())]
        notes = [o.note for q in proc.guide for o in q.options if chosen.get(q.id) == o.id and o.note]
        lines = [self.phrases["checklist.title"].format(name=proc.short_name),
                 self.phrases["checklist.bring"]]
        lines += [f"- {text}" for text in bring]
        lines += [f"{self.phrases['checklist.where']} {proc.where.text}",
                  f"{self.phrases['checklist.fee']} {proc.fee.text}",
                  f"{self.phrases['checklist.time']} {proc.processing_time.text}"]
        lines += notes
        if not all(f.verified for f in (proc.where, proc.fee, proc.processing_time)):
            lines.append(self.phrases["unverified"])
        return Reply("\n".join(lines))
