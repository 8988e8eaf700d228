"""Loading and validating the procedure files.

Staff edit ``procedures/*.yaml`` (documented in ``procedures/README.md``). Every problem is
reported with the file, the line, the field and how to fix it, in Vietnamese, because the
people who read these errors are commune and province staff.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bot.catalogue.advice import MAX_AGE_DAYS, NOT_STATED, SMS_PARTS, advise, confusable_aliases
from bot.catalogue.model import (
    ASPECTS,
    DEADLINE_EVENTS,
    DEADLINE_MAX_DAYS,
    GROUPS,
    OFFICES,
    ONLINE_LEVELS,
    OTHER_GROUP,
    Catalogue,
    DeadlineCount,
    Document,
    Fact,
    Faq,
    NotCovered,
    Option,
    Procedure,
    Question,
    Source,
    Sourcing,
)
from bot.catalogue.schema import (
    CODE_PATTERN,
    FACT_FIELDS,
    FILE_FIELDS,
    FactSourcing,
    FileSourcing,
    Qualifiers,
    SourceEntry,
)
from bot.errors import BotError
from bot.text import search_key

SHORT_NAME_MAX = 30
SUMMARY_MAX = 200
TEXT_MAX = 400
DOCUMENT_MAX = 150
EVENT_MAX = 60
MIN_ALIASES = 2
MIN_FAQ_QUESTIONS = 3

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYWORD = re.compile(r"^[A-Z0-9]{2,8}$")
_CODE = re.compile(CODE_PATTERN)


@dataclass(frozen=True)
class CatalogueError:
    """One problem in a procedure file, located for the staff member who must fix it."""

    path: Path
    line: int
    field: str
    problem: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        fix = f" Cách sửa: {self.fix}" if self.fix else ""
        return f"{where}: {self.field}: {self.problem}.{fix}"


class CatalogueInvalid(BotError):
    """Raised when the catalogue has errors; nothing may be generated or trained from it."""

    def __init__(self, errors: list[CatalogueError]) -> None:
        super().__init__(f"{len(errors)} lỗi trong danh mục thủ tục")
        self.errors = errors


# --------------------------------------------------------------------------- YAML with lines


class _Map(dict):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class _Seq(list):
    line: int = 0
    item_lines: list[int]


class _Lines:
    """Constructors that record lines and refuse duplicate keys (PyYAML keeps the last)."""

    duplicate_keys: list[tuple[str, int]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> _Map:
        result = _Map()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in result:
                self.duplicate_keys.append((str(key), key_node.start_mark.line + 1))
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> _Seq:
        result = _Seq(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


class _LineLoader(_Lines, yaml.SafeLoader):
    """The pure-Python loader: its syntax messages are the ones ``_yaml_fix`` knows."""


# libyaml parses about five times faster; a file it refuses is read again by ``_LineLoader``
# so that staff get the same message and fix either way.
_FastLineLoader = type("_FastLineLoader", (_Lines, getattr(yaml, "CSafeLoader", yaml.SafeLoader)), {})

for _loader in (_LineLoader, _FastLineLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Lines.construct_mapping)
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _Lines.construct_sequence)


def _yaml_fix(problem: str) -> str:
    if "\\t" in problem or "\t" in problem:
        return "dùng dấu cách để thụt lề, không dùng phím Tab"
    if "mapping values are not allowed" in problem:
        return 'đặt nội dung có dấu hai chấm ": " trong ngoặc kép, ví dụ text: "Ghi chú: ..."'
    if "could not find expected ':'" in problem or "expected <block end>" in problem:
        return "kiểm tra thụt lề: các trường cùng cấp phải thẳng cột, mỗi mục danh sách bắt đầu bằng '- '"
    return "kiểm tra thụt lề và dấu ngoặc kép ở dòng này và dòng ngay trên"


# --------------------------------------------------------------------------- validation


class _Checker:
    """Walks one file's data, collecting errors instead of stopping at the first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[CatalogueError] = []
        self.warnings: list[CatalogueError] = []
        self.raw_lines: list[str] = []  # the file as written, for comments YAML drops
        self.draft = False
        self.source_ids: set[str] | None = None  # None while the file's sources are unreadable
        self.default = Sourcing()

    def error(self, line: int, name: str, problem: str, fix: str = "", soft: bool = False) -> None:
        """Records a problem; a ``soft`` one (length, counts) in a draft is only a warning."""
        found = CatalogueError(self.path, line, name, problem, fix)
        (self.warnings if soft and self.draft else self.errors).append(found)

    def schema(self, model: type[BaseModel], parent: _Map, keys: Iterable[str], name: str
               ) -> BaseModel | None:
        """Validates ``keys`` of ``parent`` against a declared model; errors located by line."""
        part = {key: parent[key] for key in keys if key in parent}
        try:
            return model.parse_obj(part)
        except ValidationError as exc:
            reported: set[str] = set()
            for err in exc.errors():
                line, field_name, value = _locate(parent, err["loc"], name)
                if field_name in reported:  # a union reports each branch; one message is enough
                    continue
                reported.add(field_name)
                self.error(line, field_name, *_schema_message(err, value))
            return None

    def sourcing(self, block: _Map, name: str, verified: bool = True,
                 parent: Sourcing | None = None) -> Sourcing:
        """The block's own source and date, else ``parent``'s, else the file's (see ``Sourcing``)."""
        parent = parent or self.default
        own = self.schema(FactSourcing, block, FACT_FIELDS, name)
        if own is None:
            return Sourcing()
        ids = own.source_ids
        for source_id in ids:
            if self.source_ids is not None and source_id not in self.source_ids:
                self.error(block.key_lines.get("source", block.line), _join(name, "source"),
                           f"không có nguồn '{source_id}' trong danh sách sources",
                           "dùng một trong: " + ", ".join(sorted(self.source_ids)))
        if not ids and verified:
            ids = parent.sources
        if own.checked is not None:
            return Sourcing(ids, own.checked, block.key_lines.get("checked", block.line))
        return Sourcing(ids, parent.checked, parent.checked_line)

    def mapping(
        self,
        value: Any,
        line: int,
        name: str,
        required: Iterable[str],
        optional: Iterable[str] = (),
    ) -> _Map | None:
        if not isinstance(value, dict):
            self.error(line, name, "phải là một nhóm trường (dạng 'khóa: giá trị')",
                       "viết các trường con thụt vào 2 dấu cách dưới tên trường")
            return None
        required = tuple(required)
        allowed = required + tuple(optional)
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                fix = f"có phải ý bạn là '{close[0]}'?" if close else (
                    "các trường được phép: " + ", ".join(allowed))
                self.error(value.key_lines.get(key, value.line), _join(name, key),
                           "trường không có trong mẫu", fix)
        for key in required:
            if key not in value or value[key] is None:
                self.error(value.key_lines.get(key, value.line), _join(name, key),
                           "thiếu trường bắt buộc", f"thêm '{key}:' (xem procedures/README.md)")
        return value

    def text(self, parent: _Map, key: str, name: str, limit: int = TEXT_MAX,
             required: bool = True) -> str:
        value = parent.get(key)
        line = parent.key_lines.get(key, parent.line)
        if value is None:
            return ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.error(line, _join(name, key), "phải là một đoạn chữ",
                       "viết nội dung trên cùng dòng, sau dấu hai chấm")
            return ""
        value = " ".join(value.split())
        if required and not value:
            self.error(line, _join(name, key), "đang để trống", "điền nội dung")
        if len(value) > limit:
            self.error(line, _join(name, key),
                       f"dài {len(value)} ký tự, tối đa {limit}",
                       "viết ngắn lại hoặc tách thành câu hỏi thường gặp (faq) riêng", soft=True)
        return value

    def identifier(self, parent: _Map, key: str, name: str, line: int) -> str:
        """An id: lower-case ASCII letters, digits and underscores."""
        value = self.text(parent, key, name)
        if value and not _ID.match(value):
            self.error(parent.key_lines.get(key, line), f"{name}.{key}", f"'{value}' không hợp lệ",
                       "chỉ dùng chữ thường không dấu, số và gạch dưới")
        return value

    def choice(self, parent: _Map, key: str, name: str, choices: tuple[str, ...],
               required: bool = True) -> str:
        """A value that must be one of ``choices``."""
        value = self.text(parent, key, name, required=False)
        if value and value not in choices:
            self.error(parent.key_lines.get(key, parent.line), _join(name, key),
                       f"'{value}' không có trong danh sách", "chọn một trong: " + ", ".join(choices))
        elif not value and required:
            self.error(parent.key_lines.get(key, parent.line), _join(name, key),
                       "thiếu trường bắt buộc", "chọn một trong: " + ", ".join(choices))
        return value

    def boolean(self, parent: _Map, key: str, name: str) -> bool:
        value = parent.get(key, True)
        if not isinstance(value, bool):
            self.error(parent.key_lines.get(key, parent.line), _join(name, key),
                       f"phải là true hoặc false, đang là '{value}'", "viết verified: false")
            return True
        return value

    def text_list(self, parent: _Map, key: str, name: str, minimum: int = 1,
                  limit: int = TEXT_MAX) -> tuple[str, ...]:
        value = parent.get(key)
        line = parent.key_lines.get(key, parent.line)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(line, _join(name, key), "phải là một danh sách",
                       "mỗi mục một dòng, bắt đầu bằng '- '")
            return ()
        items = []
        for index, item in enumerate(value):
            item_line = value.item_lines[index] if hasattr(value, "item_lines") else line
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str) or not item.strip():
                self.error(item_line, f"{_join(name, key)}[{index + 1}]",
                           "phải là một đoạn chữ không trống", "xóa mục trống hoặc điền nội dung")
                continue
            item = " ".join(item.split())
            if len(item) > limit:
                self.error(item_line, f"{_join(name, key)}[{index + 1}]",
                           f"dài {len(item)} ký tự, tối đa {limit}", "viết ngắn lại", soft=True)
            items.append(item)
        if len(items) < minimum:
            self.error(line, _join(name, key), f"cần ít nhất {minimum} mục, đang có {len(items)}",
                       "thêm mục vào danh sách", soft=True)
        return tuple(items)

    def fact(self, data: _Map, key: str, extra: Iterable[str] = ()) -> tuple[Fact, _Map | None]:
        block = self.mapping(data.get(key), data.key_lines.get(key, data.line), key,
                             ("text",), ("verified", "note", *FACT_FIELDS, *extra))
        if block is None:
            return Fact(""), None
        verified = self.boolean(block, "verified", key)
        return Fact(self.text(block, "text", key), verified,
                    self.text(block, "note", key, required=False),
                    self.sourcing(block, key, verified)), block

    def seq(self, data: _Map, key: str, name: str) -> list[tuple[int, Any]]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(data.key_lines.get(key, data.line), name, "phải là một danh sách",
                       "mỗi mục một dòng, bắt đầu bằng '- '")
            return []
        return list(zip(value.item_lines, value, strict=True))


