"""The intent classifier's file read without skops.io (bot/serving/classifier_file.py): the same
classifier as skops.io reads, and nothing but that classifier ever built from a file."""

from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bot.serving.classifier_file import (
    LogisticRegressionFileClassifier,
    UntrustedClassifierFile,
    read_logistic_regression,
)


def _fitted(classes: int = 4, features: int = 300):
    from scipy.sparse import random as sparse_random
    from sklearn.linear_model import LogisticRegression

    x = sparse_random(120, features, density=0.05, format="csr", random_state=3)
    labels = np.array([f"intent_{i % classes}" for i in range(120)])
    return LogisticRegression(max_iter=200, class_weight="balanced").fit(x, labels), x


def _same_estimator(ours, theirs) -> None:
    assert type(ours) is type(theirs)
    assert sorted(vars(ours)) == sorted(vars(theirs))
    for name, value in vars(theirs).items():
        if isinstance(value, np.ndarray):
            assert value.dtype == vars(ours)[name].dtype and np.array_equal(value, vars(ours)[name]), name
        else:
            assert vars(ours)[name] == value and type(vars(ours)[name]) is type(value), name


def test_a_dumped_classifier_reads_back_as_skops_reads_it_and_predicts_the_same(tmp_path):
    import skops.io as sio

    clf, x = _fitted()
    path = tmp_path / "clf.skops"
    sio.dump(clf, path)
    ours = read_logistic_regression(path)
    _same_estimator(ours, sio.load(path, trusted=sio.get_untrusted_types(file=path)))
    assert list(ours.predict(x)) == list(clf.predict(x))
    assert np.array_equal(ours.predict_proba(x), clf.predict_proba(x))


def _rewritten(tmp_path: Path, change, extra: dict[str, bytes] | None = None) -> Path:
    """A dumped classifier's archive with its schema changed by ``change`` (and files added)."""
    import skops.io as sio

    source = tmp_path / "good.skops"
    sio.dump(_fitted()[0], source)
    target = tmp_path / "tampered.skops"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.namelist():
            data = old.read(item)
            if item == "schema.json":
                schema = json.loads(data)
                change(schema)
                data = json.dumps(schema).encode()
            new.writestr(item, data)
        for name, data in (extra or {}).items():
            new.writestr(name, data)
    return target


def _attribute(schema: dict, name: str) -> dict:
    return schema["content"]["content"][name]


def _pickled_npy() -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}, print], dtype=object), allow_pickle=True)
    return buffer.getvalue()


TAMPERED = [
    ("another class at the root", lambda s: s.update({"__module__": "builtins", "__class__": "eval"}), None),
    ("a pipeline's class at the root", lambda s: s.update({"__module__": "sklearn.pipeline",
                                                            "__class__": "Pipeline"}), None),
    ("a function as an attribute", lambda s: _attribute(s, "tol").update(
        {"__loader__": "FunctionNode", "__module__": "os", "__class__": "function",
         "content": {"module_path": "os", "function": "system"}}), None),
    ("an object array stored as JSON", lambda s: _attribute(s, "classes_").update({"type": "json"}), None),
    ("an array of pickled objects", lambda s: _attribute(s, "classes_").update({"file": "evil.npy"}),
     {"evil.npy": _pickled_npy()}),
    ("a JSON attribute holding a structure", lambda s: _attribute(s, "C").update(
        {"content": json.dumps({"__reduce__": "os.system"})}), None),
    ("an array of another type", lambda s: _attribute(s, "coef_").update(
        {"__module__": "numpy.ma", "__class__": "MaskedArray"}), None),
    ("a key that is not a string", lambda s: s["content"]["key_types"]["content"][0].update(
        {"__module__": "os", "__class__": "system"}), None),
    ("another skops protocol", lambda s: s.update({"protocol": 99}), None),
    ("a schema missing its state", lambda s: s.pop("content"), None),
]


@pytest.mark.parametrize("change, extra", [case[1:] for case in TAMPERED], ids=[case[0] for case in TAMPERED])
def test_a_file_holding_anything_else_is_refused(tmp_path, change, extra):
    with pytest.raises(UntrustedClassifierFile):
        read_logistic_regression(_rewritten(tmp_path, change, extra))


def test_the_served_classifier_is_read_without_skops_and_is_the_trained_one(engine, full_model, tmp_path):
    """A model trained with the current code: the engine's classifier is read by our reader and
    holds what skops.io reads from the same file, so it predicts the same intents."""
    import skops.io as sio

    nodes = engine.agent.processor.graph_runner._instantiated_nodes.values()
    served = [n._component for n in nodes if isinstance(n._component, LogisticRegressionFileClassifier)]
    assert len(served) == 1
    with tarfile.open(full_model) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(".skops"))
        path = tmp_path / "classifier.skops"
        path.write_bytes(archive.extractfile(member).read())
    theirs = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    ours = served[0].clf
    assert np.array_equal(ours.coef_, theirs.coef_) and np.array_equal(ours.intercept_, theirs.intercept_)
    assert list(ours.classes_) == list(theirs.classes_)
    from scipy.sparse import random as sparse_random

    x = sparse_random(50, theirs.n_features_in_, density=0.002, format="csr", random_state=7)
    assert list(ours.predict(x)) == list(theirs.predict(x))
    assert np.allclose(ours.predict_proba(x), theirs.predict_proba(x))
