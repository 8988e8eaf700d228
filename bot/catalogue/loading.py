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

from bot.catalogue.model import (
    ASPECTS,
    DEADLINE_EVENTS,
    DEADLINE_MAX_DAYS,
    OFFICES,
    ONLINE_LEVELS,
    Catalogue,
    DeadlineCount,
    Document,
    Fact,
    Faq,
    Option,
    Procedure,
    Question,
)
from bot.errors import BotError
from bot.text import search_key

SHORT_NAME_MAX = 30
SUMMARY_MAX = 200
TEXT_MAX = 400
DOCUMENT_MAX = 150
MIN_ALIASES = 2
MIN_FAQ_QUESTIONS = 3

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYWORD = re.compile(r"^[A-Z0-9]{2,8}$")
_CODE = re.compile(r"^\d+\.\d{6}$")


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


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records lines and refuses duplicate keys (PyYAML keeps the last)."""

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


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence
)


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

    def error(self, line: int, name: str, problem: str, fix: str = "") -> None:
        self.errors.append(CatalogueError(self.path, line, name, problem, fix))

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
                       "viết ngắn lại hoặc tách thành câu hỏi thường gặp (faq) riêng")
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
                           f"dài {len(item)} ký tự, tối đa {limit}", "viết ngắn lại")
            items.append(item)
        if len(items) < minimum:
            self.error(line, _join(name, key), f"cần ít nhất {minimum} mục, đang có {len(items)}",
                       "thêm mục vào danh sách")
        return tuple(items)

    def fact(self, data: _Map, key: str, extra: Iterable[str] = ()) -> tuple[Fact, _Map | None]:
        block = self.mapping(data.get(key), data.key_lines.get(key, data.line), key,
                             ("text",), ("verified", "note", *extra))
        if block is None:
            return Fact(""), None
        return Fact(self.text(block, "text", key), self.boolean(block, "verified", key),
                    self.text(block, "note", key, required=False)), block

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


_TOP_REQUIRED = ("id", "code", "name", "short_name", "sms_keyword", "aliases", "summary",
                 "where", "documents", "fee", "deadline", "processing_time", "online", "steps",
                 "result", "faq", "guide", "legal_basis", "sources", "last_verified")
_TOP_OPTIONAL = ("who",)


def _parse_procedure(path: Path, data: Any, check: _Checker) -> Procedure | None:
    data = check.mapping(data, 1, "", _TOP_REQUIRED, _TOP_OPTIONAL)
    if data is None:
        return None
    line = data.key_lines.get

    proc_id = check.text(data, "id", "")
    if proc_id and not _ID.match(proc_id):
        check.error(line("id"), "id", f"'{proc_id}' không hợp lệ",
                    "chỉ dùng chữ thường không dấu, số và gạch dưới, ví dụ khai_sinh")
    elif proc_id and proc_id != path.stem:
        check.error(line("id"), "id", f"'{proc_id}' khác tên tệp '{path.name}'",
                    f"đổi id thành {path.stem} hoặc đổi tên tệp thành {proc_id}.yaml")
    code = check.text(data, "code", "")
    if code and not _CODE.match(code):
        check.error(line("code"), "code", f"mã '{code}' không đúng dạng",
                    'viết mã thủ tục trong ngoặc kép, ví dụ code: "1.001193"')
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
    fee, fee_block = check.fact(data, "fee", ("exemptions",))
    exemptions = check.text_list(fee_block, "exemptions", "fee", minimum=0) if fee_block else ()
    deadline, deadline_block = check.fact(data, "deadline", ("days", "counted_from"))
    deadline_count = _deadline_count(deadline_block, check) if deadline_block else None
    processing_time, _ = check.fact(data, "processing_time")
    result, _ = check.fact(data, "result")

    guide = _parse_guide(data, check)
    documents, documents_note, documents_verified = _parse_documents(data, check, guide)

    steps_block = check.mapping(data.get("steps"), line("steps", data.line), "steps",
                                ("items",), ("verified",))
    steps, steps_verified = (), True
    if steps_block is not None:
        steps = check.text_list(steps_block, "items", "steps", minimum=2)
        steps_verified = check.boolean(steps_block, "verified", "steps")

    faq = _parse_faq(data, check)
    last_verified = data.get("last_verified")
    if not isinstance(last_verified, dt.date):
        check.error(line("last_verified", data.line), "last_verified",
                    f"'{last_verified}' không phải ngày", "viết theo dạng năm-tháng-ngày: 2026-11-22")
        last_verified = dt.date.min

    if check.errors:
        return None
    return Procedure(
        id=proc_id, code=code, name=check.text(data, "name", ""), short_name=short_name,
        sms_keyword=keyword, aliases=check.text_list(data, "aliases", "", minimum=MIN_ALIASES),
        summary=summary, who=who, where=where, office=office, documents=documents,
        documents_note=documents_note, documents_verified=documents_verified, fee=fee,
        exemptions=exemptions, deadline=deadline, processing_time=processing_time,
        online=online, online_level=level, steps=steps, steps_verified=steps_verified,
        result=result, faq=faq, guide=guide,
        legal_basis=check.text_list(data, "legal_basis", ""),
        sources=check.text_list(data, "sources", ""), last_verified=last_verified, path=path,
        alias_lines=tuple(getattr(data["aliases"], "item_lines", ())),
        deadline_count=deadline_count,
    )


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
                    "chỉ hỏi những điều làm thay đổi danh sách giấy tờ")
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
                        "tin nhắn SMS chỉ hiển thị gọn được tối đa 5 lựa chọn")
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
                     ) -> tuple[tuple[Document, ...], str, bool]:
    block = check.mapping(data.get("documents"), data.key_lines.get("documents", data.line),
                          "documents", ("items",), ("note", "verified"))
    if block is None:
        return (), "", True
    options = {q.id: {o.id for o in q.options} for q in guide}
    documents = []
    for index, (item_line, item) in enumerate(check.seq(block, "items", "documents.items")):
        name = f"documents.items[{index + 1}]"
        doc = check.mapping(item, item_line, name, ("text",), ("when",))
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
        documents.append(Document(check.text(doc, "text", name, DOCUMENT_MAX), when))
    if not documents:
        check.error(block.line, "documents.items", "chưa có giấy tờ nào",
                    "liệt kê ít nhất một giấy tờ, mỗi giấy tờ một mục '- text: ...'")
    return (tuple(documents), check.text(block, "note", "documents", required=False),
            check.boolean(block, "verified", "documents"))


def _parse_faq(data: _Map, check: _Checker) -> tuple[Faq, ...]:
    faqs = []
    seen: set[str] = set()
    for index, (item_line, item) in enumerate(check.seq(data, "faq", "faq")):
        name = f"faq[{index + 1}]"
        entry = check.mapping(item, item_line, name, ("id", "questions", "answer"),
                              ("verified", "aspect"))
        if entry is None:
            continue
        fid = check.text(entry, "id", name)
        if fid and not _ID.match(fid):
            check.error(entry.key_lines.get("id", item_line), f"{name}.id", f"'{fid}' không hợp lệ",
                        "chỉ dùng chữ thường không dấu, số và gạch dưới")
        if fid in seen:
            check.error(item_line, f"{name}.id", f"'{fid}' bị trùng", "đặt id khác nhau")
        seen.add(fid)
        aspect = check.choice(entry, "aspect", name, ASPECTS, required=False)
        faqs.append(Faq(fid, check.text_list(entry, "questions", name, minimum=MIN_FAQ_QUESTIONS),
                        check.text(entry, "answer", name), check.boolean(entry, "verified", name),
                        aspect))
    return tuple(faqs)


# --------------------------------------------------------------------------- loading


def load_file(path: Path) -> tuple[Procedure | None, list[CatalogueError]]:
    """Loads and checks one procedure file."""
    check = _Checker(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        check.error(0, "(tệp)", f"không đọc được dạng UTF-8 (byte {exc.start})",
                    "lưu lại tệp với bảng mã UTF-8")
        return None, check.errors
    loader = _LineLoader(raw)
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        check.error(mark.line + 1 if mark else 0, "(cú pháp YAML)", problem, _yaml_fix(problem))
        return None, check.errors
    except yaml.YAMLError as exc:
        check.error(0, "(cú pháp YAML)", str(exc), _yaml_fix(str(exc)))
        return None, check.errors
    finally:
        loader.dispose()
    for key, key_line in loader.duplicate_keys:
        check.error(key_line, key, "trường bị khai báo hai lần", "xóa một trong hai dòng")
    procedure = _parse_procedure(path, data, check)
    return (procedure if not check.errors else None), check.errors


def _keyword_clashes(proc: Procedure) -> CatalogueError | None:
    """An SMS keyword citizens already type as an abbreviation of other words would misfire."""
    from bot.nlu.segmenter import load_abbreviations

    meaning = load_abbreviations().get((proc.sms_keyword.lower(),))
    if meaning is None or any(" ".join(meaning) in search_key(a) for a in proc.aliases):
        return None
    return CatalogueError(proc.path, 0, "sms_keyword",
                          f"'{proc.sms_keyword}' là cách người dân viết tắt '{' '.join(meaning)}'",
                          "chọn từ khóa khác, ví dụ viết liền tên thủ tục không dấu")


def _cross_checks(procedures: list[Procedure]) -> list[CatalogueError]:
    errors = [e for e in map(_keyword_clashes, procedures) if e is not None]
    seen_alias: dict[str, Procedure] = {}
    seen_keyword: dict[str, Procedure] = {}
    seen_code: dict[str, Procedure] = {}
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
        for seen, value, name in ((seen_keyword, proc.sms_keyword, "sms_keyword"),
                                  (seen_code, proc.code, "code")):
            if value in seen:
                errors.append(CatalogueError(proc.path, 0, name,
                                             f"'{value}' đã dùng cho {seen[value].path.name}",
                                             "mỗi thủ tục cần giá trị riêng"))
            seen[value] = proc
    return errors


def load_catalogue(directory: Path | str = "procedures") -> Catalogue:
    """Loads every ``*.yaml`` in ``directory``; raises :class:`CatalogueInvalid` on any error."""
    directory = Path(directory)
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    errors: list[CatalogueError] = []
    procedures: list[Procedure] = []
    if not files:
        errors.append(CatalogueError(directory, 0, "(thư mục)", "không có tệp thủ tục nào",
                                     "thêm tệp .yaml, mỗi thủ tục một tệp"))
    for path in files:
        procedure, file_errors = load_file(path)
        errors.extend(file_errors)
        if procedure is not None:
            procedures.append(procedure)
    errors.extend(_cross_checks(procedures))
    if errors:
        raise CatalogueInvalid(errors)
    return Catalogue(tuple(procedures))
