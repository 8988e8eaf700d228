"""``AddressBook``: old or new addresses in free text -> current units, or the question to ask."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from bot.address.gazetteer import Gazetteer, NewProvince, NewWard, OldDistrict, OldProvince, OldWard
from bot.address.mentions import find_mentions
from bot.address.model import PROVINCE_KIND, SPLIT_KIND, UNKNOWN_KIND, WARD_KIND, Resolution, Unit
from bot.address.reading import Reading, choose, readings
from bot.address.words import DISTRICT, PROVINCE, WARD, split_text, tokens
from bot.text import fold

MAX_TOKENS = 100  # words read: a 3-part SMS (459 characters) has fewer; keeps a turn under 5 ms
MAX_MATCHES = 8  # more than this many homonyms is not a choice list but "which province?"


def lower_type(name: str, type_: str) -> str:
    """ "Huyện Chư Păh" -> "huyện Chư Păh", for use inside a sentence."""
    if type_ and name.lower().startswith(type_.lower()):
        return type_.lower() + name[len(type_) :]
    return name


def _by_name(unit: Unit) -> str:
    return fold(unit.ward)


class AddressBook:
    """Understands Vietnamese addresses, pre- or post-2025, with or without diacritics."""

    def __init__(self, gazetteer: Gazetteer | Callable[[], Gazetteer]) -> None:
        """``gazetteer``, or what builds it when an address is first read."""
        if isinstance(gazetteer, Gazetteer):
            self.__dict__["_gaz"] = gazetteer
        else:
            self._build = gazetteer

    @cached_property
    def _gaz(self) -> Gazetteer:
        return self._build()

    @classmethod
    def load(cls) -> AddressBook:
        """Imports vietnamadminunits and indexes its data (about 1 s and 60 MB: docs/address.md)."""
        return cls(Gazetteer())

    @classmethod
    def shared(cls) -> AddressBook:
        """One book per process, for the NLU pipeline and the dialogue alike. Its gazetteer is built
        when an address is first read, from the copy kept by ``keep_in`` if there is one: most
        messages name no place, and a start does not wait for it."""
        return _shared_book()

    @staticmethod
    def keep_in(folder: Path | None) -> None:
        """Keeps the shared book's gazetteer in ``folder`` (``bot.cache``), keyed on the library's
        version and our code: indexing it took seconds of every start, reading it back a fraction."""
        _cache_folder[0] = folder

    @property
    def gazetteer(self) -> Gazetteer:
        """The indexed library data, for tests and tools."""
        return self._gaz

    # ----- public API -----

    def find(self, text: str) -> Resolution | None:
        """The address in ``text``, converted to current units; None when the text names no place."""
        toks, marked = split_text(text)
        toks, marked = toks[:MAX_TOKENS], marked[:MAX_TOKENS]
        winners = choose(readings(self._gaz, toks, find_mentions(self._gaz, toks, marked)))
        if not winners:
            return None
        if len({r.outcome for r in winners}) > 1 or winners[0].contradicted:
            return self._ambiguous(winners)
        return self._resolved(winners)

    def current_province(self, name: str) -> tuple[str, bool] | None:
        """Current province for a province name, old or new: "tra vinh" -> ("Tỉnh Vĩnh Long", True).

        The flag is True when the province was merged or renamed on 1/7/2025 (also for a kept name
        that absorbed others: "Gia Lai" now includes Bình Định). None if ``name`` is no province.
        """
        toks = tokens(name)
        found = {
            self._new_province_of(p).key
            for m in find_mentions(self._gaz, toks)
            if m.level == PROVINCE
            for p in (*m.old, *m.new)
        }
        if len(found) != 1:
            return None
        province = self._gaz.new_provinces[found.pop()]
        return province.name, self._gaz.changed(province)

    def province_sources(self, name: str) -> tuple[str, ...]:
        """Pre-2025 provinces a current province was formed from: "gia lai" -> Bình Định, Gia Lai."""
        current = self.current_province(name)
        if current is None:
            return ()
        province = next(p for p in self._gaz.new_provinces.values() if p.name == current[0])
        return tuple(sorted((self._gaz.old_provinces[k].name for k in province.sources), key=fold))

    def units(self, ward: str, province: str | None = None) -> tuple[Unit, ...]:
        """Current units named ``ward`` ("ia phi", "Xã Ia Phí"), within ``province`` if given."""
        toks = tokens(ward)
        mentions = find_mentions(self._gaz, toks)
        wards = {
            w for m in mentions if m.level == WARD and m.start == 0 and m.end == len(toks) for w in m.new
        }
        if province is not None:
            keys = {
                self._new_province_of(p).key
                for m in find_mentions(self._gaz, tokens(province))
                if m.level == PROVINCE
                for p in (*m.old, *m.new)
            }
            wards = {w for w in wards if w.province in keys}
        return tuple(sorted((self._unit(w) for w in wards), key=lambda u: (fold(u.province), u.ward_code)))

    def unit(self, ward_code: str) -> Unit | None:
        """The current unit with this code (what a button for a split commune carries)."""
        ward = self._gaz.new_ward_by_code.get(ward_code)
        return None if ward is None else self._unit(ward)

    def sources(self, ward: str, province: str | None = None) -> tuple[str, ...]:
        """Pre-2025 communes a current ward was formed from ("xã mới X gồm những xã cũ nào").

        Each is "xã Ia Ka, huyện Chư Păh, tỉnh Gia Lai"; an old commune that was split among
        several new ones ends in " (một phần)". Empty when the name is unknown or fits several
        current units (see ``units`` to tell which, and ask for the province).
        """
        found = self.units(ward, province)
        if len(found) != 1:
            return ()
        new = self._ward_by_code(found[0].ward_code)
        parts = self._gaz.formed_from[new.province, new.key]
        whole = [self._said_old_ward(w) for w, partial in parts if not partial]
        split = [self._said_old_ward(w) + " (một phần)" for w, partial in parts if partial]
        return tuple(whole + split)

    # ----- building results -----

    def _new_province_of(self, province: OldProvince | NewProvince) -> NewProvince:
        key = province.new_key if isinstance(province, OldProvince) else province.key
        return self._gaz.new_provinces[key]

    def _unit(self, ward: NewWard) -> Unit:
        province = self._gaz.new_provinces[ward.province]
        return Unit(ward.name, province.name, ward.code, province.code)

    def _ward_by_code(self, code: str) -> NewWard:
        return self._gaz.new_ward_by_code[code]

    def _resolved(self, winners: list[Reading]) -> Resolution:
        old = [r for r in winners if r.system == "old"]
        is_old = len(old) == len(winners)
        first = old[0] if is_old else next(r for r in winners if r.system == "new")
        outcome = first.outcome
        province = self._gaz.new_provinces[first.province_key].name
        fields: dict[str, Any] = {
            "said": self._said(first),
            "province": province,
            "old_province": self._old_province_named(old),
            "old_district": self._old_district_named(winners),
            "is_old": is_old,
        }
        if outcome[0] == "ward":
            return Resolution(WARD_KIND, unit=self._unit(self._ward_by_code(outcome[1])), **fields)
        if outcome[0] == "split":
            units = sorted((self._unit(self._ward_by_code(code)) for code in outcome[1:]), key=_by_name)
            return Resolution(SPLIT_KIND, candidates=tuple(units), **fields)
        return Resolution(PROVINCE_KIND, **fields)

    def _ambiguous(self, winners: list[Reading]) -> Resolution:
        provinces = {r.province_key for r in winners if not r.contradicted}
        said = sorted({self._said(r) for r in winners}, key=fold)
        matches = tuple(said) if len(said) <= MAX_MATCHES else ()
        name = ", ".join(self._said_asked(winners)[:3])
        if len(provinces) == 1:
            province = self._gaz.new_provinces[provinces.pop()].name
            old = [r for r in winners if r.system == "old"]
            return Resolution(
                PROVINCE_KIND,
                said=name,
                province=province,
                old_province=self._old_province_named(old),
                old_district=self._old_district_named(winners, agreed=True),
                is_old=len(old) == len(winners),
                matches=matches,
            )
        return Resolution(UNKNOWN_KIND, said=name, matches=matches)

    def _old_province_named(self, old_readings: list[Reading]) -> str | None:
        """Short name of an old province the citizen named, if it is not simply the current one."""
        for reading in old_readings:
            for mention in reading.used:
                if mention.level != PROVINCE:
                    continue
                key = reading.unit.key if isinstance(reading.unit, OldProvince) else reading.unit.province
                named = [p for p in mention.old if p.key == key]
                if named and self._gaz.changed(self._gaz.new_provinces[named[0].new_key]):
                    return named[0].short
        return None

    def _old_district_named(self, winners: list[Reading], agreed: bool = False) -> str | None:
        """The old district the citizen gave (the dialogue says that level is gone).

        With ``agreed``, only when every reading names the same one.
        """
        named = []
        for reading in winners:
            unit = reading.unit
            if isinstance(unit, OldDistrict):
                named.append(lower_type(unit.name, unit.type))
            elif isinstance(unit, OldWard) and any(m.level == DISTRICT for m in reading.used):
                district = self._gaz.old_districts[unit.province, unit.district]
                named.append(lower_type(district.name, district.type))
            elif agreed:
                return None
        if agreed and len(set(named)) != 1:
            return None
        return named[0] if named else None

    # ----- readable names -----

    def _said(self, reading: Reading) -> str:
        unit = reading.unit
        if isinstance(unit, OldWard):
            return self._said_old_ward(unit)
        if isinstance(unit, NewWard):
            province = self._gaz.new_provinces[unit.province]
            return f"{lower_type(unit.name, unit.type)}, {self._said_province(province)}"
        if isinstance(unit, OldDistrict):
            province = self._gaz.old_provinces[unit.province]
            return f"{lower_type(unit.name, unit.type)}, {self._said_province(province)}"
        return self._said_province(unit)

    def _said_asked(self, winners: list[Reading]) -> list[str]:
        """The names the citizen gave, for a question back: "phường 1" rather than the units that
        once bore that name under another."""
        own = [r for r in winners if " ".join(fold(w) for w in r.unit.words) == self._spoken(r)]
        return list(dict.fromkeys(self._said_anchor(r) for r in (own or winners)))

    @staticmethod
    def _spoken(reading: Reading) -> str:
        return " ".join(reading.used[0].words)  # the anchor comes first

    def _said_anchor(self, reading: Reading) -> str:
        """Just the name the citizen gave ("phường 1"), for a question back."""
        unit = reading.unit
        if isinstance(unit, OldProvince | NewProvince):
            return self._said_province(unit)
        return lower_type(unit.name, unit.type)

    def _said_old_ward(self, ward: OldWard) -> str:
        district = self._gaz.old_districts[ward.province, ward.district]
        parts = [lower_type(ward.name, ward.type)] if ward.key else []
        province = self._gaz.old_provinces[ward.province]
        parts += [lower_type(district.name, district.type), self._said_province(province)]
        return ", ".join(parts)

    def _said_province(self, province: OldProvince | NewProvince) -> str:
        return lower_type(province.name, self._gaz.province_type(province))


_cache_folder: list[Path | None] = [None]
_building = threading.Lock()


def _kept_gazetteer() -> Gazetteer:
    from bot.cache import cached, fingerprint

    with _building:  # two turns reading the first addresses at once build it once
        key = fingerprint((), libraries=("vietnamadminunits",))
        return cached(_cache_folder[0], "gazetteer", key, Gazetteer)


@lru_cache(maxsize=1)
def _shared_book() -> AddressBook:
    return AddressBook(_kept_gazetteer)
