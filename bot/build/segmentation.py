"""underthesea's word segmentation of the training examples, kept between trainings.

Our tokenizer learns its compounds from underthesea's segmentation of every accented example
(``bot.nlu.tokenizer.VietnameseTokenizer.train``): about 4 % of a retraining after a one-alias
edit (py-spy, docs/benchmarks.md "Training, session 8"), for examples nearly all of which the
edit did not touch. The segmentation of a text depends on that text and underthesea's version
only, so it is kept per text in ``var/cache/segmentation.json`` with the version; a text not seen
before is segmented by underthesea, and the file keeps the texts of the last training only. An
unreadable file or another version is a segmentation from scratch, never an error.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.cache import write_atomically

logger = logging.getLogger(__name__)


def _load(path: Path, version: str) -> dict[str, list[str]]:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict) or saved.get("underthesea") != version:
        return {}
    words = saved.get("words")
    return words if isinstance(words, dict) else {}


def _save(path: Path, version: str, words: dict[str, list[str]]) -> None:
    try:
        write_atomically(path, json.dumps({"underthesea": version, "words": words},
                                          ensure_ascii=False).encode("utf-8"))
    except OSError as error:
        logger.warning("could not keep the segmentation in %s: %s", path, error)


@contextlib.contextmanager
def remembered_segmentation(path: Path) -> Iterator[None]:
    """Within, ``underthesea.word_tokenize(text)`` answers from ``path`` for a text segmented
    before; on a normal exit ``path`` keeps the texts segmented within."""
    import underthesea

    version = metadata.version("underthesea")
    known = _load(path, version)
    used: dict[str, list[str]] = {}
    original = underthesea.word_tokenize

    def word_tokenize(sentence: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(sentence, str):
            return original(sentence, *args, **kwargs)
        words = known.get(sentence)
        if not isinstance(words, list):
            words = original(sentence)
        used[sentence] = words
        return list(words)

    underthesea.word_tokenize = word_tokenize
    try:
        yield
    finally:
        underthesea.word_tokenize = original
    if used:
        _save(path, version, used)
