"""Pre- and post-2025 administrative units and the conversion between them, read from vietnamadminunits.

Everything comes from the pinned library (``vietnamadminunits==1.0.4``, MIT):

- ``vietnamadminunits.database.get_data``: the 10,040 legacy rows (63 provinces, 3 levels) and the
  3,321 current wards (34 provinces, 2 levels), with the library's keyword lists (aliases, typos);
- ``converter_2025.DICT_PROVINCE``: new province -> old provinces;
- ``converter_2025.DICT_PROVINCE_WARD_NO_DIVIDED``: new ward -> old wards wholly inside it;
- ``converter_2025.DICT_PROVINCE_WARD_DIVIDED``: old ward -> the new wards it was split into
  (471 cases). ``convert_address`` silently picks a default among them, or geocodes street text
  online to choose; we list them all instead.

These are the tables ``convert_address`` itself reads; on the canonical "ward, district, province"
string of every one of the 9,569 undivided legacy wards, ``convert_address`` gives the same unit
(checked when this module was written; tests re-check a sample).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from bot.address.words import DISTRICT, PROVINCE, WARD, spaced_key, strip_prefix
from bot.text import nfc

# Names citizens use that the library's keyword lists lack (or hold only without spaces).
EXTRA_PROVINCE_NAMES = {
    "thanhphohanoi": ("hn",),
    "thanhphohochiminh": ("sai gon", "sg", "hcm"),
    "thanhphohue": ("thua thien hue",),
    "tinhbariavungtau": ("brvt", "vung tau", "ba ria"),
    "tinhdaklak": ("dac lac", "dac lak", "dak lac"),
    "tinhdaknong": ("dac nong",),
}

_PARENTHESIS = re.compile(r"\s*\([^)]*\)\s*$")
_UNIT_FIELDS = ["province", "provinceShort", "provinceCode", "provinceKey", "provinceKeywords"]
_WARD_FIELDS = ["ward", "wardShort", "wardType", "wardCode", "wardKey", "wardKeywords"]
_DISTRICT_FIELDS = ["district", "districtShort", "districtType", "districtKey", "districtKeywords"]
LEGACY_FIELDS = _UNIT_FIELDS + _DISTRICT_FIELDS + _WARD_FIELDS
CURRENT_FIELDS = _UNIT_FIELDS + _WARD_FIELDS


class _Named:
    short: str

    @property
    def words(self) -> list[str]:
        """The name's words, lowercase, with marks: compared with what the citizen typed."""
        return self.short.lower().split()


@dataclass(frozen=True)
class OldProvince(_Named):
    key: str
    name: str  # "Tỉnh Gia Lai"
    short: str  # "Gia Lai"
    code: str
    new_key: str


@dataclass(frozen=True)
class OldDistrict(_Named):
    province: str  # province key
    key: str
    name: str  # "Huyện Chư Păh"
    short: str  # "Chư Păh"
    type: str


@dataclass(frozen=True)
class OldWard(_Named):
    province: str
    district: str
    key: str  # "" for the island districts that had no commune level (Côn Đảo, Lý Sơn, ...)
    name: str
    short: str
    type: str
    code: str


@dataclass(frozen=True)
class NewProvince(_Named):
    key: str
    name: str
    short: str
    code: str
    sources: tuple[str, ...]  # old province keys


@dataclass(frozen=True)
class NewWard(_Named):
    province: str
    key: str
    name: str
    short: str
    type: str
    code: str


def _no_geocoding(address: str) -> None:
    """Stands in for the library's ArcGIS geocoder: this assistant never sends an address anywhere."""
    return None


def guard_library(converter: Any, utils: Any) -> None:
    """Makes ``convert_address`` offline for the whole process.

    For an old commune that was split, ``convert_address`` calls ``get_geo_location`` (an online
    ArcGIS request through geopy) whenever the text holds a street part; offline that raises
    ``GeocoderServiceError``, online it leaks the citizen's address to a third party. We never pass
    it free text, but other code in the process might, so both names it is bound to return None
    (the library then falls back to its default ward; our own code lists all candidates instead).
    """
    converter.get_geo_location = _no_geocoding
    utils.get_geo_location = _no_geocoding


