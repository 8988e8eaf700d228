"""Silences the start-up noise of Rasa and TensorFlow (see docs/nlu.md, "runtime notes")."""

from __future__ import annotations

import logging
import os
import warnings


def quiet() -> None:
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore")
    import skops.io  # noqa: F401  -- imported before TensorFlow: halves cold start (docs/nlu.md)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    for name in ("rasa", "tensorflow", "absl", "sanic", "apscheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)
