"""Slow start-up work kept on disk, keyed on everything it was built from.

Reading and checking the catalogue and indexing the address gazetteer took most of the seconds of
``bot serve``'s start that were ours (docs/benchmarks.md, "Cold start and memory"); their results
depend only on files. ``cached`` keeps such a result as a pickle named by a fingerprint of those
files, of our own source code, of the libraries' versions and of the Python version: any change
builds it again. A cache file is only ever read by the code that wrote it, from a folder of the
project (``Project.cache``), like the model archive next to it. A file that cannot be read or
written is no error: the result is built as without a cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

_OUR_CODE = Path(__file__).resolve().parent  # the bot package: its code decides what is built
_code_digest: str | None = None


def _our_code() -> str:
    """A digest of every file of the ``bot`` package, once per process."""
    global _code_digest
    if _code_digest is None:
        digest = hashlib.sha256()
        hash_files(digest, ((str(path.relative_to(_OUR_CODE)), path) for path in sorted(_OUR_CODE.rglob("*"))
                            if path.suffix in (".py", ".yml", ".yaml") and "__pycache__" not in path.parts))
        _code_digest = digest.hexdigest()
    return _code_digest


def hash_files(digest: Any, named: Iterable[tuple[str, Path]]) -> None:
    """Feeds ``digest`` (a ``hashlib`` object) each file's name as given, then its contents: the
    part of every fingerprint of ours that reads files (this one, the model's in
    ``bot.build.fingerprint``)."""
    for name, path in named:
        digest.update(name.encode())
        digest.update(path.read_bytes())


def fingerprint(files: Iterable[Path], libraries: Iterable[str] = (), extra: Iterable[str] = ()) -> str:
    """A digest of ``files`` (names and contents), the installed versions of ``libraries``,
    ``extra`` strings, our code and the Python version."""
    digest = hashlib.sha256()
    digest.update(sys.version.encode())
    digest.update(_our_code().encode())
    hash_files(digest, ((path.name, path) for path in sorted(files)))
    for library in libraries:
        digest.update(f"{library}={metadata.version(library)}".encode())
    for text in extra:
        digest.update(text.encode())
    return digest.hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file beside it and a rename: a reader finds
    the old file or the new one, never half of one. An ``OSError`` is raised with the temporary
    file removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def cached(folder: Path | None, name: str, key: str, build: Callable[[], T]) -> T:
    """What ``build`` returns, read from ``folder/name-KEY.pickle`` when a run with the same
    ``key`` wrote it, else built and written there (older files of ``name`` are removed). No
    ``folder``: built every time."""
    if folder is None:
        return build()
    path = folder / f"{name}-{key[:32]}.pickle"
    try:
        with path.open("rb") as file:
            return pickle.load(file)  # noqa: S301 - our own file, written below
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - a damaged or outdated file is built again
        logger.info("cache %s not read (%s): building it again", path, type(exc).__name__)
    value = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(f"{name}-*.pickle"):
            old.unlink(missing_ok=True)
        write_atomically(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError as exc:
        logger.info("cache %s not written (%s)", path, exc)
    return value
