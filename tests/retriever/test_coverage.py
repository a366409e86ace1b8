"""The three-step coverage decision on the starter bank: covered, related, off-topic."""

from __future__ import annotations

import pytest

from retriever.search import Signals, Thresholds

THRESHOLDS = Thresholds(dense=0.37, dense_blind=0.54, coverage=0.37)


@pytest.mark.parametrize(
    "query",
    ["What is the KV cache?", "How does gradient checkpointing save memory?"],
)
def test_questions_the_bank_answers_are_covered(retriever, query):
    assert retriever.search(query, 5).coverage == "covered"


@pytest.mark.parametrize(
    "query",
    ["What is the capital of Australia?", "周末去哪里爬山比较好？", "推荐几部好看的科幻电影"],
)
def test_questions_outside_the_field_are_off_topic(retriever, query):
    result = retriever.search(query, 5)
    assert result.coverage == "off-topic" and not result.grounded


def test_the_serving_paraphrase_is_answered_from_the_monitoring_entries(retriever):
    result = retriever.search("模型上线以后怎么保证稳定，运维上要做什么？", 5)
    assert result.coverage in ("covered", "related")
    assert result.hits[0].title in ("线上监控指标", "模型更新与灰度发布")


def test_related_needs_field_terms_known_words_and_a_near_miss():
    near = Signals(dense_top=0.30, coverage=0.2, content_tokens=7, domain_terms=2, known=0.6)
    assert not THRESHOLDS.grounded(near) and THRESHOLDS.related(near)
    assert not THRESHOLDS.related(Signals(**{**near.__dict__, "domain_terms": 1}))
    assert not THRESHOLDS.related(Signals(**{**near.__dict__, "known": 0.2}))
    assert not THRESHOLDS.related(Signals(**{**near.__dict__, "dense_top": 0.05, "coverage": 0}))


def test_search_json_keeps_grounded_only(retriever):
    data = retriever.search("What is the KV cache?", 5).as_json()
    assert data["grounded"] is True and "coverage" not in data