def _join(parent: str, key: object) -> str:
    return f"{parent}.{key}" if parent else str(key)


def _locate(parent: Any, loc: tuple[Any, ...], name: str) -> tuple[int, str, Any]:
    """The line, the field name (1-based indexes) and the value at a schema error's ``loc``."""
    line = getattr(parent, "line", 0)
    node = parent
    for part in loc:
        if part == "__root__":
            continue
        if isinstance(part, int):
            name = f"{name}[{part + 1}]"
            if isinstance(node, list) and part < len(node):
                line = node.item_lines[part] if hasattr(node, "item_lines") else line
                node = node[part]
            else:
                node = None
        else:
            name = _join(name, part)
            if isinstance(node, dict) and part in node:
                line = node.key_lines.get(part, line) if hasattr(node, "key_lines") else line
                node = node[part]
            else:
                node = None
    return line, name, node


def _schema_message(err: dict[str, Any], value: Any) -> tuple[str, str]:
    """A pydantic error as a problem and a fix in Vietnamese."""
    kind = err["type"]
    key = str(err["loc"][-1]) if err["loc"] else ""
    if kind == "value_error.catalogue":
        return err["ctx"]["problem"], err["ctx"]["fix"]
    if kind == "value_error.missing":
        return "thiếu trường bắt buộc", f"thêm '{key}:' (xem procedures/README.md)"
    if kind == "value_error.extra":
        allowed = tuple(SourceEntry.__fields__)
        close = difflib.get_close_matches(key, allowed, n=1)
        return "trường không có trong mẫu", (f"có phải ý bạn là '{close[0]}'?" if close
                                             else "các trường được phép: " + ", ".join(allowed))
    if kind == "type_error.none.not_allowed":
        return "đang để trống", "điền nội dung"
    if kind.startswith(("value_error.date", "type_error.date")):
        return f"'{value}' không phải ngày", "viết theo dạng năm-tháng-ngày: 2026-12-02"
    if kind == "type_error.list":
        return "phải là một danh sách", "mỗi mục một dòng, bắt đầu bằng '- '"
    if kind.startswith("type_error.dict"):
        return "phải là một nhóm trường (dạng 'khóa: giá trị')", "xem ví dụ trong procedures/README.md"
    if kind.startswith("value_error.strictbool") or kind == "type_error.bool":
        return f"phải là true hoặc false, đang là '{value}'", "viết draft: true hoặc xóa dòng này"
    if kind.startswith("type_error.str"):
        if {"codes", "portal"} & set(map(str, err["loc"])):
            return f"mã '{value}' không đúng dạng", 'viết mã thủ tục trong ngoặc kép, ví dụ "1.001193"'
        return "phải là một đoạn chữ", "viết nội dung trên cùng dòng"
    return err["msg"], "xem procedures/README.md"


