"""The FAISS side: incremental updates, persistence, and clear errors for a bad index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from retriever.dense import DenseIndex
from retriever.errors import IndexCorrupt, IndexMismatch, IndexMissing

DIM = 8


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def filled(folder, n=5, threshold=1000) -> DenseIndex:
    index = DenseIndex(folder, "model-a", DIM, threshold)
    wanted = {f"e{i}": f"h{i}" for i in range(n)}
    index.update(wanted, {f"e{i}": unit(i) for i in range(n)})
    return index


def test_search_finds_the_nearest_vector(tmp_path):
    index = filled(tmp_path)
    hits = index.search(unit(3), 2)
    assert hits[0][0] == "e3"
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)


def test_update_takes_new_vectors_only_for_new_or_changed_rows(tmp_path):
    index = filled(tmp_path)
    wanted = {"e0": "h0", "e1": "h1-changed", "e2": "h2", "e3": "h3", "e9": "h9"}
    assert index.stale(wanted) == ["e1", "e9"]
    with pytest.raises(KeyError):
        index.update(wanted, {"e9": unit(9)})
    embedded, removed = index.update(wanted, {"e1": unit(11), "e9": unit(9)})
    assert (embedded, removed) == (2, 2)  # e1 replaced (counted as removed and added), e4 gone
    assert sorted(index.ids) == ["e0", "e1", "e2", "e3", "e9"]
    assert index.search(unit(11), 1)[0][0] == "e1"
    assert "e4" not in {eid for eid, _ in index.search(unit(4), 5)}


def test_saved_index_loads_back_identical(tmp_path):
    index = filled(tmp_path)
    index.fingerprint = "abc"
    index.save()
    again = DenseIndex(tmp_path, "model-a", DIM, 1000)
    again.load()
    assert again.ids == index.ids and again.fingerprint == "abc"
    assert np.array_equal(again.vectors, index.vectors)
    assert again.search(unit(2), 1) == index.search(unit(2), 1)


def test_big_bank_switches_to_ivf_and_reloads(tmp_path):
    index = filled(tmp_path, n=200, threshold=100)
    assert index.kind == "ivf"
    assert index.search(unit(7), 1)[0][0] == "e7"
    index.save()
    assert json.loads((tmp_path / "meta.json").read_text())["kind"] == "ivf"
    again = DenseIndex(tmp_path, "model-a", DIM, 100)
    again.load()
    assert again.search(unit(7), 1)[0][0] == "e7"


def test_index_of_another_model_is_refused_with_the_fix(tmp_path):
    filled(tmp_path).save()
    with pytest.raises(
        IndexMismatch, match=r"built with the embedding model 'model-a'.*tutor index rebuild"
    ):
        DenseIndex(tmp_path, "model-b", DIM, 1000).load()


def test_missing_index_says_how_to_rebuild(tmp_path):
    with pytest.raises(IndexMissing, match="tutor index rebuild"):
        DenseIndex(tmp_path, "model-a", DIM, 1000).load()


@pytest.mark.parametrize("damage", ["faiss.index", "vectors.npy", "meta.json"])
def test_damaged_files_are_reported_not_trusted(tmp_path, damage):
    filled(tmp_path).save()
    (tmp_path / damage).write_bytes(b"garbage" * 10)
    with pytest.raises(IndexCorrupt, match=r"damaged.*tutor index rebuild"):
        DenseIndex(tmp_path, "model-a", DIM, 1000).load()


def test_truncated_vectors_disagree_with_meta(tmp_path):
    index = filled(tmp_path)
    index.save()
    np.save(tmp_path / "vectors.npy", index.vectors[:2])
    with pytest.raises(IndexCorrupt, match="disagree"):
        DenseIndex(tmp_path, "model-a", DIM, 1000).load()
