"""Tokens and glossary: both languages reduce to comparable terms."""

from __future__ import annotations

import fnmatch
import hashlib
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from retriever.glossary import Glossary
from retriever.text import Tokenizer, cjk_ratio, stop_words


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(["知识蒸馏"])


def test_english_is_lower_cased_stemmed_and_stop_words_go(tokenizer):
    assert tokenizer.tokens("What are the Monitoring metrics of the Models?") == [
        "monitor",
        "metric",
        "model",
    ]


def test_a_misspelling_can_land_on_the_same_stem(tokenizer):
    assert tokenizer.tokens("distilation") == tokenizer.tokens("distillation")


def test_chinese_is_segmented_and_stop_words_go(tokenizer):
    tokens = tokenizer.tokens("什么是知识蒸馏？")
    assert "知识蒸馏" in tokens
    assert "知识" in tokens and "蒸馏" in tokens  # search mode also yields the parts
    assert "什么" not in tokens and "是" not in tokens


def test_mixed_text_keeps_both_languages(tokenizer):
    assert tokenizer.tokens("KV cache 显存") == ["kv", "cach", "显存"]


def test_only_stop_words_and_emoji_give_no_tokens(tokenizer):
    assert tokenizer.tokens("what is the 的 吗 🙂🙂 ?!") == []


def test_cjk_ratio():
    assert cjk_ratio("学习率") == 1.0
    assert cjk_ratio("learning rate") == 0.0
    assert 0.3 < cjk_ratio("KV cache 显存占用") < 0.6


def test_glossary_carries_terms_both_ways():
    glossary = Glossary.load()
    assert "学习率" in glossary.to_chinese("How should I pick learning rates?")
    assert "知识蒸馏" in glossary.to_chinese("knowledge distillation")
    assert "knowledge distillation" in glossary.to_english("什么是知识蒸馏")
    # Chinese terms that carry Latin letters match whatever their case
    assert glossary.to_english("K近邻算法") == glossary.to_english("k近邻算法") != []


def test_glossary_file_is_big_and_well_formed():
    lines = Glossary.load.__defaults__[0].read_text(encoding="utf-8").splitlines()
    assert lines[0] == "en\tzh"
    pairs = [line.split("\t") for line in lines[1:]]
    assert len(pairs) >= 300
    assert all(len(p) == 2 and p[0].strip() and p[1].strip() for p in pairs)
    assert len({tuple(p) for p in pairs}) == len(pairs)


@pytest.mark.parametrize(
    ("lang", "size", "digest", "members"),
    [
        (
            "en",
            196,
            "8462ee8abc3d65824fe3c0a52bd4e3576cbef35a3cdf902cf377adb687195194",
            {"a", "the", "between", "doing", "your"},
        ),
        (
            "zh",
            130,
            "a806eb894b780672c246fa932bd9aad6b2077e9e630c719bec30d77244992f26",
            {"的", "了", "么", "呢", "为什么"},
        ),
    ],
)
def test_stop_words_are_the_same_words_read_from_package_data(lang, size, digest, members):
    words = stop_words(lang)
    assert len(words) == size and members <= words
    # The digest pins the exact list the tokenizer used when the words lived in code.
    assert hashlib.sha256("\n".join(sorted(words)).encode()).hexdigest() == digest
    assert stop_words(lang) is words  # read once


def test_stop_word_files_are_declared_package_data():
    root = Path(__file__).parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = data["package-data"]["retriever"]
    files = resources.files("retriever").joinpath("stopwords")
    for lang in ("en", "zh"):
        assert files.joinpath(f"{lang}.txt").is_file()
        assert any(fnmatch.fnmatch(f"stopwords/{lang}.txt", p) for p in patterns)
