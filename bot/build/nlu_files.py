"""Each NLU training file parsed once, and kept while its content does not change.

Rasa parses every NLU file (YAML, a schema check, then its reader) when the importer reads the
training data, and again when the domain is built (it reads the NLU data once more, with another
language argument that misses Rasa's per-argument cache): 17 % of a warm retraining's samples
(py-spy, docs/benchmarks.md "Training, session 9"). A procedure edit changes only the generated
file (``nlu_data/generated/procedures.yml``); the hand-written files and the rules are as before.

Within ``parsed_once`` a file's parse (Rasa's ``loading._load``) is kept as a pickle keyed on the
file's name, content, language and Rasa's version: the second read in a training unpickles it, and
``path`` (in the project's ``var/cache``, like bot/cache.py's files) keeps the parses of the last
training, so the next one parses only the files that changed. Each read gets its own objects, as
from a parse. An unreadable cache file is a parse from scratch, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.cache import write_atomically

logger = logging.getLogger(__name__)


def _load(path: Path, version: str) -> dict[str, bytes]:
    try:
        with path.open("rb") as file:
            saved = pickle.load(file)  # noqa: S301 - our own file, written below
    except FileNotFoundError:
        return {}
    except Exception as exc:  # noqa: BLE001 - a damaged or outdated file: parse again
        logger.info("kept NLU parses %s not read (%s)", path, type(exc).__name__)
        return {}
    if not isinstance(saved, dict) or saved.get("rasa") != version:
        return {}
    parses = saved.get("parses")
    return parses if isinstance(parses, dict) else {}


def _save(path: Path, version: str, parses: dict[str, bytes]) -> None:
    try:
        write_atomically(path, pickle.dumps({"rasa": version, "parses": parses},
                                            protocol=pickle.HIGHEST_PROTOCOL))
    except OSError as error:
        logger.warning("could not keep the NLU parses in %s: %s", path, error)


def file_key(filename: str, language: Any) -> str | None:
    """A digest of the file's name, content and the language asked; None when unreadable."""
    try:
        content = Path(filename).read_bytes()
    except OSError:
        return None
    digest = hashlib.sha256()
    for part in (os.path.basename(filename).encode(), repr(language).encode(), content):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@contextlib.contextmanager
def parsed_once(path: Path) -> Iterator[None]:
    """Within, Rasa parses an NLU file only when no parse of the same content is kept; on a
    normal exit ``path`` keeps the parses of the files read within."""
    from rasa.shared.nlu.training_data import loading

    version = metadata.version("rasa")
    known = _load(path, version)
    used: dict[str, bytes] = {}
    original = loading._load

    def load(filename: str, language: Any = "en") -> Any:
        key = file_key(filename, language)
        kept = used.get(key) if key is not None else None
        if kept is None and key is not None:
            kept = known.get(key)
        if kept is None:
            parsed = original(filename, language)
            if key is None:
                return parsed
            kept = pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)
        used[key] = kept
        return pickle.loads(kept)  # noqa: S301 - pickled above or read from our own file

    loading._load = load
    try:
        yield
    finally:
        loading._load = original
    if used:
        _save(path, version, used)