_TOP_REQUIRED = ("id", "name", "short_name", "sms_keyword", "aliases", "summary",
                 "where", "documents", "fee", "deadline", "processing_time", "online", "steps",
                 "result", "faq", "guide", "legal_basis")
# "who", "events", "group", "qualifiers", and the schema's fields (its own rules say which
# are required)
_TOP_OPTIONAL = ("who", "events", "group", "qualifiers", "shares_code_with", *FILE_FIELDS)


def _file_sourcing(data: _Map, check: _Checker) -> tuple[tuple[str, ...], tuple[Source, ...], dt.date]:
    """Codes, sources and date of the whole file; sets the default every fact inherits."""
    head = check.schema(FileSourcing, data, FILE_FIELDS, "")
    if head is None:
        return (), (), dt.date.min
    sources = tuple(Source(s.id, s.kind, getattr(s, s.kind), s.url or "", s.article or "", s.note or "")
                    for s in head.sources)
    check.source_ids = {s.id for s in sources}
    check.default = Sourcing((sources[0].id,), head.checked, data.key_lines.get("checked", 0))
    return tuple(head.codes), sources, head.checked


def _parse_procedure(path: Path, data: Any, check: _Checker) -> Procedure | None:
    data = check.mapping(data, 1, "", _TOP_REQUIRED, _TOP_OPTIONAL)
    if data is None:
        return None
    line = data.key_lines.get
    check.draft = data.get("draft") is True
    codes, sources, checked = _file_sourcing(data, check)

    proc_id = check.text(data, "id", "")
    if proc_id and not _ID.match(proc_id):
        check.error(line("id"), "id", f"'{proc_id}' không hợp lệ",
                    "chỉ dùng chữ thường không dấu, số và gạch dưới, ví dụ khai_sinh")
    elif proc_id and proc_id != path.stem:
        check.error(line("id"), "id", f"'{proc_id}' khác tên tệp '{path.name}'",
                    f"đổi id thành {path.stem} hoặc đổi tên tệp thành {proc_id}.yaml")
    keyword = check.text(data, "sms_keyword", "")
    if keyword and not _KEYWORD.match(keyword):
        check.error(line("sms_keyword"), "sms_keyword", f"'{keyword}' không hợp lệ",
                    "2 đến 8 chữ in hoa không dấu hoặc số, ví dụ KS")
    short_name = check.text(data, "short_name", "", limit=SHORT_NAME_MAX)
    summary = check.text(data, "summary", "", limit=SUMMARY_MAX)

    who = None
    if data.get("who") is not None:
        who, _ = check.fact(data, "who")
    where, where_block = check.fact(data, "where", ("office",))
    office = check.choice(where_block, "office", "where", OFFICES) if where_block else ""
    online, online_block = check.fact(data, "online", ("level",))
    level = check.choice(online_block, "level", "online", ONLINE_LEVELS) if online_block else ""
    fee, fee_block = check.fact(data, "fee", ("exemptions", NOT_STATED))
    exemptions = check.text_list(fee_block, "exemptions", "fee", minimum=0) if fee_block else ()
    deadline, deadline_block = check.fact(data, "deadline", ("days", "counted_from", NOT_STATED))
    deadline_count = _deadline_count(deadline_block, check) if deadline_block else None
    for block, name in ((fee_block, "fee"), (deadline_block, "deadline")):
        if block is not None and block.get(NOT_STATED) is not None:
            _source_ids(block, NOT_STATED, name, check)
    processing_time, _ = check.fact(data, "processing_time")
    result, _ = check.fact(data, "result")

    guide = _parse_guide(data, check)
    documents = _parse_documents(data, check, guide)

    steps_block = check.mapping(data.get("steps"), line("steps", data.line), "steps",
                                ("items",), ("verified", "note", *FACT_FIELDS))
    steps, steps_verified, steps_sourcing = (), True, Sourcing()
    if steps_block is not None:
        steps = check.text_list(steps_block, "items", "steps", minimum=2)
        steps_verified = check.boolean(steps_block, "verified", "steps")
        check.text(steps_block, "note", "steps", required=False)
        steps_sourcing = check.sourcing(steps_block, "steps", steps_verified)

    faq = _parse_faq(data, check)
    qualified = check.schema(Qualifiers, data, ("qualifiers",), "")

    if check.errors:
        return None
    return Procedure(
        id=proc_id, codes=codes, name=check.text(data, "name", ""), short_name=short_name,
        sms_keyword=keyword, aliases=check.text_list(data, "aliases", "", minimum=MIN_ALIASES),
        summary=summary, who=who, where=where, office=office, documents=documents[0],
        documents_note=documents[1], documents_verified=documents[2],
        documents_sourcing=documents[3], fee=fee,
        exemptions=exemptions, deadline=deadline, processing_time=processing_time,
        online=online, online_level=level, steps=steps, steps_verified=steps_verified,
        steps_sourcing=steps_sourcing, result=result, faq=faq, guide=guide,
        legal_basis=check.text_list(data, "legal_basis", ""),
        sources=sources, checked=checked, path=path, draft=check.draft,
        alias_lines=tuple(getattr(data["aliases"], "item_lines", ())),
        events=check.text_list(data, "events", "", minimum=0, limit=EVENT_MAX),
        event_lines=tuple(getattr(data.get("events"), "item_lines", ())),
        group=check.choice(data, "group", "", GROUPS) if data.get("group") is not None else OTHER_GROUP,
        deadline_count=deadline_count,
        field_lines=tuple(data.key_lines.items()) + tuple(
            (f"faq:{f.id}", item_line) for f, (item_line, _) in zip(faq, check.seq(data, "faq", "faq"),
                                                                     strict=False)),
        shares_code_with=check.text(data, "shares_code_with", "", required=False),
        documents_sms_parts=int(data["documents"].get(SMS_PARTS) or 0),
        qualifiers=tuple((general, tuple(words)) for general, words in qualified.qualifiers.items())
        if qualified else (),
        qualifier_line=line("qualifiers", 0),
    )


