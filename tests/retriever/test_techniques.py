"""Which technique a question names (retriever/techniques.py): by any alias, in either language,
without a loose stem or an acronym inside a word making a false one."""

from __future__ import annotations

from collections import Counter

import pytest

from retriever.meaning import everyday_questions
from retriever.techniques import (
    TECHNIQUES_FILE,
    Techniques,
    american,
    described_questions,
    techniques,
)

PAIRS = [
    ("Batch normalization", "batch normalization"),
    ("Batch normalization", "batch norm"),
    ("Batch normalization", "BatchNorm"),
    ("Batch normalization", "批归一化"),
    ("Weight initialization", "Xavier 初始化"),
    ("Weight initialization", "Kaiming initialization"),
    ("Weight initialization", "权重初始化"),
    ("Graph attention network", "GAT"),
    ("Feature scaling", "standardization"),
    ("Feature scaling", "min-max scaling"),
    ("RoPE scaling", "YaRN"),
    ("RoPE scaling", "NTK-aware"),
]


def test_a_technique_is_found_by_any_of_its_names_in_either_language():
    t = Techniques(PAIRS)
    assert t.find("Why does batch norm misbehave with tiny batches?") == ["batch normalization"]
    assert t.find("BatchNorm 在推理时用什么均值？") == ["batch normalization"]
    assert t.find("为什么要做批归一化？") == ["batch normalization"]
    assert t.find("Xavier初始化和 Kaiming initializations 有什么区别？") == [
        "weight initialization"
    ]
    assert t.find("How do YaRN and NTK-aware interpolation differ?") == ["rope scaling"]
    assert t.name("rope scaling") == "RoPE scaling"


def test_several_techniques_come_in_the_order_the_question_names_them():
    t = Techniques(PAIRS)
    asked = "权重初始化 matters less with batch normalization, and YaRN?"
    assert t.find(asked) == ["weight initialization", "batch normalization", "rope scaling"]


def test_a_one_word_alias_is_matched_as_written_not_by_its_stem_or_inside_a_word():
    t = Techniques(PAIRS)
    # "standard" and "standardization" share a Snowball stem; "gates" is no plural of GAT.
    assert t.find("Why is standard attention memory-bound?") == []
    assert t.find("How do the gates of an LSTM work?") == []
    assert t.find("How do GATs weigh neighbours?") == ["graph attention network"]
    assert t.find("What does standardization do to features?") == ["feature scaling"]
    # A phrase alias matches by stems: its plural and -ing forms too.
    assert t.find("when is min-max scaling used?") == ["feature scaling"]


def test_an_alias_that_is_an_everyday_word_counts_only_as_the_field_writes_it():
    t = Techniques([("RoPE scaling", "YaRN"), ("RoPE", "RoPE"), ("CLIP", "CLIP")])
    assert t.find("How does RoPE rotate queries?") == ["rope"]
    assert t.find("Is ROPE better than ALiBi?") == ["rope"]
    assert t.find("YaRN, CLIPs and RoPE") == ["rope scaling", "clip", "rope"]
    # A rope, yarn and a paper clip are no techniques (far questions stay far: docs/gaps.md).
    assert t.find("Should I buy a rope and some yarn for a paper clip craft?") == []


