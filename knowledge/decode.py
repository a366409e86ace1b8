"""Turning a file's bytes into text: UTF-8, UTF-16/32 with or without BOM, GBK/GB18030, and
a clear refusal for binary files."""

from __future__ import annotations

import codecs
import re

from knowledge.cjk import CJK_CHAR
from knowledge.errors import InputError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM shows NUL in every other byte for ASCII characters."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0) / (len(sample) / 2)
    odd_nuls = sample[1::2].count(0) / (len(sample) / 2)
    if odd_nuls > 0.2 and even_nuls < 0.05:
        encoding = "utf-16-le"
    elif even_nuls > 0.2 and odd_nuls < 0.05:
        encoding = "utf-16-be"
    else:
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    controls = len(_CONTROL.findall(text[:65536]))
    return "\x00" in text or controls / min(len(text), 65536) > 0.01


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Return (text, encoding) for a document's bytes, or raise InputError naming the file."""
    text: str | None = None
    encoding = ""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text, encoding = data[len(bom) :].decode(enc), enc
            except UnicodeDecodeError:
                raise InputError(
                    f"{name}: starts with a {enc} mark but is not valid {enc}"
                ) from None
            break
    if text is None:
        text = _utf16_without_bom(data)
        encoding = "utf-16" if text is not None else ""
    if text is None:
        if b"\x00" in data[:65536]:
            raise InputError(f"{name}: is a binary file, not a Markdown or text document")
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text = _decode_legacy(data)
            if text is None:
                raise InputError(
                    f"{name}: is neither UTF-8 nor GBK/GB18030 text; save it as UTF-8 and try again"
                ) from None
            encoding = "gb18030"
    if _looks_binary(text):
        raise InputError(f"{name}: is a binary file, not a Markdown or text document")
    return text, encoding


def _decode_legacy(data: bytes) -> str | None:
    """GB18030 (a superset of GBK and GB2312) is what Chinese Windows tools write by default."""
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    # Random bytes often decode as GB18030 too; real Chinese text is mostly common CJK characters.
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    if non_ascii and len(CJK_CHAR.findall(text)) / non_ascii < 0.5:
        return None
    return text
