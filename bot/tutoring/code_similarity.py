"""How much of a reference solution an answer's code reproduces, without running either: the
share of the reference's names and of its token trigrams (the shape of its expressions) that the
answer's code has. Running both on inputs is the sandbox's job; this is the offline estimate.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from collections import Counter

_CODE_LINE = re.compile(r"^\s*(def |class |import |from \S+ import |return\b)", re.M)
_FALLBACK = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d+)?|\*\*|//|[-+*/%<>=!]=?|[()\[\]{}.,:]")
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
_SKIP |= {tokenize.ENDMARKER, tokenize.STRING}
# Names are half the evidence, expression shape the other half.
NAME_WEIGHT = 0.5


def looks_like_code(text: str) -> bool:
    """Whether a key point is a piece of code (a reference solution) rather than prose."""
    return "\n" in text.strip() and _CODE_LINE.search(text) is not None


def code_tokens(code: str) -> list[str]:
    """The code's tokens without comments and string contents, numbers kept as written."""
    try:
        tokens = [
            t.string
            for t in tokenize.generate_tokens(io.StringIO(code).readline)
            if t.type not in _SKIP and t.string.strip()
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        tokens = _FALLBACK.findall(code)
    return tokens


def _names(tokens: list[str]) -> set[str]:
    return {t for t in tokens if t.isidentifier() and not keyword.iskeyword(t)}


def code_similarity(reference: str, answer: str) -> float:
    """The share (0..1) of the reference's names and token trigrams found in the answer's code."""
    ref, got = code_tokens(reference), code_tokens(answer)
    if not ref or not got:
        return 0.0
    ref_names = _names(ref)
    names = len(ref_names & _names(got)) / len(ref_names) if ref_names else 1.0
    ref_grams = Counter(zip(ref, ref[1:], ref[2:], strict=False))
    got_grams = Counter(zip(got, got[1:], got[2:], strict=False))
    shape = sum((ref_grams & got_grams).values()) / max(1, sum(ref_grams.values()))
    return NAME_WEIGHT * names + (1 - NAME_WEIGHT) * shape
