"""The offline estimate of how much of a reference solution an answer's code reproduces."""

from __future__ import annotations

from bot.tutoring.code_similarity import code_similarity, looks_like_code

REFERENCE = """\
def kv_cache_bytes(layers, heads, head_dim, seq_len, batch=1, nbytes=2):
    if min(layers, heads, head_dim, seq_len, batch, nbytes) <= 0:
        raise ValueError("sizes must be positive")
    return 2 * layers * heads * head_dim * seq_len * batch * nbytes
"""
THIN = """\
def kv_cache_bytes(layers, heads, head_dim, seq_len, batch=1, nbytes=2):
    return 2 * layers * heads * head_dim * seq_len * batch * nbytes
"""
OFF = """\
def kv_cache_bytes(layers, heads, head_dim, seq_len, batch=1, nbytes=2):
    hidden = heads * head_dim
    return hidden * nbytes
"""


def test_the_reference_itself_reproduces_all_of_it():
    assert code_similarity(REFERENCE, REFERENCE) == 1.0


def test_missing_checks_and_a_wrong_formula_score_in_that_order():
    full, thin, off = (code_similarity(REFERENCE, c) for c in (REFERENCE, THIN, OFF))
    assert full > thin > off > 0.0


def test_comments_and_strings_do_not_count():
    talk = "# layers heads head_dim seq_len batch nbytes ValueError\nx = 'layers * heads'\n"
    assert code_similarity(REFERENCE, talk) == 0.0


def test_code_key_points_are_told_from_prose():
    assert looks_like_code(REFERENCE)
    assert not looks_like_code("Memory formula: 2 * layers * heads * head dim * tokens")
