"""Conversation checks that staff write: what the assistant must (and must not) say.

A case file is a YAML list; each entry is one case::

    - id: le-phi-khai-sinh-sms
      channel: sms                  # sms, zalo, telegram or cli
      turns: [le phi khai sinh]     # what the citizen sends, in order
      any: [mien phi]               # at least one must appear in the replies to the last turn
      none: [200.000]               # none of these may appear
      gsm7: true                    # every SMS in the GSM-7 alphabet
      max_segments: 3               # the whole answer (pages behind THEM included) in at most 3 SMS

Phrases are compared in lower case without diacritics (``bot.text.search_key``). The replies to
the last turn are everything the channel would show for it: each message, its buttons and, on
SMS, the pages waiting behind THEM. Each case talks as a new citizen (a fresh sender).

Problems in a file are reported in Vietnamese with the file, the case and what is wrong, for
staff who are not programmers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.contract import is_gsm7, sms_parts
from bot.errors import BotError
from bot.serving.conversation import Conversation
from bot.serving.engine import Engine
from bot.serving.store import Store
from bot.text import search_key

CHANNELS = ("sms", "zalo", "telegram", "cli")
FIELDS = {"id", "channel", "turns", "any", "none", "gsm7", "max_segments"}


class CasesInvalid(BotError):
    """One or more case files are malformed; ``errors`` are lines for staff, in Vietnamese."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Case:
    id: str
    channel: str
    turns: tuple[str, ...]
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    gsm7: bool = False
    max_segments: int | None = None
    file: Path = Path()


@dataclass(frozen=True)
class Outcome:
    case: Case
    said: str  # what the bot said to the last turn, messages separated by " | "
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    def line(self) -> str:
        return (f"SAI {self.case.file.name}: {self.case.id} ({self.case.channel}): "
                f"{'; '.join(self.problems)}. Bot trả lời: {self.said!r}")


