"""What the evaluation scripts share: the starter bank in a temporary folder, a rounded share,
and the JSON-lines files they append to and read back."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from knowledge.ingest import STARTER_DIR, ingest
from knowledge.store import Store
from retriever.embed import DEFAULT_MODEL, Embedder, open_embedder
from retriever.search import Retriever

# The seed documents a deployment loads beside the starter bank, when they are beside the checkout.
SEED_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "bank"


@contextmanager
def starter_bank(
    model: str = DEFAULT_MODEL, *, seed: bool = False, embedder: Embedder | None = None
) -> Iterator[tuple[Store, Retriever]]:
    """The starter bank (with `seed`, and the seed documents when they are there) ingested and
    indexed with `model` (or an open `embedder`) in a temporary folder; closed and removed
    after."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        store = Store(data)
        paths = [STARTER_DIR, *([SEED_DIR] if seed and SEED_DIR.is_dir() else [])]
        ingest(store, paths, max_bytes=10**8)
        retriever = Retriever(store, data / "index", embedder or open_embedder(model))
        retriever.sync()
        try:
            yield store, retriever
        finally:
            retriever.close()
            store.close()


def share(hits: int, total: int) -> float | None:
    """hits / total to 4 places, None when there is nothing to count."""
    return round(hits / total, 4) if total else None


def read_jsonl(path: Path) -> list[dict]:
    """The rows of a JSON-lines file; none when it does not exist yet."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
