"""A model knows what it was trained from, so chat and serve never run on a stale one."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.build.training import MODEL_INPUTS, fingerprint, is_current
from bot.project import Project
from tests.paths import PROJECT, REPO


def _copy_inputs(target: Path) -> None:
    for pattern in MODEL_INPUTS:
        for path in REPO.glob(pattern):
            destination = target / path.relative_to(REPO)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, destination)
    shutil.copy(REPO / "config.yml", target / "config.yml")
    shutil.copytree(REPO / "procedures", target / "procedures")


def test_fingerprint_is_the_same_from_any_working_directory(tmp_path, monkeypatch):
    absolute = fingerprint(PROJECT, REPO / "config.yml")
    monkeypatch.chdir(REPO)
    assert fingerprint(Project(Path("."), Path("procedures")), Path("config.yml")) == absolute


def test_a_staff_edit_makes_the_model_stale(tmp_path):
    _copy_inputs(tmp_path)
    project = Project.locate(tmp_path)
    before = fingerprint(project, tmp_path / "config.yml")
    yaml_file = tmp_path / "procedures" / "khai_sinh.yaml"
    yaml_file.write_text(yaml_file.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert fingerprint(project, tmp_path / "config.yml") != before


def test_the_session_model_is_current(full_model):
    assert is_current(full_model, PROJECT, REPO / "config.yml")
    assert not is_current(full_model.with_name("missing.tar.gz"), PROJECT, REPO / "config.yml")