def _source_ids(block: _Map, key: str, name: str, check: _Checker) -> None:
    """``key`` names one source id or a list of them, each in the file's ``sources``."""
    value = block[key]
    ids = value if isinstance(value, list) else [value]
    known = sorted(check.source_ids or ())
    for source_id in ids:
        if not isinstance(source_id, str) or source_id not in known:
            check.error(block.key_lines.get(key, block.line), f"{name}.{key}",
                        f"không có nguồn '{source_id}' trong danh sách sources",
                        "ghi id của nguồn đã đọc mà không thấy nêu: " + ", ".join(known))


def _deadline_count(block: _Map, check: _Checker) -> DeadlineCount | None:
    """``deadline.days`` and ``deadline.counted_from``: both or neither (reminders use them)."""
    days, event = block.get("days"), block.get("counted_from")
    if days is None and event is None:
        return None
    line = block.key_lines.get
    if days is None or event is None:
        missing = "days" if days is None else "counted_from"
        check.error(line("days", line("counted_from", block.line)), f"deadline.{missing}",
                    "thiếu trường đi kèm", "ghi cả hai trường, ví dụ days: 60 và counted_from: sinh")
        return None
    ok = True
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= DEADLINE_MAX_DAYS:
        check.error(line("days"), "deadline.days", f"'{days}' không phải số ngày",
                    f"viết một số nguyên từ 1 đến {DEADLINE_MAX_DAYS}, không có chữ, ví dụ days: 60")
        ok = False
    if event not in DEADLINE_EVENTS:
        check.error(line("counted_from"), "deadline.counted_from", f"'{event}' không có trong danh sách",
                    "chọn một trong: " + ", ".join(DEADLINE_EVENTS) + " (sinh: ngày sinh, mat: ngày mất)")
        ok = False
    return DeadlineCount(days, event) if ok else None


