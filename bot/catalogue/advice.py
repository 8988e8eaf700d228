"""Warnings that teach: what a valid procedure file still gets wrong for citizens.

A file can be valid and still mislead: a fact last checked long ago, a fact resting on no source
with no reason given, an FAQ only ever phrased with diacritics (citizens mostly type without), a
fee with no amount, a deadline with no number of days, two procedures' aliases the NLU cannot
tell apart. Each warning names the file, the line, the field and what to do, in Vietnamese.
``bot validate --strict`` makes every warning an error; CI runs it on the shipped catalogue.

The rules (documented for staff in ``procedures/README.md``, section "Cảnh báo"):

- stale: a fact's ``checked`` date (its own, its block's or the file's) older than ``max_age``
  days; one warning per line where such a date is written, listing the facts that use it;
- unsourced: a fact, ``documents``, ``steps`` or FAQ entry with no source is accepted only as
  ``verified: false`` with the reason written down (``note``; for ``documents``, whose note
  citizens read, a ``# ...`` comment line in the block), as the staff guide asks;
- FAQ typed: at least one phrasing of each FAQ entry is written without diacritics;
- amount: a fee states an amount (a number of đồng, or a percentage), says it is free, or says
  the provincial council sets it (the staff guide's wording for a fee each province sets); a
  deadline states a number of days (``days:`` or "N ngày" in the text); otherwise
  ``not_stated_by: <source id>`` names the source read that does not state it;
- confusable aliases: two procedures' aliases equal once folded (lower case, no diacritics), chat
  abbreviations expanded and request words (``FILLER``) dropped, or within one edit of each other
  when both are at least ``CLOSE_MIN_LENGTH`` characters; one alias being the start of another
  is not a confusion (the longer is the more specific).

The answer-level check (an answer over 3 SMS parts) needs the answer builder and the renderer,
which this package may not import: it lives in ``bot.dialogue.fit``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.catalogue.model import Procedure, Sourcing
from bot.text import fold, has_diacritics

MAX_AGE_DAYS = 180  # a fact checked longer ago than this gets a warning (``--max-age``)
NOT_STATED = "not_stated_by"  # on fee and deadline: the source(s) read that state no amount/days
SMS_PARTS = "sms_parts"  # on documents: the SMS parts staff accept for a list that cannot be shorter
FILLER = ("lam", "thu tuc", "xin", "muon")  # request words that name no procedure (folded)
CLOSE_MIN_LENGTH = 6

FACTS = ("who", "where", "fee", "deadline", "processing_time", "online", "result")
_AMOUNT = re.compile(r"\d[\d.,]*\s*(?:dong|d|vnd|nghin|ngan|trieu)\b|\d\s*%")
_FREE = re.compile(r"\bmien phi\b|\bkhong thu\b|\bkhong mat (?:phi|tien)\b")
# "do Hội đồng nhân dân (HĐND) tỉnh quy định": the staff guide's required wording for a fee each
# province sets (section 2), which sends citizens to ask the commune's one-stop desk.
_PROVINCE_SETS = re.compile(r"\b(?:hoi dong nhan dan|hdnd)\b[^.;]{0,12}\btinh\b")
_DAYS = re.compile(r"\d+\s*ngay\b")


@dataclass(frozen=True)
class Advice:
    """One warning: where (line, field), the problem and the fix, in Vietnamese."""

    line: int
    field: str
    problem: str
    fix: str


@dataclass(frozen=True)
class _Item:
    name: str  # the field as staff read it: "fee", "documents.items[2]", "faq[3]"
    line: int
    sourcing: Sourcing
    verified: bool
    reason: bool  # a reason is written for a missing source
    block: Any  # the YAML mapping (with key_lines)


def _items(proc: Procedure, data: Any, raw_lines: list[str]) -> Iterator[_Item]:
    """Every sourced part of ``proc``, with its YAML block and whether a reason is written."""
    line = data.key_lines.get
    for name in FACTS:
        fact = getattr(proc, name)
        if fact is not None:
            yield _Item(name, line(name, 0), fact.sourcing, fact.verified, bool(fact.note), data[name])
    docs = data["documents"]
    yield _Item("documents", line("documents", 0), proc.documents_sourcing, proc.documents_verified,
                _has_comment(raw_lines, line("documents", 0), data), docs)
    for index, (document, block) in enumerate(zip(proc.documents, docs["items"], strict=True)):
        yield _Item(f"documents.items[{index + 1}]", block.line, document.sourcing,
                    proc.documents_verified, True, block)
    steps = data["steps"]
    yield _Item("steps", line("steps", 0), proc.steps_sourcing, proc.steps_verified,
                bool(steps.get("note")), steps)
    for index, (entry, block) in enumerate(zip(proc.faq, data["faq"], strict=True)):
        yield _Item(f"faq[{index + 1}]", block.line, entry.sourcing, entry.verified, bool(entry.note),
                    block)


def _has_comment(raw_lines: list[str], start: int, data: Any) -> bool:
    """A ``# ...`` line inside the top-level block that starts at line ``start``: its reason."""
    end = min((line for line in data.key_lines.values() if line > start), default=len(raw_lines) + 1)
    return any(raw.strip().startswith("#") for raw in raw_lines[start:end - 1])


