"""Hybrid search with the bundled offline model: paraphrases, both languages, across languages,
honest abstention, and bad queries."""

from __future__ import annotations

import pytest

from retriever.errors import QueryError


def titles(result, n=3):
    return [h.title for h in result.hits[:n]]


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("why split attention into several heads instead of one big one?", "Multi-head attention"),
        (
            "bf16 or fp16 for training, and what is loss scaling for",
            "FP16 versus BF16 and loss scaling",
        ),
        ("检索回来的文档怎么再排一次序", "重排"),
        ("手机号和身份证号怎么打码", "手机号与身份证号脱敏"),
        ("gradient clipping with a global norm in numpy", "Gradient clipping by global norm"),
    ],
)
def test_paraphrase_finds_its_entry(retriever, query, title):
    assert title in titles(retriever.search(query, 5))


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(
            "why split attention into several heads instead of one big one?",
            marks=pytest.mark.xfail(
                strict=True,
                reason="known limit (docs/retrieval.md): cosine 0.870 with the multilingual "
                "model, under the bar chosen on dev (0.875), and one field term only",
            ),
        ),
        "bf16 or fp16 for training, and what is loss scaling for",
        "重排模型在检索流程里起什么作用",
        "手机号和身份证号怎么打码",
    ],
)
def test_paraphrase_naming_a_term_of_the_field_is_grounded(retriever, query):
    assert retriever.search(query, 5).grounded


def test_chinese_paraphrase_without_field_terms_is_answered_from_its_entry(retriever):
    # "再排一次序" shares no glossary term with the entry on reranking (重排), so the tutor
    # answers from the entry it finds but does not claim the bank covers the question.
    # docs/retrieval.md records it.
    result = retriever.search("检索回来的文档怎么再排一次序", 5)
    assert "重排" in titles(result)
    assert result.coverage == "related"


@pytest.mark.parametrize(
    ("query", "title", "language"),
    [
        ("how does speculative decoding speed up generation", "投机解码", "zh"),
        ("PagedAttention: how is the KV cache stored in blocks", "PagedAttention", "zh"),
        ("怎么用温度把大模型的知识蒸馏给小模型", "Knowledge distillation", "en"),
    ],
)
def test_a_question_finds_the_entry_in_the_other_language(retriever, query, title, language):
    result = retriever.search(query, 5)
    assert result.grounded
    found = [h for h in result.hits if h.title == title]
    assert found and found[0].language == language


@pytest.mark.parametrize(
    "query",
    [
        "what's the weather in Oslo tomorrow",
        "how long should I boil an egg",
        "who won the tennis final last night",
        "how do I write a for loop in Kotlin",
        "明天上海天气怎么样",
        "糖醋排骨的做法",
        "PHP 数组怎么排序",
    ],
)
def test_off_topic_questions_are_not_grounded(retriever, query):
    assert not retriever.search(query, 5).grounded


def test_scores_are_sorted_and_the_contract_shape_holds(retriever):
    result = retriever.search("KV cache memory estimate", 5)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    body = result.as_json()
    assert set(body) == {"query", "grounded", "results"}
    assert set(body["results"][0]) == {"id", "source", "title", "question", "kind", "score"}
    assert body["results"][0]["kind"] in ("concept", "coding")


def test_the_default_model_reads_chinese_so_no_query_is_blind(retriever):
    assert retriever.embedder.chinese_reach() >= 0.8
    assert retriever.search("明天上海天气怎么样", 5).signals.blindness == 0.0
    assert retriever.search("KV cache memory", 5).signals.blindness == 0.0


def test_empty_query_is_refused(retriever):
    with pytest.raises(QueryError, match="empty"):
        retriever.search("   \n ", 5)


@pytest.mark.parametrize("query", ["🙂🙂🙂", "what is the", "的 了 吗", "?!?"])
def test_queries_with_nothing_to_search_return_nothing(retriever, query):
    result = retriever.search(query, 5)
    assert not result.grounded
    assert result.hits == ()


def test_a_very_long_query_still_answers(retriever):
    result = retriever.search("how does the kv cache grow with context length " * 400, 5)
    assert result.hits


def test_meaning_brings_one_question_in_two_languages_together(retriever):
    """Taken as the embedder gives them, two English questions on different techniques sit
    closer than one technique asked in English and in Chinese; by meaning (each language's mean
    taken away) the pair in two languages is the closer."""
    import numpy as np

    texts = [
        "How does byte-pair encoding build a subword vocabulary?",
        "BPE 分词是怎么一步步合并出子词词表的？",
        "Why does chain-of-thought prompting help with arithmetic word problems?",
    ]
    raw = retriever.embedder.encode_queries(texts)
    raw = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    assert raw[0] @ raw[2] > raw[0] @ raw[1]
    by_meaning = retriever.meaning(texts)
    assert np.allclose(np.linalg.norm(by_meaning, axis=1), 1.0, atol=1e-5)
    assert by_meaning[0] @ by_meaning[1] > by_meaning[0] @ by_meaning[2]
    assert retriever.meaning([]).shape == (0, retriever.embedder.dim)