def _parse_guide(data: _Map, check: _Checker) -> tuple[Question, ...]:
    block = check.mapping(data.get("guide"), data.key_lines.get("guide", data.line), "guide",
                          ("questions",))
    if block is None:
        return ()
    questions = []
    seen: set[str] = set()
    items = check.seq(block, "questions", "guide.questions")
    if not 1 <= len(items) <= 4:
        check.error(block.line, "guide.questions", f"có {len(items)} câu hỏi, cần từ 1 đến 4",
                    "chỉ hỏi những điều làm thay đổi danh sách giấy tờ", soft=True)
    for index, (item_line, item) in enumerate(items):
        name = f"guide.questions[{index + 1}]"
        q = check.mapping(item, item_line, name, ("id", "ask", "options"))
        if q is None:
            continue
        qid = check.text(q, "id", name)
        if qid in seen:
            check.error(item_line, f"{name}.id", f"'{qid}' bị trùng", "đặt id khác nhau")
        seen.add(qid)
        options = []
        option_items = check.seq(q, "options", f"{name}.options")
        if not 2 <= len(option_items) <= 5:
            check.error(q.line, f"{name}.options", f"có {len(option_items)} lựa chọn, cần từ 2 đến 5",
                        "tin nhắn SMS chỉ hiển thị gọn được tối đa 5 lựa chọn", soft=True)
        for o_index, (o_line, o_item) in enumerate(option_items):
            o_name = f"{name}.options[{o_index + 1}]"
            o = check.mapping(o_item, o_line, o_name, ("id", "label"), ("words", "note"))
            if o is None:
                continue
            options.append(Option(check.text(o, "id", o_name), check.text(o, "label", o_name, 60),
                                  check.text_list(o, "words", o_name, minimum=0),
                                  check.text(o, "note", o_name, required=False)))
        questions.append(Question(qid, check.text(q, "ask", name, 150), tuple(options)))
    return tuple(questions)


def _parse_documents(data: _Map, check: _Checker, guide: tuple[Question, ...]
                     ) -> tuple[tuple[Document, ...], str, bool, Sourcing]:
    block = check.mapping(data.get("documents"), data.key_lines.get("documents", data.line),
                          "documents", ("items",), ("note", "verified", SMS_PARTS, *FACT_FIELDS))
    if block is None:
        return (), "", True, Sourcing()
    verified = check.boolean(block, "verified", "documents")
    block_sourcing = check.sourcing(block, "documents", verified)
    parts = block.get(SMS_PARTS)
    if parts is not None and (isinstance(parts, bool) or not isinstance(parts, int) or parts < 1):
        check.error(block.key_lines.get(SMS_PARTS, block.line), f"documents.{SMS_PARTS}",
                    f"'{parts}' không phải số tin SMS", "viết một số nguyên, ví dụ sms_parts: 5")
    options = {q.id: {o.id for o in q.options} for q in guide}
    documents = []
    for index, (item_line, item) in enumerate(check.seq(block, "items", "documents.items")):
        name = f"documents.items[{index + 1}]"
        doc = check.mapping(item, item_line, name, ("text",), ("when", *FACT_FIELDS))
        if doc is None:
            continue
        when: dict[str, tuple[str, ...]] = {}
        raw_when = doc.get("when")
        if raw_when is not None:
            when_map = check.mapping(raw_when, doc.key_lines.get("when", item_line),
                                     f"{name}.when", (), tuple(options))
            for qid, chosen in (when_map or {}).items():
                values = tuple(chosen) if isinstance(chosen, list) else (str(chosen),)
                for value in values:
                    if qid in options and value not in options[qid]:
                        check.error(when_map.key_lines.get(qid, item_line), f"{name}.when.{qid}",
                                    f"lựa chọn '{value}' không có trong câu hỏi hướng dẫn '{qid}'",
                                    "dùng một trong: " + ", ".join(sorted(options[qid])))
                when[qid] = values
        sourcing = check.sourcing(doc, name, parent=block_sourcing)
        documents.append(Document(check.text(doc, "text", name, DOCUMENT_MAX), when, sourcing))
    if not documents:
        check.error(block.line, "documents.items", "chưa có giấy tờ nào",
                    "liệt kê ít nhất một giấy tờ, mỗi giấy tờ một mục '- text: ...'")
    return (tuple(documents), check.text(block, "note", "documents", required=False),
            verified, block_sourcing)