def _keywords(raw: str | None) -> list[str]:
    return json.loads(raw) if raw else []


def _glued_names(glued: str, raw_keywords: str | None, level: str) -> set[str]:
    keywords = _keywords(raw_keywords)
    siblings = set(keywords)
    return {glued} | {strip_prefix(k, siblings, level) for k in keywords}


def _province_type(name: str) -> str:
    return "Thành phố" if name.startswith("Thành phố") else "Tỉnh"


def _short(name: str, type_: str) -> str:
    return name[len(type_) :].strip() if name.startswith(type_) else name


def _clean_short(short: str) -> str:
    """ "Mường Tè (Thị trấn)" -> "Mường Tè": the library marks same-name units of one district."""
    return _PARENTHESIS.sub("", nfc(short)).strip()


def _name_index() -> defaultdict[str, list[Any]]:
    return defaultdict(list)  # a module-level function, not a lambda: the gazetteer is pickled


class Gazetteer:
    """The two generations of units, name indexes over both, and the conversion tables."""

    def __init__(self) -> None:
        from vietnamadminunits.converter import converter_2025
        from vietnamadminunits.database import get_data
        from vietnamadminunits.parser import utils

        guard_library(converter_2025, utils)

        new_of_old = {old: new for new, olds in converter_2025.DICT_PROVINCE.items() for old in olds}
        self.old_provinces: dict[str, OldProvince] = {}
        self.old_districts: dict[tuple[str, str], OldDistrict] = {}
        self.old_wards: dict[tuple[str, str, str], OldWard] = {}
        self.new_provinces: dict[str, NewProvince] = {}
        self.new_wards: dict[tuple[str, str], NewWard] = {}
        # (level, "old"|"new") -> name key -> units. ``spaced`` holds official names with their
        # syllables apart ("ia phi"); ``glued`` the same without spaces plus the library's aliases
        # and variant spellings ("iaphi", "phucsa", former names), which keep no syllable breaks.
        self.spaced: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(_name_index)
        self.glued: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(_name_index)
        self.prefixes: set[str] = set()  # every leading run of words of a spaced name ("ia", "ia phi")

        for row in get_data(LEGACY_FIELDS, table="admin_units_legacy"):
            self._add_legacy(row, new_of_old)
        for new_key, olds in converter_2025.DICT_PROVINCE.items():
            self.new_provinces[new_key] = NewProvince(new_key, "", "", "", tuple(olds))
        for row in get_data(CURRENT_FIELDS, table="admin_units"):
            self._add_current(row)
        for key, extra in EXTRA_PROVINCE_NAMES.items():
            for system, table in (("old", self.old_provinces), ("new", self.new_provinces)):
                if key in table:
                    for name in extra:
                        self._index(PROVINCE, system, table[key], name, None)

        self.new_ward_by_code = {w.code: w for w in self.new_wards.values()}
        # old ward -> (new wards, divided?) and new ward -> [(old ward, partial?)]
        self.conversion: dict[tuple[str, str, str], tuple[tuple[NewWard, ...], bool]] = {}
        self.formed_from: dict[tuple[str, str], list[tuple[OldWard, bool]]] = defaultdict(list)
        for new_p, wards in converter_2025.DICT_PROVINCE_WARD_NO_DIVIDED.items():
            for new_w, olds in wards.items():
                for old in olds:
                    old_ward = self.old_wards[tuple(old.split("_"))]
                    self.conversion[_id(old_ward)] = ((self.new_wards[new_p, new_w],), False)
                    self.formed_from[new_p, new_w].append((old_ward, False))
        for new_p, olds in converter_2025.DICT_PROVINCE_WARD_DIVIDED.items():
            for old, parts in olds.items():
                old_ward = self.old_wards[tuple(old.split("_"))]
                news = tuple(self.new_wards[new_p, part["newWardKey"]] for part in parts)
                self.conversion[_id(old_ward)] = (news, True)
                for new in news:
                    self.formed_from[new_p, new.key].append((old_ward, True))
        # old districts that became one single unit (Phú Quốc, Côn Đảo, Lý Sơn... are now đặc khu)
        targets: dict[tuple[str, str], set[str]] = defaultdict(set)
        for (p_key, d_key, _), (news, divided) in self.conversion.items():
            targets[p_key, d_key].update(["divided"] if divided else [news[0].code])
        self.district_unit = {
            district: self.new_ward_by_code[codes.pop()]
            for district, codes in targets.items()
            if len(codes) == 1 and "divided" not in codes
        }

    def _add_legacy(self, row: dict[str, Any], new_of_old: dict[str, str]) -> None:
        p_key, d_key = row["provinceKey"], row["districtKey"]
        if p_key not in self.old_provinces:
            short, code = nfc(row["provinceShort"]), row["provinceCode"]
            province = OldProvince(p_key, nfc(row["province"]), short, code, new_of_old[p_key])
            self.old_provinces[p_key] = province
            self._index(PROVINCE, "old", province, province.short, row["provinceKeywords"])
        if (p_key, d_key) not in self.old_districts:
            name, type_ = nfc(row["district"]), row["districtType"]
            short = _clean_short(row["districtShort"])
            district = OldDistrict(p_key, d_key, name, _short(name, type_) if short == name else short, type_)
            self.old_districts[p_key, d_key] = district
            self._index(DISTRICT, "old", district, district.short, row["districtKeywords"])
        w_key = row["wardKey"] or ""
        name = nfc(row["ward"] or "")
        type_ = row["wardType"] or ""
        short = _clean_short(row["wardShort"] or "")
        short = _short(name, type_) if row["wardShort"] == row["ward"] else short
        ward = OldWard(p_key, d_key, w_key, name, short, type_, row["wardCode"] or "")
        self.old_wards[p_key, d_key, w_key] = ward
        if w_key:
            self._index(WARD, "old", ward, short, row["wardKeywords"])

    def _add_current(self, row: dict[str, Any]) -> None:
        p_key = row["provinceKey"]
        province = self.new_provinces[p_key]
        if not province.name:
            province = NewProvince(
                p_key, nfc(row["province"]), nfc(row["provinceShort"]), row["provinceCode"], province.sources
            )
            self.new_provinces[p_key] = province
            self._index(PROVINCE, "new", province, province.short, row["provinceKeywords"])
        name = nfc(row["ward"])
        short = _short(name, row["wardType"])
        ward = NewWard(p_key, row["wardKey"], name, short, row["wardType"], row["wardCode"])
        self.new_wards[p_key, ward.key] = ward
        self._index(WARD, "new", ward, short, row["wardKeywords"])

    def _index(self, level: str, system: str, unit: Any, short: str, raw_keywords: str | None) -> None:
        spaced = spaced_key(short)
        self.spaced[level, system][spaced].append(unit)
        words = spaced.split()
        self.prefixes.update(" ".join(words[:n]) for n in range(1, len(words) + 1))
        if "'" in short:  # "Cư M'gar" is also typed "cu mgar"
            bare = spaced_key(short.replace("'", ""))
            self.spaced[level, system][bare].append(unit)
            self.prefixes.update(" ".join(bare.split()[:n]) for n in range(1, len(bare.split()) + 1))
        for key in _glued_names(spaced.replace(" ", ""), raw_keywords, level):
            self.glued[level, system][key].append(unit)

    def lookup(self, level: str, system: str, words: list[str], glued: bool) -> list[Any]:
        """Units of one level and generation named ``words`` (folded tokens).

        With ``glued`` the library's aliases and unspaced spellings count too; the caller allows
        that for one-token names ("daklak", "pleiku") and after a type word ("phuong phuc sa").
        """
        found = self.spaced[level, system].get(" ".join(words), [])
        extra = self.glued[level, system].get("".join(words)) if glued else None
        if extra:
            if not found:
                return extra
            seen = {id(u) for u in found}
            found = found + [u for u in extra if id(u) not in seen]
        return found

    def province_type(self, province: OldProvince | NewProvince) -> str:
        """ "Tỉnh" or "Thành phố"."""
        return _province_type(province.name)

    def changed(self, new: NewProvince) -> bool:
        """True when the current province is not simply the old one of the same name and territory."""
        return new.sources != (new.key,)


def _id(ward: OldWard) -> tuple[str, str, str]:
    return ward.province, ward.district, ward.key
