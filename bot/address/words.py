"""The words around place names: unit types as citizens abbreviate them, filler and village words.

Everything here works on folded tokens (``bot.text.search_key`` split on spaces), so "Xã", "xa"
and "x." are the same token ``xa``/``x`` before this module looks at them.
"""

from __future__ import annotations

import re
import unicodedata

from bot.text import fold, nfc, search_key

WARD = "ward"
DISTRICT = "district"
PROVINCE = "province"
LEVELS = (WARD, DISTRICT, PROVINCE)

# Folded type words -> (official type name, levels the type can introduce).
# "thanh pho"/"tp" is both a provincial city (Thành phố Hà Nội) and a district-level city
# (Thành phố Trà Vinh). "dk" is deliberately absent: citizens write it for "đăng ký".
TYPE_WORDS: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {
    ("xa",): ("Xã", (WARD,)),
    ("x",): ("Xã", (WARD,)),
    ("phuong",): ("Phường", (WARD,)),
    ("p",): ("Phường", (WARD,)),
    ("f",): ("Phường", (WARD,)),
    ("thi", "tran"): ("Thị trấn", (WARD,)),
    ("tt",): ("Thị trấn", (WARD,)),
    ("dac", "khu"): ("Đặc khu", (WARD,)),
    ("huyen",): ("Huyện", (DISTRICT,)),
    ("h",): ("Huyện", (DISTRICT,)),
    ("quan",): ("Quận", (DISTRICT,)),
    ("q",): ("Quận", (DISTRICT,)),
    ("thi", "xa"): ("Thị xã", (DISTRICT,)),
    ("tx",): ("Thị xã", (DISTRICT,)),
    ("thanh", "pho"): ("Thành phố", (DISTRICT, PROVINCE)),
    ("tp",): ("Thành phố", (DISTRICT, PROVINCE)),
    ("t", "p"): ("Thành phố", (DISTRICT, PROVINCE)),
    ("tinh",): ("Tỉnh", (PROVINCE,)),
    ("t",): ("Tỉnh", (PROVINCE,)),
}

# Prefixes the library puts in front of names in its keyword lists ("xaiaphi", "p1", "q9").
KEY_PREFIXES = {
    WARD: ("thitran", "phuong", "dackhu", "ward", "xa", "tt", "p", "f", "x"),
    DISTRICT: ("thanhpho", "district", "huyen", "thixa", "quan", "tp", "tx", "q", "h"),
    PROVINCE: ("thanhpho", "tinh", "tp", "t"),
}

ROMAN = frozenset({"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix"})

# Words that may stand between the parts of one address, or around an address given on its own
# ("lung cu gio thuoc tinh nao"). A message made only of these and place names is an address.
FILLERS = frozenset(
    """
    toi tui t minh em anh chi ba me bo con chau ban nha o tai que song sinh thuoc la dau nao gio
    bay nay hien luc truoc cu moi day kia do the vay sao ra a ah ak oi nhe nhi va voi vs cua ve tu
    den cho hoi xin biet khong ko k co duoc chua roi sau khi sap nhap doi ten thanh tro dia chi noi
    gom nhung
    xa phuong huyen quan tinh thi tran pho tp tx tt h q p x f dac khu cac vung
    """.split()
)

# Words before a bare (untyped) place name that make it a place: "o lung cu", "que gia lai".
CUES = frozenset({"o", "tai", "que", "thuoc", "ve", "tu"})

# Below the commune: a bare name right after one of these is a village or a street, never a
# commune ("thon Na Sang", "ap Phu Hoa", "so nha 12"). Folded word -> its spelling with marks.
VILLAGE_WORDS = {
    "thon": "thôn",
    "ap": "ấp",
    "ban": "bản",
    "xom": "xóm",
    "to": "tổ",
    "lang": "làng",
    "khom": "khóm",
    "buon": "buôn",
    "plei": "plei",
    "soc": "sóc",
    "kp": "kp",
    "duong": "đường",
    "ngo": "ngõ",
    "ngach": "ngách",
    "hem": "hẻm",
    "kiet": "kiệt",
    "so": "số",
    "khu": "khu",
    "cum": "cụm",
    "doi": "đội",
}

# Common phrases in questions about procedures that are also commune names ("xã biên giới" is a
# category of commune, "trung tâm" the service centre, "là gì" a question). Such a name counts only
# next to its district or province.
GENERIC_NAMES = frozenset({"bien gioi", "trung tam", "an toan", "dong bang", "la gi", "co bi"})

# How the full type words are spelt with marks: "xá" (đường xá) or "xà" is no "xã".
TYPE_ACCENTS = {
    ("xa",): ("xã",),
    ("phuong",): ("phường",),
    ("thi", "tran"): ("thị", "trấn"),
    ("dac", "khu"): ("đặc", "khu"),
    ("huyen",): ("huyện",),
    ("quan",): ("quận",),
    ("thi", "xa"): ("thị", "xã"),
    ("thanh", "pho"): ("thành", "phố"),
    ("tinh",): ("tỉnh",),
}