def _parse_faq(data: _Map, check: _Checker) -> tuple[Faq, ...]:
    faqs = []
    seen: set[str] = set()
    for index, (item_line, item) in enumerate(check.seq(data, "faq", "faq")):
        name = f"faq[{index + 1}]"
        entry = check.mapping(item, item_line, name, ("id", "questions", "answer"),
                              ("verified", "note", "aspect", *FACT_FIELDS))
        if entry is None:
            continue
        fid = check.identifier(entry, "id", name, item_line)
        if fid in seen:
            check.error(item_line, f"{name}.id", f"'{fid}' bị trùng", "đặt id khác nhau")
        seen.add(fid)
        aspect = check.choice(entry, "aspect", name, ASPECTS, required=False)
        verified = check.boolean(entry, "verified", name)
        faqs.append(Faq(fid, check.text_list(entry, "questions", name, minimum=MIN_FAQ_QUESTIONS),
                        check.text(entry, "answer", name), verified, aspect,
                        check.text(entry, "note", name, required=False),
                        check.sourcing(entry, name, verified)))
    return tuple(faqs)


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class FileReport:
    """One file checked: the procedure (None if it has errors), its errors and its warnings."""

    procedure: Procedure | None
    errors: list[CatalogueError]
    warnings: list[CatalogueError]


_UNREADABLE = object()


