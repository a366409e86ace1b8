"""The starter bank the tutor ships: big enough, bilingual, on topic, and its code works."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from knowledge.ingest import STARTER_DIR, load

ENTRIES = [e for path in sorted(STARTER_DIR.glob("*.md")) for e in load(path, 10**7).entries]
CODING = [e for e in ENTRIES if e.kind == "coding"]

TOPICS = {
    "attention": ("attention", "注意力"),
    "training optimisation": ("learning rate", "学习率"),
    "distributed training": ("data parallel", "数据并行"),
    "mixed precision": ("bf16", "BF16"),
    "quantization": ("quantization", "量化"),
    "pruning": ("pruning", "剪枝"),
    "distillation": ("distillation", "蒸馏"),
    "retrieval-augmented generation": ("retrieval", "检索"),
    "evaluation metrics": ("recall", "召回率"),
    "serving and latency": ("latency", "延迟"),
    "monitoring": ("monitor", "监控"),
    "privacy and compliance": ("privacy", "隐私"),
    "API economy": ("per-token", "按 token"),
}

HARNESS = """
import sys, traceback
namespace = {"__name__": "solution"}
exec(compile(SOLUTION, "solution.py", "exec"), namespace)
exec(compile(TESTS, "tests.py", "exec"), namespace)
names = [n for n in namespace if n.startswith("test_") and callable(namespace[n])]
assert names, "no test functions"
for name in names:
    namespace[name]()
print(len(names))
"""


def test_at_least_sixty_entries_half_chinese_half_english():
    languages = Counter(e.language for e in ENTRIES)
    assert len(ENTRIES) >= 60
    assert languages["zh"] >= 30 and languages["en"] >= 30
    assert abs(languages["zh"] - languages["en"]) <= 0.2 * len(ENTRIES)


def test_at_least_ten_coding_problems_each_with_solution_and_tests():
    assert len(CODING) >= 10
    for entry in CODING:
        assert entry.solution.strip(), entry.question
        assert "def test_" in entry.tests, entry.question


def test_every_concept_entry_has_key_points():
    for entry in ENTRIES:
        if entry.kind == "concept":
            assert len(entry.key_points) >= 3, entry.question
            assert entry.answer, entry.question


@pytest.mark.parametrize("topic", list(TOPICS))
def test_every_topic_is_covered_in_both_languages(topic):
    english, chinese = TOPICS[topic]
    text = {
        lang: " ".join(e.question + e.answer for e in ENTRIES if e.language == lang)
        for lang in ("en", "zh")
    }
    assert english.lower() in text["en"].lower(), f"{topic}: nothing in English"
    assert chinese.lower() in text["zh"].lower(), f"{topic}: nothing in Chinese"


def test_ids_are_unique_across_the_starter_bank():
    ids = [e.id for e in ENTRIES]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("entry", CODING, ids=[e.id for e in CODING])
def test_reference_solution_passes_its_own_tests(entry):
    script = f"SOLUTION = {entry.solution!r}\nTESTS = {entry.tests!r}\n{HARNESS}"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) >= 2