def _phrases(value: object, name: str, where: str, errors: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        errors.append(f"{where}: '{name}' phải là một danh sách cụm từ, ví dụ {name}: [mien phi]")
        return ()
    phrases = tuple(str(v) for v in value)
    if any(not search_key(p) for p in phrases):
        errors.append(f"{where}: '{name}' có một cụm từ rỗng (không có chữ hay số)")
    return phrases


def _case(entry: object, index: int, path: Path, seen: set[str], errors: list[str]) -> Case | None:
    where = f"{path}: trường hợp thứ {index}"
    if not isinstance(entry, dict):
        errors.append(f"{where}: mỗi trường hợp phải có dạng 'id: ...', 'channel: ...', 'turns: [...]'")
        return None
    case_id = entry.get("id")
    if not isinstance(case_id, (str, int)) or not str(case_id).strip():
        errors.append(f"{where}: thiếu 'id' (tên ngắn của trường hợp, ví dụ id: le-phi-khai-sinh)")
        return None
    case_id = str(case_id).strip()
    where = f"{path}: trường hợp '{case_id}'"
    before = len(errors)
    if case_id in seen:
        errors.append(f"{where}: 'id' bị trùng; mỗi trường hợp cần một id riêng")
    seen.add(case_id)
    for name in sorted(set(entry) - FIELDS):
        errors.append(f"{where}: trường lạ '{name}' (chỉ dùng: {', '.join(sorted(FIELDS))})")
    channel = entry.get("channel")
    if channel not in CHANNELS:
        errors.append(f"{where}: 'channel' phải là một trong {', '.join(CHANNELS)} (đang ghi: {channel!r})")
    turns = entry.get("turns")
    if isinstance(turns, str):
        turns = [turns]
    if (not isinstance(turns, list) or not turns
            or not all(isinstance(t, (str, int)) and str(t).strip() for t in turns)):
        errors.append(f"{where}: 'turns' phải là danh sách các tin người dân gửi, "
                      "ví dụ turns: [le phi khai sinh]")
        turns = []
    any_ = _phrases(entry.get("any"), "any", where, errors)
    none = _phrases(entry.get("none"), "none", where, errors)
    gsm7 = entry.get("gsm7", False)
    if not isinstance(gsm7, bool):
        errors.append(f"{where}: 'gsm7' chỉ ghi true hoặc false")
    segments = entry.get("max_segments")
    if segments is not None:
        if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
            errors.append(f"{where}: 'max_segments' phải là số nguyên dương, ví dụ max_segments: 3")
        elif channel != "sms":
            errors.append(f"{where}: 'max_segments' chỉ dùng cho channel: sms")
    if not (any_ or none or gsm7 is True or segments is not None):
        errors.append(f"{where}: không kiểm tra gì; thêm 'any', 'none', 'gsm7' hoặc 'max_segments'")
    if len(errors) > before:
        return None
    return Case(case_id, channel, tuple(str(t) for t in turns), any_, none, gsm7, segments, path)


def load_cases(paths: Iterable[Path]) -> list[Case]:
    """The cases of every file, in order; raises ``CasesInvalid`` listing every problem."""
    cases: list[Case] = []
    errors: list[str] = []
    for path in paths:
        try:
            entries = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            errors.append(f"{path}: không đọc được tệp ({exc.strerror or exc})")
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" dòng {mark.line + 1}" if mark is not None else ""
            errors.append(f"{path}:{line} sai cú pháp YAML ({getattr(exc, 'problem', None) or exc}); "
                          "kiểm tra dấu '-', dấu ':' và thụt lề")
            continue
        if not isinstance(entries, list) or not entries:
            errors.append(f"{path}: tệp phải là một danh sách trường hợp, "
                          "mỗi trường hợp bắt đầu bằng '- id: ...'")
            continue
        seen: set[str] = set()
        for index, entry in enumerate(entries, start=1):
            case = _case(entry, index, path, seen, errors)
            if case is not None:
                cases.append(case)
    if errors:
        raise CasesInvalid(errors)
    return cases


def case_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def judge(case: Case, messages: list[tuple[str, tuple[str, ...]]]) -> Outcome:
    """``messages``: what the channel shows for the last turn, each as (text, extra texts)."""
    texts = [t for text, more in messages for t in (text, *more)]
    said = " | ".join(texts)
    key = search_key(" ".join(texts))
    problems = []
    if case.any and not any(search_key(p) in key for p in case.any):
        problems.append(f"không có cụm nào trong any {list(case.any)}")
    found = [p for p in case.none if search_key(p) in key]
    if found:
        problems.append(f"có cụm bị cấm {found}")
    if case.gsm7 and not all(is_gsm7(t) for t in texts):
        bad = sorted({ch for t in texts for ch in t if not is_gsm7(ch)})
        problems.append(f"có ký tự ngoài GSM-7 {''.join(bad)!r}")
    if case.max_segments is not None:
        count = sum(sms_parts(t) for t in texts)
        if count > case.max_segments:
            problems.append(f"dài {count} tin SMS, quá {case.max_segments}")
    return Outcome(case, said, tuple(problems))


async def run_case(engine: Engine, store: Store, case: Case) -> Outcome:
    """Plays ``case`` as a new citizen; judges the replies to the last turn."""
    conversation = Conversation(engine, store, case.channel)
    sender = f"check-{uuid.uuid4().hex[:12]}"
    rendered = []
    for turn in case.turns:
        rendered = await conversation.handle(sender, turn)
    shown = []
    for message in rendered:
        extra = (*(title for title, _ in message.buttons), *message.more)
        shown.append((message.text, extra))
    return judge(case, shown)


async def run_cases(engine: Engine, store: Store, cases: Iterable[Case]) -> list[Outcome]:
    return [await run_case(engine, store, case) for case in cases]


def summary(outcomes: list[Outcome]) -> str:
    failed = sum(not o.passed for o in outcomes)
    return f"{len(outcomes) - failed} passed, {failed} failed"
