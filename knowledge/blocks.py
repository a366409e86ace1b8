"""A Markdown document flattened into the blocks the bank's reader needs: headings, paragraphs,
lists (their items, and the list as Markdown), code blocks and rules."""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

_markdown = MarkdownIt("commonmark")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class ListBlock:
    items: tuple[str, ...]
    markdown: str


@dataclass(frozen=True)
class Code:
    lang: str
    code: str


@dataclass(frozen=True)
class Rule:
    pass


Block = Heading | Paragraph | ListBlock | Code | Rule


def _inline_text(node: SyntaxTreeNode) -> str:
    """Plain text of an inline node: emphasis markers dropped, inline code kept in backticks."""
    parts: list[str] = []
    for child in node.children:
        if child.type == "text":
            parts.append(child.content)
        elif child.type == "code_inline":
            parts.append(f"`{child.content}`")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type in ("html_inline",):
            parts.append(child.content)
        elif child.type == "image":
            continue
        else:
            parts.append(_inline_text(child))
    return "".join(parts)


def _node_text(node: SyntaxTreeNode) -> str:
    """Plain text of a block's inline content (paragraph or heading)."""
    return "".join(_inline_text(c) for c in node.children if c.type == "inline").strip()


def _list_items(node: SyntaxTreeNode) -> list[str]:
    """Key points of a list, one per leaf item; a short lead-in item ('训练优化：') prefixes
    its children."""
    items: list[str] = []
    for item in node.children:
        own = " ".join(_node_text(c) for c in item.children if c.type == "paragraph").strip()
        nested = [c for c in item.children if c.type in ("bullet_list", "ordered_list")]
        children = [text for sub in nested for text in _list_items(sub)]
        if children and own and len(own) <= 24 and own.rstrip().endswith((":", "：")):
            items.extend(f"{own} {child}" for child in children)
        else:
            if own:
                items.append(own)
            items.extend(children)
    return items


def _list_markdown(node: SyntaxTreeNode, depth: int = 0) -> str:
    lines: list[str] = []
    for n, item in enumerate(node.children, start=1):
        marker = f"{n}." if node.type == "ordered_list" else "-"
        own = " ".join(_node_text(c) for c in item.children if c.type == "paragraph").strip()
        lines.append(f"{'  ' * depth}{marker} {own}")
        for sub in item.children:
            if sub.type in ("bullet_list", "ordered_list"):
                lines.append(_list_markdown(sub, depth + 1))
    return "\n".join(lines)


def blocks(text: str) -> list[Block]:
    root = SyntaxTreeNode(_markdown.parse(text))
    blocks: list[Block] = []
    for node in root.children:
        if node.type == "heading":
            heading = _node_text(node).rstrip("#").strip()
            blocks.append(Heading(int(node.tag[1]), heading))
        elif node.type == "paragraph":
            blocks.append(Paragraph(_node_text(node)))
        elif node.type in ("bullet_list", "ordered_list"):
            blocks.append(ListBlock(tuple(_list_items(node)), _list_markdown(node)))
        elif node.type in ("fence", "code_block"):
            lang = (node.info or "").strip().split(" ")[0].lower() if node.type == "fence" else ""
            blocks.append(Code(lang, node.content.rstrip("\n")))
        elif node.type == "hr":
            blocks.append(Rule())
        elif node.type == "blockquote":
            for child in node.children:
                if child.type == "paragraph":
                    blocks.append(Paragraph(_node_text(child)))
    return blocks


# ---------------------------------------------------------------------------------------------
# Reading the blocks into entries.
