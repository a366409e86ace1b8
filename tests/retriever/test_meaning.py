"""How far inside the bank's field a question is (`retriever/meaning.py`), with the bundled
model over the starter bank and the fixtures."""

from __future__ import annotations

import numpy as np

from knowledge.store import Store
from retriever.meaning import Meaning, everyday_questions
from retriever.search import Retriever

# A field word in its everyday sense: temperature, index, training, token.
EVERYDAY = [
    "How hot should the grill be, what temperature, for a medium steak?",
    "Which index fund should I buy for my retirement savings?",
    "这个周末去海边露营，需要带什么装备？",
    "炒菜的时候油温多少度下锅最好？",
]
# Techniques the bank has no entry for.
TECHNIQUES = [
    "What is a Siamese network trained with a triplet loss?",
    "How does knowledge graph completion with RotatE work?",
    "Why does a U-Net have skip connections between encoder and decoder?",
]


def test_everyday_questions_fall_under_the_bar_and_unknown_techniques_clear_it(retriever):
    bar = retriever.field_bar
    assert bar is not None and 0 < bar < 0.1  # measured for the bundled model
    margins = retriever.field(EVERYDAY + TECHNIQUES)
    assert margins.shape == (len(EVERYDAY) + len(TECHNIQUES),)
    assert all(m < bar for m in margins[: len(EVERYDAY)]), margins
    assert all(m >= bar for m in margins[len(EVERYDAY) :]), margins
    # An everyday question of the reference set is as near itself as can be.
    assert retriever.field([everyday_questions()[0]])[0] < -0.05
    assert retriever.field([]).shape == (0,)


def test_a_question_naming_no_technique_is_nearest_the_questions_describing_it(retriever):
    from retriever.techniques import described_questions

    family, question = described_questions()[0]
    asked = [
        question,  # one of the file's own: its family, as near as can be
        "How do I choose the neighbourhood radius and the minimum number of neighbours when "
        "clustering by density, and why do clusters of different density break it?",
    ]
    vectors = retriever.meaning(asked)
    # Each family's cosine (its nearest described question): the nearest family is the largest,
    # its margin the gap to the second largest.
    families, scores = retriever.described(vectors)
    assert families == sorted(set(families)) and scores.shape == (2, len(families))
    top = np.sort(scores, axis=1)[:, ::-1]
    near = [
        (families[int(row.argmax())], float(best[0]), float(best[0] - best[1]))
        for row, best in zip(scores, top, strict=True)
    ]
    assert near[0][0] == family and near[0][1] > 0.999 and near[0][2] > 0
    assert near[1][0] == "dbscan" and near[1][1] > near[1][2] > 0.05
    assert retriever.described(retriever.meaning([]))[1].shape == (0, len(families))


def test_a_model_without_a_measured_bar_has_none(tmp_path, embedder):
    class Renamed:
        """The bundled model under a name the calibration does not know."""

        name, dim = "some-other-model", embedder.dim

        def __getattr__(self, attr):
            return getattr(embedder, attr)

    store = Store(tmp_path)
    try:
        assert Retriever(store, tmp_path / "index", Renamed()).field_bar is None
    finally:
        store.close()


def test_an_empty_bank_puts_every_question_outside_and_a_new_entry_is_seen(tmp_path, embedder):
    from knowledge.ingest import ingest

    store = Store(tmp_path)
    try:
        meaning = Meaning(store, embedder)
        question = "How does a Siamese network learn from a triplet loss?"
        assert meaning.field([question]).tolist() == [-1.0]
        assert meaning.vectors([question]).shape == (1, embedder.dim)
        doc = tmp_path / "siamese.md"
        doc.write_text(
            "# Metric learning\n\n## Interview questions\n\n### 1. Triplet loss\n\n"
            f"**Question:** {question}\n\n**Answer:** Anchor, positive and negative.\n\n"
            "- **Margin:** The negative must sit farther than the positive by a margin.\n",
            "utf-8",
        )
        ingest(store, [doc], max_bytes=10**6)
        # The bank changed: its questions are read again, and the same question is now its own.
        assert meaning.field([question])[0] > 0.1
        by_meaning = meaning.vectors([question, question])
        assert np.allclose(by_meaning[0], by_meaning[1])
    finally:
        store.close()