# "mới"/"cũ" between a type and its name ("xã mới Ia Phí"); "cu" may also begin a name (Cư Jút).
QUALIFIERS = {"moi": "mới", "cu": "cũ"}

_GLUED = re.compile(r"^(tt|tp|tx|p|f|q|x|h)(\d+)$")
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def split_text(text: str) -> tuple[list[str], list[str]]:
    """Folded tokens and, aligned with them, the same tokens lowercased with their marks.

    "P.1"/"p01"/"q10" become a type and a number, leading zeros are dropped, "tphcm" is "tp hcm".
    """
    folded = search_key(text).split()
    marked = re.findall(r"\w+", nfc(text).lower())
    if len(marked) != len(folded) or fold(" ".join(marked)) != " ".join(folded):
        marked = list(folded)  # unusual input (combining marks left over): compare without marks
    out_f: list[str] = []
    out_m: list[str] = []
    for tok, mark in zip(folded, marked, strict=True):
        glued = _GLUED.match(tok)
        if tok == "tphcm":
            pair = ["tp", "hcm"], ["tp", "hcm"]
        elif glued:
            pair = [glued.group(1), str(int(glued.group(2)))], [glued.group(1), str(int(glued.group(2)))]
        elif tok.isdigit():
            pair = [str(int(tok))], [str(int(tok))]
        else:
            pair = [tok], [mark]
        out_f += pair[0]
        out_m += pair[1]
    return out_f, out_m


def tokens(text: str) -> list[str]:
    """Folded tokens of ``text`` (see ``split_text``)."""
    return split_text(text)[0]


def _accent_key(token: str) -> tuple[str, frozenset[str]]:
    """A token's letters with their shape marks, and its tone apart: "hoà" and "hòa" are equal."""
    decomposed = unicodedata.normalize("NFD", token)
    tones = frozenset(ch for ch in decomposed if ch in _TONES)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES)), tones


def marks_agree(typed: list[str], name: list[str], strict: bool = False) -> bool:
    """False when a word the citizen typed with marks spells another word than the name's.

    Words typed without marks agree with anything ("lung cu" is Lũng Cú); "tự tra" is not Tu Tra,
    "công an" is not Cô Ngân. With ``strict`` an unmarked word must be unmarked in the name too
    ("Hoằng Thanh" is not Hoằng Thành). Spans of a different length than the name are not compared.
    """
    if len(typed) != len(name):
        return True
    return all(
        (t == search_key(t) and not strict) or _accent_key(t) == _accent_key(n)
        for t, n in zip(typed, name, strict=True)
    )


def type_at(toks: list[str], marked: list[str], i: int) -> tuple[int, str, tuple[str, ...]] | None:
    """The unit-type word starting at token ``i``: (tokens used, official type, levels), or None."""
    if i > 0 and (toks[i - 1], toks[i]) in TYPE_WORDS:
        return None  # the tail of "thi xa" / "thanh pho" / "t p"
    if i > 0 and toks[i] == "xa" and toks[i - 1] in VILLAGE_WORDS:
        if marks_agree([marked[i - 1]], [VILLAGE_WORDS[toks[i - 1]]]):
            return None  # "thôn xa": a far village
    for size in (2, 1):
        words = tuple(toks[i : i + size])
        found = TYPE_WORDS.get(words)
        if found and i + size <= len(toks):
            if words in TYPE_ACCENTS and not marks_agree(marked[i : i + size], list(TYPE_ACCENTS[words])):
                return None
            return size, found[0], found[1]
    return None


_SYLLABLE = re.compile(
    r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]+(ch|ng|nh|[cmnpt])?$"
)


def is_syllable(word: str) -> bool:
    """True for a folded word shaped like a Vietnamese syllable ("lam", "cho"): it may be an
    ordinary word. "pleiku", "kbang", "dakrong" cannot be, so they are safe as names alone."""
    return bool(_SYLLABLE.match(word))


def is_number(key: str) -> bool:
    """Numbered units ("Phường 1", "Quận 9", "Phường VII") are only ever named with their type."""
    return key.isdigit() or key in ROMAN


def spaced_key(name: str) -> str:
    """The lookup key of a name keeping its syllables apart ("ia phi"): "sinh o" is not "sìn hồ"."""
    return " ".join(tokens(name))


def strip_prefix(keyword: str, siblings: set[str], level: str) -> str:
    """The name part of a library keyword: "xaiaphi" -> "iaphi" when "iaphi" is also a keyword."""
    for prefix in KEY_PREFIXES[level]:
        rest = keyword[len(prefix) :]
        if keyword.startswith(prefix) and rest and (rest in siblings or rest.isdigit() or rest in ROMAN):
            return str(int(rest)) if rest.isdigit() else rest
    return keyword
