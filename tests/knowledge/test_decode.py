"""Real users' files come in many encodings; binary files are refused by name."""

from __future__ import annotations

import codecs

import pytest

from knowledge.decode import decode
from knowledge.errors import InputError

TEXT = "**面试题：** 什么是梯度累积？\n\n**答案：** 多个小批次的梯度相加后再更新参数。\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("gbk"), "gb18030"),
        (TEXT.encode("gb18030"), "gb18030"),
        (TEXT.encode("utf-16"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("utf-16-le"), "utf-16"),
        (TEXT.encode("utf-16-be"), "utf-16"),
        (codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"), "utf-32-le"),
    ],
    ids=[
        "utf8",
        "utf8-bom",
        "gbk",
        "gb18030",
        "utf16-bom",
        "utf16be-bom",
        "utf16le",
        "utf16be",
        "utf32",
    ],
)
def test_chinese_text_is_decoded_whatever_its_encoding(data, encoding):
    text, used = decode(data, "bank.md")
    assert text == TEXT
    assert used == encoding


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 8,
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        b"PK\x03\x04" + bytes([7, 0, 255, 3, 0, 0, 9]) * 50,
    ],
    ids=["all-bytes", "png", "zip"],
)
def test_binary_files_are_refused_with_the_file_name(data):
    with pytest.raises(InputError, match=r"^photo\.md: is a binary file"):
        decode(data, "photo.md")


def test_undecodable_bytes_name_the_fix():
    data = "é".encode("latin-1") * 40 + b"abc" + bytes([0x81, 0x20]) * 10
    with pytest.raises(InputError, match="save it as UTF-8"):
        decode(data, "odd.txt")
