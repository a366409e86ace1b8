"""The dense side: entry vectors in a FAISS index persisted in the data dir.

Files in `<data dir>/index/`:
    vectors.npy   the vectors, one row per entry (the source of truth for rebuilding)
    meta.json     model name, dimension, index kind, and row → (entry id, text hash)
    faiss.index   the FAISS index over the rows (exact flat inner product, or IVF for big banks)

Updates are incremental: a row is embedded again only when its text changed. Files are written
to temporary names and renamed, so a crash leaves the old index or the new one, never half.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retriever.errors import REBUILD, IndexCorrupt, IndexMismatch, IndexMissing

FORMAT = 1
# IVF beat HNSW at 10^6 vectors on this project's benchmark (docs/retrieval.md): recall@10 of
# 1.0 at nprobe 16 in 0.8 ms, where HNSW (M=32) reached 0.90 only at efSearch 128.
IVF_NPROBE = 16


@dataclass(frozen=True)
class IndexMeta:
    """What the index was built with, and which entry each row holds."""

    model: str
    dim: int
    kind: str
    ids: tuple[str, ...]
    hashes: tuple[str, ...]
    fingerprint: str = ""


def _faiss() -> Any:
    import faiss

    return faiss


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


class DenseIndex:
    """Vectors and their FAISS index for one model; loaded from and saved to a folder."""

    def __init__(self, folder: Path, model: str, dim: int, ann_threshold: int) -> None:
        self.folder = Path(folder)
        self.model = model
        self.dim = dim
        self.ann_threshold = ann_threshold
        self.ids: list[str] = []
        self.hashes: list[str] = []
        self.vectors = np.zeros((0, dim), dtype=np.float32)
        self.fingerprint = ""
        self._index: Any = None

    # -- files -------------------------------------------------------------------------------

    @property
    def meta_path(self) -> Path:
        return self.folder / "meta.json"

    def exists(self) -> bool:
        """Whether an index was saved in the folder."""
        return self.meta_path.exists()

    def load(self) -> None:
        """Read the index from its folder, checking it was built with this model."""
        meta = read_meta(self.folder)
        if meta.model != self.model or meta.dim != self.dim:
            raise IndexMismatch(
                f"the search index was built with the embedding model {meta.model!r} "
                f"(dimension {meta.dim}), but {self.model!r} (dimension {self.dim}) is set; "
                f"{REBUILD}, or set TUTOR_EMBED_MODEL back"
            )
        try:
            vectors = np.load(self.folder / "vectors.npy", allow_pickle=False)
            index = _faiss().read_index(str(self.folder / "faiss.index"))
            if hasattr(index, "nprobe"):
                index.nprobe = IVF_NPROBE
        except (OSError, ValueError, RuntimeError) as exc:
            raise IndexCorrupt(
                f"the search index in {self.folder} is damaged ({_why(exc)}); {REBUILD}"
            ) from None
        rows = len(meta.ids)
        if vectors.shape != (rows, self.dim) or index.ntotal != rows or len(meta.hashes) != rows:
            raise IndexCorrupt(
                f"the search index in {self.folder} is damaged (its files disagree); {REBUILD}"
            )
        self.ids, self.hashes = list(meta.ids), list(meta.hashes)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.fingerprint = meta.fingerprint
        self._index = index

    def save(self) -> None:
        """Write the three files, each atomically; meta.json last, as the commit point."""
        self.folder.mkdir(parents=True, exist_ok=True)
        faiss = _faiss()
        index = self._index if self._index is not None else self._build()
        _atomic_write(self.folder / "vectors.npy", lambda p: _save_npy(p, self.vectors))
        _atomic_write(self.folder / "faiss.index", lambda p: faiss.write_index(index, str(p)))
        meta = {
            "format": FORMAT,
            "model": self.model,
            "dim": self.dim,
            "kind": self.kind,
            "fingerprint": self.fingerprint,
            "ids": self.ids,
            "hashes": self.hashes,
        }
        _atomic_write(
            self.meta_path,
            lambda p: p.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8"),
        )

    # -- contents ----------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """`flat` (exact) below the size threshold, `ivf` (approximate) from it on."""
        return "ivf" if len(self.ids) >= self.ann_threshold else "flat"

    def _build(self) -> Any:
        faiss = _faiss()
        n = len(self.vectors)
        if self.kind == "ivf":
            # About 4·sqrt(n) lists, each trained on at least 39 points, as FAISS advises.
            nlist = max(1, min(int(4 * n**0.5), n // 39))
            quantizer = faiss.IndexFlatIP(self.dim)
            index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(0)
            sample = self.vectors[rng.choice(n, min(n, 64 * nlist), replace=False)]
            index.train(sample)
            index.nprobe = IVF_NPROBE
        else:
            index = faiss.IndexFlatIP(self.dim)
        if n:
            index.add(self.vectors)
        return index

    def update(
        self,
        wanted: dict[str, str],
        new_vectors: dict[str, np.ndarray],
    ) -> tuple[int, int]:
        """Make the rows exactly `wanted` (entry id → text hash), taking vectors for new or
        changed rows from `new_vectors`; returns (rows embedded, rows removed)."""
        rows = enumerate(zip(self.ids, self.hashes, strict=True))
        keep = [i for i, (eid, h) in rows if wanted.get(eid) == h]
        kept_ids = {self.ids[i] for i in keep}
        removed = len(self.ids) - len(keep)
        fresh = [eid for eid in wanted if eid not in kept_ids]
        missing = [eid for eid in fresh if eid not in new_vectors]
        if missing:
            raise KeyError(f"no vector for {missing[0]}")
        only_added = removed == 0
        old_kind = self.kind
        vectors = [self.vectors[keep]] + [new_vectors[eid][None, :] for eid in fresh]
        self.vectors = np.ascontiguousarray(np.concatenate(vectors), dtype=np.float32)
        self.ids = [self.ids[i] for i in keep] + fresh
        self.hashes = [self.hashes[i] for i in keep] + [wanted[eid] for eid in fresh]
        if self._index is not None and only_added and self.kind == old_kind and fresh:
            self._index.add(self.vectors[-len(fresh) :])
        elif fresh or removed or self._index is None:
            self._index = self._build()
        return len(fresh), removed

    def stale(self, wanted: dict[str, str]) -> list[str]:
        """Entry ids whose vectors are missing or out of date."""
        have = dict(zip(self.ids, self.hashes, strict=True))
        return [eid for eid, h in wanted.items() if have.get(eid) != h]

    def search(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k nearest rows by inner product: (entry id, cosine)."""
        if self._index is None or not self.ids:
            return []
        k = min(k, len(self.ids))
        scores, rows = self._index.search(np.ascontiguousarray(query[None, :]), k)
        return [(self.ids[r], float(s)) for s, r in zip(scores[0], rows[0], strict=True) if r >= 0]


def read_meta(folder: Path) -> IndexMeta:
    """What an index folder's meta.json says, without loading a model or the vectors."""
    path = Path(folder) / "meta.json"
    if not path.exists():
        raise IndexMissing(f"the search index in {folder} is missing; {REBUILD}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')}")
        return IndexMeta(
            model=raw["model"],
            dim=int(raw["dim"]),
            kind=raw["kind"],
            ids=tuple(raw["ids"]),
            hashes=tuple(raw["hashes"]),
            fingerprint=raw.get("fingerprint", ""),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexCorrupt(
            f"the search index in {folder} is damaged ({_why(exc)}); {REBUILD}"
        ) from None


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as f:
        np.save(f, array, allow_pickle=False)


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
