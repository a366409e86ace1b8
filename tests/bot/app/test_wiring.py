"""Wiring: the parts a front end gets are ready before it takes its first request."""

from __future__ import annotations

from bot.app.wiring import warm_up
from knowledge.store import Store
from retriever.search import Retriever


def test_warm_up_loads_the_embedding_model_and_the_chinese_tokenizer(home, embedder):
    store = Store(home)
    retriever = Retriever(store, home / "index", embedder)
    try:
        retriever.open()
        retriever.tokenizer._ready = False  # as a fresh process finds it
        warm_up(retriever)
        assert retriever.embedder._model is not None
        assert retriever.tokenizer._ready
    finally:
        retriever.close()
        store.close()


def test_warm_up_on_an_empty_bank_is_quiet(tmp_path, embedder):
    store = Store(tmp_path)
    retriever = Retriever(store, tmp_path / "index", embedder)
    try:
        retriever.open()
        warm_up(retriever)  # nothing to search: no error
    finally:
        retriever.close()
        store.close()
