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
    """The bundled offline model, loaded once for the whole run."""
    from retriever.embed import open_embedder

    return open_embedder()
