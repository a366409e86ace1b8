"""The language model's tokenizer is shared by the chats' threads and the generate thread: every
call the backend makes on it runs under one guard."""

from __future__ import annotations

from bot.llm.tokens import Detokenizer, GuardedTokenizer


class Probe:
    """A tokenizer that records, per call, whether its guard was held."""

    pad_token_id = 7

    def __init__(self) -> None:
        self.guard: GuardedTokenizer | None = None
        self.held: list[tuple[str, bool]] = []

    def _seen(self, name: str) -> None:
        assert self.guard is not None
        self.held.append((name, self.guard._lock.locked()))

    def apply_chat_template(self, messages, **kwargs):
        self._seen("apply_chat_template")
        return {"input_ids": [[1, 2, 3]]}

    def decode(self, ids, **kwargs) -> str:
        self._seen("decode")
        return "".join(chr(ord("a") + i) for i in ids)


def guarded() -> tuple[GuardedTokenizer, Probe]:
    probe = Probe()
    probe.guard = GuardedTokenizer(probe)
    return probe.guard, probe


def test_chat_template_and_decode_run_under_the_guard():
    tokenizer, probe = guarded()
    tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    tokenizer.decode([0, 1], skip_special_tokens=True)
    assert probe.held == [("apply_chat_template", True), ("decode", True)]
    assert not tokenizer._lock.locked()


def test_detokenizer_decodes_through_the_guard():
    tokenizer, probe = guarded()
    text = Detokenizer(tokenizer)
    assert text.push(0) + text.push(1) + text.flush() == "ab"
    assert probe.held and all(held for _, held in probe.held)


def test_plain_attributes_pass_through():
    tokenizer, probe = guarded()
    assert tokenizer.pad_token_id == 7
    assert tokenizer.tokenizer is probe
