"""underthesea's segmentation kept between trainings (bot/build/segmentation.py): a retraining
after one edit segments only the texts it has not seen, and gets the same words."""

from __future__ import annotations

import json

import pytest

from bot.build.segmentation import remembered_segmentation

TEXTS = ["Đăng ký khai sinh cần giấy tờ gì", "Lệ phí cấp sổ đỏ bao nhiêu tiền"]


def _segment(path, texts):
    """The tokenizer's call, ``from underthesea import word_tokenize``, inside the context."""
    calls = []
    with remembered_segmentation(path):
        from underthesea import word_tokenize

        for text in texts:
            calls.append(word_tokenize(text))
    return calls


def test_a_second_training_gets_the_same_words_without_asking_underthesea(tmp_path, monkeypatch):
    import underthesea

    path = tmp_path / "segmentation.json"
    first = _segment(path, TEXTS)
    assert first == [underthesea.word_tokenize(t) for t in TEXTS]
    assert "khai sinh" in first[0]

    asked = []
    original = underthesea.word_tokenize
    monkeypatch.setattr(underthesea, "word_tokenize", lambda s, *a, **k: asked.append(s) or original(s))
    edited = [*TEXTS, "Làm giấy khai sinh cho con mới đẻ"]
    assert _segment(path, edited) == [original(t) for t in edited]
    assert asked == [edited[2]]  # only the new text
    assert sorted(json.loads(path.read_text(encoding="utf-8"))["words"]) == sorted(edited)


@pytest.mark.parametrize("saved", [
    pytest.param("{not json", id="broken file"),
    pytest.param(json.dumps({"underthesea": "0.0.1", "words": {TEXTS[0]: ["wrong"]}}),
                 id="another underthesea"),
    pytest.param(json.dumps({"underthesea": None, "words": [1]}), id="wrong shape"),
])
def test_a_file_that_cannot_be_trusted_means_segmenting_again(tmp_path, saved):
    import underthesea

    path = tmp_path / "segmentation.json"
    path.write_text(saved, encoding="utf-8")
    assert _segment(path, TEXTS[:1]) == [underthesea.word_tokenize(TEXTS[0])]


def test_a_failed_training_keeps_the_previous_file(tmp_path):
    path = tmp_path / "segmentation.json"
    _segment(path, TEXTS)
    before = path.read_text(encoding="utf-8")
    with pytest.raises(RuntimeError), remembered_segmentation(path):
        from underthesea import word_tokenize

        word_tokenize("xin chào")
        raise RuntimeError("training failed")
    assert path.read_text(encoding="utf-8") == before
