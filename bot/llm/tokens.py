"""The tokenizer as many chats share it: one call at a time (a fast tokenizer keeps padding and
truncation settings in state each call may rewrite), and a stream of token ids decoded to text
without splitting a character that spans several tokens."""

from __future__ import annotations

import threading
from typing import Any


class GuardedTokenizer:
    """A tokenizer that many threads share, used by one call at a time: a fast tokenizer keeps
    its padding and truncation settings in state that each encoding call may rewrite."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self._lock = threading.Lock()

    def apply_chat_template(self, *args: Any, **kwargs: Any) -> Any:
        """The tokenizer's apply_chat_template, alone."""
        with self._lock:
            return self.tokenizer.apply_chat_template(*args, **kwargs)

    def encode(self, *args: Any, **kwargs: Any) -> list[int]:
        """The tokenizer's encode, alone."""
        with self._lock:
            return self.tokenizer.encode(*args, **kwargs)

    def decode(self, *args: Any, **kwargs: Any) -> str:
        """The tokenizer's decode, alone."""
        with self._lock:
            return self.tokenizer.decode(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Plain attributes (pad_token_id, eos_token_id) are read-only after loading.
        return getattr(self.tokenizer, name)


class Detokenizer:
    """Token ids to text as they come, holding back a character still being spelled out."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.shown = 0

    def push(self, token: int) -> str:
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):
            return ""
        piece = text[self.shown :]
        if text.endswith("\n"):
            self.ids, self.shown = [], 0  # a line is done: keep the decoded window short
        else:
            self.shown = len(text)
        return piece

    def flush(self) -> str:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        return text[self.shown :].rstrip("\ufffd")
