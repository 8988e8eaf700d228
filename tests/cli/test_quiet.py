"""Warnings are filtered by where they come from: the libraries' are hidden, ours are not."""

from __future__ import annotations

import warnings

import pytest

from bot.cli.quiet import THIRD_PARTY, library_output


@pytest.mark.parametrize(("module", "shown"), [
    ("rasa.shared.utils.io", False),
    ("tensorflow.lite.python.util", False),
    ("pkg_resources", False),
    ("importlib._bootstrap", False),
    ("botocore.client", False),  # a name that only starts like ours
    ("bot.serving.worker", True),
    ("bot", True),
    ("connectors.telegram.connector", True),
])
def test_a_warning_shows_only_when_it_comes_from_our_code(module, shown):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", module=THIRD_PARTY)
        warnings.warn_explicit("deprecated", DeprecationWarning, "file.py", 1, module=module)
    assert bool(caught) is shown


def test_library_output_is_hidden_unless_the_step_fails(capsys):
    with library_output():
        print("Processed trackers: 100%")
    assert capsys.readouterr().err == ""
    with pytest.raises(RuntimeError), library_output():
        print("Rasa explains what went wrong")
        raise RuntimeError("training failed")
    assert "Rasa explains what went wrong" in capsys.readouterr().err
