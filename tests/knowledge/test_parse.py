"""The parser reads every supported format into entries, and nothing else."""

from __future__ import annotations

import pytest

from knowledge.parse import parse
from tests.conftest import BANK


def entries_of(name: str):
    return parse((BANK / name).read_text(encoding="utf-8"), name).entries


@pytest.mark.parametrize(
    ("name", "count", "kinds", "language"),
    [
        ("labels_zh.md", 3, ["concept", "coding", "concept"], "zh"),
        ("titled_zh.txt", 2, ["concept", "concept"], "zh"),
        ("numbered_labels_zh.md", 3, ["concept", "concept", "coding"], "zh"),
        ("question_en.md", 2, ["concept", "concept"], "en"),
        ("headings_zh.md", 3, ["concept", "concept", "coding"], "zh"),
        ("own_format_en.md", 2, ["concept", "coding"], "en"),
        ("no_questions.md", 0, [], "en"),
    ],
)
def test_each_format_yields_one_entry_per_question(name, count, kinds, language):
    entries = entries_of(name)
    assert len(entries) == count
    assert [e.kind for e in entries] == kinds
    assert all(e.language == language for e in entries)
    assert all(e.source == name for e in entries)
    assert [e.position for e in entries] == list(range(count))


def test_label_inside_bold_carries_the_question():
    first = entries_of("numbered_labels_zh.md")[0]
    assert first.question == "线上模型效果下降时，你会先检查什么？"


def test_label_with_halfwidth_colon_is_read():
    last = entries_of("labels_zh.md")[2]
    assert last.question == "首 token 延迟高，通常是什么原因？"
    assert last.key_points == (
        "提示过长：预填充的计算量随提示长度增长。",
        "排队：请求在调度队列里等待。",
    )


def test_key_points_keep_bold_lead_words():
    first = entries_of("labels_zh.md")[0]
    assert first.key_points[0].startswith("权重量化（Weight Quantization）：")
    assert len(first.key_points) == 3
    english = entries_of("question_en.md")[1]
    assert english.key_points[0].startswith("Amortised memory traffic:")


def test_nested_list_items_carry_their_lead():
    pruning = entries_of("headings_zh.md")[1]
    assert pruning.key_points == (
        "非结构化剪枝：逐个权重置零，稀疏度高。",
        "非结构化剪枝：需要稀疏计算库才能提速。",
        "结构化剪枝：整个通道或注意力头一起删除。",
        "结构化剪枝：普通硬件上就能直接加速。",
    )


def test_answer_without_list_uses_its_sentences_as_key_points():
    first = entries_of("question_en.md")[0]
    assert first.key_points == (
        "Each decoding step reads every weight once but does little arithmetic per byte.",
    )


def test_hash_lines_inside_code_fences_are_code_not_headings():
    coding = entries_of("labels_zh.md")[1]
    assert coding.kind == "coding"
    assert coding.code[0].code.startswith("# 定义估算函数")
    assert coding.code[0].part == "answer"
    assert coding.section == "显存与批大小"
    example = entries_of("question_en.md")[0]
    assert "# Define the numbers" in example.code[0].code
    assert example.code[0].part == "example"


def test_numbered_heading_is_the_question_when_no_label_follows():
    concept, _, coding = entries_of("headings_zh.md")
    assert concept.question == "什么是知识蒸馏？"
    assert concept.kind == "concept"
    assert coding.question == "实现按幅值剪枝。"
    assert coding.kind == "coding"
    assert coding.solution.startswith("def magnitude_prune")


def test_explanation_and_example_are_kept_apart_from_the_answer():
    first = entries_of("titled_zh.txt")[0]
    assert first.explanation == "归一化让内积索引可以直接用于余弦检索。"
    assert first.example == "用 numpy 做归一化。"
    assert "归一化让内积" not in first.answer
    assert first.code[0].part == "example"


def test_tests_block_makes_a_coding_entry_with_its_tests():
    coding = entries_of("own_format_en.md")[1]
    assert coding.kind == "coding"
    assert "def test_keeps_largest" in coding.tests
    assert "def top_k_filter" in coding.solution
    assert "def test_" not in coding.solution
    assert coding.explanation.startswith("Sorting costs")


def test_titles_sections_and_document_title():
    entries = entries_of("labels_zh.md")
    assert entries[0].doc_title == "推理服务的几个问题"
    assert entries[0].title == "显存与批大小"
    # the second entry under the same heading is titled by its own question
    assert entries[1].title.startswith("写一个函数")
    numbered = entries_of("numbered_labels_zh.md")
    assert numbered[0].doc_title == "评估与监控面试题精选"
    assert entries_of("titled_zh.txt")[0].doc_title == "向量检索入门：从原理到上线"
    assert entries_of("headings_zh.md")[0].doc_title == "蒸馏与剪枝：面试速查"


@pytest.mark.parametrize(
    "name",
    ["labels_zh.md", "titled_zh.txt", "numbered_labels_zh.md", "question_en.md", "headings_zh.md"],
)
def test_padding_artifacts_and_closing_chatter_are_not_kept(name):
    for entry in entries_of(name):
        text = " ".join([entry.question, entry.answer, entry.explanation, entry.example])
        for chatter in ("<|im_sep|>", "希望", "I will continue", "欢迎留言", "相信读者", "Sure!"):
            assert chatter not in text


def test_ids_are_stable_and_unique():
    first = [e.id for e in entries_of("labels_zh.md")]
    again = [e.id for e in entries_of("labels_zh.md")]
    assert first == again
    assert len(set(first)) == len(first)


def test_the_same_question_twice_in_one_file_gets_two_ids():
    text = (
        "### 1. A\n\n**Question:** What is a KV cache?\n\n**Answer:** Stored keys.\n\n"
        "### 2. B\n\n**Question:** What is a KV cache?\n\n**Answer:** Stored values too.\n"
    )
    entries = parse(text, "dup.md").entries
    assert len(entries) == 2
    assert entries[0].id != entries[1].id


def test_crlf_line_ends_parse_like_lf():
    text = (BANK / "own_format_en.md").read_text(encoding="utf-8")
    assert parse(text.replace("\n", "\r\n"), "x.md") == parse(text, "x.md")


def test_question_without_any_answer_is_not_an_entry():
    assert parse("**Question:** Why?\n\n## Next\n\nSome text.\n", "q.md").entries == ()
