"""The dependency rule of docs/architecture.md, checked on every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "menjin"
# What each layer may import of menjin besides itself.
ALLOWED = {
    "domain": set(),
    "security": {"domain"},
    "link": {"domain", "security"},
    "face": {"domain"},
    "gate": {"domain", "security", "link", "bulk", "face"},
    "store": {"domain", "security", "face"},
}


def menjin_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found |= {n.split(".")[1] for n in names if n.startswith("menjin.")}
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_lies_below(layer: str) -> None:
    wrong = {
        str(path.relative_to(PACKAGE)): sorted(menjin_imports(path) - ALLOWED[layer] - {layer})
        for path in (PACKAGE / layer).rglob("*.py")
    }
    assert not {p: w for p, w in wrong.items() if w}
