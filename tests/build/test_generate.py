"""Generated training data and domain follow the catalogue; no Python edit per procedure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.build.generate import GENERATED_HEADER, generate
from bot.catalogue import load_catalogue
from bot.project import Project
from tests.paths import PROJECT, REPO

DATA = REPO / "tests" / "data"
GENERIC = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - xin chào
"""
TEMPLATES = """templates:
  ask_fee:
    - "lệ phí {p} bao nhiêu"
    - "{p} mat bn tien"
"""


def make_root(tmp_path: Path) -> Path:
    (tmp_path / "procedures").mkdir()
    shutil.copy(DATA / "minimal_procedure.yaml", tmp_path / "procedures" / "thu_tuc_mau.yaml")
    (tmp_path / "nlu_data").mkdir()
    (tmp_path / "nlu_data" / "generic.yml").write_text(GENERIC, encoding="utf-8")
    (tmp_path / "nlu_data" / "templates.yml").write_text(TEMPLATES, encoding="utf-8")
    return tmp_path


def test_generates_annotated_examples_and_domain(tmp_path):
    root = make_root(tmp_path)
    changed = generate(load_catalogue(root / "procedures"), Project.locate(root))
    paths = Project.locate(root)
    assert set(changed) == {paths.generated_nlu, paths.domain, paths.rules}
    nlu = paths.generated_nlu.read_text(encoding="utf-8")
    assert nlu.startswith(GENERATED_HEADER)
    assert '- lệ phí [thủ tục mẫu]{"entity": "procedure", "value": "thu_tuc_mau"} bao nhiêu' in nlu
    assert '- [MAU]{"entity": "procedure", "value": "thu_tuc_mau"}' in nlu
    # the FAQ question names no alias, so it stays unannotated under intent faq
    assert "- intent: faq\n  examples: |\n    - câu hỏi một" in nlu
    domain = yaml.safe_load(paths.domain.read_text(encoding="utf-8"))
    assert {"greet", "ask_fee", "faq", "inform_procedure"} <= set(domain["intents"])
    assert domain["entities"] == ["procedure", "number", "ward_code", "procedure_event", "procedure_told",
                                  "other_procedure", "group", "case"]


def test_regenerating_is_idempotent(tmp_path):
    root = make_root(tmp_path)
    catalogue = load_catalogue(root / "procedures")
    generate(catalogue, Project.locate(root))
    paths = Project.locate(root)
    before = {p: p.read_bytes() for p in (paths.generated_nlu, paths.domain, paths.rules)}
    assert generate(catalogue, Project.locate(root)) == []
    assert {p: p.read_bytes() for p in before} == before


def test_adding_a_procedure_file_adds_its_examples(tmp_path):
    root = make_root(tmp_path)
    text = (DATA / "minimal_procedure.yaml").read_text(encoding="utf-8")
    (root / "procedures" / "thu_tuc_moi.yaml").write_text(
        text.replace("thu_tuc_mau", "thu_tuc_moi").replace("9.999999", "9.999990")
        .replace("sms_keyword: MAU", "sms_keyword: MOI").replace("thủ tục mẫu", "thủ tục mới")
        .replace("giấy mẫu", "giấy mới"), encoding="utf-8")
    generate(load_catalogue(root / "procedures"), Project.locate(root))
    assert '"value": "thu_tuc_moi"' in Project.locate(root).generated_nlu.read_text(encoding="utf-8")


@pytest.mark.slow  # Rasa's validator loads the whole training data: 20-30 s
def test_rasa_data_validate_passes_on_the_generated_data(monkeypatch):
    """What `rasa data validate --domain flows --data nlu_data flows/rules.yml --config config.yml`
    runs, in this process: a subprocess imported Rasa and TensorFlow a second time."""
    import warnings

    from rasa.cli.utils import validate_files
    from rasa.shared.importers.importer import TrainingDataImporter

    from bot.build.training import memoize_entity_annotations

    memoize_entity_annotations()  # what `bot train` does: each distinct annotation validated once
    generate(load_catalogue(REPO / "procedures"), PROJECT)
    monkeypatch.chdir(REPO)
    importer = TrainingDataImporter.load_from_config(
        config_path="config.yml", domain_path="flows", training_data_paths=["nlu_data", "flows/rules.yml"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            validate_files(fail_on_warnings=False, max_history=None, importer=importer)
        except SystemExit as exit_:  # how Rasa reports "Project validation completed with errors"
            pytest.fail(f"rasa data validate failed (exit {exit_.code}): "
                        + "; ".join(str(w.message) for w in caught)[-2000:])
    duplicates = [str(w.message) for w in caught if "multiple different intents" in str(w.message)]
    assert not duplicates, duplicates[:3]


def test_each_preamble_opens_one_example_of_every_question_intent(tmp_path):
    root = make_root(tmp_path)
    preambles = ["chào ad, em ở xã vùng cao", "nha bac ngheo lam"]
    (root / "nlu_data" / "templates.yml").write_text(
        TEMPLATES + "preambles:\n" + "".join(f'  - "{p}"\n' for p in preambles), encoding="utf-8")
    generate(load_catalogue(root / "procedures"), Project.locate(root))
    data = yaml.safe_load(Project.locate(root).generated_nlu.read_text(encoding="utf-8"))
    examples = {block["intent"]: block["examples"].splitlines() for block in data["nlu"]}
    for intent in ("ask_fee", "faq"):
        for preamble in preambles:
            opened = [e for e in examples[intent] if e.startswith(f"- {preamble}, ")]
            assert len(opened) == 1, (intent, preamble)
    # intents that are not questions get no story
    assert not any(p in e for p in preambles for e in examples["inform_procedure"])


def test_preambles_name_no_procedure():
    """An opening that names a procedure would teach its words as a story about any procedure."""
    from bot.text import fold

    data = yaml.safe_load(PROJECT.templates.read_text(encoding="utf-8"))
    aliases = [fold(a).lower() for proc in load_catalogue(REPO / "procedures")
               for a in (*proc.aliases, proc.short_name)]
    for preamble in data["preambles"]:
        words = f" {fold(preamble).lower()} "
        assert not [a for a in aliases if f" {a} " in words], preamble


@pytest.mark.parametrize(("template", "alias", "text"), [
    # an unaccented template gets the name as typed without marks: underthesea, which learns
    # compounds from accented examples only, never reads a half-accented one
    ("lam {p} mat bao lau", "đi làm ăn xa", "lam di lam an xa mat bao lau"),
    ("DK {p} O DAU", "Đăng ký khai sinh", "DK Dang ky khai sinh O DAU"),
    ("làm {p} mất bao lâu", "đi làm ăn xa", "làm đi làm ăn xa mất bao lâu"),
])
def test_a_name_is_typed_the_way_its_template_is(template, alias, text):
    from bot.build.generate import _plain, fill

    assert _plain(fill(template, alias, "tam_vang")) == text
