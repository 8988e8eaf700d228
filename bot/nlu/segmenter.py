"""Turns Vietnamese as citizens type it into canonical words.

Each word of the input keeps its span in the original text; its canonical form is lowercase,
without diacritics, with chat abbreviations expanded, leftover Telex keys removed
(``bot/nlu/keystrokes.py``) and the syllables of one word joined by
``_`` (``"Đăng ký"`` and ``"dk"`` both become ``dang_ky``). Which syllables form one word comes
from a dictionary of compounds learnt from underthesea's segmentation of accented text, so that
text typed without diacritics is segmented the same way as its accented form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.nlu.keystrokes import deletions, untelex, well_formed
from bot.text import fold

CHAT_SPELLING = Path(__file__).with_name("chat_spelling.yml")
MAX_COMPOUND_SYLLABLES = 8  # "thẻ bảo hiểm y tế trẻ em" is seven
MIN_REPAIRED_LENGTH = 3  # shorter ill-formed syllables are abbreviations ("ks", "ng")
_WORD = re.compile(r"(?:\w|[\u0300-\u036f])+")  # combining marks belong to their letter


@dataclass(frozen=True)
class Word:
    """A word of the input: its span in the original text and its canonical syllables."""

    start: int
    end: int
    syllables: tuple[str, ...]

    @property
    def lemma(self) -> str:
        return "_".join(self.syllables)


@lru_cache(maxsize=4)
def load_abbreviations(path: Path = CHAT_SPELLING) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Typed form (as syllables) -> canonical syllables, from the chat-spelling YAML."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {tuple(fold(k).lower().split()): tuple(fold(v).lower().split())
            for k, v in (data.get("abbreviations") or {}).items()}


@dataclass(frozen=True)
class ClauseFinal:
    """Words read as another only at the end of a clause (``clause_final`` in chat_spelling.yml)."""

    words: dict[str, str]
    particles: frozenset[str]
    min_before: int = 0  # words of its clause before it: "sổ hồng" alone names the certificate


@lru_cache(maxsize=4)
def load_clause_final(path: Path = CHAT_SPELLING) -> ClauseFinal:
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("clause_final") or {}
    return ClauseFinal({fold(k).lower(): fold(v).lower() for k, v in (raw.get("words") or {}).items()},
                       frozenset(fold(p).lower() for p in raw.get("particles") or ()),
                       int(raw.get("min_before") or 0))


_CLAUSE_END = re.compile(r"\s*(?:[,.;:?!…]|$)")
_CLAUSE_BREAK = re.compile(r"[,.;:?!…]")


def _clause_words_before(text: str, raw: list[tuple[int, int, str]], index: int) -> int:
    """How many words of ``raw`` come before ``raw[index]`` within its clause of ``text``."""
    count = 0
    while count < index and not _CLAUSE_BREAK.search(
            text, raw[index - count - 1][1], raw[index - count][0]):
        count += 1
    return count


def syllables(text: str) -> list[tuple[int, int, str]]:
    """(start, end, folded lowercase syllable) for every run of word characters."""
    return [(m.start(), m.end(), fold(m.group()).lower()) for m in _WORD.finditer(text)]


def compounds_from_words(words: Iterable[str]) -> set[tuple[str, ...]]:
    """Multi-syllable entries (folded) from segmented words such as ``"khai sinh"``."""
    found = set()
    for word in words:
        parts = tuple(fold(word).lower().split())
        if 1 < len(parts) <= MAX_COMPOUND_SYLLABLES and all(p.isalnum() for p in parts):
            found.add(parts)
    return found


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    return any(longer[i:i + len(shorter)] == shorter for i in range(len(longer) - len(shorter) + 1))


class Segmenter:
    """Greedy longest-match segmentation over folded syllables.

    ``fixed`` terms (procedure names) win over general ``compounds``, and a general compound
    may not swallow the beginning of a fixed term: folding makes unrelated accented words
    collide ("hơn làm" -> "hon lam"), and a name must never be lost inside such a compound.
    """

    def __init__(self, compounds: Iterable[tuple[str, ...]] = (),
                 abbreviations: dict[tuple[str, ...], tuple[str, ...]] | None = None,
                 fixed: Iterable[tuple[str, ...]] = (), *, phrases: bool = False) -> None:
        self.abbreviations = load_abbreviations() if abbreviations is None else abbreviations
        # a phrase of a list (a qualifier, a cue) is no clause: its last word ends nothing
        self.clause_final = ClauseFinal({}, frozenset()) if phrases else load_clause_final()
        self._longest_abbreviation = max((len(k) for k in self.abbreviations), default=1)
        # terms are compared with text after abbreviation expansion: "thẻ BHYT" learnt from an
        # annotation must match "thẻ bhyt" and "thẻ bảo hiểm y tế" alike
        self.fixed = {t for t in map(self._canonical, fixed) if len(t) > 1}
        # a learnt compound that strictly contains a name is a mis-segmentation ("khai tử làm")
        self.compounds = {c for c in map(self._canonical, compounds) if not any(
            len(f) < len(c) and _contains(c, f) for f in self.fixed)} | self.fixed
        self.compounds.update(v for v in self.abbreviations.values() if len(v) > 1)
        # neighbouring syllables of the fixed terms, for repairing a slip inside a name
        self._fixed_pairs = {pair for term in self.fixed for pair in zip(term, term[1:], strict=False)}
        self._near: dict[str, set[str]] = {}  # a deletion of a name's syllable -> the syllables
        for syllable in {s for pair in self._fixed_pairs for s in pair}:
            for key in deletions(syllable):
                self._near.setdefault(key, set()).add(syllable)

    def _repaired(self, units: list[Word]) -> list[Word]:
        """A syllable that is no Vietnamese syllable, a keyboard slip away from a syllable
        that forms part of a name with its neighbour, read as that syllable ("gia hna tạm
        trú" is gia hạn tạm trú). Only when exactly one such syllable fits."""
        repaired = list(units)
        for i, unit in enumerate(units):
            typed = unit.syllables[0]
            if (len(unit.syllables) > 1 or len(typed) < MIN_REPAIRED_LENGTH or not typed.isalpha()
                    or not typed.isascii() or well_formed(typed)):
                continue
            before = units[i - 1].syllables[-1] if i else None
            after = units[i + 1].syllables[0] if i + 1 < len(units) else None
            near = {c for key in deletions(typed) for c in self._near.get(key, ())}
            fits = {c for c in near
                    if ((before, c) in self._fixed_pairs or (c, after) in self._fixed_pairs)
                    and well_formed(c)}
            if len(fits) == 1:
                repaired[i] = Word(unit.start, unit.end, (fits.pop(),))
        return repaired

    def _units(self, typed: Sequence[str]) -> Iterator[tuple[int, int, tuple[str, ...]]]:
        """(first, end, canonical syllables) of each unit of folded ``typed`` syllables: a chat
        abbreviation expanded (longest first), any other syllable without Telex keys."""
        i = 0
        while i < len(typed):
            for size in range(min(self._longest_abbreviation, len(typed) - i), 0, -1):
                key = tuple(typed[i:i + size])
                if key in self.abbreviations:
                    yield i, i + size, self.abbreviations[key]
                    i += size
                    break
            else:
                yield i, i + 1, (untelex(typed[i]),)
                i += 1

    def _canonical(self, term: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(s for _, _, unit in self._units(term) for s in unit)

    def _expand(self, text: str) -> list[Word]:
        raw = self._clause_final(text, syllables(text))
        return [Word(raw[first][0], raw[end - 1][1], unit)
                for first, end, unit in self._units([s for _, _, s in raw])]

    def _clause_final(self, text: str, raw: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """``raw`` with each clause-final word of ``clause_final`` read as the word it stands for."""
        final = self.clause_final
        result = list(raw)
        for i, (start, end, syllable) in enumerate(raw):
            if (syllable not in final.words or not text[start:end].isascii()
                    or _clause_words_before(text, raw, i) < final.min_before):
                continue
            rest = raw[i + 1:]
            if (_CLAUSE_END.match(text, end) or rest and rest[0][2] in final.particles
                    and _CLAUSE_END.match(text, rest[0][1])):
                result[i] = (start, end, final.words[syllable])
        return result

    def _longest(self, units: list[Word], i: int, terms: set[tuple[str, ...]],
                 broken: Sequence[bool] = ()) -> int:
        """The most units from ``units[i]`` that form one of ``terms``; none reaches over a
        clause break (``broken[j]``: punctuation between units j - 1 and j): "có chứng thực,
        photo công chứng" holds no "chứng thực photo"."""
        best = 0
        for size in range(2, len(units) - i + 1):
            if broken and broken[i + size - 1]:
                break
            candidate = tuple(s for u in units[i:i + size] for s in u.syllables)
            if len(candidate) > MAX_COMPOUND_SYLLABLES:
                break
            if candidate in terms:
                best = size
        return best

    def segment(self, text: str) -> list[Word]:
        """Words of ``text`` with spans into ``text`` and canonical syllables."""
        units = self._repaired(self._expand(text))
        broken = [bool(i) and bool(_CLAUSE_BREAK.search(text, units[i - 1].end, units[i].start))
                  for i in range(len(units))]
        fixed_at = [self._longest(units, i, self.fixed, broken) or int(units[i].syllables in self.fixed)
                    for i in range(len(units))]
        words: list[Word] = []
        i = 0
        while i < len(units):
            size = fixed_at[i]
            if not size:
                size = 1
                for candidate in range(self._longest(units, i, self.compounds, broken), 1, -1):
                    if not any(fixed_at[i + 1:i + candidate]):
                        size = candidate
                        break
            merged = tuple(s for u in units[i:i + size] for s in u.syllables)
            words.append(Word(units[i].start, units[i + size - 1].end, merged))
            i += size
        return words
