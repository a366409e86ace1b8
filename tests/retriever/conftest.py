"""A bank (starter bank + fixtures) and a synced retriever, built once per test module."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.ingest import STARTER_DIR, ingest
from knowledge.store import Store
from retriever.search import Retriever
from tests.conftest import BANK


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bank")
    for path in list(STARTER_DIR.glob("*.md")) + list(BANK.iterdir()):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, bank, embedder):
    data = tmp_path_factory.mktemp("data")
    store = Store(data)
    ingest(store, [bank], max_bytes=10**7)
    r = Retriever(store, data / "index", embedder)
    r.sync()
    yield r
    r.close()
    store.close()
