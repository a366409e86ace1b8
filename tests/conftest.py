"""Shared fixtures: paths to the fixture bank and a fresh data dir per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
BANK = FIXTURES / "bank"


@pytest.fixture
def bank_dir(tmp_path: Path) -> Path:
    """A writable copy of the fixture bank, so tests can edit files."""
    target = tmp_path / "bank"
    shutil.copytree(BANK, target)
    return target


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data dir."""
    return tmp_path / "data"


@pytest.fixture(scope="session")
def embedder():
    """The bundled offline model, loaded once for the whole run; many modules index the same
    starter bank, so each text is embedded once per run (the vectors are the model's own)."""
    import threading

    import numpy as np

    from retriever.embed import BundledE5

    class Remembered(BundledE5):
        def __init__(self) -> None:
            super().__init__()
            self._memo: dict[tuple[bool, str], np.ndarray] = {}
            self._memo_lock = threading.Lock()

        def _embed(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
            with self._memo_lock:
                missing = [t for t in dict.fromkeys(texts) if (query, t) not in self._memo]
            if missing:
                fresh = super()._embed(missing, query=query, batch_size=batch_size)
                with self._memo_lock:
                    self._memo.update(((query, t), v) for t, v in zip(missing, fresh, strict=True))
            with self._memo_lock:
                return np.stack([self._memo[(query, t)] for t in texts])

    return Remembered()
