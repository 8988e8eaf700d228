"""Where each fact comes from: the declared schema of codes, sources and checked dates.

Declared once, as pydantic (v1) models; ``bot.catalogue.loading`` validates the matching parts of
each procedure file against them and maps every schema error back to the file's line, the field
and a fix in Vietnamese. The rest of a procedure file (texts, guide, FAQ) is still checked by the
loader's own ``_Checker``; no field is defined in both places.

The shape (documented for staff in ``procedures/README.md``)::

    codes: ["1.001193"]            # the official code(s): national first, then provincial variants
    draft: true                    # optional: an imported draft, never used to answer
    sources:                       # the first one is the default source of every fact
      - id: dvc
        portal: "1.001193"         # a National Public Service Portal record: code + URL
        url: https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.001193
      - id: luat_ho_tich
        law: Luật Hộ tịch số 60/2014/QH13   # a legal document: number + article
        article: Điều 11 khoản 1
      - id: c06
        page: Công an Phú Thọ - thủ tục căn cước   # a named official page: title + URL
        url: https://congan.phutho.gov.vn/...
    checked: 2026-12-02            # when the facts were last checked against the sources

and on any fact, document item, ``steps``, ``documents`` or FAQ entry, optionally::

    source: luat_ho_tich           # or a list of ids; overrides the default
    checked: 2026-12-02            # overrides the file's date
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, Extra, StrictBool, StrictStr, root_validator, validator
from pydantic.errors import PydanticValueError

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
CODE_PATTERN = r"^\d+\.\d{6}$"
PORTAL_HOST = "dichvucong.gov.vn"
PORTAL_URL = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc={code}"
SOURCE_KINDS = ("portal", "law", "page")

_ID = re.compile(ID_PATTERN)
_CODE = re.compile(CODE_PATTERN)
_URL = re.compile(r"^https?://[^\s/]+\.[^\s/]+\S*$")


class SchemaProblem(PydanticValueError):
    """A problem with a Vietnamese message and fix; the loader reports both as they are."""

    code = "catalogue"
    msg_template = "{problem}"

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem=problem, fix=fix)


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        anystr_strip_whitespace = True


def _code(value: str) -> str:
    if not _CODE.match(value):
        raise SchemaProblem(f"mã '{value}' không đúng dạng",
                            'viết mã thủ tục trong ngoặc kép, ví dụ "1.001193"')
    return value


class SourceEntry(_Strict):
    """One official source: a portal record, a legal document or a named official page."""

    id: StrictStr
    portal: StrictStr | None = None
    law: StrictStr | None = None
    article: StrictStr | None = None
    page: StrictStr | None = None
    url: StrictStr | None = None
    note: StrictStr | None = None

    @validator("id")
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise SchemaProblem(f"'{value}' không hợp lệ",
                                "chỉ dùng chữ thường không dấu, số và gạch dưới, ví dụ dvc")
        return value

    @validator("portal")
    def _portal(cls, value: str | None) -> str | None:
        return None if value is None else _code(value)

    @validator("url")
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _URL.match(value):
            raise SchemaProblem(f"'{value}' không phải địa chỉ trang web",
                                "chép nguyên địa chỉ, bắt đầu bằng https://")
        return value

    @root_validator(skip_on_failure=True)
    def _one_kind(cls, values: dict[str, Any]) -> dict[str, Any]:
        kinds = [kind for kind in SOURCE_KINDS if values.get(kind)]
        if len(kinds) != 1:
            raise SchemaProblem(
                "mỗi nguồn phải là đúng một loại" + (f", đang có {', '.join(kinds)}" if kinds else ""),
                "ghi portal: (mã thủ tục) và url:, hoặc law: (số văn bản) và article:, "
                "hoặc page: (tên trang) và url:")
        kind = kinds[0]
        url = values.get("url") or ""
        if kind == "portal" and PORTAL_HOST not in url:
            raise SchemaProblem("nguồn Cổng Dịch vụ công cần địa chỉ trên dichvucong.gov.vn",
                                "thêm url: " + PORTAL_URL.format(code=values["portal"]))
        if kind == "page" and not url:
            raise SchemaProblem("trang chính thức cần địa chỉ", "thêm url: https://...")
        if kind == "law" and not values.get("article"):
            raise SchemaProblem("văn bản pháp luật cần ghi điều, khoản",
                                "thêm article: Điều ... khoản ...")
        return values

    @property
    def kind(self) -> str:
        return next(kind for kind in SOURCE_KINDS if getattr(self, kind))


class FileSourcing(_Strict):
    """The top-level fields of a procedure file that say what it is officially and where from."""

    codes: list[StrictStr]
    sources: list[SourceEntry]
    checked: dt.date
    draft: StrictBool = False

    @validator("codes")
    def _codes(cls, value: list[str]) -> list[str]:
        if not value:
            raise SchemaProblem("chưa có mã thủ tục nào", 'ghi ít nhất một mã: codes: ["1.001193"]')
        for code in value:
            _code(code)
        if len(set(value)) != len(value):
            raise SchemaProblem("có mã bị trùng", "mỗi mã chỉ ghi một lần")
        return value

    @validator("sources")
    def _sources(cls, value: list[SourceEntry]) -> list[SourceEntry]:
        if not value:
            raise SchemaProblem("chưa có nguồn nào", "ghi ít nhất một nguồn chính thức (xem README)")
        ids = [source.id for source in value]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate:
            raise SchemaProblem(f"id nguồn '{duplicate}' bị trùng", "đặt id khác nhau cho mỗi nguồn")
        return value


class FactSourcing(_Strict):
    """The optional per-fact override of the file's default source and checked date."""

    source: StrictStr | list[StrictStr] | None = None
    checked: dt.date | None = None

    @property
    def source_ids(self) -> tuple[str, ...]:
        if self.source is None:
            return ()
        return (self.source,) if isinstance(self.source, str) else tuple(self.source)


FILE_FIELDS = tuple(FileSourcing.__fields__)
FACT_FIELDS = tuple(FactSourcing.__fields__)


QUALIFIER_MAX = 40  # characters: a qualifier is a word or two ("bị rách", "người Lào"), not a sentence


class Qualifiers(_Strict):
    """``qualifiers:`` of a specific procedure: for each more general procedure (by id), the words
    that, said together with its name or its story, mean this one ("sổ đỏ" + "rách" -> cấp đổi).
    That the general ids exist is checked across the catalogue (``loading._cross_checks``)."""

    qualifiers: dict[StrictStr, list[StrictStr]] = {}

    @validator("qualifiers")
    def _qualifiers(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for general, words in value.items():
            if not _ID.match(general):
                raise SchemaProblem(f"'{general}' không phải id thủ tục",
                                    "ghi id của thủ tục chung (tên tệp không có .yaml), ví dụ khai_sinh")
            if not words:
                raise SchemaProblem(f"chưa có từ nào cho {general}",
                                    "mỗi dòng một từ, ví dụ - bị rách")
            for word in words:
                if not word or len(word) > QUALIFIER_MAX:
                    raise SchemaProblem(f"từ '{word}' trống hoặc dài quá {QUALIFIER_MAX} ký tự",
                                        "chỉ ghi một hai từ đặc trưng, ví dụ 'bị rách', 'người Lào'")
        return value
