"""Where to go: replies about addresses after the 2025 reorganisation.

:mod:`bot.address` reads a place from a message and converts it to the current units; this module
turns that into what the citizen reads (in Vietnamese, from ``flows/phrases.yml``): the current
commune and province, a question when an old commune was split or only a province is known, and
the office for a procedure in that commune. It never guesses a unit the reading did not settle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace

from bot.address import AddressBook, Resolution, Unit
from bot.catalogue import Catalogue, Procedure
from bot.contract.reply import Button, Reply
from bot.dialogue.answers import CHOOSE_WARD_INTENT, payload

MAX_LISTED = 8  # names listed in one reply: keeps an SMS answer within 3 parts


def _lower_first(name: str) -> str:
    """"Xã Ia Phí" -> "xã Ia Phí": unit types are common nouns inside a sentence."""
    return name[:1].lower() + name[1:]


def _names(unit: Unit) -> dict[str, str]:
    return {"ward": _lower_first(unit.ward), "province": _lower_first(unit.province)}


def unit_slot(unit: Unit) -> dict[str, str]:
    return asdict(unit)


def unit_from_slot(value: object) -> Unit | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return Unit(**{k: str(value[k]) for k in ("ward", "province", "ward_code", "province_code")})
    except KeyError:
        return None


class Directions:
    """Address replies for one address book, catalogue and phrase book."""

    def __init__(self, book: AddressBook, catalogue: Catalogue, phrases: Mapping[str, str]) -> None:
        self.book = book
        self.catalogue = catalogue
        self.phrases = phrases

    def read(self, text: str) -> Resolution | None:
        return self.book.find(text)

    def explain(self, found: Resolution, ask_commune: bool = True) -> tuple[list[Reply], Unit | None]:
        """What the citizen's place is now, or the question that settles it."""
        p = self.phrases
        if found.kind == "ward" and found.unit is not None:
            return [Reply(self._now(found, found.unit))], found.unit
        if found.kind == "split":
            buttons = tuple(
                Button(f"{c.ward} ({_lower_first(c.province)})",
                       payload(CHOOSE_WARD_INTENT, ward_code=c.ward_code))
                for c in found.candidates)
            text = p["address.split"].format(said=found.said[:1].upper() + found.said[1:])
            if found.old_district:  # before the question, which the numbered options follow
                text = f"{p['address.no_district'].format(district=found.old_district)}\n{text}"
            return [Reply(text, buttons)], None
        if found.kind == "province" and found.province:
            if found.old_province:
                text = p["address.province_changed"].format(old=found.old_province,
                                                           province=_lower_first(found.province))
            else:
                text = p["address.province_same"].format(province=_lower_first(found.province))
            lines = [text]
            if found.matches:
                lines += [p["address.maybe"], *(f"- {m}" for m in found.matches[:MAX_LISTED])]
            if ask_commune:
                lines.append(p["address.ask_commune"])
            return [Reply("\n".join(lines))], None
        lines = [p["address.unknown"]]
        if found.matches:
            lines += [p["address.maybe"], *(f"- {m}" for m in found.matches[:MAX_LISTED])]
        return [Reply("\n".join(lines))], None

    def _now(self, found: Resolution, unit: Unit) -> str:
        p = self.phrases
        if found.is_old:
            said = found.said[:1].upper() + found.said[1:]
            text = p["address.now"].format(said=said, **_names(unit))
        else:
            text = p["address.chosen"].format(**_names(unit))
        if found.old_district:
            text = f"{text}\n{p['address.no_district'].format(district=found.old_district)}"
        return text

    def chosen(self, ward_code: str) -> tuple[list[Reply], Unit | None]:
        """The citizen picked one of the split commune's new units."""
        unit = self.book.unit(ward_code)
        if unit is None:
            return [Reply(self.phrases["address.unknown"])], None
        return [Reply(self.phrases["address.chosen"].format(**_names(unit)))], unit

    def locate(self, reply: Reply, proc: Procedure, unit: Unit, intro: str | None = None) -> Reply:
        """``reply`` (where to file ``proc``) followed by the office in the citizen's commune."""
        lines = [intro] if intro else []
        return replace(reply, text="\n".join([*lines, reply.text, self.office(proc, unit)]))

    def office(self, proc: Procedure, unit: Unit) -> str:
        """The office for ``proc`` in the citizen's current commune, as one line."""
        office = self.phrases["office." + proc.office].format(**_names(unit))
        return self.phrases["address.your_office"].format(office=office)

    def sources(self, text: str) -> Reply:
        """"xã mới X gồm những xã cũ nào" and "tỉnh X mới gồm những tỉnh nào"."""
        p = self.phrases
        found = self.read(text)
        if found is not None and found.kind == "ward" and found.unit is not None:
            old = self.book.sources(found.unit.ward, found.unit.province)
            if old:
                listed = "; ".join(old[:MAX_LISTED]) + ("; …" if len(old) > MAX_LISTED else "")
                return Reply(p["address.sources"].format(ward=found.unit.ward,
                                                         province=_lower_first(found.unit.province),
                                                         sources=listed))
        if found is not None and found.kind == "province" and found.province:
            old = self.book.province_sources(found.province)
            if old:
                return Reply(p["address.province_sources"].format(province=found.province,
                                                                  sources=", ".join(old)))
        return Reply(p["address.unknown"])
