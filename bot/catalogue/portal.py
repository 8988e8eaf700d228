"""A draft procedure file from one National Public Service Portal record.

The portal serves each procedure as JSON (``{"code": "OK", "data": {...}}``; fields explained in
the staff guide, ``procedures/README.md``). The draft keeps the record's own words, long and
legalistic, so it is marked ``draft: true``: ``bot validate`` accepts it with warnings and
nothing answers or trains from it until a person rewrites it in plain words and removes the flag.
Every fact is sourced to the record (code + portal URL) with the record's ``updatedAt`` date.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.catalogue.schema import CODE_PATTERN, PORTAL_URL
from bot.errors import BotError
from bot.text import fold

ID_MAX = 40
METHODS = {"DIRECT": "Nộp trực tiếp", "ONLINE": "Nộp trực tuyến", "POSTAL": "Nộp qua bưu điện"}
UNITS = {"WORKING_DAY": "ngày làm việc", "DAY": "ngày", "HOUR": "giờ", "MONTH": "tháng"}
# (words in the executing office's name, office id); the first match wins
OFFICE_WORDS = (("công an", "cong_an_xa"), ("đăng ký đất đai", "van_phong_dang_ky_dat_dai"),
                ("bảo hiểm xã hội", "bhxh_tinh"), ("ủy ban nhân dân", "ubnd_xa"),
                ("phục vụ hành chính công", "ubnd_xa"))
TO_WRITE = "Bản nháp nhập từ hồ sơ trên Cổng; cần kiểm tra và viết lại bằng lời dễ hiểu."


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as the hand-written procedure files do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


class RecordInvalid(BotError):
    """The record is not a portal procedure record this importer can read."""


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value not in (None, "") else ""


def _items(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordInvalid(f"trường '{key}' phải là một danh sách")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RecordInvalid(f"{where} phải là một đối tượng JSON")
    return value


def procedure_id(name: str) -> str:
    """An ASCII id from the name: folded, lower case, words joined by '_', at most 40 characters."""
    words = re.findall(r"[a-z0-9]+", fold(name).lower())
    if words[:2] == ["thu", "tuc"]:
        words = words[2:]
    kept: list[str] = []
    for word in words:
        if len("_".join([*kept, word])) > ID_MAX:
            break
        kept.append(word)
    ident = "_".join(kept) or "thu_tuc"
    return ident if ident[0].isalpha() else f"tt_{ident}"


def _record_date(data: Mapping[str, Any]) -> dt.date:
    stamp = data.get("updatedAt") or data.get("createdAt")
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
        raise RecordInvalid("thiếu ngày cập nhật (updatedAt, mili giây từ 1970)")
    return dt.datetime.fromtimestamp(stamp / 1000, tz=dt.timezone.utc).date()


def _office(data: Mapping[str, Any]) -> tuple[str, str]:
    """The office id and the text saying where to file, from the record's executing bodies."""
    names = [_text(_mapping(u, "unitGroupsExecuting").get("name"))
             for u in _items(data, "unitGroupsExecuting")]
    names += [_text(_mapping(d, "departmentsExecuting").get("name"))
              for d in _items(data, "departmentsExecuting")]
    names = [n for n in names if n]
    address = _text(data.get("dossierReceivingAddresses"))
    text = "; ".join(filter(None, [", ".join(names), address])) or ""
    lowered = text.lower()
    office = next((office for words, office in OFFICE_WORDS if words in lowered), "")
    return office, text


