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


def search_key(text: str) -> str:
    """Lowercase folded form with single spaces, for comparing names typed any way."""
    return " ".join(re.findall(r"\w+", fold(nfc(text)).lower()))
