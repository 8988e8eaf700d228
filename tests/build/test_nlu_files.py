"""Each NLU file is parsed once and its parse kept until the file changes."""

from rasa.shared.nlu.training_data import loading

from bot.build.nlu_files import parsed_once

HAND_WRITTEN = """version: "3.1"
nlu:
- intent: chao
  examples: |
    - xin chao
    - chao ban
"""
GENERATED = """version: "3.1"
nlu:
- intent: hoi_giay_to
  examples: |
    - khai sinh can giay to gi
"""


def examples(data) -> list[tuple[str, str]]:
    return sorted((m.get("text"), m.get("intent")) for m in data.training_examples)


def test_an_unchanged_file_is_not_parsed_again_and_an_edited_one_is(tmp_path, monkeypatch):
    hand, generated = tmp_path / "generic.yml", tmp_path / "procedures.yml"
    hand.write_text(HAND_WRITTEN, encoding="utf-8")
    generated.write_text(GENERATED, encoding="utf-8")
    kept = tmp_path / "cache" / "nlu_parses.pickle"
    parsed: list[str] = []
    rasa_parse = loading._load

    def counting(filename, language="en"):
        parsed.append(filename)
        return rasa_parse(filename, language)

    monkeypatch.setattr(loading, "_load", counting)
    with parsed_once(kept):
        first = loading.load_data(str(hand)), loading.load_data(str(generated))
        again = loading.load_data(str(hand))
    assert parsed == [str(hand), str(generated)]
    assert examples(again) == examples(first[0]) == [("chao ban", "chao"), ("xin chao", "chao")]
    assert again.training_examples[0] is not first[0].training_examples[0]

    generated.write_text(GENERATED + "    - lam khai sinh mat bao lau\n", encoding="utf-8")
    parsed.clear()
    with parsed_once(kept):
        second = loading.load_data(str(hand)), loading.load_data(str(generated))
    assert parsed == [str(generated)]
    assert examples(second[0]) == examples(first[0])
    assert examples(second[1]) == [("khai sinh can giay to gi", "hoi_giay_to"),
                                   ("lam khai sinh mat bao lau", "hoi_giay_to")]


def test_a_damaged_cache_file_means_a_parse_not_an_error(tmp_path):
    hand = tmp_path / "generic.yml"
    hand.write_text(HAND_WRITTEN, encoding="utf-8")
    kept = tmp_path / "nlu_parses.pickle"
    kept.write_bytes(b"not a pickle")
    with parsed_once(kept):
        data = loading.load_data(str(hand))
    assert examples(data) == [("chao ban", "chao"), ("xin chao", "chao")]
    assert kept.stat().st_size > len(b"not a pickle")
