"""Where the repository under test is: every test reads the project's own files from here."""

from __future__ import annotations

from pathlib import Path

from bot.project import Project

REPO = Path(__file__).resolve().parent.parent
PROJECT = Project.locate(REPO)
