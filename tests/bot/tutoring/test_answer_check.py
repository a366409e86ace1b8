"""The check every model answer passes before the learner keeps it, through the real answer
engine, retriever (bundled embedder), starter bank and offline grader, with a scripted model:
an answer from the wrong source, in the wrong language or contradicting the bank gets the bank's
key points instead; one that leaves points out gets them added under it; a good one is kept."""

from __future__ import annotations

import asyncio

import pytest

from bot.tutoring.answer_check import AnswerCheck
from bot.tutoring.answering import AnswerEngine
from bot.tutoring.grading import OfflineGrader
from knowledge.store import Store
from retriever.search import Retriever
from tests.bot.conftest import Scripted

QUESTION = "How does the KV cache speed up decoding, and what does it cost in memory?"
KV_GOOD = (
    "Without a cache every step recomputes K and V for all earlier tokens; with it, each step "
    "projects only the new token and attends over the cached entries [1]. The cache takes "
    "2 * layers * KV heads * head dim * sequence length * batch * bytes per element, decoding "
    "is limited by memory bandwidth, and GQA, int8 caches and paged attention shrink or manage it."
)
WRONG_SOURCE = (
    "Train with differential privacy and limit the number of epochs so the model does not "
    "memorise its training data."
)
PARTIAL = (
    "Each step only projects the newest token and attends over the cached keys and values "
    "instead of recomputing them. The cache grows with layers, KV heads, head dim, sequence "
    "length and batch."
)
DENIAL = (
    "Each step only projects the newest token. The cache size does not depend on the layers, "
    "the KV heads or the sequence length, and the batch is irrelevant to it."
)
CHINESE = (
    "KV 缓存保存之前所有 token 的键和值，每一步只计算新 token 的投影，显存随序列长度线性增长。"
)


@pytest.fixture(scope="module")
def bank(built_home, embedder):
    store = Store(built_home)
    retriever = Retriever(store, built_home / "index", embedder)
    retriever.open()
    yield store, retriever
    retriever.close()
    store.close()


def ask(bank, reply: str, question: str = QUESTION, *, check: bool = True):
    _, retriever = bank
    model = Scripted(reply)
    checker = AnswerCheck(OfflineGrader(retriever)) if check else None
    engine = AnswerEngine(retriever, model, check=checker)
    streamed: list[str] = []
    answer = asyncio.run(engine.answer(question, on_text=streamed.append))
    return answer, "".join(streamed), engine


def kv_id(bank) -> str:
    store, _ = bank
    return next(e.id for e in store.entries() if e.title == "KV cache")


def test_a_good_answer_is_kept_as_the_model_wrote_it(bank):
    answer, streamed, engine = ask(bank, KV_GOOD)
    assert (answer.mode, answer.checked) == ("llm", "kept")
    assert answer.answer.startswith("Without a cache") and "Also in the bank" not in answer.answer
    assert kv_id(bank) in answer.citations
    assert engine.checked == {"kept": 1, "added": 0, "replaced": 0}
    # What the learner saw while the check ran: the model's words, then a line saying so.
    assert streamed.startswith("Without a cache") and "Checking this answer" in streamed


def test_an_answer_from_the_wrong_source_is_replaced_by_the_banks_key_points(bank):
    answer, streamed, engine = ask(bank, WRONG_SOURCE)
    assert (answer.mode, answer.checked) == ("extractive", "replaced")
    assert "differential privacy" not in answer.answer
    assert f"[{kv_id(bank)}]" in answer.answer and kv_id(bank) in answer.citations
    assert "Memory formula" in answer.answer  # the entry's own key points
    assert "No language model is loaded" not in answer.answer  # one is: it was checked
    assert "left out most of what the bank's entry" in answer.notice
    assert "here are the bank's own key points instead" in answer.notice
    # A stream that cannot be replaced (a terminal) shows the key points after the check line.
    assert streamed.index("Checking this answer") < streamed.index("Memory formula")
    assert engine.checked["replaced"] == 1


def test_an_answer_that_contradicts_the_bank_is_replaced_and_says_so(bank):
    answer, _, _ = ask(bank, DENIAL)
    assert answer.checked == "replaced" and "contradicts the bank's entry" in answer.notice
    assert "does not depend on the layers" not in answer.answer


def test_an_answer_in_the_wrong_language_is_replaced(bank):
    answer, _, _ = ask(bank, CHINESE)
    assert answer.checked == "replaced" and "wrong language" in answer.notice
    assert "Memory formula" in answer.answer


def test_an_answer_that_leaves_points_out_gets_them_added_under_it(bank):
    answer, streamed, _ = ask(bank, PARTIAL)
    assert (answer.mode, answer.checked) == ("llm", "added")
    text = answer.answer
    assert text.startswith(PARTIAL.split(",")[0])
    assert text.index(PARTIAL.split(",")[0]) < text.index("Also in the bank")
    assert "Bandwidth bound: Every decode step" in text  # a missed point in full
    assert "Compute saving:" not in text  # what the answer covered is not repeated
    assert kv_id(bank) in answer.citations
    assert "Also in the bank" in streamed


def test_a_chinese_question_answered_well_in_chinese_is_kept(bank):
    store, _ = bank
    entry = next(e for e in store.entries() if e.title == "梯度累积")
    answer, _, _ = ask(
        bank, "；".join(entry.key_points), "梯度累积是怎么做的？为什么 loss 要除以步数？"
    )
    assert answer.checked in ("kept", "added") and answer.mode == "llm"


def test_without_the_check_a_wrong_answer_goes_through_as_before(bank):
    answer, _, engine = ask(bank, WRONG_SOURCE, check=False)
    assert (answer.mode, answer.checked) == ("llm", "")
    assert "differential privacy" in answer.answer
    assert engine.checked == {"kept": 0, "added": 0, "replaced": 0}
