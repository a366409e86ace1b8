"""Which characters count as Chinese: CJK Unified Ideographs with Extension A (U+3400–U+9FFF),
defined once for parsing, decoding, tokenizing and language detection."""

from __future__ import annotations

import re

CJK_RANGE = "\u3400-\u9fff"
CJK_CHAR = re.compile(f"[{CJK_RANGE}]")
CJK_RUN = re.compile(f"[{CJK_RANGE}]+")
