"""Reading a message: the addresses its place-name mentions (``mentions.py``) can form, and the
one to trust.

1. Mentions are weak when bare (no type word): such a name only counts next to another part of the
   same address, after a locative word ("o lung cu"), or when the message holds nothing else but
   filler words ("lung cu gio thuoc tinh nao").
2. Readings: a unit mention chained with the district and province mentions that agree with it,
   each separated by at most a few filler words. A province or typed district mention next to the
   chain that contradicts it rules the reading out ("xã Ia Phí, tỉnh Hà Giang" is no Ia Phí).
3. Choice: the readings covering the most words win (ties go to the coarser level: "Trà Vinh" is
   the province before it is the city). If the winners lead to different current units, or an
   unrelated address is also present, the result is a question, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise, product
from typing import Any

from bot.address.gazetteer import Gazetteer, NewProvince, NewWard, OldDistrict, OldProvince, OldWard
from bot.address.mentions import HALF, MAX_NAME_TOKENS, Mention, unit_type
from bot.address.words import CUES, DISTRICT, FILLERS, GENERIC_NAMES, PROVINCE, WARD, is_number, is_syllable

MAX_GAP = 3  # filler words allowed between two parts of one address
# how far from a commune its district and province may be: two gaps and a district name
REACH = 2 * MAX_GAP + MAX_NAME_TOKENS + 2


@dataclass(frozen=True)
class Reading:
    level: str
    system: str  # "old" (pre-2025 name) or "new"
    unit: Any  # OldWard | NewWard | OldDistrict | OldProvince | NewProvince
    used: tuple[Mention, ...]
    score: float
    outcome: tuple[str, ...]  # ("ward", code) | ("split", codes...) | ("province", key)
    province_key: str  # current province
    tentative: bool  # a bare name accepted only because of a locative word before it
    contradicted: bool = False  # a district or province right next to it says otherwise

    @property
    def span(self) -> tuple[int, int]:
        return min(m.start for m in self.used), max(m.end for m in self.used)


def _new_province(gaz: Gazetteer, unit: Any) -> str:
    """Current province key of any unit."""
    if isinstance(unit, NewProvince):
        return unit.key
    if isinstance(unit, NewWard):
        return unit.province
    if isinstance(unit, OldProvince):
        return unit.new_key
    return gaz.old_provinces[unit.province].new_key


def _agreement(gaz: Gazetteer, mention: Mention, unit: Any, system: str) -> float | None:
    """Whether a district or province ``mention`` fits ``unit``: the score penalty, or None.

    0 when both are of the same generation and match. HALF when they agree only across the 2025
    change: an old commune with its current province ("xã Lũng Cú, Tuyên Quang": Lũng Cú was in
    Hà Giang), or a current commune with the old province or district it lies in ("xã Minh Ngọc,
    Hà Giang"). An old commune never fits another old district or province.
    """
    current = _new_province(gaz, unit)
    if system == "old":
        if mention.level == PROVINCE:
            if _old_province_key(unit) in mention.old_keys:
                return 0.0
            return HALF if current in mention.new_keys else None
        if isinstance(unit, OldProvince):  # "huyện Chư Păh" next to "Gia Lai"
            return 0.0 if any(p == unit.key for p, _ in mention.old_keys) else None
        return 0.0 if _old_district_key(unit) in mention.old_keys else None
    if mention.level == PROVINCE and current in mention.new_keys:
        return 0.0
    return HALF if current in mention.merged_keys else None


def _old_province_key(unit: Any) -> str | None:
    if isinstance(unit, OldProvince):
        return unit.key
    return unit.province if isinstance(unit, OldWard | OldDistrict) else None


def _old_district_key(unit: OldWard | OldDistrict) -> tuple[str, str]:
    return (unit.province, unit.key) if isinstance(unit, OldDistrict) else (unit.province, unit.district)


def _gap_ok(toks: list[str], start: int, end: int) -> bool:
    return end - start <= MAX_GAP and all(t in FILLERS for t in toks[start:end])


def _chained(toks: list[str], used: list[Mention]) -> bool:
    if len(used) == 1:
        return True
    ordered = sorted(used, key=lambda m: m.start)
    return all(a.end <= b.start and _gap_ok(toks, a.end, b.start) for a, b in pairwise(ordered))


def _address_only(toks: list[str], used: tuple[Mention, ...]) -> bool:
    covered = {i for m in used for i in range(m.start, m.end)}
    return all(t in FILLERS for i, t in enumerate(toks) if i not in covered)


def _outcome(gaz: Gazetteer, unit: Any, system: str) -> tuple[str, ...]:
    if isinstance(unit, NewWard):
        return ("ward", unit.code)
    if isinstance(unit, OldWard):
        news, divided = gaz.conversion[unit.province, unit.district, unit.key]
        return ("split", *sorted(n.code for n in news)) if divided else ("ward", news[0].code)
    if isinstance(unit, OldDistrict) and (unit.province, unit.key) in gaz.district_unit:
        return ("ward", gaz.district_unit[unit.province, unit.key].code)  # now one đặc khu
    return ("province", _new_province(gaz, unit))


def _constrains(mention: Mention) -> bool:
    if mention.weak:
        return False
    return mention.level == PROVINCE or (mention.level == DISTRICT and mention.typed is not None)


def _contradicted(gaz: Gazetteer, toks: list[str], reading: Reading, constraining: list[Mention]) -> bool:
    """A province or typed district that does not fit the reading and lies right next to it, or
    straddles its edge ("xã Chi Lăng Bắc | Ninh": "Bắc Ninh" runs past the reading's words).

    A name lying across two parts of the reading is a coincidence of syllables ("Ta Gia | Lai
    Châu" holds "Gia Lai") and is ignored.
    """
    start, end = reading.span
    covered: set[int] | None = None
    for other in constraining:
        if other.end < start - MAX_GAP or other.start > end + MAX_GAP:
            continue
        if covered is None:
            covered = {i for m in reading.used for i in range(m.start, m.end)}
        if all(i in covered for i in range(other.start, other.end)):
            continue
        near = any(other.overlaps(m) for m in reading.used) or (
            (other.start >= end and _gap_ok(toks, end, other.start))
            or (other.end <= start and _gap_ok(toks, other.end, start))
        )
        if near and _agreement(gaz, other, reading.unit, reading.system) is None:
            return True
    return False


def readings(gaz: Gazetteer, toks: list[str], mentions: list[Mention]) -> list[Reading]:
    """All admissible readings of the message, each with the best chain of parts for its unit."""
    districts = [m for m in mentions if m.level == DISTRICT]
    provinces = [m for m in mentions if m.level == PROVINCE]
    constraining = [m for m in mentions if _constrains(m)]
    out: list[Reading] = []
    for anchor in mentions:
        lo, hi = anchor.start - REACH, anchor.end + REACH
        nearby = [[m for m in group if m.end >= lo and m.start <= hi] for group in (districts, provinces)]
        above = {WARD: nearby, DISTRICT: [[], nearby[1]], PROVINCE: [[], []]}[anchor.level]
        for system, units in (("old", anchor.old), ("new", anchor.new)):
            for unit in units:
                best = _best_chain(gaz, toks, anchor, unit, system, above, constraining)
                if best:
                    out.append(best)
    return out


def _best_chain(
    gaz: Gazetteer,
    toks: list[str],
    anchor: Mention,
    unit: Any,
    system: str,
    above: list[list[Mention]],
    constraining: list[Mention],
) -> Reading | None:
    base = anchor.end - anchor.start - anchor.penalty
    if anchor.typed and anchor.typed != unit_type(gaz, unit):
        base -= HALF
    options: list[list[tuple[Mention, float] | None]] = []
    for parts in above:
        fitting: list[tuple[Mention, float] | None] = [None]
        for part in parts:
            fit = _agreement(gaz, part, unit, system)
            if fit is not None and not part.overlaps(anchor):
                typed_off = part.typed is not None and part.typed not in part.types
                fitting.append((part, part.end - part.start - fit - (HALF if typed_off else 0.0)))
        options.append(fitting)
    best: Reading | None = None
    refuted: Reading | None = None
    for combo in product(*options):
        chosen = [c for c in combo if c is not None]
        used = [anchor, *(m for m, _ in chosen)]
        score = base + sum(points for _, points in chosen)
        if (best and best.score >= score) or not _chained(toks, used):
            continue
        reading = _reading(gaz, toks, anchor, unit, system, tuple(used), score)
        if reading is None:
            continue
        if not _contradicted(gaz, toks, reading, constraining):
            best = reading
        elif refuted is None or refuted.score < score:
            refuted = replace(reading, contradicted=True)
    return best or refuted


def _reading(
    gaz: Gazetteer,
    toks: list[str],
    anchor: Mention,
    unit: Any,
    system: str,
    used: tuple[Mention, ...],
    score: float,
) -> Reading | None:
    tentative = False
    strong = [m for m in used if not m.weak]
    bare = [m for m in used if m.weak and _bare_ok(toks, m)]
    if not strong:
        if len(bare) < len(used):
            return None  # "lam", "cho", "xã biên giới": only next to a firm district or province
        if len(bare) < 2 and not _address_only(toks, used):
            if not (anchor.start > 0 and toks[anchor.start - 1] in CUES):
                return None
            tentative = True
    outcome = _outcome(gaz, unit, system)
    return Reading(anchor.level, system, unit, used, score, outcome, _new_province(gaz, unit), tentative)


def _bare_ok(toks: list[str], mention: Mention) -> bool:
    """A bare name that may stand for a place: a province ("o hue"), a commune or district name
    of two syllables or more that is not a common phrase, or one that is no Vietnamese word
    ("pleiku")."""
    words = toks[mention.name_start : mention.end]
    if mention.level == PROVINCE:
        return True
    if len(words) == 1:
        return not is_syllable(words[0]) and not is_number(words[0])
    return " ".join(words) not in GENERIC_NAMES


def choose(all_readings: list[Reading]) -> list[Reading]:
    """The readings to answer from: the best-scoring ones at the coarsest level they reach, plus
    any separate (non-overlapping) confident address that points elsewhere.

    Readings contradicted by a neighbouring name ("Hà Nội, Hồ Chí Minh") are returned only when
    nothing else is left; the caller then asks instead of answering.
    """
    sound = [r for r in all_readings if not r.contradicted]
    all_readings = sound or all_readings
    firm = [r for r in all_readings if not r.tentative]
    tentative = [r for r in all_readings if r.tentative]
    # a bare name after "o"/"tai" counts only if it is the unique and best reading
    if tentative and len({r.outcome for r in tentative}) > 1:
        all_readings = firm
    if not all_readings:
        return []
    top = max(r.score for r in all_readings)
    winners = [r for r in all_readings if r.score == top]
    for level in (PROVINCE, DISTRICT, WARD):
        if any(r.level == level for r in winners):
            winners = [r for r in winners if r.level == level]
            break
    outcomes = {r.outcome for r in winners}
    spans = [r.span for r in winners]
    for other in firm:
        s, e = other.span
        separate = all(e <= ws or s >= we for ws, we in spans)
        if separate and other.score >= 2 and other.outcome not in outcomes:
            winners.append(other)
            outcomes.add(other.outcome)
    return winners
