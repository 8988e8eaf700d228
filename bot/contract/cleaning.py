"""The cleaning every channel applies to a citizen's text before it is stored or understood.

It lives in the contract so that connectors, which may import nothing else of ``bot``, and the
engine clean the same way: ``Connector.handle`` applies it to every inbound message, and the
engine again to whatever reaches it.
"""

from __future__ import annotations

import re
import unicodedata

# C0/C1 control characters except tab and newline, and the zero-width space (a word break that
# some apps put between words): each becomes a space.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b]")
# Characters with nothing to read that keyboards and copy-paste slip into words: joiners and
# non-joiners, bidi marks and embeddings, the word joiner and invisible operators, the soft
# hyphen, the byte-order mark; and lone UTF-16 surrogates (JSON's "\ud800"), which no encoding
# can store. They are dropped.
_INVISIBLE = re.compile(r"[\u00ad\u200c-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
                        r"\ud800-\udfff]")
_SPACES = re.compile(r"[ \t]+")


def clean(text: str) -> str:
    """Makes user input safe to process and to store: NFC, no control characters, no NUL, no
    invisible characters, no lone surrogates, trimmed spaces. The same on every channel."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", _INVISIBLE.sub("", text)))
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
