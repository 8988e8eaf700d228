"""What the address step hands to the dialogue: a current unit, or the question to ask."""

from __future__ import annotations

from dataclasses import dataclass

WARD_KIND = "ward"  # one current unit
SPLIT_KIND = "split"  # the old commune was divided: ask which of ``candidates``
PROVINCE_KIND = "province"  # only a province is certain: say what it is now, ask for the commune
UNKNOWN_KIND = "unknown"  # it looked like an address but nothing reliable: ask again


@dataclass(frozen=True)
class Unit:
    """A current (post-1/7/2025) commune-level unit."""

    ward: str  # "Xã Ia Phí" (NFC, with diacritics, the data's single tone style: "Hòa")
    province: str  # "Tỉnh Gia Lai"
    ward_code: str
    province_code: str


@dataclass(frozen=True)
class Resolution:
    """One reading of the place a citizen named.

    ``matches`` is an addition to the agreed API: when the kind is "province" or "unknown" because
    the name fits several units (e.g. "phường 1" of two towns), it lists them, readable, when they
    are few enough (at most 8) to offer as choices; otherwise it is empty.
    """

    kind: str
    said: str  # our reading of what was said, e.g. "xã Ia Phí, huyện Chư Păh, tỉnh Gia Lai"
    unit: Unit | None = None  # for "ward"
    candidates: tuple[Unit, ...] = ()  # for "split": every new unit, never a silent default
    province: str | None = None  # current province for "ward", "split" and "province"
    old_province: str | None = None  # "Hà Giang": a pre-2025 province the citizen named
    old_district: str | None = None  # "huyện Chư Păh" when given: that level no longer exists
    is_old: bool = False  # the citizen used a pre-2025 name
    matches: tuple[str, ...] = ()
