"""Vietnamese text normalisation shared by the NLU pipeline and the SMS renderer.

Folding (docs/sms-encoding.md, "How folding works"): NFD, drop combining marks, map the
letters NFD does not decompose (đ, Đ and the look-alike Ð), map typographic punctuation to
ASCII, then NFC.
"""

from __future__ import annotations

import re
import unicodedata

# Letters and symbols that NFD leaves intact but SMS (GSM-7) and folding need as ASCII.
_EXTRA_FOLDS = str.maketrans(
    {
        "đ": "d",
        "Đ": "D",
        "Ð": "D",  # U+00D0, looks like Đ and is typed by some keyboards
        "ð": "d",
        "₫": "d",
        "–": "-",
        "—": "-",
        "‑": "-",
        "“": '"',
        "”": '"',
        "„": '"',
        "‘": "'",
        "’": "'",
        "…": "...",
        "•": "-",
        "·": "-",
        "\u00a0": " ",
    }
)

# C0/C1 control characters except tab and newline, plus zero-width and bidi marks.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060\ufeff]")
_SPACES = re.compile(r"[ \t]+")


def nfc(text: str) -> str:
    """Composes decomposed input ("Unicode tổ hợp" keyboards) into NFC."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Removes Vietnamese diacritics: ``"Đăng ký khai sinh"`` -> ``"Dang ky khai sinh"``."""
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA_FOLDS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def has_diacritics(text: str) -> bool:
    """True when folding would change the text, i.e. it was typed with Vietnamese marks."""
    return fold(text) != text


def clean(text: str) -> str:
    """Makes user input safe to process: NFC, no control characters, no NUL, trimmed spaces."""
    text = _CONTROL.sub(" ", nfc(text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def search_key(text: str) -> str:
    """Lowercase folded form with single spaces, for comparing names typed any way."""
    return " ".join(re.findall(r"\w+", fold(nfc(text)).lower()))
