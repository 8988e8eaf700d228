"""Vietnamese typed with the Telex input method switched off.

With Telex off, "cần những giấy tờ gì" arrives as "caanf nhuwngx giaasy tow gif": the keys
that would have put a mark on a letter stay in the word (``aa`` for â, ``w`` for ư/ơ/ă, ``dd``
for đ, a final ``s f r x j`` for the tone). A Vietnamese syllable never holds f, j, w or z, never
r, s or x after its first vowel, and never two identical vowels in a row, so a syllable with
such keys is read as Telex when what is left without them is a well-formed syllable. Otherwise
("thanks", "cafe", abbreviations such as "ks") it is kept as typed.

Works on folded, lowercase syllables (no diacritics), the form the segmenter compares.
"""

from __future__ import annotations

import re

VOWELS = "aeiouy"
TONE_KEYS = "sfrxj"  # sắc, huyền, hỏi, ngã, nặng
DOUBLED_VOWELS = "aeo"  # aa -> â, ee -> ê, oo -> ô
# Onsets, vowel nuclei and codas of Vietnamese syllables, written without diacritics.
_ONSET = "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx]"
_NUCLEUS = ("uye|uya|uyu|uoi|uou|oai|oay|oao|oeo|uay|ieu|yeu|"
            "ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|ua|ue|ui|uu|uy|uo|ye|[aeiouy]")
_CODA = "ch|ng|nh|[cmnpt]"
_SYLLABLE = re.compile(f"(?:{_ONSET})?(?:{_NUCLEUS})(?:{_CODA})?")


def untelex(syllable: str) -> str:
    """``syllable`` without leftover Telex keys ("giaasy" -> "giay"), or unchanged."""
    if not syllable.isascii() or not syllable.isalpha():
        return syllable
    typed = syllable[1:] if syllable.startswith("dd") else syllable
    marked = typed != syllable or "w" in typed[1:]
    # a "w" right after a consonant is the vowel ư ("nhwngx"); after a vowel it marks that vowel
    letters = [("u" if c == "w" and 0 < i and typed[i - 1] not in VOWELS + "w" else c)
               for i, c in enumerate(typed)]
    first_vowel = next((i for i, c in enumerate(letters) if c in VOWELS), None)
    if first_vowel is None:
        return syllable
    tail = letters[first_vowel:]
    if sum(c in TONE_KEYS for c in tail) > 1:  # one tone per syllable: "off" is not Telex
        return syllable
    kept = letters[:first_vowel]
    for c in tail:
        if c in TONE_KEYS or c == "w" or (c in DOUBLED_VOWELS and kept[-1:] == [c]):
            marked = True
            continue
        kept.append(c)
    candidate = "".join(kept)
    return candidate if marked and _SYLLABLE.fullmatch(candidate) else syllable


def well_formed(syllable: str) -> bool:
    """``syllable`` (folded, lowercase) has the shape of a Vietnamese syllable."""
    return _SYLLABLE.fullmatch(syllable) is not None



def deletions(word: str) -> set[str]:
    """``word`` and every string with one of its letters left out: two words share one of
    these when one keyboard slip turns one into the other ("hna" and "han" share "ha")."""
    return {word} | {word[:i] + word[i + 1:] for i in range(len(word))}