def test_the_shipped_file_reads_with_one_family_per_alias():
    lines = [
        line
        for line in TECHNIQUES_FILE.read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all(line.count("\t") == 1 for line in lines)
    aliases = Counter(" ".join(line.split("\t")[1].lower().split()) for line in lines)
    assert [a for a, n in aliases.items() if n > 1] == []
    shipped = techniques()
    assert len(shipped.names) >= 300
    # Techniques the starter bank does not describe, named in English and in Chinese.
    assert shipped.find("How does FedAvg aggregate client updates?") == ["federated learning"]
    assert shipped.find("联邦学习的通信开销为什么大？") == ["federated learning"]
    assert shipped.find("图神经网络为什么会过平滑？")[:1] == ["graph neural network"]
    assert shipped.find("What is over-smoothing in a graph neural network?")[-1:] == [
        "graph neural network"
    ]


CUES = [
    ("K-means clustering", "k-means"),
    ("K-means clustering", "centroid + cluster"),
    ("K-means clustering", "质心 + 聚类"),
    ("KV cache", "key + value + cache"),
    ("KV cache", "缓存 + key"),
    ("Random forest", "decision tree + bootstrap sample"),
]


def test_a_technique_described_without_its_name_is_found_by_a_cue_every_part_of_which_occurs():
    t = Techniques(CUES)
    # Any order, anywhere: a phrase part by its stems, a one-word part or its plural.
    assert t.find("Why move each centroid to the mean of its cluster?") == ["k-means clustering"]
    assert t.find("Clusters form around the centroids; when does it stop?") == [
        "k-means clustering"
    ]
    assert t.find("Why train many decision trees on bootstrap samples?") == ["random forest"]
    # Chinese parts as written, with English ones in the same question.
    assert t.find("聚类的质心一开始怎么选？") == ["k-means clustering"]
    assert t.find("推理时把每层的 Key 缓存起来有什么用？") == ["kv cache"]
    # One part is not enough, and a part is a whole word, not a piece of one.
    assert t.find("How far is the centroid of a triangle from its corner?") == []
    assert t.find("Why does the monkey value a keyboard's cached layout?") == []
    assert t.find("decision tree vs bootstrapping the rows") == []


def test_a_named_technique_comes_before_described_ones_and_is_not_found_twice():
    t = Techniques(CUES)
    asked = "Does a KV cache hold each key and value? How does k-means pick a centroid cluster?"
    assert t.find(asked) == ["k-means clustering", "kv cache"]


def test_a_cue_with_an_empty_part_is_refused():
    for cue in ("centroid + ", "centroid + ?!"):
        with pytest.raises(ValueError, match="empty part"):
            Techniques([("K-means clustering", cue)])


def test_the_shipped_file_finds_techniques_described_without_their_names():
    shipped = techniques()
    described = {
        "Why must I pick the number of clusters before moving each centroid to its points' mean?":
            "k-means clustering",
        "For the tree ensemble where each tree fits the residuals of the ones before it, what "
        "does shrinkage do?": "gradient boosting",
        "把很多棵决策树放在有放回抽样的数据上分别训练再投票，为什么能降方差？": "random forest",
        "Why share one matrix between the input embedding and the lm_head?": "weight tying",
    }  # fmt: skip
    for question, family in described.items():
        assert family in shipped.find(question), question
    # A variant is its family's (a bank answers TIES in its model-merging entry).
    assert shipped.find("TIES 合并和简单平均有什么区别？") == ["model merging"]


def test_no_everyday_question_names_or_describes_a_technique():
    # The everyday questions a far question is measured against (retriever/everyday.txt),
    # and a few with a field word in its everyday sense.
    shipped = techniques()
    everyday = [
        *everyday_questions(),
        "Which tree should I plant so its roots don't crack the residual concrete?",
        "How do I share one Wi-Fi password between the router and the printer?",
        "How much should I tip the waiter who decided our table?",
    ]
    assert [q for q in everyday if shipped.find(q)] == []


def test_an_entry_is_about_what_its_title_and_question_name_or_describe():
    t = Techniques(CUES)
    # Named by the title, described by the question.
    assert t.about("K-means", "Why cache each key and value?") == {"k-means clustering", "kv cache"}
    assert t.about("Batching", "How do requests share a GPU?") == frozenset()


def test_also_finds_the_given_family_only_for_a_text_that_names_none():
    table = Techniques(PAIRS)
    named, unnamed = "What is YaRN?", "How do I stretch positions past the trained length?"
    assert table.find(unnamed) == []
    twin = table.also({unnamed: "rope scaling", named: "batch normalization"})
    assert twin.find(unnamed) == ["rope scaling"]
    assert twin.find(named) == ["rope scaling"]  # its own name, not the one given
    assert table.find(unnamed) == []  # the original is left as it was
    assert twin.name("rope scaling") == "RoPE scaling"


def test_the_described_questions_name_families_of_the_file_in_both_languages():
    rows = described_questions()
    per_family = Counter(family for family, _ in rows)
    assert set(per_family) == set(techniques().names)  # every family, none unknown
    assert min(per_family.values()) >= 4
    chinese = {f for f, q in rows if any("\u4e00" <= c <= "\u9fff" for c in q)}
    english = {f for f, q in rows if not any("\u4e00" <= c <= "\u9fff" for c in q)}
    assert chinese == english == set(per_family)


def test_a_described_question_of_an_unknown_family_is_refused(tmp_path):
    path = tmp_path / "described.tsv"
    path.write_text("# a comment\nNo such family\tWhat is it?\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: no family 'No such family'"):
        described_questions(path)


@pytest.mark.parametrize(
    ("british", "us"),
    [
        ("normalisation", "normalization"),
        ("optimiser", "optimizer"),
        ("neighbours", "neighbors"),
        ("centre", "center"),
        ("analysed", "analyzed"),
        # Words that only look British stay as they are.
        ("noise", "noise"),
        ("promise", "promise"),
        ("basis", "basis"),
    ],
)
def test_british_spellings_are_read_as_american_ones(british, us):
    assert american(british) == us


def test_an_alias_and_a_cue_match_british_spellings():
    table = Techniques(
        [
            ("Layer normalization", "layer normalization"),
            ("DBSCAN", "clustering + radius + enough neighbors"),
        ]
    )
    assert table.find("Why does layer normalisation help deep transformers?") == [
        "layer normalization"
    ]
    assert table.find("Clustering by a radius with enough neighbours around each point?") == [
        "dbscan"
    ]
