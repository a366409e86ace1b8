"""The core's one rule for the language of a reply: from the learner's words when there are
some, from the client's language setting when there are none (a form, a button's answer)."""

from __future__ import annotations

import pytest

from bot.core.conversation import locale_language, reply_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("what is a KV cache?", "en"),
        ("什么是 KV cache？", "zh"),
        ("KV cache 的作用是什么", "zh"),
        ("```python\nprint('你好')\n```", "en"),
    ],
)
def test_a_reply_is_in_the_language_of_the_learners_words(text, lang):
    assert reply_language(text) == lang


@pytest.mark.parametrize(
    ("tag", "lang"),
    [
        ("zh-CN", "zh"),
        ("zh-TW", "zh"),
        ("zh", "zh"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("ja", "en"),
    ],
)
def test_without_words_the_clients_language_setting_decides(tag, lang):
    assert locale_language(tag) == lang
