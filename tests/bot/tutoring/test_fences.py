"""Fenced code blocks are read the same way wherever a message carries code."""

from __future__ import annotations

import pytest

from bot.tutoring.fences import Fence, fences, only_fence


def test_each_block_comes_with_its_language_in_order():
    text = "first:\n```Python\nx = 1\n```\nthen\n```\ny = 2\n```"
    assert [(f.language, f.code) for f in fences(text)] == [("python", "x = 1\n"), ("", "y = 2\n")]


def test_words_after_the_language_are_ignored():
    text = "```bash title=run.sh\nls\n```"
    assert fences(text) == [Fence("bash", "ls\n", 0, len(text))]


@pytest.mark.parametrize("text", ["no code here", "```python print(1)```", "```py\nunclosed"])
def test_text_without_a_closed_block_has_none(text):
    assert fences(text) == []


def test_a_message_that_is_only_a_block_yields_it():
    block = only_fence("  \n```sh\necho hi\n```\n")
    assert block is not None and (block.language, block.code) == ("sh", "echo hi\n")


@pytest.mark.parametrize(
    "text",
    ["run this:\n```py\nx = 1\n```", "```py\nx = 1\n```\nthanks", "```\na\n```\n```\nb\n```"],
)
def test_a_block_with_anything_around_it_is_not_only_code(text):
    assert only_fence(text) is None