def stale(items: list[_Item], file_line: int, today: dt.date, max_age: int) -> list[Advice]:
    """One warning per written date older than ``max_age`` days, naming the facts that use it."""
    users: dict[int, list[str]] = defaultdict(list)
    dates: dict[int, dt.date] = {}
    owners: dict[int, str] = {file_line: "checked"}
    for item in items:
        own = "checked" in item.block.key_lines
        if own:
            owners[item.block.key_lines["checked"]] = f"{item.name}.checked"
        elif item.name.startswith("documents.items"):
            continue  # dated by its block: listed once, as "documents"
        checked = item.sourcing.checked
        if checked is not None and (today - checked).days > max_age:
            users[item.sourcing.checked_line].append(item.name)
            dates[item.sourcing.checked_line] = checked
    found = []
    for date_line in sorted(users):
        age = (today - dates[date_line]).days
        names = ", ".join(users[date_line])
        found.append(Advice(
            date_line, owners.get(date_line, "checked"),
            f"ngày đối chiếu {dates[date_line].isoformat()} đã cách đây {age} ngày (quá {max_age} "
            f"ngày), dùng cho: {names}",
            "đối chiếu lại các thông tin đó với nguồn; đúng thì sửa ngày ở dòng này thành ngày vừa "
            "đối chiếu (năm-tháng-ngày), sai thì sửa thông tin trước"))
    return found


def unsourced(items: list[_Item]) -> list[Advice]:
    """Facts with no source and no written reason (``verified: false`` with ``note``)."""
    found = []
    for item in items:
        if item.sourcing.sources or (not item.verified and item.reason):
            continue
        if item.name.startswith("documents.items"):
            continue  # an item inherits its block: the block is reported
        if item.name == "documents":
            fix = ("ghi source: (id một nguồn trong sources) nếu đã đối chiếu; nếu chưa, để "
                   "verified: false và ghi lý do bằng một dòng '# ...' ngay dưới documents: "
                   "(note của documents người dân đọc được)")
        else:
            fix = ("ghi source: (id một nguồn trong sources) nếu đã đối chiếu; nếu chưa, để "
                   "verified: false và ghi lý do vào note:")
        found.append(Advice(item.line, item.name, "không có nguồn, cũng không ghi lý do", fix))
    return found


def faq_typed(proc: Procedure, data: Any) -> list[Advice]:
    """FAQ entries whose phrasings all carry diacritics."""
    found = []
    for index, (entry, block) in enumerate(zip(proc.faq, data["faq"], strict=True)):
        if entry.questions and all(has_diacritics(q) for q in entry.questions):
            example = " ".join(re.findall(r"\w+", fold(entry.questions[0]).lower()))
            found.append(Advice(
                block.key_lines.get("questions", block.line), f"faq[{index + 1}].questions",
                "mọi cách hỏi đều có dấu, mà người dân thường gõ không dấu",
                f"thêm một cách hỏi gõ không dấu, như người dân nhắn, ví dụ: - {example}"))
    return found


