"""One definition of a Chinese character, shared by decoding, parsing and tokenizing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.cjk import CJK_CHAR, CJK_RUN

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("char", ["中", "蒸", "㐀", "䶵", "\u9fff"])
def test_unified_ideographs_and_extension_a_are_chinese(char):
    assert CJK_CHAR.fullmatch(char)


@pytest.mark.parametrize("char", ["a", "。", "，", "あ", "カ", "한", "\u33ff", "\ua000"])
def test_punctuation_kana_hangul_and_neighbours_are_not(char):
    assert not CJK_CHAR.fullmatch(char)


def test_a_run_stops_at_latin_text():
    assert CJK_RUN.findall("知识蒸馏 is distillation，也叫KD") == ["知识蒸馏", "也叫"]


def test_no_package_writes_its_own_range():
    ranges = re.compile(r"\\u(?:4e00|3400|9fff|9fa5)", re.IGNORECASE)
    own = ROOT / "knowledge" / "cjk.py"
    copies = [
        str(path.relative_to(ROOT))
        for package in ("bot", "knowledge", "retriever", "runner")
        for path in (ROOT / package).rglob("*.py")
        if path != own and ranges.search(path.read_text(encoding="utf-8"))
    ]
    assert copies == []
    assert ranges.search(own.read_text(encoding="utf-8"))
