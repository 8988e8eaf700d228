"""What a procedure is, once loaded: facts, documents, questions, FAQ, and the catalogue of them.

Plain frozen dataclasses; ``bot.catalogue.loading`` builds them from the YAML files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.catalogue.schema import PORTAL_URL

ASPECTS = ("documents", "fee", "where", "processing_time", "deadline", "online", "steps")
# Menu groups: with dozens of procedures a menu lists groups first (titles in flows/phrases.yml).
GROUPS = ("cu_tru", "ho_tich", "ho_tich_khac", "chung_thuc", "xa_hoi", "dat_dai")
OTHER_GROUP = "khac"
OFFICES = ("ubnd_xa", "cong_an_xa", "van_phong_dang_ky_dat_dai", "bhxh_tinh", "truc_tuyen")
ONLINE_LEVELS = ("toan_trinh", "mot_phan", "khong")
# What a deadline's ``days`` are counted from: the birth, the death (``deadline.counted_from``).
DEADLINE_EVENTS = ("sinh", "mat")
DEADLINE_MAX_DAYS = 3660


@dataclass(frozen=True)
class Source:
    """An official source a fact rests on: a portal record, a legal document or a named page."""

    id: str
    kind: str  # "portal" (ref = procedure code), "law" (ref = number), "page" (ref = title)
    ref: str
    url: str = ""
    article: str = ""
    note: str = ""


@dataclass(frozen=True)
class Sourcing:
    """Which sources (ids) a fact rests on and when it was last checked against them.

    A verified fact with no ``source`` of its own inherits the file's default (its first source);
    an unverified one inherits none, its ``note`` says why. ``checked`` defaults to the file's.
    """

    sources: tuple[str, ...] = ()
    checked: dt.date | None = None
    checked_line: int = field(default=0, compare=False)  # where ``checked`` is written


@dataclass(frozen=True)
class Fact:
    text: str
    verified: bool = True
    note: str = ""
    sourcing: Sourcing = Sourcing()


@dataclass(frozen=True)
class DeadlineCount:
    """The computable part of a deadline: ``days`` after the event ``counted_from`` (sinh, mat)."""

    days: int
    counted_from: str


@dataclass(frozen=True)
class Document:
    text: str
    when: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sourcing: Sourcing = Sourcing()


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    words: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Question:
    id: str
    ask: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Faq:
    id: str
    questions: tuple[str, ...]
    answer: str
    verified: bool = True
    aspect: str = ""  # set when the entry is a variant of one of the seven aspects
    note: str = ""
    sourcing: Sourcing = Sourcing()


@dataclass(frozen=True)
class Procedure:
    id: str
    codes: tuple[str, ...]
    name: str
    short_name: str
    sms_keyword: str
    aliases: tuple[str, ...]
    summary: str
    who: Fact | None
    where: Fact
    office: str
    documents: tuple[Document, ...]
    documents_note: str
    documents_verified: bool
    documents_sourcing: Sourcing
    fee: Fact
    exemptions: tuple[str, ...]
    deadline: Fact
    processing_time: Fact
    online: Fact
    online_level: str
    steps: tuple[str, ...]
    steps_verified: bool
    steps_sourcing: Sourcing
    result: Fact
    faq: tuple[Faq, ...]
    guide: tuple[Question, ...]
    legal_basis: tuple[str, ...]
    sources: tuple[Source, ...]
    checked: dt.date
    path: Path
    draft: bool = False
    alias_lines: tuple[int, ...] = ()
    # Situations citizens describe instead of naming the procedure ("bố tôi mới mất"): they lead
    # here when no procedure is named; one shared by two procedures makes the bot ask which.
    events: tuple[str, ...] = ()
    event_lines: tuple[int, ...] = ()
    group: str = OTHER_GROUP
    deadline_count: DeadlineCount | None = None  # set when ``deadline`` has days and counted_from
    # The line of each top-level field and FAQ entry ("fee", "documents", "faq:<id>"), for warnings.
    field_lines: tuple[tuple[str, int], ...] = ()
    # SMS parts staff accept for a documents list that cannot be shorter (``documents.sms_parts``).
    documents_sms_parts: int = 0
    shares_code_with: str = ""  # the file whose code this one shares on purpose (same portal record)
    # (general procedure id, words): the general name or story with one of the words means this
    # procedure ("sổ đỏ" + "bị rách" -> cấp đổi); see bot.nlu.entities
    qualifiers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    qualifier_line: int = 0

    @property
    def code(self) -> str:
        """The national code (the first of ``codes``)."""
        return self.codes[0]

    def line_of(self, key: str) -> int:
        """The line of a top-level field or of ``faq:<id>`` in the file, 0 when unknown."""
        return dict(self.field_lines).get(key, 0)

    def source(self, source_id: str) -> Source:
        return next(s for s in self.sources if s.id == source_id)

    def question(self, question_id: str) -> Question:
        return next(q for q in self.guide if q.id == question_id)


@dataclass(frozen=True)
class NotCovered:
    """A procedure citizens ask about that the assistant does not cover (``_chua_ho_tro.yaml``):
    the reply says so and points to its official page instead of a neighbour's facts."""

    id: str
    name: str
    aliases: tuple[str, ...]
    code: str = ""  # the national portal's code, when one procedure fits
    # as a Procedure's: a covered procedure's id and the words that, said with its name, mean this
    # one ("thẻ BHYT" + "hộ gia đình" is no child's card)
    qualifiers: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def url(self) -> str:
        return PORTAL_URL.format(code=self.code) if self.code else ""


@dataclass(frozen=True)
class Catalogue:
    procedures: tuple[Procedure, ...]
    not_covered: tuple[NotCovered, ...] = ()

    def not_covered_entry(self, entry_id: str | None) -> NotCovered | None:
        return next((n for n in self.not_covered if n.id == entry_id), None)

    def __iter__(self) -> Iterator[Procedure]:
        return iter(self.procedures)

    def __len__(self) -> int:
        return len(self.procedures)

    def get(self, procedure_id: str | None) -> Procedure | None:
        return next((p for p in self.procedures if p.id == procedure_id), None)
