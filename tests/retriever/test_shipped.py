"""The starter bank's vectors that ship with the package: complete, the model's own, used only by
the model and engine version that made them, and merged in order with texts embedded afresh."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retriever import shipped
from retriever.embed import BUNDLED_E5, BundledE5
from retriever.shipped import ShippedVectors, starter_texts


def fresh_model() -> BundledE5:
    """The bundled model with no shipped vectors: every text is embedded."""
    embedder = BundledE5()
    embedder.shipped = ShippedVectors(BUNDLED_E5, path=Path("/nonexistent"))
    return embedder


@pytest.fixture(scope="module")
def texts() -> list[tuple[str, bool]]:
    return starter_texts()


def test_every_text_the_retriever_embeds_of_the_starter_bank_ships(texts):
    table = ShippedVectors(BUNDLED_E5)
    missing = [t[:60] for t, query in texts if table.get(t, query) is None]
    assert len(texts) >= 200 and not missing, (
        f"{len(missing)} starter texts have no shipped vector ({missing[:3]}): "
        "run `make starter-vectors` after editing the starter bank"
    )
    assert len(table) == len(texts)  # nothing left over from an older bank either


def test_shipped_vectors_are_what_the_model_gives_in_a_batch(texts):
    sample = [texts[0], texts[57], texts[-1], texts[-60]]  # indexed texts and questions, both
    assert {query for _, query in sample} == {True}  # the retriever embeds entries as queries
    table = ShippedVectors(BUNDLED_E5)
    model = fresh_model()
    fresh = model.encode_queries([t for t, _ in sample])
    for (text, query), vector in zip(sample, fresh, strict=True):
        assert float(table.get(text, query) @ vector) > 0.9999, text[:60]
    # A text is shipped for the side it is embedded on only.
    assert table.get(sample[0][0], False) is None


def test_a_table_of_another_model_or_engine_version_is_not_used(tmp_path, monkeypatch):
    path = tmp_path / "vectors.npz"
    vector = np.eye(1, 384, 3, dtype=np.float32)
    shipped.write(BUNDLED_E5, [("a text", True)], vector, path=path)
    assert ShippedVectors(BUNDLED_E5, path=path).get("a text", True) is not None
    assert ShippedVectors("another-model", path=path).get("a text", True) is None
    monkeypatch.setattr(shipped, "engine_version", lambda: "99.0")
    assert len(ShippedVectors(BUNDLED_E5, path=path)) == 0


def test_a_damaged_table_is_ignored_with_a_warning(tmp_path, caplog):
    path = tmp_path / "vectors.npz"
    path.write_bytes(b"not a zip file")
    assert len(ShippedVectors(BUNDLED_E5, path=path)) == 0
    assert "ignoring the shipped starter vectors" in caplog.text


def test_shipped_and_fresh_rows_come_back_in_the_order_asked(tmp_path):
    marker = np.zeros((1, 384), dtype=np.float32)
    marker[0, 0] = 1.0  # no model gives this vector for a sentence
    path = tmp_path / "vectors.npz"
    shipped.write(BUNDLED_E5, [("a shipped sentence", True)], marker, path=path)
    model = BundledE5()
    model.shipped = ShippedVectors(BUNDLED_E5, path=path)
    asked = ["What is attention?", "a shipped sentence", "什么是注意力？"]
    rows = model.encode_queries(asked)
    alone = fresh_model().encode_queries([asked[0], asked[2]])
    np.testing.assert_array_equal(rows[1], marker[0])
    np.testing.assert_allclose(rows[[0, 2]], alone, atol=1e-5)
    # The same sentence as a passage is not shipped: embedded afresh.
    assert float(model.encode(["a shipped sentence"])[0] @ marker[0]) < 0.5