def amounts(proc: Procedure, data: Any) -> list[Advice]:
    """A fee without an amount (or free), a deadline without a number of days, unless a source
    that does not state it is named (``not_stated_by``)."""
    found = []
    fee, deadline = data["fee"], data["deadline"]
    fee_text = fold(proc.fee.text).lower()
    stated = _AMOUNT.search(fee_text) or _FREE.search(fee_text) or _PROVINCE_SETS.search(fee_text)
    if not (stated or fee.get(NOT_STATED)):
        found.append(Advice(
            fee.key_lines.get("text", fee.line), "fee.text", "lệ phí không ghi số tiền, cũng không "
            "ghi miễn phí",
            "ghi số tiền (ví dụ 20.000 đồng) hoặc ghi rõ 'Miễn phí'; lệ phí mỗi tỉnh một mức thì "
            "ghi 'do Hội đồng nhân dân (HĐND) tỉnh quy định'; nếu nguồn đã đọc không ghi số tiền "
            "thì thêm dòng not_stated_by: <id nguồn đó>"))
    days = proc.deadline_count is not None or _DAYS.search(fold(proc.deadline.text).lower())
    if not (days or deadline.get(NOT_STATED)):
        found.append(Advice(
            deadline.key_lines.get("text", deadline.line), "deadline.text",
            "thời hạn không ghi số ngày",
            "ghi số ngày (ví dụ 'Trong 60 ngày kể từ ngày sinh', và days: 60, counted_from: sinh); "
            "nếu nguồn đã đọc không ghi hạn theo ngày thì thêm dòng not_stated_by: <id nguồn đó>"))
    return found


def advise(proc: Procedure, data: Any, raw_lines: list[str], today: dt.date, max_age: int
           ) -> list[Advice]:
    """Every warning for one valid procedure file (``data`` is its YAML, with lines)."""
    items = list(_items(proc, data, raw_lines))
    found = (stale(items, data.key_lines.get("checked", 0), today, max_age) + unsourced(items)
             + faq_typed(proc, data) + amounts(proc, data))
    return sorted(found, key=lambda advice: advice.line)


# --------------------------------------------------------------------------- aliases


def alias_key(alias: str, abbreviations: dict[tuple[str, ...], tuple[str, ...]]) -> str:
    """Folded, lower case, chat abbreviations expanded, request words (``FILLER``) dropped."""
    words = re.findall(r"\w+", fold(alias).lower())
    expanded: list[str] = []
    i = 0
    longest = max((len(k) for k in abbreviations), default=1)
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            meaning = abbreviations.get(tuple(words[i:i + size]))
            if meaning is not None:
                expanded += meaning
                i += size
                break
        else:
            expanded.append(words[i])
            i += 1
    text = f" {' '.join(expanded)} "
    for filler in FILLER:
        text = text.replace(f" {filler} ", " ")
    return " ".join(text.split())


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one insertion, deletion or substitution."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1 or a == b:
        return False
    i = next((k for k in range(len(a)) if a[k] != b[k]), len(a))
    return a[i + 1:] == b[i + 1:] if len(a) == len(b) else a[i:] == b[i + 1:]


@dataclass(frozen=True)
class AliasClash:
    path: Path
    line: int
    alias: str
    other: Procedure
    other_alias: str
    same: bool  # equal once folded; else within one edit


def confusable_aliases(procedures: list[Procedure],
                       abbreviations: dict[tuple[str, ...], tuple[str, ...]]) -> list[AliasClash]:
    """Aliases of two procedures the NLU would confuse (see the module docstring). Aliases whose
    plain folded forms are equal are left out: that is an error the loader reports already."""
    from bot.text import search_key

    by_length: dict[int, list[tuple[str, str, Procedure]]] = defaultdict(list)
    clashes = []
    for proc in procedures:
        lines = proc.alias_lines or (0,) * len(proc.aliases)
        mine = []
        for alias, line in zip(proc.aliases, lines, strict=True):
            key = alias_key(alias, abbreviations)
            for size in (len(key) - 1, len(key), len(key) + 1):
                for other_key, other_alias, other in by_length.get(size, ()):
                    if search_key(alias) == search_key(other_alias):
                        continue
                    if key == other_key:
                        clashes.append(AliasClash(proc.path, line, alias, other, other_alias, True))
                    elif (min(len(key), len(other_key)) >= CLOSE_MIN_LENGTH and _one_edit(key, other_key)
                          and not (key.startswith(other_key) or other_key.startswith(key))):
                        clashes.append(AliasClash(proc.path, line, alias, other, other_alias, False))
            mine.append((key, alias, proc))
        for key, alias, owner in mine:
            by_length[len(key)].append((key, alias, owner))
    return clashes
