"""What a person running ``bot`` sees: our own output, not the libraries' start-up noise.

Warnings are filtered by origin: those raised in the libraries we build on (Rasa, TensorFlow,
SQLAlchemy, pkg_resources...) are about their code, not ours, and nothing a staff member can act
on; warnings raised in ``bot`` or ``connectors`` still show (and fail the tests, see
``pyproject.toml``). Rasa's own console output during training (progress bars, its success line)
is captured and shown only if training fails. Why these settings: docs/nlu.md, "runtime notes".
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator

from bot.serving.lean import defer_tensorflow

# Matches every module name except ours: the origin of a warning the libraries raise.
THIRD_PARTY = r"(?!(bot|connectors|tests)(\.|$))"
NOISY_LOGGERS = ("rasa", "tensorflow", "absl", "sanic", "apscheduler")


def quiet_warnings() -> None:
    """The part of ``quiet`` that imports nothing: for what runs before the libraries load."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", module=THIRD_PARTY)


def quiet() -> None:
    """Silences the libraries' warnings and chatter; keeps ours."""
    quiet_warnings()
    # Rasa's TensorFlow-only module (and its test module, its reminder scheduler, its built-in
    # channels) deferred until something uses them: serving never does (bot/serving/lean.py;
    # docs/benchmarks.md, "Cold start and memory, after" and "Cold start, session 8").
    defer_tensorflow()
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def library_output() -> Iterator[None]:
    """Captures what libraries print to the console; prints it to stderr only on an exception."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield
    except BaseException:
        sys.stderr.write(buffer.getvalue()[-20_000:])
        raise