def _methods(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    methods = [_mapping(m, "executionMethods[]") for m in _items(data, "executionMethods")]
    for method in methods:
        if method.get("submissionMethod") not in METHODS:
            raise RecordInvalid(f"cách nộp '{method.get('submissionMethod')}' không rõ "
                                f"(cần một trong {', '.join(METHODS)})")
    return methods


def _processing_time(methods: list[Mapping[str, Any]]) -> str:
    parts: list[str] = []
    for method in methods:
        time, unit = method.get("processingTime"), method.get("processingTimeUnit")
        if time in (None, ""):
            continue
        amount = f"{time:g}" if isinstance(time, (int, float)) else _text(time)
        part = f"{METHODS[method['submissionMethod']]} - {amount} {UNITS.get(unit, '(đơn vị khác)')}"
        if part not in parts:
            parts.append(part)
    return "; ".join(parts) + "." if parts else ""


def _fees(methods: list[Mapping[str, Any]]) -> tuple[str, str]:
    amounts: list[str] = []
    notes: list[str] = []
    for method in methods:
        for fee in _items(method, "fees"):
            fee = _mapping(fee, "fees[]")
            value = fee.get("value")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                amount = f"{METHODS[method['submissionMethod']]} - {int(value):,} đồng".replace(",", ".")
                if amount not in amounts:
                    amounts.append(amount)
            description = _text(fee.get("description"))
            if description and description not in notes:
                notes.append(description)
    return "; ".join(amounts) + ("." if amounts else ""), " ".join(notes)


def _document(component: Mapping[str, Any]) -> str:
    name = _text(component.get("name")).lstrip("-+* ").strip()
    details = []
    if component.get("required"):
        details.append("bắt buộc")
    for key, label in (("originalQty", "bản chính"), ("copyQty", "bản sao")):
        qty = component.get(key)
        if isinstance(qty, int) and not isinstance(qty, bool) and qty > 0:
            details.append(f"{label} - {qty}")
    forms = [_text(_mapping(a, "attachments[]").get("fileName")) for a in _items(component, "attachments")]
    forms = [f for f in forms if f]
    if forms:
        details.append("mẫu - " + ", ".join(forms))
    return f"{name} ({'; '.join(details)})" if details else name


def _dossier(data: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Document items per case and, when there are several named cases, the question choosing one."""
    cases = [_mapping(c, "executionCases[]") for c in _items(data, "executionCases")]
    named = [c for c in cases if _text(c.get("name")) and _items(c, "profileComponents")]
    options = []
    items: list[dict[str, Any]] = []
    for index, case in enumerate(cases):
        option = f"truong_hop_{index + 1}"
        ask_case = len(named) > 1 and case in named
        if ask_case:
            options.append({"id": option, "label": _text(case.get("name"))})
        for component in _items(case, "profileComponents"):
            text = _document(_mapping(component, "profileComponents[]"))
            if not text:
                continue
            item: dict[str, Any] = {"text": text}
            if ask_case:
                item["when"] = {"truong_hop": option}
            items.append(item)
    guide = [{"id": "truong_hop", "ask": "Trường hợp của bạn là gì?", "options": options}] if options else []
    return items, guide


def _lines(data: Mapping[str, Any], key: str, field: str) -> list[str]:
    lines: list[str] = []
    for entry in _items(data, key):
        entry = _mapping(entry, f"{key}[]")
        for line in str(entry.get(field) or "").splitlines():
            line = _text(line).lstrip("-+* ").strip()
            if line:
                lines.append(line)
    return lines


def _unverified(text: str, why: str) -> dict[str, Any]:
    return {"text": text, "verified": False, "note": why}


def draft(record: Any) -> tuple[str, str]:
    """The id and the YAML text of a draft procedure file; :class:`RecordInvalid` if unreadable."""
    record = _mapping(record, "hồ sơ")
    data = _mapping(record.get("data", record), "trường 'data'")
    code, name = _text(data.get("code")), _text(data.get("name"))
    if not re.match(CODE_PATTERN, code):
        raise RecordInvalid(f"mã thủ tục (code) '{code}' không đúng dạng, ví dụ 1.004222")
    if not name:
        raise RecordInvalid("thiếu tên thủ tục (name)")
    checked = _record_date(data)
    ident = procedure_id(name)
    methods = _methods(data)
    office, where = _office(data)
    fee, fee_note = _fees(methods)
    processing = _processing_time(methods)
    documents, guide = _dossier(data)
    steps = _lines(data, "executionSteps", "description")
    results = [_text(_mapping(r, "resultsDetails[]").get("name")) for r in _items(data, "resultsDetails")]
    results = [r for r in results if r]
    legal = [_text(_mapping(b, "legalBasisesDetails[]").get("name")
                   or _mapping(b, "legalBasisesDetails[]").get("code"))
             for b in _items(data, "legalBasisesDetails")]
    legal = [b for b in legal if b]
    subjects = [_text(_mapping(s, "subjectTypesDetails[]").get("name"))
                for s in _items(data, "subjectTypesDetails")]
    subjects = [s for s in subjects if s]
    online = any(m["submissionMethod"] == "ONLINE" for m in methods)
    missing = "Hồ sơ trên Cổng không có thông tin này; cần bổ sung từ văn bản chính thức."

    procedure: dict[str, Any] = {
        "id": ident,
        "codes": [code],
        "draft": True,
        "name": name,
        "short_name": name,
        "sms_keyword": "".join(w[0] for w in ident.split("_")).upper()[:8].ljust(2, "X"),
        "aliases": list(dict.fromkeys([name.lower(), re.sub(r"^thủ tục\s+", "", name.lower())])),
        "summary": name,
    }
    if subjects:
        procedure["who"] = {"text": ", ".join(subjects)}
    procedure["where"] = ({"text": where or missing, "office": office} if office and where else
                          {**_unverified(where or missing, "Chưa rõ cơ quan; chọn office đúng."),
                           "office": "ubnd_xa" if data.get("isWard") else "truc_tuyen"})
    procedure["documents"] = {"items": documents or [{"text": missing}], "note": TO_WRITE}
    if not documents:
        procedure["documents"]["verified"] = False
    procedure["fee"] = {"text": fee or missing, **({"note": fee_note} if fee_note else {})}
    if not fee:
        procedure["fee"] = _unverified(missing, fee_note or missing)
    procedure["deadline"] = _unverified(missing, "Hồ sơ trên Cổng không ghi thời hạn người dân phải làm.")
    procedure["processing_time"] = {"text": processing} if processing else _unverified(missing, missing)
    procedure["online"] = ({"text": "Nộp trực tuyến được trên Cổng Dịch vụ công quốc gia.",
                            "level": "toan_trinh" if data.get("isFullProcess") else "mot_phan"}
                           if online else {"text": "Hồ sơ trên Cổng không có cách nộp trực tuyến.",
                                           "level": "khong"})
    procedure["steps"] = {"items": steps} if len(steps) >= 2 else {
        "items": steps or [missing], "verified": False}
    procedure["result"] = {"text": "; ".join(results)} if results else _unverified(missing, missing)
    procedure["faq"] = []
    procedure["guide"] = {"questions": guide}
    procedure["legal_basis"] = legal or [missing]
    note = f"Hồ sơ trên Cổng Dịch vụ công quốc gia, cập nhật {checked.isoformat()}."
    procedure["sources"] = [{"id": "cong", "portal": code, "url": PORTAL_URL.format(code=code), "note": note}]
    procedure["checked"] = checked
    body = yaml.dump(procedure, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100_000,
                     default_flow_style=False)
    header = (f"# {name} — mã {code}\n"
              f"# BẢN NHÁP nhập từ hồ sơ trên Cổng ngày {checked.isoformat()}: viết lại bằng lời dễ hiểu,\n"
              "# kiểm tra từng mục, rồi xóa dòng 'draft: true' (xem procedures/README.md).\n")
    return ident, header + body


def with_id(text: str, old: str, new: str) -> str:
    """The draft text with its id replaced (when ``--out`` names the file differently)."""
    return text.replace(f"\nid: {old}\n", f"\nid: {new}\n", 1)


def write_new(path: Path, text: str, force: bool = False) -> None:
    """Writes atomically (a temporary file in the same folder, then a rename); refuses to replace
    an existing file unless ``force``."""
    if path.exists() and not force:
        raise FileExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        if not force and path.exists():  # appeared meanwhile
            raise FileExistsError(path)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
