"""The rooms of docs/architecture.md hold: no module imports a layer above its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

# For each layer, the layers of ours it may import (its own always).
ALLOWED = {
    "knowledge": set(),
    "runner": set(),
    "retriever": {"knowledge"},
    "bot.texts": set(),
    "bot.llm": set(),
    "bot.tutoring": {"bot.texts", "bot.llm", "knowledge", "retriever", "runner"},
    "bot.core": {"bot.texts", "bot.tutoring", "bot.llm", "knowledge", "retriever", "runner"},
    "bot.adapters": {"bot.texts", "bot.core"},
    "bot.app": {"bot.texts", "bot.adapters", "bot.core", "bot.tutoring", "bot.llm"}
    | {"knowledge", "retriever", "runner"},
}
TRANSPORTS = ("discord", "slack_bolt", "slack_sdk", "aiohttp.web", "rich")
TRANSPORTS_PREFIXES = tuple(f"{name}." for name in TRANSPORTS)


def _layer(module: str) -> str | None:
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _modules() -> list[tuple[str, Path]]:
    found = []
    for package in ("knowledge", "retriever", "runner", "bot"):
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found.append((module, path))
    return found


@pytest.mark.parametrize(("module", "path"), _modules(), ids=lambda v: str(v))
def test_a_module_imports_only_the_layers_below_it(module: str, path: Path) -> None:
    own = _layer(module)
    if own is None:  # bot/__init__.py: the package's index, imports nothing
        return
    wrong = sorted(
        {
            name
            for name in _imports(path)
            if (other := _layer(name)) is not None and other != own and other not in ALLOWED[own]
        }
    )
    assert not wrong, f"{module} ({own}) imports {wrong}"


@pytest.mark.parametrize(
    ("module", "path"),
    [(m, p) for m, p in _modules() if m.startswith(("bot.core", "bot.tutoring", "bot.llm"))],
    ids=lambda v: str(v),
)
def test_the_core_knows_no_chat_platform(module: str, path: Path) -> None:
    used = [n for n in _imports(path) if n in TRANSPORTS or n.startswith(TRANSPORTS_PREFIXES)]
    assert not used, f"{module} imports {used}"


def test_the_layer_check_sees_every_package() -> None:
    layers = {_layer(m) for m, _ in _modules()}
    assert set(ALLOWED) <= layers


def _rooms() -> dict[str, set[str]]:
    """Each package's modules as docs/architecture.md's table of rooms names them."""
    rooms: dict[str, set[str]] = {}
    for line in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines():
        row = re.match(r"\| `([\w.]+)` \| (.*?) \|", line)
        if row and row.group(1) in ALLOWED:
            rooms[row.group(1)] = set(re.findall(r"`([\w/]+\.py)`", row.group(2)))
    return rooms


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_the_architecture_page_names_every_module_of_each_room(layer: str) -> None:
    folder = ROOT / layer.replace(".", "/")
    modules = {
        str(path.relative_to(folder))
        for path in folder.rglob("*.py")
        if path.name != "__init__.py" and "starter" not in path.relative_to(folder).parts
    }
    named = _rooms().get(layer, set())
    assert not modules - named, f"docs/architecture.md leaves out {sorted(modules - named)}"
    assert not named - modules, f"docs/architecture.md names missing {sorted(named - modules)}"
