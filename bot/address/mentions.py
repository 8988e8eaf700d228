"""Place-name mentions in a message: every span of words that names a unit, old or new.

A mention keeps the type word the citizen put in front of the name, if any ("xã", "p.", "tp"),
and every unit of its level that bears that name, in both generations. A bare name (no type) is
weak: the reading step only trusts it next to another part of the same address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.address.gazetteer import Gazetteer, NewProvince, OldProvince
from bot.address.words import (
    DISTRICT,
    GENERIC_NAMES,
    LEVELS,
    PROVINCE,
    QUALIFIERS,
    VILLAGE_WORDS,
    WARD,
    is_number,
    is_syllable,
    marks_agree,
    type_at,
)

MAX_NAME_TOKENS = 7  # "Phường Văn Miếu Quốc Tử Giám"
MAX_GLUED_TOKENS = 4  # aliases and unspaced spellings are looked up over at most this many words
# one-syllable names that are also ordinary words when typed without marks ("hue" may be "huệ")
WEAK_PROVINCE_KEYS = frozenset({"hue", "sg"})
HALF = 0.5  # penalty: typed type differs, "mới/cũ" skipped, or a fit only through the 2025 merger


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    name_start: int
    level: str
    typed: str | None  # the official type the citizen wrote ("Xã"), None for a bare name
    old: tuple[Any, ...]
    new: tuple[Any, ...]
    weak: bool
    # precomputed for quick agreement checks (districts and provinces)
    old_keys: frozenset[Any]  # old province keys, or (province, district) keys
    new_keys: frozenset[str]  # current province keys named directly
    merged_keys: frozenset[str]  # current provinces of the old units named
    types: frozenset[str]  # official types of the units named
    words: tuple[str, ...]  # the name as typed, folded
    penalty: float  # HALF when "mới"/"cũ" was skipped between type and name

    def overlaps(self, other: Mention) -> bool:
        return self.start < other.end and other.start < self.end


def find_mentions(gaz: Gazetteer, toks: list[str], marked: list[str] | None = None) -> list[Mention]:
    """Every span of ``toks`` that names a unit, typed ("xa ia phi") or bare ("ia phi").

    ``marked`` holds the same tokens with the citizen's diacritics; a word typed with marks must
    be spelt like the name ("tự tra" is not Tu Tra).
    """
    marked = marked if marked is not None else toks
    message_marked = marked != toks  # typed with diacritics: an unmarked word is meant unmarked
    found: list[Mention] = []
    for i in range(len(toks)):
        starts: list[tuple[int, str | None, tuple[str, ...], float]] = []
        typed = type_at(toks, marked, i)
        if typed:
            after = i + typed[0]
            starts.append((after, typed[1], typed[2], 0.0))
            if after < len(toks) and _qualifier(toks, marked, after):
                starts.append((after + 1, typed[1], typed[2], HALF))
        starts.append((i, None, LEVELS, 0.0))
        for name_start, type_name, levels, penalty in starts:
            for end in range(name_start + 1, min(len(toks), name_start + MAX_NAME_TOKENS) + 1):
                words = toks[name_start:end]
                spaced = " ".join(words)
                glued = len(words) == 1 or (type_name is not None and len(words) <= MAX_GLUED_TOKENS)
                if spaced not in gaz.prefixes and not glued:
                    break  # no name starts with these words, and none is longer
                if type_name is None and len(words) == 1 and is_number(words[0]):
                    continue
                said = marked[name_start:end]
                span_marked = said != words  # the citizen typed some marks: they must fit the name
                matched = {
                    (level, system): [
                        u
                        for u in gaz.lookup(level, system, words, glued)
                        if not span_marked or marks_agree(said, u.words)
                    ]
                    for level in levels
                    for system in ("old", "new")
                }
                if message_marked:  # spelt exactly like some name? only those ("Nga Thanh", not Thành)
                    exact = {
                        k: [u for u in us if marks_agree(said, u.words, strict=True)]
                        for k, us in matched.items()
                    }
                    if any(exact.values()):
                        matched = exact
                for level in levels:
                    old = tuple(matched[level, "old"])
                    new = tuple(matched[level, "new"]) if level != DISTRICT else ()
                    if not old and not new:
                        continue
                    if level == PROVINCE:
                        weak = type_name is None and spaced in WEAK_PROVINCE_KEYS and not span_marked
                    else:
                        weak = type_name is None or (len(words) == 1 and is_syllable(words[0]))
                        weak = weak or spaced in GENERIC_NAMES
                    span = (i, end, name_start)
                    mention = _mention(gaz, span, level, type_name, old, new, weak, tuple(words), penalty)
                    found.append(mention)
    name_ends = {m.end for m in found}
    # a bare name that is also a province's is the province: "Trà Vinh" is not Phường Trà Vinh
    provinces = {(m.start, m.end) for m in found if m.level == PROVINCE}
    return [
        m
        for m in found
        if m.typed
        or not (
            _after_village_word(toks, marked, m.start, name_ends)
            or (m.level != PROVINCE and (m.start, m.end) in provinces)
        )
    ]


def _qualifier(toks: list[str], marked: list[str], i: int) -> bool:
    """ "mới"/"cũ" right after a type word: "xã mới Ia Phí" names Ia Phí."""
    return toks[i] in QUALIFIERS and marks_agree([marked[i]], [QUALIFIERS[toks[i]]])


def _after_village_word(toks: list[str], marked: list[str], start: int, name_ends: set[int]) -> bool:
    """The bare name at ``start`` follows "thôn"/"ấp"/"bản"...: a village, not a commune.

    Not when that word ends a place name itself ("Chi Lăng, Bắc Ninh") or, typed with marks, is
    another word ("lăng" is not "làng").
    """
    if start == 0 or toks[start - 1] not in VILLAGE_WORDS or start in name_ends:
        return False
    return marks_agree([marked[start - 1]], [VILLAGE_WORDS[toks[start - 1]]])


def _mention(
    gaz: Gazetteer,
    span: tuple[int, int, int],
    level: str,
    typed: str | None,
    old: tuple[Any, ...],
    new: tuple[Any, ...],
    weak: bool,
    words: tuple[str, ...],
    penalty: float,
) -> Mention:
    if level == PROVINCE:
        old_keys = frozenset(p.key for p in old)
        merged = frozenset(p.new_key for p in old)
    elif level == DISTRICT:
        old_keys = frozenset((d.province, d.key) for d in old)
        merged = frozenset(gaz.old_provinces[d.province].new_key for d in old)
    else:
        old_keys, merged = frozenset(), frozenset()
    types = frozenset(unit_type(gaz, u) for u in (*old, *new)) if level != WARD else frozenset()
    new_keys = frozenset(p.key for p in new) if level == PROVINCE else frozenset()
    return Mention(*span, level, typed, old, new, weak, old_keys, new_keys, merged, types, words, penalty)


def unit_type(gaz: Gazetteer, unit: Any) -> str:
    if isinstance(unit, OldProvince | NewProvince):
        return gaz.province_type(unit)
    return unit.type