def _read_yaml(path: Path, check: _Checker) -> Any:
    """The file's data with lines remembered, or ``_UNREADABLE`` (the error is recorded)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        check.error(0, "(tệp)", f"không đọc được dạng UTF-8 (byte {exc.start})",
                    "lưu lại tệp với bảng mã UTF-8")
        return _UNREADABLE
    check.raw_lines = raw.splitlines()
    fast = _FastLineLoader(raw)
    fast.duplicate_keys = []
    try:
        data = fast.get_single_data()
        duplicate_keys = fast.duplicate_keys
    except yaml.YAMLError:
        data, duplicate_keys = _read_slowly(raw, check)
    finally:
        fast.dispose()
    if data is _UNREADABLE:
        return data
    for key, key_line in duplicate_keys:
        check.error(key_line, key, "trường bị khai báo hai lần", "xóa một trong hai dòng")
    return data


def _read_slowly(raw: str, check: _Checker) -> tuple[Any, list[tuple[str, int]]]:
    """``raw`` read by the pure-Python loader, whose syntax errors are recorded with a fix."""
    loader = _LineLoader(raw)
    loader.duplicate_keys = []
    try:
        return loader.get_single_data(), loader.duplicate_keys
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        check.error(mark.line + 1 if mark else 0, "(cú pháp YAML)", problem, _yaml_fix(problem))
        return _UNREADABLE, []
    except yaml.YAMLError as exc:
        check.error(0, "(cú pháp YAML)", str(exc), _yaml_fix(str(exc)))
        return _UNREADABLE, []
    finally:
        loader.dispose()


def check_file(path: Path, max_age: int = MAX_AGE_DAYS, today: dt.date | None = None) -> FileReport:
    """Loads and checks one procedure file; a draft's length and count problems are warnings,
    and so is what a valid file still gets wrong for citizens (``bot.catalogue.advice``)."""
    check = _Checker(path)
    data = _read_yaml(path, check)
    if data is _UNREADABLE:
        return FileReport(None, check.errors, [])
    procedure = _parse_procedure(path, data, check)
    if procedure is not None and not check.errors:
        for advice in advise(procedure, data, check.raw_lines, today or dt.date.today(), max_age):
            check.warnings.append(CatalogueError(path, advice.line, advice.field, advice.problem,
                                                 advice.fix))
    if procedure is not None and procedure.draft:
        check.warnings.insert(0, CatalogueError(
            path, data.key_lines.get("draft", 0), "draft", "bản nháp, bot chưa dùng để trả lời",
            "viết lại bằng lời dễ hiểu, kiểm tra từng nguồn, rồi xóa dòng draft: true"))
    return FileReport(procedure if not check.errors else None, check.errors, check.warnings)


def load_file(path: Path) -> tuple[Procedure | None, list[CatalogueError]]:
    """Loads and checks one procedure file."""
    report = check_file(path)
    return report.procedure, report.errors


def _keyword_clashes(proc: Procedure) -> CatalogueError | None:
    """An SMS keyword citizens already type as an abbreviation of other words would misfire."""
    from bot.nlu.segmenter import load_abbreviations

    meaning = load_abbreviations().get((proc.sms_keyword.lower(),))
    if meaning is None or any(" ".join(meaning) in search_key(a) for a in proc.aliases):
        return None
    return CatalogueError(proc.path, 0, "sms_keyword",
                          f"'{proc.sms_keyword}' là cách người dân viết tắt '{' '.join(meaning)}'",
                          "chọn từ khóa khác, ví dụ viết liền tên thủ tục không dấu")


def _shared_codes(procedures: list[Procedure]) -> list[CatalogueError]:
    """A code in two files: a warning, since the portal sometimes files two things citizens ask
    about separately under one procedure (cải chính hộ tịch and xác định lại dân tộc)."""
    notes = []
    seen_code: dict[str, Procedure] = {}
    holders = {p.id: p.codes for p in procedures}
    for proc in procedures:
        for code in proc.codes:
            if code in seen_code and code not in holders.get(proc.shares_code_with, ()):
                notes.append(CatalogueError(
                    proc.path, proc.line_of("codes"), "codes",
                    f"mã '{code}' cũng dùng cho {seen_code[code].path.name}",
                    "nếu trên Cổng Dịch vụ công hai việc này là một thủ tục thì ghi thêm dòng "
                    f"shares_code_with: {seen_code[code].id}; nếu không, sửa mã"))
            seen_code[code] = proc
    return notes


def _confusions(procedures: list[Procedure]) -> list[CatalogueError]:
    """Aliases of two procedures the NLU would confuse: a warning naming both."""
    from bot.nlu.segmenter import load_abbreviations

    found = []
    for clash in confusable_aliases(procedures, load_abbreviations()):
        other = f"'{clash.other_alias}' của {clash.other.path.name} (dòng {clash.other.line_of('aliases')})"
        found.append(CatalogueError(
            clash.path, clash.line, "aliases",
            f"tên gọi '{clash.alias}' " + ("trùng với" if clash.same else "gần giống")
            + f" {other} khi bỏ dấu; bot dễ nhầm hai thủ tục",
            "xóa tên gọi ở thủ tục mà người dân ít dùng, hoặc viết rõ hơn để hai tên khác nhau "
            "(thêm từ phân biệt, ví dụ 'lại', 'trích lục')"))
    return found


def _cross_checks(procedures: list[Procedure]) -> list[CatalogueError]:
    errors = [e for e in map(_keyword_clashes, procedures) if e is not None]
    seen_alias: dict[str, Procedure] = {}
    seen_keyword: dict[str, Procedure] = {}
    for proc in procedures:
        lines = proc.alias_lines or (0,) * len(proc.aliases)
        for alias, alias_line in zip(proc.aliases, lines, strict=True):
            key = search_key(alias)
            other = seen_alias.get(key)
            if other is not None and other is not proc:
                errors.append(CatalogueError(
                    proc.path, alias_line, "aliases", f"tên gọi '{alias}' đã dùng cho {other.path.name}",
                    "mỗi tên gọi chỉ thuộc một thủ tục; xóa ở một trong hai tệp"))
            seen_alias[key] = proc
        if proc.sms_keyword in seen_keyword:
            errors.append(CatalogueError(proc.path, 0, "sms_keyword",
                                         f"'{proc.sms_keyword}' đã dùng cho "
                                         f"{seen_keyword[proc.sms_keyword].path.name}",
                                         "mỗi thủ tục cần giá trị riêng"))
        seen_keyword[proc.sms_keyword] = proc
    for proc in procedures:
        lines = proc.event_lines or (0,) * len(proc.events)
        for event, event_line in zip(proc.events, lines, strict=True):
            other = seen_alias.get(search_key(event))
            if other is not None:
                errors.append(CatalogueError(
                    proc.path, event_line, "events", f"'{event}' là tên gọi của {other.path.name}",
                    "tình huống (events) là lời kể việc đã xảy ra, không phải tên thủ tục; "
                    "xóa ở events hoặc ở aliases"))
    ids = {p.id for p in procedures}
    for proc in procedures:
        for general, _ in proc.qualifiers:
            if general == proc.id or general not in ids:
                errors.append(CatalogueError(
                    proc.path, proc.qualifier_line, f"qualifiers.{general}",
                    "là chính thủ tục này" if general == proc.id else f"không có thủ tục '{general}'",
                    "ghi id của một thủ tục chung hơn (tên tệp của nó, không có .yaml)"))
    return errors


def check_catalogue(directory: Path | str = "procedures", max_age: int = MAX_AGE_DAYS,
                    today: dt.date | None = None) -> tuple[Catalogue, list[CatalogueError]]:
    """Every ``*.yaml`` in ``directory``, drafts included, and the warnings: drafts, and what
    valid files still get wrong for citizens (``bot.catalogue.advice``; facts checked more than
    ``max_age`` days before ``today`` are stale).

    Raises :class:`CatalogueInvalid` on any error. A clash between a draft and another file
    (alias, keyword, code) is a warning until the draft is published.
    """
    directory = Path(directory)
    files = [p for p in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
             if not p.name.startswith("_")]
    errors: list[CatalogueError] = []
    warnings: list[CatalogueError] = []
    procedures: list[Procedure] = []
    if not files:
        errors.append(CatalogueError(directory, 0, "(thư mục)", "không có tệp thủ tục nào",
                                     "thêm tệp .yaml, mỗi thủ tục một tệp"))
    for path in files:
        report = check_file(path, max_age, today)
        errors.extend(report.errors)
        warnings.extend(report.warnings)
        if report.procedure is not None:
            procedures.append(report.procedure)
    drafts = {p.path for p in procedures if p.draft}
    for clash in _cross_checks(sorted(procedures, key=lambda p: p.draft)):  # drafts last
        (warnings if clash.path in drafts else errors).append(clash)
    warnings.extend(_shared_codes(sorted(procedures, key=lambda p: p.draft)))
    warnings.extend(_confusions(procedures))
    not_covered: tuple[NotCovered, ...] = ()
    if (directory / NOT_COVERED_FILE).exists():
        not_covered, problems = _load_not_covered(directory / NOT_COVERED_FILE, procedures)
        errors.extend(problems)
    if errors:
        raise CatalogueInvalid(errors)
    return Catalogue(tuple(procedures), not_covered), warnings


def load_catalogue(directory: Path | str = "procedures") -> Catalogue:
    """The published procedures in ``directory``: drafts are left out, so nothing answers or
    trains from them. Raises :class:`CatalogueInvalid` on any error in any file."""
    catalogue, _ = check_catalogue(directory)
    return Catalogue(tuple(p for p in catalogue if not p.draft), catalogue.not_covered)


NOT_COVERED_FILE = "_chua_ho_tro.yaml"
_NOT_COVERED_FIELDS = ("id", "name", "aliases")


def _load_not_covered(path: Path, procedures: list[Procedure]) -> tuple[tuple[NotCovered, ...],
                                                                          list[CatalogueError]]:
    """The procedures citizens ask about that the assistant does not cover, with the national
    portal code that lets the reply point to the official page."""
    check = _Checker(path)
    data = _read_yaml(path, check)
    if data is _UNREADABLE:
        return (), check.errors
    head = check.mapping(data, 1, "", ("checked", "procedures"), ())
    if head is None:
        return (), check.errors
    named = {search_key(a): p for p in procedures for a in p.aliases}
    ids = {p.id for p in procedures}
    entries: list[NotCovered] = []
    seen: set[str] = set()
    for index, (item_line, item) in enumerate(check.seq(head, "procedures", "procedures")):
        name = f"procedures[{index + 1}]"
        block = check.mapping(item, item_line, name, _NOT_COVERED_FIELDS, ("code", "qualifiers"))
        if block is None:
            continue
        entry_id = check.identifier(block, "id", name, item_line)
        code = check.text(block, "code", name, required=False)
        if code and not _CODE.match(code):
            check.error(block.key_lines.get("code", item_line), f"{name}.code",
                        f"'{code}' không phải mã thủ tục", "viết như trên Cổng Dịch vụ công: \"1.001456\"")
        aliases = check.text_list(block, "aliases", name, minimum=1)
        lines = getattr(block.get("aliases"), "item_lines", [item_line] * len(aliases))
        for alias, alias_line in zip(aliases, lines, strict=False):
            key = search_key(alias)
            if key in named:
                check.error(alias_line, f"{name}.aliases", f"'{alias}' là tên gọi của "
                            f"{named[key].path.name}", "thủ tục này đã có tệp riêng: xóa tên này ở đây")
            elif key in seen:
                check.error(alias_line, f"{name}.aliases", f"'{alias}' đã có ở mục khác",
                            "mỗi tên gọi chỉ ghi một lần")
            seen.add(key)
        qualified = check.schema(Qualifiers, block, ("qualifiers",), name)
        qualifiers = tuple((general, tuple(words)) for general, words in
                           (qualified.qualifiers.items() if qualified else ()))
        for general, _ in qualifiers:
            if general not in ids:
                check.error(block.key_lines.get("qualifiers", item_line), f"{name}.qualifiers.{general}",
                            f"không có thủ tục '{general}'",
                            "ghi id của một thủ tục đã có tệp riêng (tên tệp, không có .yaml)")
        entries.append(NotCovered(entry_id, check.text(block, "name", name), aliases, code or "",
                                  qualifiers))
    if head.get("checked") is not None and not isinstance(head.get("checked"), dt.date):
        check.error(head.key_lines.get("checked", 1), "checked", "không phải ngày",
                    "viết theo dạng năm-tháng-ngày: 2026-12-02")
    return tuple(entries), check.errors
